#include "controller/cstore.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/limits.h"
#include "common/sc_err.h"
#include "kube/kinformer.h"

/* The map's key is the stored view itself (its ns and name), so a key costs
 * no copy; a lookup key "ns/name" is split into a struct cmeta on the stack. */
struct cstore {
    pthread_rwlock_t lock;
    struct hmap map;       /* struct cmeta * -> the same view (owned reference) */
    struct kinformer *inf; /* attached: the one table, map unused */
};

static uint64_t
meta_hash(const void *key)
{
    const struct cmeta *m = key;
    uint64_t h = HMAP_HASH_SEED;

    if (m->ns != NULL) {
        h = hmap_hash_bytes(h, m->ns, strlen(m->ns));
        h = hmap_hash_bytes(h, "/", 1);
    }
    return hmap_hash_bytes(h, m->name, strlen(m->name));
}

static bool
meta_eq(const void *a, const void *b)
{
    const struct cmeta *x = a, *y = b;

    if ((x->ns == NULL) != (y->ns == NULL) || strcmp(x->name, y->name) != 0)
        return false;
    return x->ns == NULL || strcmp(x->ns, y->ns) == 0;
}

static void
meta_unref(void *val)
{
    cview_unref(val);
}

static const struct hmap_type view_keys = {meta_hash, meta_eq, NULL, NULL, meta_unref};

/* The lookup key for "ns/name" or "name"; ns is written into buf. */
static int
split_key(const char *key, struct cmeta *m, char *buf, size_t cap)
{
    const char *slash = strchr(key, '/');

    memset(m, 0, sizeof(*m));
    if (slash == NULL) {
        m->name = key;
        return 0;
    }
    if ((size_t)(slash - key) >= cap)
        return SC_ETOOBIG;
    memcpy(buf, key, (size_t)(slash - key));
    buf[slash - key] = '\0';
    m->ns = buf;
    m->name = slash + 1;
    return 0;
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
    return s;
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

/* The RV rule of cstore_put: true when m must not replace cur. */
static bool
stale(const struct cmeta *cur, const struct cmeta *m)
{
    int64_t old_rv, new_rv;

    return !cview_rv_num(m->rv, &new_rv) || (cview_rv_num(cur->rv, &old_rv) && new_rv < old_rv);
}

int
cstore_put(struct cstore *s, struct cmeta *m, bool force)
{
    char key[LIM_KEY];
    struct hmap_entry *e = NULL;
    int rc = CSTORE_REPLACED;

    if (cstore_key(m, key, sizeof(key)) != 0) {
        cview_unref(m);
        return SC_ETOOBIG;
    }
    if (s->inf != NULL) /* the same rule and results (kinformer.h) */
        return kinformer_put(s->inf, m->ns, m->name, m->uid, m->rv, m, force);
    pthread_rwlock_wrlock(&s->lock);
    e = hmap_find(&s->map, m);
    if (e != NULL && !force && stale(e->val, m)) {
        rc = CSTORE_STALE;
    } else if (e != NULL) { /* the key moves to the new view: the old one goes */
        struct cmeta *old = e->val;

        e->key = m;
        e->val = m;
        m = old;
    } else {
        rc = hmap_put(&s->map, m, m, NULL);
        m = rc == 0 ? NULL : m;
        rc = rc == 0 ? CSTORE_ADDED : rc;
    }
    pthread_rwlock_unlock(&s->lock);
    cview_unref(m);
    return rc;
}

struct cmeta *
cstore_get(struct cstore *s, const char *key)
{
    char ns[LIM_KEY];
    struct cmeta k = {0}, *m = NULL;

    if (s->inf != NULL) {
        struct kitem *it = kinformer_get(s->inf, key);

        m = it != NULL ? cview_ref((struct cmeta *)kitem_view(it)) : NULL;
        kitem_release(it);
        return m;
    }
    if (split_key(key, &k, ns, sizeof(ns)) != 0)
        return NULL;
    pthread_rwlock_rdlock(&s->lock);
    m = cview_ref(hmap_get(&s->map, &k));
    pthread_rwlock_unlock(&s->lock);
    return m;
}

struct cmeta *
cstore_del(struct cstore *s, const char *key)
{
    char ns[LIM_KEY];
    struct cmeta k = {0};
    void *m = NULL;

    if (s->inf != NULL) {
        struct kitem *it = kinformer_take(s->inf, key);

        m = it != NULL ? cview_ref((struct cmeta *)kitem_view(it)) : NULL;
        kitem_release(it);
        return m;
    }
    if (split_key(key, &k, ns, sizeof(ns)) != 0)
        return NULL;
    pthread_rwlock_wrlock(&s->lock);
    if (!hmap_del(&s->map, &k, &m))
        m = NULL;
    pthread_rwlock_unlock(&s->lock);
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
    size_t bytes;
};

static int
each_fn(const void *key, void *val, void *arg)
{
    struct each_ctx *x = arg;

    (void)key;
    return x->fn(val, x->arg);
}

static int
item_fn(const struct kitem *it, void *arg)
{
    struct each_ctx *x = arg;

    return x->fn(kitem_view(it), x->arg);
}

void
cstore_each(struct cstore *s, int (*fn)(const struct cmeta *m, void *arg), void *arg)
{
    struct each_ctx x = {fn, arg, 0};

    if (s->inf != NULL) {
        kinformer_each(s->inf, item_fn, &x);
        return;
    }
    pthread_rwlock_rdlock(&s->lock);
    hmap_each(&s->map, each_fn, &x);
    pthread_rwlock_unlock(&s->lock);
}

static int
bytes_fn(const void *key, void *val, void *arg)
{
    (void)key;
    ((struct each_ctx *)arg)->bytes += cview_bytes(val);
    return 0;
}

static int
item_bytes_fn(const struct cmeta *m, void *arg)
{
    *(size_t *)arg += cview_bytes(m);
    return 0;
}

size_t
cstore_bytes(struct cstore *s)
{
    struct each_ctx x = {NULL, NULL, 0};

    if (s->inf != NULL) {
        x.bytes = sizeof(*s) + kinformer_bytes(s->inf);
        cstore_each(s, item_bytes_fn, &x.bytes);
        return x.bytes;
    }
    pthread_rwlock_rdlock(&s->lock);
    hmap_each(&s->map, bytes_fn, &x);
    x.bytes += sizeof(*s) + hmap_bytes(&s->map);
    pthread_rwlock_unlock(&s->lock);
    return x.bytes;
}
