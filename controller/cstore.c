#include "controller/cstore.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/limits.h"
#include "common/sc_err.h"
#include "controller/crec.h"
#include "kube/kinformer.h"

/* What the store keeps per key is either the view itself or, after
 * cstore_use_records(), a record of it (controller/crec.h): a reader gets a
 * view back either way.  A standalone store keys its map by a copy of
 * "ns/name". */
struct cstore {
    pthread_rwlock_t lock;
    struct hmap map;        /* "ns/name" copy -> what is stored */
    struct kinformer *inf;  /* attached: the one table, map unused */
    struct cintern *intern; /* the records' shared strings (borrowed) */
    int rec_kind;           /* enum crec_kind, or -1: views as they are */
    uint64_t failed;        /* atomic: records not made back into views (ENOMEM) */
};

static void *
key_dup(const void *key)
{
    return strdup(key);
}

static void
key_free(void *key)
{
    free(key);
}

static void
view_free(void *val)
{
    cview_unref(val);
}

static void
rec_free(void *val)
{
    free(val);
}

static const struct hmap_type view_keys = {hmap_hash_str, hmap_str_eq, key_dup, key_free,
                                           view_free};
static const struct hmap_type rec_keys = {hmap_hash_str, hmap_str_eq, key_dup, key_free, rec_free};

/* A new reference to the view of what is stored (NULL: ENOMEM, counted). */
static struct cmeta *
view_of(struct cstore *s, const void *stored)
{
    struct cmeta *m = NULL;

    if (s->rec_kind < 0)
        return cview_ref((struct cmeta *)stored);
    m = crec_view(stored, s->intern);
    if (m == NULL)
        __atomic_add_fetch(&s->failed, 1, __ATOMIC_RELAXED);
    return m;
}

uint64_t
cstore_failures(struct cstore *s)
{
    return s != NULL ? __atomic_load_n(&s->failed, __ATOMIC_RELAXED) : 0;
}

/* The view of what is stored, borrowed: in buf for a record. */
static const struct cmeta *
peek(const struct cstore *s, const void *stored, void *buf)
{
    return s->rec_kind < 0 ? stored : crec_peek(stored, s->intern, buf);
}

const struct cmeta *
cstore_peek(const struct cstore *s, const void *stored, void *buf)
{
    return peek(s, stored, buf);
}

static const char *
stored_rv(const struct cstore *s, const void *stored)
{
    return s->rec_kind < 0 ? ((const struct cmeta *)stored)->rv
                           : crec_str(stored, s->intern, CREC_RV);
}

int
cstore_stored(struct cstore *s, struct cmeta *m, void **out, struct sc_err *err)
{
    int rc = 0;

    *out = m;
    if (s->rec_kind >= 0) {
        rc = crec_make(m, (enum crec_kind)s->rec_kind, s->intern, out, err);
        cview_unref(m);
    }
    return rc;
}

void
cstore_free_stored(struct cstore *s, void *stored)
{
    if (s->rec_kind < 0)
        cview_unref(stored);
    else
        free(stored);
}

const char *
cstore_stored_key(const struct cstore *s, const void *stored, const char **rv)
{
    const struct cmeta *m = stored;

    if (s->rec_kind >= 0)
        return crec_key(stored, s->intern, rv);
    *rv = m->rv; /* a view holds "ns/name" as one string only without ns */
    return m->ns == NULL ? m->name : NULL;
}

size_t
cstore_stored_flat(const struct cstore *s, const void *stored)
{
    return s->rec_kind >= 0 ? crec_bytes(stored) : 0;
}

struct cmeta *
cstore_view_of(struct cstore *s, const void *stored)
{
    return stored != NULL ? view_of(s, stored) : NULL;
}

struct cstore *
cstore_new(void)
{
    struct cstore *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    if (pthread_rwlock_init(&s->lock, NULL) != 0) {
        free(s);
        return NULL;
    }
    hmap_init(&s->map, &view_keys, 0);
    s->rec_kind = -1;
    return s;
}

