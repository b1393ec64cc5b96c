/* kube/kinformer.c -- list+watch caches of compact views (kinformer.h).
 *
 * Locking: inf->lock (rwlock) guards the item table and the indexes;
 * inf->mu guards the stop flag, sync state and last error.  Handlers are
 * called on the informer thread with no lock held.
 */
#include "kube/kinformer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hmap.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/thread.h"
#include "kube/karena.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"
#include "kube/kskim.h"

#define KINF_RV_MAX  64
#define KINF_UID_MAX 128 /* longer is refused (make_item) */

/* stop and interrupt are read by the informer thread (and curl's progress
 * callback) without the lock: access them atomically. */
#define FLAG_GET(f)    __atomic_load_n(&(f), __ATOMIC_ACQUIRE)
#define FLAG_SET(f, v) __atomic_store_n(&(f), (v), __ATOMIC_RELEASE)

/* ---- items ----------------------------------------------------------------------- */

/* e links the item into its informer's table (e.key = the key, e.val =
 * the view); written only under the table lock, and only while it is there.
 *
 * One allocation: the item, then in inl[] either
 *   - a flat view's bytes (kinformer_opts.view_bytes), copied in: e.val
 *     points at inl and freeing the item frees the view; or
 *   - struct kitem_free, how to free the separate view e.val points at.
 * Then "key\0rv\0", unless the view holds both (view_key): key and rv
 * point into the view.  A cached object pays for one item each, so the
 * item carries nothing else: 56 bytes, one 64-byte malloc chunk. */
struct kitem {
    struct hmap_entry e;
    uint64_t uid_hash; /* of metadata.uid: only ever compared (kitem_uid_is) */
    const char *rv;
    atomic_int refs;
    bool local;             /* kitem_local(); read and written atomically */
    bool own_key;           /* key and rv are the item's copies, in inl[] */
    _Alignas(8) char inl[]; /* a flat view needs no more (kinf_bytes_fn) */
};

_Static_assert(sizeof(struct kitem) == 56, "an item with its malloc header fits 64 bytes");

struct kitem_free {
    kinf_free_fn *fn; /* NULL = free() */
    void *ctx;
};

_Static_assert(offsetof(struct kitem, e) == 0, "an entry of the table is its item (each_item)");

struct kitem *
kitem_acquire(struct kitem *it)
{
    if (it != NULL)
        atomic_fetch_add_explicit(&it->refs, 1, memory_order_relaxed);
    return it;
}

void
kitem_release(struct kitem *it)
{
    if (it == NULL)
        return;
    if (atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) == 1) {
        if (it->e.val != it->inl) {
            struct kitem_free f = {0};

            memcpy(&f, it->inl, sizeof(f));
            if (f.fn)
                f.fn(f.ctx, it->e.val);
            else
                free(it->e.val);
        }
        free(it);
    }
}

void
kitem_release_all(struct kitem **items, size_t n)
{
    /* Each slot holds a reference of its own, so a table reference dropped
     * meanwhile (kinformer_drop_local in delete_unseen) never frees it: the
     * analyzer cannot count references. */
    for (size_t i = 0; i < n; i++)
        kitem_release(items[i]); // NOLINT(clang-analyzer-unix.Malloc)
    free(items);
}

const char *
kitem_key(const struct kitem *it)
{
    return it->e.key;
}

bool
kitem_uid_is(const struct kitem *it, const char *uid)
{
    return it->uid_hash == hmap_hash_str(uid);
}

const char *
kitem_rv(const struct kitem *it)
{
    return it->rv;
}

const void *
kitem_view(const struct kitem *it)
{
    return it->e.val;
}

bool
kitem_local(const struct kitem *it)
{
    return __atomic_load_n(&it->local, __ATOMIC_ACQUIRE);
}

static void
kitem_seen(const struct kitem *it)
{
    __atomic_store_n(&((struct kitem *)it)->local, false, __ATOMIC_RELEASE);
}

/* ---- compact view packing ---------------------------------------------------------- */

void
kpack_init(struct kpack *p, size_t fixed)
{
    p->fixed = (fixed + 7) & ~(size_t)7;
    p->need = 0;
    p->mem = NULL;
    p->off = 0;
}

void
kpack_reserve(struct kpack *p, const char *s)
{
    if (s != NULL)
        p->need += strlen(s) + 1;
}

void *
kpack_alloc(struct kpack *p)
{
    p->mem = calloc(1, p->fixed + p->need);
    p->off = p->fixed;
    return p->mem;
}

const char *
kpack_str(struct kpack *p, const char *s)
{
    size_t n;
    char *d;

    if (s == NULL || p->mem == NULL)
        return NULL;
    n = strlen(s) + 1;
    if (p->off + n > p->fixed + p->need)
        return NULL; /* reserve/str order mismatch: caller bug, never overflow */
    d = p->mem + p->off;
    memcpy(d, s, n);
    p->off += n;
    return d;
}

/* ---- index storage ------------------------------------------------------------------ */

struct kindex_out {
    char *vals[KINF_MAX_INDEX_VALUES];
    int n;
    int overflow;
};

void
kindex_emit(struct kindex_out *out, const char *value)
{
    if (value == NULL)
        return;
    for (int i = 0; i < out->n; i++)
        if (strcmp(out->vals[i], value) == 0)
            return;
    if (out->n >= KINF_MAX_INDEX_VALUES) {
        out->overflow = 1;
        return;
    }
    out->vals[out->n] = strdup(value);
    if (out->vals[out->n] != NULL)
        out->n++;
    else
        out->overflow = 1;
}

static void
kindex_out_release(struct kindex_out *o)
{
    for (int i = 0; i < o->n; i++)
        free(o->vals[i]);
    o->n = 0;
}

/* value -> the set of item keys under it (the cache holds the items): a
 * set, so that an item's update (a remove, then an add) costs the same
 * whether one item or ten thousand share the value. */
struct kix_bucket {
    struct hmap keys; /* hmap_str_keys: copied keys, no values */
    char value[];
};

struct kindex {
    char *name;
    kindex_fn *fn;
    void *ctx;
    struct hmap tab; /* value (the bucket's own copy) -> struct kix_bucket */
    bool lossy;      /* an entry could not be added or removed: by_index refuses */
};

static void
kix_bucket_free(void *val)
{
    struct kix_bucket *b = val;

    hmap_free(&b->keys);
    free(b);
}

static const struct hmap_type kix_values = {hmap_hash_str, hmap_str_eq, NULL, NULL,
                                            kix_bucket_free};

/* The item table's type: the items link themselves (hmap_link); keys are
 * their own key strings. */
static const struct hmap_type item_keys = {hmap_hash_str, hmap_str_eq, NULL, NULL, NULL};

/* ---- the informer -------------------------------------------------------------------- */

struct kinformer {
    struct kclient *c;
    char *name, *path, *label_selector;
    kinf_parse_fn *parse;
    kinf_free_fn *free_view;
    kinf_key_fn *view_key;
    kinf_bytes_fn *view_bytes;
    kinf_parse_bytes_fn *parse_bytes;
    void *parse_ctx;
    struct kinf_handlers h;
    int64_t resync_ms, watch_timeout_s;
    bool keep_newer;
    int list_page; /* objects per LIST page (kinformer_opts.list_page) */
    void (*on_error)(void *ctx, const char *informer, const struct sc_err *err);
    void *error_ctx;

    pthread_rwlock_t lock;
    struct hmap tab; /* key -> struct kitem (linked by its own entry; one reference) */
    struct kindex idx[KINF_MAX_INDEXES];
    int nidx;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    volatile int stop;
    volatile int interrupt; /* stop or pause: ends a running watch */
    bool paused, have_forced;
    char forced_rv[KINF_RV_MAX];
    bool synced, started, joined;
    int served; /* kinformer_served(): 1, 0 or -1 */
    struct sc_err last;
    pthread_t thread;

    /* informer thread only */
    char rv[KINF_RV_MAX];
    struct kwatch_framer framer;
    int64_t last_resync;
    int watch_events;
    uint64_t known_events;   /* applied without a parse (apply_known); atomic */
    uint64_t scanned_events; /* views made by parse_bytes (apply_scanned); atomic */
};