int
cstore_use_records(struct cstore *s, enum crec_kind kind, struct cintern *t)
{
    if (s->inf != NULL || hmap_len(&s->map) > 0 || kind >= CREC_N_KINDS)
        return SC_EINVALID;
    s->rec_kind = (int)kind;
    s->intern = t;
    hmap_init(&s->map, &rec_keys, 0);
    return 0;
}

int
cstore_attach(struct cstore *s, struct kinformer *inf)
{
    if (inf == NULL || s->inf != NULL || hmap_len(&s->map) > 0)
        return SC_EINVALID;
    s->inf = inf;
    return 0;
}

struct kinformer *
cstore_informer(const struct cstore *s)
{
    return s->inf;
}

int
cstore_parse_vs(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return cvs_parse(obj, (struct cvs **)view, err);
}

void
cstore_free_view(void *ctx, void *view)
{
    (void)ctx;
    cview_unref(view);
}

void
cstore_free(struct cstore *s)
{
    if (s == NULL)
        return;
    hmap_free(&s->map);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

int
cstore_key(const struct cmeta *m, char *out, size_t cap)
{
    int n = m->ns != NULL ? snprintf(out, cap, "%s/%s", m->ns, m->name)
                          : snprintf(out, cap, "%s", m->name);

    return n < 0 || (size_t)n >= cap ? SC_ETOOBIG : 0;
}

/* The RV rule of cstore_put: true when m must not replace what is stored
 * at resourceVersion cur_rv. */
static bool
stale(const char *cur_rv, const struct cmeta *m)
{
    int64_t old_rv, new_rv;

    return !cview_rv_num(m->rv, &new_rv) || (cview_rv_num(cur_rv, &old_rv) && new_rv < old_rv);
}

int
cstore_put(struct cstore *s, struct cmeta *m, bool force)
{
    char key[LIM_KEY];
    struct sc_err err = {0};
    struct hmap_entry *e = NULL;
    void *stored = NULL;
    int rc = CSTORE_REPLACED;

    if (cstore_key(m, key, sizeof(key)) != 0) {
        cview_unref(m);
        return SC_ETOOBIG;
    }
    if (s->rec_kind >= 0) {
        int mk = crec_make(m, (enum crec_kind)s->rec_kind, s->intern, &stored, &err);

        if (mk != 0) {
            cview_unref(m);
            return mk;
        }
    } else {
        stored = cview_ref(m);
    }
    if (s->inf != NULL) { /* the same rule and results (kinformer.h) */
        rc = kinformer_put(s->inf, m->ns, m->name, m->uid, m->rv, stored, force);
        cview_unref(m);
        return rc;
    }
    pthread_rwlock_wrlock(&s->lock);
    e = hmap_find(&s->map, key);
    if (e != NULL && !force && stale(stored_rv(s, e->val), m)) {
        rc = CSTORE_STALE;
    } else if (e != NULL) { /* the new value replaces the old one, which goes */
        void *old = e->val;

        e->val = stored;
        stored = old;
    } else {
        rc = hmap_put(&s->map, key, stored, NULL);
        stored = rc == 0 ? NULL : stored;
        rc = rc == 0 ? CSTORE_ADDED : rc;
    }
    pthread_rwlock_unlock(&s->lock);
    if (stored != NULL)
        cstore_free_stored(s, stored);
    cview_unref(m);
    return rc;
}

struct cmeta *
cstore_get(struct cstore *s, const char *key)
{
    struct cmeta *m = NULL;
    void *stored;

    if (s->inf != NULL) {
        struct kitem *it = kinformer_get(s->inf, key);

        m = it != NULL ? view_of(s, kitem_view(it)) : NULL;
        kitem_release(it);
        return m;
    }
    pthread_rwlock_rdlock(&s->lock);
    stored = hmap_get(&s->map, key);
    m = stored != NULL ? view_of(s, stored) : NULL;
    pthread_rwlock_unlock(&s->lock);
    return m;
}

struct cmeta *
cstore_del(struct cstore *s, const char *key)
{
    struct cmeta *m = NULL;
    void *stored = NULL;

    if (s->inf != NULL) {
        struct kitem *it = kinformer_take(s->inf, key);

        m = it != NULL ? view_of(s, kitem_view(it)) : NULL;
        kitem_release(it);
        return m;
    }
    pthread_rwlock_wrlock(&s->lock);
    if (!hmap_del(&s->map, key, &stored))
        stored = NULL;
    pthread_rwlock_unlock(&s->lock);
    if (stored == NULL)
        return NULL;
    m = view_of(s, stored);
    cstore_free_stored(s, stored);
    return m;
}

size_t
cstore_len(struct cstore *s)
{
    size_t n;

    if (s->inf != NULL)
        return kinformer_len(s->inf);
    pthread_rwlock_rdlock(&s->lock);
    n = hmap_len(&s->map);
    pthread_rwlock_unlock(&s->lock);
    return n;
}

struct each_ctx {
    int (*fn)(const struct cmeta *m, void *arg);
    void *arg;
    const struct cstore *s;
    const char *ns; /* cstore_each_ns: only views in it */
    size_t bytes;
};

/* The namespace of what is stored, without making its view. */
static const char *
stored_ns(const struct cstore *s, const void *stored)
{
    return s->rec_kind < 0 ? ((const struct cmeta *)stored)->ns
                           : crec_str(stored, s->intern, CREC_NS);
}

static int
each_fn(const void *key, void *val, void *arg)
{
    _Alignas(max_align_t) char buf[CREC_PEEK_BYTES];
    struct each_ctx *x = arg;

    (void)key;
    if (x->ns != NULL) {
        const char *ns = stored_ns(x->s, val);

        /* shared strings: most namespaces compare as pointers */
        if (ns != x->ns && (ns == NULL || strcmp(ns, x->ns) != 0))
            return 0;
    }
    return x->fn(peek(x->s, val, buf), x->arg);
}

static int
item_fn(const struct kitem *it, void *arg)
{
    return each_fn(NULL, (void *)kitem_view(it), arg);
}

void
cstore_each(struct cstore *s, int (*fn)(const struct cmeta *m, void *arg), void *arg)
{
    cstore_each_ns(s, NULL, fn, arg);
}

void
cstore_each_ns(struct cstore *s, const char *ns, int (*fn)(const struct cmeta *m, void *arg),
               void *arg)
{
    struct each_ctx x = {fn, arg, s, ns, 0};

    if (s->inf != NULL) {
        kinformer_each(s->inf, item_fn, &x);
        return;
    }
    pthread_rwlock_rdlock(&s->lock);
    hmap_each(&s->map, each_fn, &x);
    pthread_rwlock_unlock(&s->lock);
}

static size_t
stored_bytes(const struct cstore *s, const void *stored)
{
    return s->rec_kind < 0 ? cview_bytes(stored) : crec_bytes(stored);
}

static int
bytes_fn(const void *key, void *val, void *arg)
{
    struct each_ctx *x = arg;

    x->bytes += stored_bytes(x->s, val) + (key != NULL ? strlen(key) + 1 : 0);
    return 0;
}

static int
item_bytes_fn(const struct kitem *it, void *arg)
{
    return bytes_fn(NULL, (void *)kitem_view(it), arg);
}

size_t
cstore_bytes(struct cstore *s)
{
    struct each_ctx x = {NULL, NULL, s, NULL, 0};

    if (s->inf != NULL) {
        x.bytes = sizeof(*s) + kinformer_bytes(s->inf);
        kinformer_each(s->inf, item_bytes_fn, &x);
        return x.bytes;
    }
    pthread_rwlock_rdlock(&s->lock);
    hmap_each(&s->map, bytes_fn, &x);
    x.bytes += sizeof(*s) + hmap_bytes(&s->map);
    pthread_rwlock_unlock(&s->lock);
    return x.bytes;
}