struct kinformer *
kinformer_new(struct kclient *c, const struct kinformer_opts *o, struct sc_err *err)
{
    struct kinformer *inf = NULL;
    pthread_condattr_t ca;

    if (c == NULL || o == NULL || o->path == NULL || o->parse == NULL) {
        sc_err_set(err, SC_EINVALID, "kinformer: client, path and parse are required");
        return NULL;
    }
    inf = calloc(1, sizeof(*inf));
    if (inf == NULL)
        goto nomem;
    inf->c = c;
    inf->served = -1;
    inf->name = strdup(o->name ? o->name : o->path);
    inf->path = strdup(o->path);
    inf->label_selector = o->label_selector ? strdup(o->label_selector) : NULL;
    if (inf->name == NULL || inf->path == NULL ||
        (o->label_selector && inf->label_selector == NULL)) {
        free(inf->name);
        free(inf->path);
        free(inf->label_selector);
        free(inf);
        goto nomem;
    }
    hmap_init(&inf->tab, &item_keys, 0);
    inf->parse = o->parse;
    inf->free_view = o->free_view;
    inf->view_key = o->view_key;
    inf->view_bytes = o->view_bytes;
    inf->parse_ctx = o->parse_ctx;
    inf->parse_bytes = o->parse_bytes;
    inf->h = o->handlers;
    inf->resync_ms = o->resync_ms;
    inf->watch_timeout_s = o->watch_timeout_s;
    inf->keep_newer = o->keep_newer;
    inf->list_page = o->list_page;
    inf->on_error = o->on_error;
    inf->error_ctx = o->error_ctx;
    pthread_rwlock_init(&inf->lock, NULL);
    pthread_mutex_init(&inf->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&inf->cv, &ca);
    pthread_condattr_destroy(&ca);
    kwatch_framer_init(&inf->framer, LIM_WATCH_LINE);
    return inf;
nomem:
    sc_err_set(err, SC_ENOMEM, "kinformer: out of memory");
    return NULL;
}

int
kinformer_add_index(struct kinformer *inf, const char *name, kindex_fn *fn, void *ctx,
                    struct sc_err *err)
{
    struct kindex *x = NULL;

    if (inf->started)
        return sc_err_set(err, SC_EINVALID, "kinformer %s: add indexes before start", inf->name);
    if (inf->nidx >= KINF_MAX_INDEXES)
        return sc_err_set(err, SC_ETOOBIG, "kinformer %s: too many indexes", inf->name);
    if (name == NULL || fn == NULL)
        return sc_err_set(err, SC_EINVALID, "kinformer %s: index needs a name and a function",
                          inf->name);
    x = &inf->idx[inf->nidx];
    x->name = strdup(name);
    if (x->name == NULL) {
        memset(x, 0, sizeof(*x));
        return sc_err_set(err, SC_ENOMEM, "kinformer: out of memory");
    }
    hmap_init(&x->tab, &kix_values, 0);
    x->fn = fn;
    x->ctx = ctx;
    inf->nidx++;
    return 0;
}

static void
report(struct kinformer *inf, const struct sc_err *e)
{
    pthread_mutex_lock(&inf->mu);
    inf->last = *e;
    pthread_mutex_unlock(&inf->mu);
    if (inf->on_error)
        inf->on_error(inf->error_ctx, inf->name, e);
    else
        log_warnx("informer %s: %s", inf->name, e->msg);
}

/* ---- table (inf->lock held for writing unless noted) ------------------------------------- */

static struct kitem *
tab_find(struct kinformer *inf, const char *key)
{
    struct hmap_entry *e = hmap_find(&inf->tab, key);

    return e != NULL ? (struct kitem *)e : NULL;
}

static void
ix_remove(struct kindex *x, const char *value, const char *key)
{
    struct kix_bucket *b = hmap_get(&x->tab, value);

    if (b == NULL)
        return;
    (void)hmap_del(&b->keys, key, NULL);
    if (hmap_len(&b->keys) == 0)
        (void)hmap_del(&x->tab, value, NULL);
}

static struct kix_bucket *
ix_bucket(struct kindex *x, const char *value)
{
    struct kix_bucket *b = hmap_get(&x->tab, value);
    size_t n = strlen(value);

    if (b != NULL)
        return b;
    b = calloc(1, sizeof(*b) + n + 1);
    if (b == NULL)
        return NULL;
    memcpy(b->value, value, n + 1);
    hmap_init(&b->keys, &hmap_str_keys, 0);
    if (hmap_put(&x->tab, b->value, b, NULL) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

static void
ix_add(struct kindex *x, const char *value, const char *key)
{
    struct kix_bucket *b = ix_bucket(x, value);

    if (b == NULL || hmap_put(&b->keys, key, NULL, NULL) != 0)
        x->lossy = true;
}

static void
index_item(struct kinformer *inf, const struct kitem *it, bool add)
{
    for (int i = 0; i < inf->nidx; i++) {
        struct kindex_out out = {0};
        inf->idx[i].fn(inf->idx[i].ctx, it->e.val, &out);
        if (out.overflow)
            inf->idx[i].lossy = true; /* values lost: the index no longer answers */
        for (int k = 0; k < out.n; k++) {
            if (add)
                ix_add(&inf->idx[i], out.vals[k], kitem_key(it));
            else
                ix_remove(&inf->idx[i], out.vals[k], kitem_key(it));
        }
        kindex_out_release(&out);
    }
}

/* Put it in the table (taking over the caller's reference); the replaced
 * item (its table reference, caller releases) goes to *old.  Out of memory
 * for the first buckets, it is dropped (not cached): SC_ENOMEM. */
static int
tab_put(struct kinformer *inf, struct kitem *it, struct kitem **old)
{
    struct hmap_entry *e = NULL;

    *old = NULL;
    if (hmap_link(&inf->tab, &it->e, &e) != 0) {
        kitem_release(it);
        return SC_ENOMEM;
    }
    *old = (struct kitem *)e;
    if (*old != NULL)
        index_item(inf, *old, false);
    index_item(inf, it, true);
    return 0;
}

/* Remove key; returns the removed item's table reference or NULL. */
static struct kitem *
tab_del(struct kinformer *inf, const char *key)
{
    struct kitem *it = (struct kitem *)hmap_unlink(&inf->tab, key);

    if (it != NULL)
        index_item(inf, it, false);
    hmap_shrink(&inf->tab); /* never called while the table is iterated */
    return it;
}

/* ---- building items ------------------------------------------------------------------ */

static void
drop_view(struct kinformer *inf, void *view)
{
    if (inf->free_view)
        inf->free_view(inf->parse_ctx, view);
    else
        free(view);
}

/* True when key is "ns/name" (or name, when ns is NULL). */
static bool
key_is(const char *key, const char *ns, const char *name)
{
    size_t nl = ns != NULL ? strlen(ns) : 0;

    if (ns != NULL && (strncmp(key, ns, nl) != 0 || key[nl] != '/'))
        return false;
    return strcmp(key + (ns != NULL ? nl + 1 : 0), name) == 0;
}

/* p moved with the block [from, from + n) to "to"; pointers outside stay. */
static const char *
moved(const char *p, const void *from, size_t n, const char *to)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)from;

    return p != NULL && off < n ? to + off : p;
}

/* The item for view (see struct kitem).  On success a flat view has been
 * copied and freed; on failure (NULL) the view is still the caller's. */
static struct kitem *
alloc_item(struct kinformer *inf, const char *ns, const char *name, const char *uid, const char *rv,
           void *view)
{
    size_t flat = inf->view_bytes != NULL ? inf->view_bytes(inf->parse_ctx, view) : 0;
    size_t pre = flat > 0 ? (flat + 7) / 8 * 8 : sizeof(struct kitem_free);
    const char *vrv = NULL,
               *vkey = inf->view_key != NULL ? inf->view_key(inf->parse_ctx, view, &vrv) : NULL;
    bool in_view = vkey != NULL && vrv != NULL && key_is(vkey, ns, name) && strcmp(vrv, rv) == 0;
    size_t kl = (ns ? strlen(ns) + 1 : 0) + strlen(name), rl = strlen(rv);
    struct kitem *it = malloc(sizeof(*it) + pre + (in_view ? 0 : kl + 1 + rl + 1));
    char *tail = NULL;

    if (it == NULL)
        return NULL;
    memset(&it->e, 0, sizeof(it->e));
    tail = it->inl + pre;
    if (flat > 0) {
        memcpy(it->inl, view, flat);
        vkey = moved(vkey, view, flat, it->inl);
        vrv = moved(vrv, view, flat, it->inl);
        it->e.val = it->inl;
    } else {
        struct kitem_free f = {inf->free_view, inf->parse_ctx};

        memcpy(it->inl, &f, sizeof(f));
        it->e.val = view;
    }
    if (in_view) {
        it->e.key = (void *)vkey; /* the table never writes through a key */
        it->rv = vrv;
    } else {
        if (ns)
            snprintf(tail, kl + 1, "%s/%s", ns, name);
        else
            memcpy(tail, name, kl + 1);
        memcpy(tail + kl + 1, rv, rl + 1);
        it->e.key = tail;
        it->rv = tail + kl + 1;
    }
    it->uid_hash = hmap_hash_str(uid);
    atomic_init(&it->refs, 1);
    it->local = false;
    it->own_key = !in_view;
    if (flat > 0)
        drop_view(inf, view);
    return it;
}

static int
make_item(struct kinformer *inf, const json_t *obj, struct kitem **out, struct sc_err *err)
{
    struct kjson r = {0};
    const char *ns, *name, *uid, *rv;
    void *view = NULL;
    int rc;

    *out = NULL;
    kjson_init(&r, obj, err);
    ns = kjson_str(&r, "metadata.namespace");
    name = kjson_str_req(&r, "metadata.name");
    uid = kjson_str(&r, "metadata.uid");
    rv = kjson_str(&r, "metadata.resourceVersion");
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    if (ns != NULL && ns[0] == '\0')
        ns = NULL;
    uid = uid ? uid : "";
    rv = rv ? rv : "";
    if ((ns ? strlen(ns) + 1 : 0) + strlen(name) >= LIM_KEY)
        return sc_err_set(err, SC_ETOOBIG, "object key longer than %d bytes", LIM_KEY - 1);
    if (strlen(uid) > KINF_UID_MAX || strlen(rv) >= KINF_RV_MAX)
        return sc_err_set(err, SC_EPROTO, "%s: uid or resourceVersion too long", name);
    rc = inf->parse(inf->parse_ctx, obj, &view, err);
    if (rc != 0)
        return rc;
    *out = alloc_item(inf, ns, name, uid, rv, view);
    if (*out == NULL) {
        drop_view(inf, view);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    return 0;
}

/* Compare resourceVersions: <0, 0, >0; non-numeric ones compare as "differs". */
static int
rv_cmp(const char *a, const char *b)
{
    char *ea, *eb;
    unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
    if (*a && *b && *ea == '\0' && *eb == '\0')
        return x < y ? -1 : x > y;
    return strcmp(a, b) == 0 ? 0 : 2;
}

/* True when both resourceVersions are numeric and a is older than b. */
static bool
rv_older(const char *a, const char *b)
{
    int c = rv_cmp(a, b);

    return c == -1;
}

/* ---- readers -------------------------------------------------------------------------- */

struct kitem *
kinformer_get(struct kinformer *inf, const char *key)
{
    struct kitem *it = NULL;

    if (key == NULL)
        return NULL;
    pthread_rwlock_rdlock(&inf->lock);
    it = kitem_acquire(tab_find(inf, key));
    pthread_rwlock_unlock(&inf->lock);
    return it;
}

int
kinformer_list(struct kinformer *inf, struct kitem ***out, size_t *n)
{
    struct kitem **arr = NULL;
    size_t k = 0;

    pthread_rwlock_rdlock(&inf->lock);
    if (hmap_len(&inf->tab) > 0) {
        struct hmap_iter hi = {0};
        struct hmap_entry *e = NULL;

        arr = malloc(hmap_len(&inf->tab) * sizeof(struct kitem *));
        if (arr == NULL) {
            pthread_rwlock_unlock(&inf->lock);
            return SC_ENOMEM;
        }
        hmap_iter_init(&hi, &inf->tab);
        while ((e = hmap_iter_next(&hi)) != NULL)
            arr[k++] = kitem_acquire((struct kitem *)e);
    }
    pthread_rwlock_unlock(&inf->lock);
    *out = arr;
    *n = k;
    return 0;
}

/* The index named index, read-locked and whole: 0 with the lock held, or
 * an error (no such index; SC_ENOMEM once it lost entries) without it. */
static int
index_lock(struct kinformer *inf, const char *index, struct kindex **out, struct sc_err *err)
{
    struct kindex *x = NULL;

    for (int i = 0; i < inf->nidx; i++)
        if (strcmp(inf->idx[i].name, index) == 0)
            x = &inf->idx[i];
    if (x == NULL)
        return sc_err_set(err, SC_EINVALID, "kinformer %s: no index %s", inf->name, index);
    pthread_rwlock_rdlock(&inf->lock);
    if (x->lossy) {
        pthread_rwlock_unlock(&inf->lock);
        return sc_err_set(err, SC_ENOMEM, "kinformer %s: index %s lost entries for want of memory",
                          inf->name, index);
    }
    *out = x;
    return 0;
}

int
kinformer_by_index(struct kinformer *inf, const char *index, const char *value, struct kitem ***out,
                   size_t *n, struct sc_err *err)
{
    struct kindex *x = NULL;
    struct kitem **arr = NULL;
    size_t k = 0;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = index_lock(inf, index, &x, err)) != 0)
        return rc;
    struct kix_bucket *b = value != NULL ? hmap_get(&x->tab, value) : NULL;
    if (b != NULL && hmap_len(&b->keys) > 0) {
        arr = malloc(hmap_len(&b->keys) * sizeof(struct kitem *));
        if (arr == NULL) {
            pthread_rwlock_unlock(&inf->lock);
            return sc_err_set(err, SC_ENOMEM, "out of memory");
        }
        struct hmap_iter hi = {0};
        struct hmap_entry *e = NULL;
        hmap_iter_init(&hi, &b->keys);
        while ((e = hmap_iter_next(&hi)) != NULL) {
            struct kitem *it = tab_find(inf, e->key);
            if (it)
                arr[k++] = kitem_acquire(it);
        }
    }
    pthread_rwlock_unlock(&inf->lock);
    if (k == 0) {
        free(arr);
        arr = NULL;
    }
    *out = arr;
    *n = k;
    return 0;
}

int
kinformer_index_count(struct kinformer *inf, const char *index, const char *value,
                      const char *except, size_t *n, struct sc_err *err)
{
    struct kindex *x = NULL;
    int rc;

    *n = 0;
    if ((rc = index_lock(inf, index, &x, err)) != 0)
        return rc;
    struct kix_bucket *b = value != NULL ? hmap_get(&x->tab, value) : NULL;
    if (b != NULL) {
        *n = hmap_len(&b->keys);
        if (except != NULL && hmap_find(&b->keys, except) != NULL)
            (*n)--;
    }
    pthread_rwlock_unlock(&inf->lock);
    return 0;
}

size_t
kinformer_len(struct kinformer *inf)
{
    size_t n;
    pthread_rwlock_rdlock(&inf->lock);
    n = hmap_len(&inf->tab);
    pthread_rwlock_unlock(&inf->lock);
    return n;
}

bool
kinformer_synced(struct kinformer *inf)
{
    bool s;
    pthread_mutex_lock(&inf->mu);
    s = inf->synced;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

int
kinformer_served(struct kinformer *inf)
{
    int s;
    pthread_mutex_lock(&inf->mu);
    s = inf->served;
    pthread_mutex_unlock(&inf->mu);
    return s;
}

int
kinformer_wait_synced(struct kinformer *inf, int64_t timeout_ms)
{
    struct timespec ts = {0};
    int rc = 0;

    kts_after_ms(&ts, timeout_ms);
    pthread_mutex_lock(&inf->mu);
    while (!inf->synced && !FLAG_GET(inf->stop)) {
        if (pthread_cond_timedwait(&inf->cv, &inf->mu, &ts) != 0) {
            rc = inf->synced ? 0 : SC_ETIMEOUT;
            break;
        }
    }
    if (rc == 0 && !inf->synced)
        rc = SC_ESHUTDOWN;
    pthread_mutex_unlock(&inf->mu);
    return rc;
}

int
kinformer_status(struct kinformer *inf, struct sc_err *err)
{
    int rc;
    pthread_mutex_lock(&inf->mu);
    rc = inf->last.code;
    if (err != NULL)
        *err = inf->last;
    pthread_mutex_unlock(&inf->mu);
    return rc;
}

int
kinformer_store(struct kinformer *inf, const json_t *obj, struct sc_err *err)
{
    struct kitem *it = NULL, *cur, *old = NULL;
    int rc = make_item(inf, obj, &it, err);

    if (rc != 0 || it == NULL)
        return rc ? rc : SC_EPROTO;
    pthread_rwlock_wrlock(&inf->lock);
    cur = tab_find(inf, kitem_key(it));
    if (cur != NULL && rv_cmp(kitem_rv(cur), kitem_rv(it)) >= 0 &&
        rv_cmp(kitem_rv(cur), kitem_rv(it)) != 2) {
        pthread_rwlock_unlock(&inf->lock);
        kitem_release(it);
        return 0;
    }
    it->local = cur == NULL || kitem_local(cur);
    (void)tab_put(inf, it, &old); /* a write ahead of the watch: best effort */
    pthread_rwlock_unlock(&inf->lock);
    kitem_release(old);
    return 0;
}

/* Digits only: the store's rule reads a resourceVersion as a number. */
static bool
rv_numeric(const char *rv)
{
    size_t n = strspn(rv, "0123456789");

    return n > 0 && n < 20 && rv[n] == '\0';
}

/* The put rule (kinformer.h): true when it must not replace cur. */
static bool
put_stale(const struct kitem *cur, const struct kitem *it)
{
    return !rv_numeric(kitem_rv(it)) ||
           (rv_numeric(kitem_rv(cur)) && rv_older(kitem_rv(it), kitem_rv(cur)));
}

int
kinformer_put(struct kinformer *inf, const char *ns, const char *name, const char *uid,
              const char *rv, void *view, bool force)
{
    struct kitem *it = NULL, *cur = NULL, *old = NULL;
    int rc;

    ns = ns != NULL && ns[0] != '\0' ? ns : NULL;
    uid = uid != NULL ? uid : "";
    rv = rv != NULL ? rv : "";
    if ((ns ? strlen(ns) + 1 : 0) + strlen(name) >= LIM_KEY || strlen(rv) >= KINF_RV_MAX) {
        drop_view(inf, view);
        return SC_ETOOBIG;
    }
    it = alloc_item(inf, ns, name, uid, rv, view);
    if (it == NULL) {
        drop_view(inf, view);
        return SC_ENOMEM;
    }
    pthread_rwlock_wrlock(&inf->lock);
    cur = tab_find(inf, kitem_key(it));
    if (cur != NULL && !force && put_stale(cur, it)) {
        pthread_rwlock_unlock(&inf->lock);
        kitem_release(it);
        return KINF_PUT_STALE;
    }
    it->local = cur == NULL || kitem_local(cur);
    rc = tab_put(inf, it, &old);
    pthread_rwlock_unlock(&inf->lock);
    kitem_release(old);
    if (rc != 0)
        return rc;
    return cur != NULL ? KINF_PUT_REPLACED : KINF_PUT_ADDED;
}

struct kitem *
kinformer_take(struct kinformer *inf, const char *key)
{
    struct kitem *it = NULL;

    pthread_rwlock_wrlock(&inf->lock);
    it = tab_del(inf, key);
    pthread_rwlock_unlock(&inf->lock);
    return it;
}

bool
kinformer_drop_local(struct kinformer *inf, const char *key)
{
    struct kitem *it = NULL;
    bool gone;

    pthread_rwlock_rdlock(&inf->lock); /* the common case: a key the server showed */
    it = tab_find(inf, key);
    gone = it == NULL || kitem_local(it);
    pthread_rwlock_unlock(&inf->lock);
    if (it == NULL || !gone)
        return gone;
    pthread_rwlock_wrlock(&inf->lock);
    it = tab_find(inf, key);
    gone = it == NULL || kitem_local(it);
    it = it != NULL && gone ? tab_del(inf, key) : NULL;
    pthread_rwlock_unlock(&inf->lock);
    kitem_release(it);
    return gone;
}

struct each_ctx {
    int (*fn)(const struct kitem *it, void *arg);
    void *arg;
    size_t bytes;
};

/* fn on every item of the table (the caller holds the lock): the entry is
 * the item's first member. */
static void
each_item(struct kinformer *inf, struct each_ctx *x)
{
    struct hmap_iter hi = {0};
    struct hmap_entry *e = NULL;

    hmap_iter_init(&hi, &inf->tab);
    while ((e = hmap_iter_next(&hi)) != NULL)
        if (x->fn((const struct kitem *)e, x->arg) != 0)
            break;
}

void
kinformer_each(struct kinformer *inf, int (*fn)(const struct kitem *it, void *arg), void *arg)
{
    struct each_ctx x = {fn, arg, 0};

    pthread_rwlock_rdlock(&inf->lock);
    each_item(inf, &x);
    pthread_rwlock_unlock(&inf->lock);
}

static int
bytes_fn(const struct kitem *it, void *arg)
{
    const char *rv = kitem_rv(it), *key = kitem_key(it);

    /* the item's own bytes: a view, flat or not, is the caller's to count */
    ((struct each_ctx *)arg)->bytes += sizeof(*it) +
                                       (it->e.val != it->inl ? sizeof(struct kitem_free) : 0) +
                                       (it->own_key ? strlen(key) + 1 + strlen(rv) + 1 : 0);
    return 0;
}

size_t
kinformer_bytes(struct kinformer *inf)
{
    struct each_ctx x = {bytes_fn, &x, 0};

    pthread_rwlock_rdlock(&inf->lock);
    each_item(inf, &x);
    x.bytes += hmap_bytes(&inf->tab);
    pthread_rwlock_unlock(&inf->lock);
    return x.bytes;
}

/* ---- informer thread -------------------------------------------------------------------- */

/* A full LIST answered: synced and served change together, so that a
 * kinformer_wait_synced() caller never sees the sync without the served. */
static void
set_synced(struct kinformer *inf)
{
    pthread_mutex_lock(&inf->mu);
    inf->synced = true;
    inf->served = 1;
    memset(&inf->last, 0, sizeof(inf->last));
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

/* Sleep up to ms unless stopped; returns true when stopping. */
static bool
nap(struct kinformer *inf, int64_t ms)
{
    struct timespec ts = {0};
    bool stop;

    kts_after_ms(&ts, ms);
    pthread_mutex_lock(&inf->mu);
    while (!FLAG_GET(inf->stop) && pthread_cond_timedwait(&inf->cv, &inf->mu, &ts) == 0)
        ;
    stop = FLAG_GET(inf->stop);
    pthread_mutex_unlock(&inf->mu);
    return stop;
}

struct relist {
    struct kinformer *inf;
    struct kitem **items;
    size_t n, cap;
};

static int
relist_item(void *ctx, const json_t *obj)
{
    struct relist *rl = ctx;
    struct sc_err e = {0};
    struct kitem *it = NULL;

    if (make_item(rl->inf, obj, &it, &e) != 0 || it == NULL) {
        sc_err_wrap(&e, e.code, "list: skipped object");
        report(rl->inf, &e);
        return 0;
    }
    if (rl->n == rl->cap) {
        size_t nc = rl->cap ? rl->cap * 2 : 256;
        struct kitem **a = realloc(rl->items, nc * sizeof(struct kitem *));
        if (a == NULL) {
            kitem_release(it);
            return SC_ENOMEM;
        }
        rl->items = a;
        rl->cap = nc;
    }
    rl->items[rl->n++] = it;
    return 0;
}

static int
cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Put it (borrowed; the cache takes its own reference) into the cache and
 * call on_add or on_update.  With keep_newer, an older event leaves the
 * cached item in place (now seen) and is only passed to on_update. */
static void
publish(struct kinformer *inf, struct kitem *it)
{
    struct kitem *old = NULL, *kept = NULL;

    pthread_rwlock_wrlock(&inf->lock);
    if (inf->keep_newer)
        kept = tab_find(inf, kitem_key(it));
    if (kept != NULL && rv_older(kitem_rv(it), kitem_rv(kept))) {
        kitem_seen(kept);
        kitem_acquire(kept);
    } else {
        kept = NULL;
        (void)tab_put(inf, kitem_acquire(it), &old); /* dropped out of memory: handlers still run */
    }
    pthread_rwlock_unlock(&inf->lock);
    if (kept != NULL || old != NULL) {
        if (inf->h.on_update)
            inf->h.on_update(inf->h.ctx, kept != NULL ? kept : old, it);
        kitem_release(kept != NULL ? kept : old);
        return;
    }
    if (inf->h.on_add)
        inf->h.on_add(inf->h.ctx, it);
}

/* Remove key and call on_delete with the cached item (or with fallback when
 * nothing was cached and fallback is not NULL). */
static void
unpublish(struct kinformer *inf, const char *key, const struct kitem *fallback)
{
    struct kitem *old = NULL;

    pthread_rwlock_wrlock(&inf->lock);
    old = tab_del(inf, key);
    pthread_rwlock_unlock(&inf->lock);
    if (inf->h.on_delete && (old != NULL || fallback != NULL))
        inf->h.on_delete(inf->h.ctx, old ? old : fallback);
    kitem_release(old);
}

static bool
unchanged(struct kinformer *inf, const struct kitem *it)
{
    bool same;

    pthread_rwlock_rdlock(&inf->lock);
    const struct kitem *cur = tab_find(inf, kitem_key(it));
    same = cur != NULL && strcmp(kitem_rv(cur), kitem_rv(it)) == 0 && cur->uid_hash == it->uid_hash;
    if (same)
        kitem_seen(cur); /* the list shows the key: no longer local */
    pthread_rwlock_unlock(&inf->lock);
    return same;
}

/* Delete every cached key that is not in seen[n] (sorted).  A local item
 * (a write the server never showed) goes without handlers. */
static void
delete_unseen(struct kinformer *inf, const char **seen, size_t n)
{
    struct kitem **all = NULL;
    size_t nall;

    if (kinformer_list(inf, &all, &nall) != 0)
        return;
    for (size_t i = 0; i < nall; i++) {
        const char *k = kitem_key(all[i]);
        if (n > 0 && bsearch(&k, seen, n, sizeof(*seen), cmp_key) != NULL)
            continue;
        if (kitem_local(all[i]))
            (void)kinformer_drop_local(inf, k);
        else
            unpublish(inf, k, NULL);
    }
    kitem_release_all(all, nall);
}

/* One complete paginated LIST into rl (items parsed page by page as they
 * stream in).  A continue token that expired (410 on a later page) drops
 * what the earlier pages gave and lists again from the first page, at most
 * KINF_LIST_RESTARTS times; the cache is untouched meanwhile. */
static int
list_all(struct kinformer *inf, struct relist *rl, char *rv, size_t rv_cap, struct sc_err *err)
{
    struct klist_opts lo = {.label_selector = inf->label_selector, .limit = inf->list_page};
    int rc;

    for (int attempt = 0;; attempt++) {
        struct karena arena = {0};
        karena_begin(&arena); /* the items' trees, each freed once it is a view (karena.h) */
        rc = kclient_list(inf->c, inf->path, &lo, relist_item, rl, rv, rv_cap, err);
        karena_end(&arena);
        if (rc != SC_EGONE || attempt == KINF_LIST_RESTARTS || FLAG_GET(inf->stop))
            return rc;
        kitem_release_all(rl->items, rl->n);
        rl->items = NULL;
        rl->n = rl->cap = 0;
        sc_err_wrap(err, rc, "list %s: continue token expired, listing again", inf->name);
        report(inf, err);
    }
}

/* LIST everything, then apply the difference to the cache and handlers:
 * the cache changes only after the last page, so no delete is delivered and
 * 'synced' is not set for a partial list. */
static int
relist(struct kinformer *inf, struct sc_err *err)
{
    struct relist rl = {.inf = inf};
    char rv[KINF_RV_MAX];
    const char **seen = NULL;
    int rc;

    rc = list_all(inf, &rl, rv, sizeof(rv), err);
    if (rc == 0 && rl.n > 0 && (seen = malloc(rl.n * sizeof(*seen))) == NULL)
        rc = sc_err_set(err, SC_ENOMEM, "out of memory");
    if (rc != 0 || (rl.n > 0 && seen == NULL)) {
        if (rc == SC_ENOTFOUND)
            sc_err_set(err, SC_ENOTFOUND, "resource not served: %s", inf->path);
        kitem_release_all(rl.items, rl.n);
        return rc ? rc : SC_ENOMEM;
    }
    for (size_t i = 0; i < rl.n; i++)
        seen[i] = kitem_key(rl.items[i]);
    if (rl.n > 0)
        qsort(seen, rl.n, sizeof(*seen), cmp_key);
    for (size_t i = 0; i < rl.n; i++) {
        if (!unchanged(inf, rl.items[i]))
            publish(inf, rl.items[i]);
    }
    delete_unseen(inf, seen, rl.n);
    free(seen);
    kitem_release_all(rl.items, rl.n);
    snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
    set_synced(inf);
    return 0;
}

/* Remember rv (ignored when NULL or too long) to resume the watch from. */
static void
set_rv(struct kinformer *inf, const char *rv)
{
    if (rv != NULL && strlen(rv) < sizeof(inf->rv))
        memcpy(inf->rv, rv, strlen(rv) + 1);
}

static const char *
rv_of(const json_t *obj)
{
    struct kjson r = {0};

    kjson_init(&r, obj, NULL);
    return kjson_str(&r, "metadata.resourceVersion");
}

/* BOOKMARK moves the resourceVersion; ERROR ends the watch with its code. */
static int
apply_meta_event(struct kinformer *inf, enum kwatch_type type, const json_t *obj,
                 struct sc_err *err)
{
    struct kjson r = {0};

    kjson_init(&r, obj, err);
    if (type == KW_ERROR) {
        int64_t code = kjson_int(&r, "code", 0);
        const char *msg = kjson_str(&r, "message");
        struct buf s = {0};
        int rc;

        buf_init(&s, LIM_WATCH_LINE); /* not json_dumps(): its text is jansson's (karena.h) */
        rc = kjson_dumpb(obj, &s, NULL) == 0 ? 0 : SC_ETOOBIG;
        rc = kclient_map_status(code ? code : 500, rc == 0 ? buf_str(&s) : NULL,
                                rc == 0 ? s.len : 0, NULL, err);
        buf_release(&s);
        if (msg == NULL && err != NULL)
            sc_err_wrap(err, rc, "watch error event");
        return rc == 0 ? SC_EPROTO : rc;
    }
    const char *rv = kjson_str(&r, "metadata.resourceVersion");
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    set_rv(inf, rv);
    return 0;
}

/* Deleted, but the parser rejects its last state: still drop the cached
 * entry (by key) so the cache does not keep a ghost. */
static void
delete_unparsed(struct kinformer *inf, const json_t *obj)
{
    struct kjson r = {0};
    char key[LIM_KEY];

    kjson_init(&r, obj, NULL);
    const char *ns = kjson_str(&r, "metadata.namespace");
    const char *name = kjson_str(&r, "metadata.name");
    if (name == NULL)
        return;
    if (ns != NULL && ns[0] != '\0')
        snprintf(key, sizeof(key), "%s/%s", ns, name);
    else
        snprintf(key, sizeof(key), "%s", name);
    unpublish(inf, key, NULL);
}

/* Apply one decoded watch event. */
static int
apply_event(struct kinformer *inf, enum kwatch_type type, json_t *obj, struct sc_err *err)
{
    struct kitem *it = NULL;
    int rc;

    if (type == KW_BOOKMARK || type == KW_ERROR)
        return apply_meta_event(inf, type, obj, err);
    rc = make_item(inf, obj, &it, err);
    if (rc != 0) {
        if (type == KW_DELETED) {
            delete_unparsed(inf, obj);
        } else if (err != NULL) {
            /* The object is skipped, the watch goes on. */
            sc_err_wrap(err, rc, "watch: skipped object");
            report(inf, err);
        }
        set_rv(inf, rv_of(obj));
        return 0;
    }
    set_rv(inf, kitem_rv(it));
    inf->watch_events++;
    if (type == KW_DELETED)
        unpublish(inf, kitem_key(it), it);
    else
        publish(inf, it);
    kitem_release(it);
    return 0;
}

/* id's span as a NUL-terminated string in dst (cap bytes); false when it
 * does not fit. */
static bool
id_copy(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* The event kwatch_peek() read, applied from the cache without parsing its
 * object when that is exact (kinformer.h): an ADDED or MODIFIED event at the
 * resourceVersion of the cached item of the same uid is that item (the echo
 * of a write kinformer_put() stored, which the server has now shown: no
 * longer local); a DELETED event of a cached item of the same uid removes
 * it, and the handlers get the cached item as apply_event() gives them.
 * Either only once the rest of the line passed kwatch_peek_rest().  False
 * when any of that does not hold: the caller parses the event. */
static bool
apply_known(struct kinformer *inf, const char *line, size_t len, struct kwatch_id *id)
{
    char key[LIM_KEY], uid[KINF_UID_MAX + 1], rv[KINF_RV_MAX];
    struct kitem *cur = NULL;
    size_t nl = id->ns_len > 0 ? id->ns_len + 1 : 0;
    bool del = id->type == KW_DELETED;
    uint64_t uh;

    if (id->name_len == 0 || nl + id->name_len >= sizeof(key) ||
        !id_copy(uid, sizeof(uid), id->uid, id->uid_len) ||
        !id_copy(rv, sizeof(rv), id->rv, id->rv_len))
        return false;
    if (nl > 0) {
        memcpy(key, id->ns, id->ns_len);
        key[id->ns_len] = '/';
    }
    memcpy(key + nl, id->name, id->name_len);
    key[nl + id->name_len] = '\0';
    uh = hmap_hash_str(uid);
    pthread_rwlock_rdlock(&inf->lock);
    cur = tab_find(inf, key);
    if (cur != NULL && (cur->uid_hash != uh || (!del && strcmp(kitem_rv(cur), rv) != 0)))
        cur = NULL;
    kitem_acquire(cur);
    pthread_rwlock_unlock(&inf->lock);
    if (cur == NULL || !kwatch_peek_rest(line, len, id)) {
        kitem_release(cur);
        return false;
    }
    if (del) { /* removed only if still there: else the parse's fallback item */
        struct kitem *gone = NULL;

        pthread_rwlock_wrlock(&inf->lock);
        if (tab_find(inf, key) == cur)
            gone = tab_del(inf, key);
        pthread_rwlock_unlock(&inf->lock);
        kitem_release(cur);
        if (gone == NULL)
            return false;
        cur = gone;
    }
    kitem_seen(cur);
    set_rv(inf, rv);
    inf->watch_events++;
    __atomic_add_fetch(&inf->known_events, 1, __ATOMIC_RELAXED);
    if (del && inf->h.on_delete)
        inf->h.on_delete(inf->h.ctx, cur);
    else if (!del && inf->h.on_update)
        inf->h.on_update(inf->h.ctx, cur, cur);
    kitem_release(cur);
    return true;
}

/* An ADDED or MODIFIED event the cache does not know, whose view
 * parse_bytes made from the object's bytes: applied as apply_event() applies
 * a parsed one.  False when there is no parse_bytes, the line does not pass
 * kwatch_peek_rest(), the names are longer than make_item() takes, or
 * parse_bytes declines: the caller parses the event. */
static bool
apply_scanned(struct kinformer *inf, const char *line, size_t len, struct kwatch_id *id)
{
    char ns[LIM_KEY], name[LIM_KEY], uid[KINF_UID_MAX + 1], rv[KINF_RV_MAX];
    struct kitem *it = NULL;
    void *view = NULL;

    if (inf->parse_bytes == NULL || (id->type != KW_ADDED && id->type != KW_MODIFIED) ||
        !kwatch_peek_rest(line, len, id) || id->obj_end <= id->obj || id->name_len == 0 ||
        (id->ns_len > 0 ? id->ns_len + 1 : 0) + id->name_len >= LIM_KEY ||
        !id_copy(ns, sizeof(ns), id->ns != NULL ? id->ns : "", id->ns_len) ||
        !id_copy(name, sizeof(name), id->name, id->name_len) ||
        !id_copy(uid, sizeof(uid), id->uid, id->uid_len) ||
        !id_copy(rv, sizeof(rv), id->rv, id->rv_len) ||
        inf->parse_bytes(inf->parse_ctx, line + id->obj, id->obj_end - id->obj, &view) != 0)
        return false;
    it = alloc_item(inf, ns[0] != '\0' ? ns : NULL, name, uid, rv, view);
    if (it == NULL) {
        drop_view(inf, view);
        return false;
    }
    set_rv(inf, kitem_rv(it));
    inf->watch_events++;
    __atomic_add_fetch(&inf->scanned_events, 1, __ATOMIC_RELAXED);
    publish(inf, it);
    kitem_release(it);
    return true;
}

struct wctx {
    struct kinformer *inf;
    struct sc_err *err;
};

static int
on_line(void *ctx, const char *line, size_t len)
{
    struct wctx *w = ctx;
    enum kwatch_type type = KW_ERROR;
    json_t *obj = NULL;
    struct karena arena = {0};
    struct kwatch_id id = {0};
    int rc;

    if (kwatch_peek(line, len, &id) &&
        (apply_known(w->inf, line, len, &id) || apply_scanned(w->inf, line, len, &id)))
        return 0;
    karena_begin(&arena); /* the event's tree (karena.h) */
    rc = kwatch_decode(line, len, &type, &obj, w->err);
    if (rc != 0) {
        karena_end(&arena);
        return sc_err_wrap(w->err, rc, "watch %s: malformed event", w->inf->path);
    }
    rc = apply_event(w->inf, type, obj, w->err);
    json_decref(obj);
    karena_end(&arena);
    return rc;
}

static int
on_chunk(void *ctx, const char *data, size_t n)
{
    struct wctx *w = ctx;
    int rc = kwatch_framer_feed(&w->inf->framer, data, n, on_line, w);
    if (rc == SC_ETOOBIG)
        sc_err_set(w->err, SC_ETOOBIG, "watch %s: event line exceeds the %u byte limit",
                   w->inf->path, LIM_WATCH_LINE);
    return rc;
}

int
kinformer_feed(struct kinformer *inf, const char *data, size_t n, struct sc_err *err)
{
    struct wctx w = {.inf = inf, .err = err};
    int rc = on_chunk(&w, data, n);
    if (rc != 0)
        inf->framer.len = 0; /* the thread restarts the watch with a fresh framer */
    return rc;
}

uint64_t
kinformer_known_events(struct kinformer *inf)
{
    return __atomic_load_n(&inf->known_events, __ATOMIC_RELAXED);
}

uint64_t
kinformer_scanned_events(struct kinformer *inf)
{
    return __atomic_load_n(&inf->scanned_events, __ATOMIC_RELAXED);
}

void
kinformer_rv(struct kinformer *inf, char *out, size_t cap)
{
    snprintf(out, cap, "%s", inf->rv);
}

static int
watch_once(struct kinformer *inf, int64_t max_ms, struct sc_err *err)
{
    struct buf q = {0};
    struct wctx w = {.inf = inf, .err = err};
    int64_t to = inf->watch_timeout_s > 0 ? inf->watch_timeout_s : 300 + (int64_t)(krand64() % 300);
    int rc;

    buf_init(&q, 8192);
    rc = buf_addf(&q, "watch=1&allowWatchBookmarks=true&timeoutSeconds=%lld&resourceVersion=%s",
                  (long long)to, inf->rv);
    if (rc == 0 && inf->label_selector) {
        rc = buf_adds(&q, "&labelSelector=");
        for (const char *p = inf->label_selector; rc == 0 && *p; p++) {
            unsigned char ch = (unsigned char)*p;
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch == '-' || ch == '.' || ch == '_')
                rc = buf_add(&q, p, 1);
            else
                rc = buf_addf(&q, "%%%02X", ch);
        }
    }
    if (rc != 0) {
        buf_release(&q);
        return sc_err_set(err, SC_ETOOBIG, "watch %s: query too long", inf->path);
    }
    if (max_ms <= 0 || max_ms > (to + 60) * 1000)
        max_ms = (to + 60) * 1000;
    inf->framer.len = 0;
    rc = kclient_stream(inf->c, inf->path, buf_str(&q), on_chunk, &w, &inf->interrupt, max_ms, err);
    buf_release(&q);
    return rc;
}

static void
resync(struct kinformer *inf)
{
    struct kitem **all = NULL;
    size_t n;

    if (inf->h.on_resync != NULL) {
        inf->h.on_resync(inf->h.ctx);
        return;
    }
    if (inf->h.on_update == NULL || kinformer_list(inf, &all, &n) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        inf->h.on_update(inf->h.ctx, all[i], all[i]);
    kitem_release_all(all, n);
}

static int64_t
next_backoff(int64_t backoff)
{
    return backoff * 2 > KINF_BACKOFF_MAX_MS ? KINF_BACKOFF_MAX_MS : backoff * 2;
}

/* Run a due resync; returns how long the next watch may last (0 = no limit). */
static int64_t
resync_if_due(struct kinformer *inf, const struct clock *clk)
{
    int64_t now, max_ms;

    if (inf->resync_ms <= 0)
        return 0;
    now = clock_mono_ms(clk);
    if (now - inf->last_resync >= inf->resync_ms) {
        resync(inf);
        inf->last_resync = now;
    }
    max_ms = inf->resync_ms - (now - inf->last_resync);
    return max_ms < 1000 ? 1000 : max_ms;
}

/* Hold while paused; apply a forced resourceVersion.  true when stopping. */
static bool
wait_unpaused(struct kinformer *inf)
{
    bool stop;

    pthread_mutex_lock(&inf->mu);
    while (inf->paused && !FLAG_GET(inf->stop))
        pthread_cond_wait(&inf->cv, &inf->mu);
    if (inf->have_forced) {
        memcpy(inf->rv, inf->forced_rv, sizeof(inf->rv));
        inf->have_forced = false;
    }
    stop = FLAG_GET(inf->stop);
    pthread_mutex_unlock(&inf->mu);
    return stop;
}

/* Watch again and again from the last resourceVersion; return when a relist
 * is needed (410, resource gone) or on stop. */
static void
watch_loop(struct kinformer *inf, const struct clock *clk, int64_t *backoff)
{
    while (!FLAG_GET(inf->stop)) {
        struct sc_err err = {0};
        int64_t max_ms = resync_if_due(inf, clk);
        if (wait_unpaused(inf))
            return;
        inf->watch_events = 0;
        int rc = watch_once(inf, max_ms, &err);
        if (FLAG_GET(inf->stop))
            return;
        if (inf->watch_events > 0)
            *backoff = KINF_BACKOFF_START_MS;
        if (rc == SC_ESHUTDOWN || rc == 0)
            continue; /* paused, or a time limit: watch again from rv */
        if (rc == SC_EGONE) {
            sc_err_wrap(&err, rc, "watch %s: resourceVersion %s expired, relisting", inf->name,
                        inf->rv);
            report(inf, &err);
            return;
        }
        sc_err_wrap(&err, rc, "watch %s (restart in %lld ms)", inf->name, (long long)*backoff);
        report(inf, &err);
        if (nap(inf, *backoff))
            return;
        *backoff = next_backoff(*backoff);
        if (rc == SC_ENOTFOUND)
            return; /* resource went away: relist to find out */
    }
}

static void *
run(void *arg)
{
    struct kinformer *inf = arg;
    int64_t backoff = KINF_BACKOFF_START_MS;
    struct clock clk = clock_system();

    inf->last_resync = clock_mono_ms(&clk);
    while (!FLAG_GET(inf->stop)) {
        struct sc_err err = {0};
        int rc = relist(inf, &err);
        if (FLAG_GET(inf->stop))
            break;
        /* only an answer of the API server changes what is known (a
         * success sets served with synced); a transport error, 5xx or 429
         * says nothing about the resource */
        if (rc == SC_ENOTFOUND) {
            pthread_mutex_lock(&inf->mu);
            inf->served = 0;
            pthread_mutex_unlock(&inf->mu);
        }
        if (rc != 0) {
            sc_err_wrap(&err, rc, "list %s (retry in %lld ms)", inf->name, (long long)backoff);
            report(inf, &err);
            if (nap(inf, backoff))
                break;
            backoff = next_backoff(backoff);
            continue;
        }
        backoff = KINF_BACKOFF_START_MS;
        watch_loop(inf, &clk, &backoff);
    }
    return NULL;
}

int
kinformer_start(struct kinformer *inf, struct sc_err *err)
{
    if (inf->started)
        return sc_err_set(err, SC_EINVALID, "kinformer %s: already started", inf->name);
    inf->started = true;
    if (thread_start(&inf->thread, "sc-informer", THREAD_STACK_CLIENT, run, inf) != 0) {
        inf->started = false;
        return sc_err_set(err, SC_ENOMEM, "kinformer %s: cannot start thread", inf->name);
    }
    return 0;
}

void
kinformer_stop_begin(struct kinformer *inf)
{
    if (inf == NULL)
        return;
    pthread_mutex_lock(&inf->mu);
    FLAG_SET(inf->stop, 1);
    FLAG_SET(inf->interrupt, 1);
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

void
kinformer_stop(struct kinformer *inf)
{
    kinformer_stop_begin(inf);
    if (inf->started && !inf->joined) {
        pthread_join(inf->thread, NULL);
        inf->joined = true;
    }
}

void
kinformer_pause(struct kinformer *inf)
{
    pthread_mutex_lock(&inf->mu);
    inf->paused = true;
    FLAG_SET(inf->interrupt, 1);
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

void
kinformer_resume(struct kinformer *inf, const char *rv)
{
    pthread_mutex_lock(&inf->mu);
    inf->paused = false;
    FLAG_SET(inf->interrupt, FLAG_GET(inf->stop));
    if (rv != NULL && strlen(rv) < sizeof(inf->forced_rv)) {
        memcpy(inf->forced_rv, rv, strlen(rv) + 1);
        inf->have_forced = true;
    }
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

void
kinformer_free(struct kinformer *inf)
{
    struct hmap_iter hi = {0};

    if (inf == NULL)
        return;
    kinformer_stop(inf);
    hmap_iter_init(&hi, &inf->tab);
    while (hmap_iter_next(&hi) != NULL) {
        struct kitem *it = (struct kitem *)hmap_unlink(&inf->tab, hi.cur->key);
        kitem_release(it);
    }
    hmap_free(&inf->tab);
    for (int i = 0; i < inf->nidx; i++) {
        struct kindex *x = &inf->idx[i];
        hmap_free(&x->tab);
        free(x->name);
    }
    kwatch_framer_release(&inf->framer);
    free(inf->name);
    free(inf->path);
    free(inf->label_selector);
    pthread_rwlock_destroy(&inf->lock);
    pthread_mutex_destroy(&inf->mu);
    pthread_cond_destroy(&inf->cv);
    free(inf);
}

/* ---- watch framing ------------------------------------------------------------------------ */

void
kwatch_framer_init(struct kwatch_framer *f, size_t max)
{
    f->buf = NULL;
    f->len = 0;
    f->cap = 0;
    f->max = max;
}

void
kwatch_framer_release(struct kwatch_framer *f)
{
    free(f->buf);
    f->buf = NULL;
    f->len = f->cap = 0;
}

static int
framer_append(struct kwatch_framer *f, const char *p, size_t n)
{
    if (f->len + n > f->max)
        return SC_ETOOBIG;
    if (f->len + n > f->cap) {
        size_t nc = f->cap ? f->cap : 4096;
        while (nc < f->len + n)
            nc *= 2;
        if (nc > f->max)
            nc = f->max;
        char *b = realloc(f->buf, nc);
        if (b == NULL)
            return SC_ENOMEM;
        f->buf = b;
        f->cap = nc;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    return 0;
}

int
kwatch_framer_feed(struct kwatch_framer *f, const char *data, size_t n,
                   int (*fn)(void *ctx, const char *line, size_t len), void *ctx)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        int rc;

        if (nl == NULL) {
            rc = framer_append(f, data, take);
            if (rc != 0)
                f->len = 0;
            return rc;
        }
        if (f->len == 0) {
            /* whole line in this chunk: no copy */
            if (take > f->max)
                return SC_ETOOBIG;
            rc = (take > 0 && !(take == 1 && data[0] == '\r')) ? fn(ctx, data, take) : 0;
        } else {
            rc = framer_append(f, data, take);
            if (rc != 0) {
                f->len = 0;
                return rc;
            }
            size_t l = f->len;
            f->len = 0; /* the callback may re-enter nothing, but reset first */
            rc = fn(ctx, f->buf, l);
        }
        if (rc != 0)
            return rc;
        data += take + 1;
        n -= take + 1;
    }
    return 0;
}

int
kwatch_decode(const char *line, size_t len, enum kwatch_type *type, json_t **obj,
              struct sc_err *err)
{
    json_t *ev = NULL;
    struct kjson r = {0};
    const char *t;
    const json_t *o;
    int rc;

    *obj = NULL;
    rc = kskim_parse(line, len, LIM_WATCH_LINE, &ev, err);
    if (rc != 0)
        return rc == SC_ETOOBIG ? rc : SC_EPROTO;
    if (!json_is_object(ev)) {
        json_decref(ev);
        return sc_err_set(err, SC_EPROTO, "watch event: expected object");
    }
    kjson_init(&r, ev, err);
    t = kjson_str_req(&r, "type");
    o = kjson_obj_req(&r, "object");
    if (kjson_error(&r) != 0) {
        json_decref(ev);
        return SC_EPROTO;
    }
    if (strcmp(t, "ADDED") == 0)
        *type = KW_ADDED;
    else if (strcmp(t, "MODIFIED") == 0)
        *type = KW_MODIFIED;
    else if (strcmp(t, "DELETED") == 0)
        *type = KW_DELETED;
    else if (strcmp(t, "BOOKMARK") == 0)
        *type = KW_BOOKMARK;
    else if (strcmp(t, "ERROR") == 0)
        *type = KW_ERROR;
    else {
        rc = sc_err_set(err, SC_EPROTO, "watch event: unknown type \"%.32s\"", t);
        json_decref(ev);
        return rc;
    }
    *obj = json_incref((json_t *)o);
    json_decref(ev);
    return 0;
}

/* ---- an event's identity without a parse (kwatch_peek) -------------------------------- */

enum peek_field { PF_TYPE, PF_OBJECT, PF_META, PF_NAME, PF_NS, PF_UID, PF_RV, PF_NONE };
enum { PEEK_FAIL, PEEK_DONE, PEEK_STOP };

#define PEEK_NEED \
    (1u << PF_TYPE | 1u << PF_OBJECT | 1u << PF_META | 1u << PF_NAME | 1u << PF_UID | 1u << PF_RV)

static void
peek_ws(const char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
        (*i)++;
}

/* The key at s[*i] (its quote): its bytes, or false when it has an escape
 * (it might then spell a member read here). */
static bool
peek_key(const char *s, size_t n, size_t *i, const char **k, size_t *kl)
{
    const char *start = s + *i + 1, *q;

    if (*i >= n || s[*i] != '"')
        return false;
    q = memchr(start, '"', n - *i - 1);
    if (q == NULL || memchr(start, '\\', (size_t)(q - start)) != NULL)
        return false;
    *k = start;
    *kl = (size_t)(q - start);
    *i = (size_t)(q - s) + 1;
    return true;
}

/* The string value at s[*i]: printable ASCII without escapes, or false. */
static bool
peek_value(const char *s, size_t n, size_t *i, const char **v, size_t *vl)
{
    size_t j = *i + 1;

    if (*i >= n || s[*i] != '"')
        return false;
    while (j < n && s[j] != '"') {
        unsigned char c = (unsigned char)s[j];

        if (c == '\\' || c < 0x20 || c > 0x7e)
            return false;
        j++;
    }
    if (j >= n)
        return false;
    *v = s + *i + 1;
    *vl = j - *i - 1;
    *i = j + 1;
    return true;
}

static bool
is_key(const char *k, size_t kl, const char *name, size_t len)
{
    return kl == len && memcmp(k, name, len) == 0;
}

/* The member a key names at level 0 (the event), 1 (its object) or 2 (the
 * object's metadata), or PF_NONE. */
static enum peek_field
peek_field(int level, const char *k, size_t kl)
{
    if (level == 0)
        return is_key(k, kl, "type", 4)     ? PF_TYPE
               : is_key(k, kl, "object", 6) ? PF_OBJECT
                                            : PF_NONE;
    if (level == 1)
        return is_key(k, kl, "metadata", 8) ? PF_META : PF_NONE;
    if (is_key(k, kl, "name", 4))
        return PF_NAME;
    if (is_key(k, kl, "namespace", 9))
        return PF_NS;
    if (is_key(k, kl, "uid", 3))
        return PF_UID;
    return is_key(k, kl, "resourceVersion", 15) ? PF_RV : PF_NONE;
}

/* A string member's value into id. */
static bool
peek_set(const char *s, size_t n, size_t *i, enum peek_field f, struct kwatch_id *id)
{
    const char *v = NULL;
    size_t vl = 0;

    if (!peek_value(s, n, i, &v, &vl))
        return false;
    switch (f) {
    case PF_TYPE:
        if (is_key(v, vl, "ADDED", 5))
            id->type = KW_ADDED;
        else if (is_key(v, vl, "MODIFIED", 8))
            id->type = KW_MODIFIED;
        else if (is_key(v, vl, "DELETED", 7))
            id->type = KW_DELETED;
        else
            return false;
        return true;
    case PF_NAME:
        id->name = v, id->name_len = vl;
        return true;
    case PF_NS:
        id->ns = v, id->ns_len = vl;
        return true;
    case PF_UID:
        id->uid = v, id->uid_len = vl;
        return true;
    case PF_RV:
        id->rv = v, id->rv_len = vl;
        return true;
    default:
        return false;
    }
}

/* Past the whitespace and the ',' before the next member (after_value), or
 * the whitespace before the first: PEEK_STOP there, PEEK_DONE past the
 * object's '}', PEEK_FAIL when neither comes. */
static int
peek_next(const char *s, size_t n, size_t *i, bool after_value)
{
    peek_ws(s, n, i);
    if (*i >= n)
        return PEEK_FAIL;
    if (s[*i] == '}') {
        (*i)++;
        return PEEK_DONE;
    }
    if (after_value) {
        if (s[*i] != ',')
            return PEEK_FAIL;
        (*i)++;
        peek_ws(s, n, i);
    }
    return PEEK_STOP;
}

/* The key at s[*i] and its ':': the member it names at level. */
static bool
peek_member_key(const char *s, size_t n, size_t *i, int level, enum peek_field *f)
{
    const char *k = NULL;
    size_t kl = 0;

    if (!peek_key(s, n, i, &k, &kl))
        return false;
    peek_ws(s, n, i);
    if (*i >= n || s[*i] != ':')
        return false;
    (*i)++;
    peek_ws(s, n, i);
    *f = peek_field(level, k, kl);
    return true;
}

static int peek_members(const char *s, size_t n, size_t *i, int level, struct kwatch_id *id,
                        bool after_value);

/* The value at s[*i] of a member of the object at level that names f. */
static int
peek_member_value(const char *s, size_t n, size_t *i, int level, enum peek_field f,
                  struct kwatch_id *id)
{
    int r;

    if (f == PF_NONE)
        return kskim_skip(s, n, i, level + 1, 0) ? PEEK_DONE : PEEK_FAIL;
    if ((id->seen & 1u << f) != 0)
        return PEEK_FAIL;
    id->seen |= 1u << f;
    if (f != PF_OBJECT && f != PF_META)
        return peek_set(s, n, i, f, id) ? PEEK_DONE : PEEK_FAIL;
    if (*i >= n || s[*i] != '{')
        return PEEK_FAIL;
    if (f == PF_OBJECT)
        id->obj = *i;
    (*i)++;
    r = peek_members(s, n, i, level + 1, id, false);
    if (r == PEEK_DONE && f == PF_OBJECT)
        id->obj_end = *i;
    if (r == PEEK_DONE && f == PF_META && (id->seen & PEEK_NEED) == PEEK_NEED)
        return PEEK_STOP;
    return r;
}

/* The members of the object at level from s[*i]: just after its '{'
 * (after_value false) or just after a member's value.  What peek_field()
 * names is read into id, each once (a second is declined, as the duplicate
 * jansson would refuse); other values are scanned for structure.  PEEK_STOP
 * right after the metadata's value once everything PEEK_NEED names was
 * read, PEEK_DONE past the object's '}'. */
static int
peek_members(const char *s, size_t n, size_t *i, int level, struct kwatch_id *id, bool after_value)
{
    for (;;) {
        enum peek_field f = PF_NONE;
        int r = peek_next(s, n, i, after_value);

        if (r != PEEK_STOP)
            return r;
        after_value = true;
        if (!peek_member_key(s, n, i, level, &f))
            return PEEK_FAIL;
        r = peek_member_value(s, n, i, level, f, id);
        if (r != PEEK_DONE)
            return r;
    }
}

bool
kwatch_peek(const char *line, size_t len, struct kwatch_id *id)
{
    size_t i = 0;
    int r;

    memset(id, 0, sizeof(*id));
    peek_ws(line, len, &i);
    if (i >= len || line[i] != '{')
        return false;
    i++;
    r = peek_members(line, len, &i, 0, id, false);
    if (r == PEEK_FAIL || (id->seen & PEEK_NEED) != PEEK_NEED)
        return false;
    if (r == PEEK_STOP) {
        id->rest = i;
        return true;
    }
    peek_ws(line, len, &i);
    return i == len;
}

bool
kwatch_peek_rest(const char *line, size_t len, struct kwatch_id *id)
{
    size_t i = id->rest;

    if (i == 0)
        return true;
    if (peek_members(line, len, &i, 1, id, true) != PEEK_DONE)
        return false;
    id->obj_end = i;
    if (peek_members(line, len, &i, 0, id, true) != PEEK_DONE)
        return false;
    peek_ws(line, len, &i);
    id->rest = 0;
    return i == len;
}
