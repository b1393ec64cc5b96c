/* Unit tests of the informer's event path without a server: recorded watch
 * events fed through kinformer_feed() update the cache and call handlers;
 * bookmarks move the resourceVersion; a 410 ERROR event asks for a relist;
 * malformed and oversized lines end the watch without touching the cache;
 * objects the parse callback rejects are skipped; refcounted items outlive
 * replacement; kinformer_store() ignores older resourceVersions. */
#include "kube/kinformer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/limits.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"
#include "tests/lib/harness.h"

struct vview {
    const char *pvc, *cls, *bound;
    bool ready;
};

static int
parse_vs(void *ctx, const json_t *obj, void **out, struct sc_err *err)
{
    struct kjson r = {0};
    struct kpack p = {0};
    struct vview *v = NULL;
    (void)ctx;

    kjson_init(&r, obj, err);
    const char *pvc = kjson_str(&r, "spec.source.persistentVolumeClaimName");
    const char *cls = kjson_str(&r, "spec.volumeSnapshotClassName");
    const char *bound = kjson_str(&r, "status.boundVolumeSnapshotContentName");
    bool ready = kjson_bool(&r, "status.readyToUse");
    if (kjson_error(&r) != 0)
        return kjson_error(&r);
    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, pvc);
    kpack_reserve(&p, cls);
    kpack_reserve(&p, bound);
    v = kpack_alloc(&p);
    if (v == NULL)
        return SC_ENOMEM;
    v->pvc = kpack_str(&p, pvc);
    v->cls = kpack_str(&p, cls);
    v->bound = kpack_str(&p, bound);
    v->ready = ready;
    *out = v;
    return 0;
}

static void
by_class(void *ctx, const void *view, struct kindex_out *out)
{
    (void)ctx;
    kindex_emit(out, ((const struct vview *)view)->cls);
}

struct log {
    int adds, updates, deletes, errors;
    char last[128];
};

static void
on_add(void *ctx, const struct kitem *it)
{
    struct log *l = ctx;
    l->adds++;
    snprintf(l->last, sizeof(l->last), "add %s", kitem_key(it));
}

static void
on_update(void *ctx, const struct kitem *o, const struct kitem *n)
{
    struct log *l = ctx;
    l->updates++;
    snprintf(l->last, sizeof(l->last), "update %s %s->%s", kitem_key(n), kitem_rv(o), kitem_rv(n));
}

static void
on_delete(void *ctx, const struct kitem *it)
{
    struct log *l = ctx;
    l->deletes++;
    snprintf(l->last, sizeof(l->last), "delete %s", kitem_key(it));
}

static void
on_error(void *ctx, const char *name, const struct sc_err *e)
{
    struct log *l = ctx;
    (void)name;
    (void)e;
    l->errors++;
}

static struct kinformer *
mk_opts(struct kclient **c, struct log *l, bool keep_newer)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {
        .name = "vs",
        .path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots",
        .parse = parse_vs,
        .handlers = {.ctx = l, .on_add = on_add, .on_update = on_update, .on_delete = on_delete},
        .on_error = on_error,
        .error_ctx = l,
        .keep_newer = keep_newer,
    };
    *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *inf = kinformer_new(*c, &o, NULL);
    CHECK(inf != NULL);
    CHECK_INT(kinformer_add_index(inf, "class", by_class, NULL, NULL), 0);
    return inf;
}

static struct kinformer *
mk(struct kclient **c, struct log *l)
{
    return mk_opts(c, l, false);
}

__attribute__((noinline)) static char *
fixture(size_t *len)
{
    char path[512];
    char *d = NULL;
    snprintf(path, sizeof(path), "%s/kube/watch/events.jsonl", harness_data_dir());
    CHECK_INT(kfile_read(path, 1 << 20, &d, len, NULL), 0);
    return d;
}

static void
test_recorded_events_drive_cache(void)
{
    struct kclient *c = NULL;
    struct log l = {0};
    struct kinformer *inf = mk(&c, &l);
    struct sc_err e = {0};
    size_t len;
    char *d = fixture(&len);
    char rv[64];

    /* ADDED, MODIFIED, BOOKMARK, DELETED, then ERROR 410: feed up to the ERROR */
    const char *err_line = strstr(d, "{\"type\":\"ERROR\"");
    size_t head = (size_t)(err_line - d);
    /* first only ADDED+MODIFIED */
    const char *bm = strstr(d, "{\"type\":\"BOOKMARK\"");
    CHECK_INT(kinformer_feed(inf, d, (size_t)(bm - d), &e), 0);
    CHECK_INT(l.adds, 1);
    CHECK_INT(l.updates, 1);
    CHECK_STR(l.last, "update default/snap-1 1001->1002");
    struct kitem *held = kinformer_get(inf, "default/snap-1");
    CHECK(held != NULL);
    if (held) {
        const struct vview *v = kitem_view(held);
        CHECK(v->ready);
        CHECK_STR(v->pvc, "pvc-1");
        CHECK_STR(v->bound, "snapcontent-0d1f3a52-8c7e-4b8e-9a55-3f0c2d6b1a01");
        CHECK(kitem_uid_is(held, "0d1f3a52-8c7e-4b8e-9a55-3f0c2d6b1a01"));
        CHECK(!kitem_uid_is(held, "0d1f3a52-8c7e-4b8e-9a55-3f0c2d6b1a02"));
    }
    struct kitem **items = NULL;
    size_t n;
    CHECK_INT(kinformer_by_index(inf, "class", "csi-hostpath-snapclass", &items, &n, &e), 0);
    CHECK_INT(n, 1);
    kitem_release_all(items, n);
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "1002");
    /* BOOKMARK + DELETED */
    CHECK_INT(kinformer_feed(inf, bm, head - (size_t)(bm - d), &e), 0);
    CHECK_INT(l.deletes, 1);
    CHECK_STR(l.last, "delete default/snap-1");
    CHECK_INT(kinformer_len(inf), 0);
    CHECK(kinformer_get(inf, "default/snap-1") == NULL);
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "1011");
    /* the held item survived its deletion from the cache */
    if (held) {
        CHECK_STR(((const struct vview *)kitem_view(held))->pvc, "pvc-1");
        kitem_release(held);
    }
    CHECK_INT(kinformer_by_index(inf, "class", "csi-hostpath-snapclass", &items, &n, &e), 0);
    CHECK_INT(n, 0);
    /* ERROR 410: relist */
    CHECK_INT(kinformer_feed(inf, err_line, len - head, &e), SC_EGONE);
    CHECK(strstr(e.msg, "too old resource version") != NULL);
    CHECK_INT(l.errors, 0);
    kinformer_free(inf);
    kclient_free(c);
    free(d);
}

static void
test_bad_lines_end_watch_cache_intact(void)
{
    struct kclient *c = NULL;
    struct log l = {0};
    struct kinformer *inf = mk(&c, &l);
    struct sc_err e = {0};
    const char *ok = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":"
                     "\"n\",\"resourceVersion\":\"5\"}}}\n";

    CHECK_INT(kinformer_feed(inf, ok, strlen(ok), &e), 0);
    CHECK_INT(kinformer_len(inf), 1);
    const char *bad[] = {
        "this is not json\n",
        "{\"type\":\"ADDED\"}\n",
        "{\"type\":\"SOMETHING\",\"object\":{}}\n",
        "[\"array\"]\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = kinformer_feed(inf, bad[i], strlen(bad[i]), &e);
        CHECK_INT(rc, SC_EPROTO);
        CHECK(strstr(e.msg, "malformed event") != NULL);
        CHECK_INT(kinformer_len(inf), 1);
    }
    /* an object without a name is skipped (reported), the watch goes on */
    const char *noname =
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"resourceVersion\":\"6\"}}}\n";
    CHECK_INT(kinformer_feed(inf, noname, strlen(noname), &e), 0);
    CHECK_INT(l.errors, 1);
    /* a wrong-typed field the parser reads: skipped, old view kept */
    const char *wrong =
        "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":"
        "\"n\",\"resourceVersion\":\"7\"},\"status\":{\"readyToUse\":\"yes\"}}}\n";
    CHECK_INT(kinformer_feed(inf, wrong, strlen(wrong), &e), 0);
    CHECK_INT(l.errors, 2);
    struct kitem *it = kinformer_get(inf, "n/a");
    CHECK(it != NULL && strcmp(kitem_rv(it), "5") == 0);
    kitem_release(it);
    char rv[64];
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "7"); /* but the watch position moved on */
    /* DELETED with a last state the parser rejects: the entry still goes */
    const char *gone =
        "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\","
        "\"namespace\":\"n\",\"resourceVersion\":\"8\"},\"status\":{\"readyToUse\":7}}}\n";
    CHECK_INT(kinformer_feed(inf, gone, strlen(gone), &e), 0);
    CHECK_INT(kinformer_len(inf), 0);
    CHECK_INT(l.deletes, 1);
    CHECK_INT(kinformer_feed(inf, ok, strlen(ok), &e), 0);
    /* a line over LIM_WATCH_LINE, arriving in pieces: SC_ETOOBIG */
    size_t chunk = 1 << 20;
    char *big = malloc(chunk);
    memset(big, ' ', chunk);
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++)
        rc = kinformer_feed(inf, big, chunk, &e);
    CHECK_INT(rc, SC_ETOOBIG);
    CHECK(strstr(e.msg, "exceeds") != NULL);
    free(big);
    /* other ERROR events map through the status mapper */
    const char *e500 = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":500,"
                       "\"reason\":\"InternalError\",\"message\":\"boom\"}}\n";
    CHECK_INT(kinformer_feed(inf, e500, strlen(e500), &e), SC_ESERVER);
    CHECK_STR(e.msg, "boom");
    CHECK_INT(kinformer_len(inf), 1);
    kinformer_free(inf);
    kclient_free(c);
}

static void
test_store_respects_resource_version(void)
{
    struct kclient *c = NULL;
    struct log l = {0};
    struct kinformer *inf = mk(&c, &l);
    struct sc_err e = {0};
    json_t *o;

    o = json_pack("{s:{s:s, s:s, s:s}, s:{s:s}}", "metadata", "name", "x", "namespace", "n",
                  "resourceVersion", "10", "spec", "volumeSnapshotClassName", "new");
    CHECK_INT(kinformer_store(inf, o, &e), 0);
    json_decref(o);
    o = json_pack("{s:{s:s, s:s, s:s}, s:{s:s}}", "metadata", "name", "x", "namespace", "n",
                  "resourceVersion", "9", "spec", "volumeSnapshotClassName", "old");
    CHECK_INT(kinformer_store(inf, o, &e), 0); /* older: ignored */
    json_decref(o);
    struct kitem *it = kinformer_get(inf, "n/x");
    CHECK(it != NULL && strcmp(((const struct vview *)kitem_view(it))->cls, "new") == 0);
    kitem_release(it);
    /* store never calls handlers */
    CHECK_INT(l.adds + l.updates + l.deletes, 0);
    /* cluster-scoped keys are the bare name */
    o = json_pack("{s:{s:s, s:s}}", "metadata", "name", "content-1", "resourceVersion", "3");
    CHECK_INT(kinformer_store(inf, o, &e), 0);
    json_decref(o);
    it = kinformer_get(inf, "content-1");
    CHECK(it != NULL);
    kitem_release(it);
    /* wrong shapes are errors, not crashes */
    o = json_pack("{s:i}", "metadata", 7);
    CHECK_INT(kinformer_store(inf, o, &e), SC_EPROTO);
    json_decref(o);
    kinformer_free(inf);
    kclient_free(c);
}

static void *
view_of(const char *cls)
{
    struct kpack p = {0};
    struct vview *v = NULL;

    kpack_init(&p, sizeof(*v));
    kpack_reserve(&p, cls);
    v = kpack_alloc(&p);
    CHECK(v != NULL);
    v->cls = kpack_str(&p, cls);
    return v;
}

static void
feed_modified(struct kinformer *inf, const char *rv, const char *cls)
{
    struct sc_err e = {0};
    char line[512];

    snprintf(line, sizeof(line),
             "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\","
             "\"uid\":\"u1\",\"resourceVersion\":\"%s\"},\"spec\":{\"volumeSnapshotClassName\":"
             "\"%s\"}}}\n",
             rv, cls);
    CHECK_INT(kinformer_feed(inf, line, strlen(line), &e), 0);
}

static const char *
cls_of(struct kinformer *inf, const char *key, char *rv, size_t cap)
{
    static char cls[32];
    struct kitem *it = kinformer_get(inf, key);

    if (it == NULL)
        return NULL;
    snprintf(cls, sizeof(cls), "%s", ((const struct vview *)kitem_view(it))->cls);
    snprintf(rv, cap, "%s", kitem_rv(it));
    kitem_release(it);
    return cls;
}

static int
count_fn(const struct kitem *it, void *arg)
{
    (void)it;
    (*(int *)arg)++;
    return 0;
}

/* The informer's table as the caller's one store: kinformer_put's rule,
 * local items, keep_newer against older events, drop_local, take, each. */
static void
test_put_keeps_newer_and_tracks_local(void)
{
    struct kclient *c = NULL;
    struct log l = {0};
    struct kinformer *inf = mk_opts(&c, &l, true);
    struct kitem *it = NULL;
    char rv[64];
    int n = 0;

    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "10", view_of("w10"), false), KINF_PUT_ADDED);
    it = kinformer_get(inf, "n/x");
    CHECK(it != NULL && kitem_local(it) && kitem_uid_is(it, "u1"));
    kitem_release(it);
    CHECK(kinformer_drop_local(inf, "n/x")); /* never shown by the server: a ghost */
    CHECK(kinformer_get(inf, "n/x") == NULL);
    CHECK(kinformer_drop_local(inf, "n/x")); /* absent */
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "10", view_of("w10"), false), KINF_PUT_ADDED);
    feed_modified(inf, "9", "e9"); /* older than the write: kept, now seen */
    CHECK_STR(cls_of(inf, "n/x", rv, sizeof(rv)), "w10");
    CHECK_STR(rv, "10");
    CHECK_INT(l.updates, 1);
    CHECK(!kinformer_drop_local(inf, "n/x"));
    it = kinformer_get(inf, "n/x");
    CHECK(it != NULL);
    kitem_release(it);
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "8", view_of("w8"), false), KINF_PUT_STALE);
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "x1", view_of("wx"), false), KINF_PUT_STALE);
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "10", view_of("w10b"), false), KINF_PUT_REPLACED);
    CHECK_STR(cls_of(inf, "n/x", rv, sizeof(rv)), "w10b");
    it = kinformer_get(inf, "n/x");
    CHECK(!kitem_local(it)); /* replacing a seen item keeps it seen */
    kitem_release(it);
    feed_modified(inf, "12", "e12"); /* newer: replaces */
    CHECK_STR(cls_of(inf, "n/x", rv, sizeof(rv)), "e12");
    CHECK_INT(kinformer_put(inf, NULL, "cluster-1", NULL, "3", view_of("c"), false),
              KINF_PUT_ADDED);
    kinformer_each(inf, count_fn, &n);
    CHECK_INT(n, 2);
    CHECK(kinformer_bytes(inf) > 2 * strlen("cluster-1"));
    it = kinformer_take(inf, "cluster-1");
    CHECK(it != NULL && strcmp(kitem_key(it), "cluster-1") == 0);
    kitem_release(it);
    CHECK(kinformer_take(inf, "cluster-1") == NULL);
    CHECK_INT(kinformer_len(inf), 1);
    CHECK_INT(l.deletes, 0); /* take and drop_local call no handler */
    kinformer_free(inf);
    kclient_free(c);
}

/* A view that holds its key and resourceVersion (kinformer_opts.view_key). */
struct kview {
    const char *key, *rv;
    char s[];
};

static void *
kview_new(const char *key, const char *rv)
{
    struct kview *v = malloc(sizeof(*v) + strlen(key) + 1 + strlen(rv) + 1);

    if (v == NULL)
        abort();
    strcpy(v->s, key);
    strcpy(v->s + strlen(key) + 1, rv);
    v->key = v->s;
    v->rv = v->s + strlen(key) + 1;
    return v;
}

static const char *
kview_key(void *ctx, const void *view, const char **rv)
{
    const struct kview *v = view;

    (void)ctx;
    *rv = v->rv;
    return v->key;
}

/* With view_key, an item points at its view's key and resourceVersion
 * instead of copying them; a view whose strings differ from the object's
 * gets copies; replacing or taking an item frees nothing still pointed at
 * (the ASan run would say). */
static void
test_item_points_into_view(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {.name = "kv",
                               .path = "/api/v1/kv",
                               .parse = parse_vs,
                               .view_key = kview_key,
                               .keep_newer = true};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    struct kview *x = kview_new("n/x", "5"), *x2 = kview_new("n/x", "6");
    struct kitem *it = NULL;

    CHECK(inf != NULL);
    if (inf == NULL)
        return;
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "5", x, false), KINF_PUT_ADDED);
    it = kinformer_get(inf, "n/x");
    CHECK(it != NULL && kitem_key(it) == x->key && kitem_rv(it) == x->rv);
    kitem_release(it);
    /* a wrong key or resourceVersion in the view: the item copies */
    CHECK_INT(kinformer_put(inf, "n", "y", "u2", "7", kview_new("n/other", "7"), false),
              KINF_PUT_ADDED);
    CHECK_INT(kinformer_put(inf, "n", "z", "u3", "8", kview_new("n/z", "9"), false),
              KINF_PUT_ADDED);
    CHECK_INT(kinformer_put(inf, NULL, "cl", "u4", "1", kview_new("cl", "1"), false),
              KINF_PUT_ADDED);
    it = kinformer_get(inf, "n/y");
    CHECK(it != NULL && strcmp(kitem_key(it), "n/y") == 0 &&
          kitem_key(it) != ((const struct kview *)kitem_view(it))->key);
    kitem_release(it);
    it = kinformer_get(inf, "n/z");
    CHECK(it != NULL && strcmp(kitem_rv(it), "8") == 0);
    kitem_release(it);
    it = kinformer_get(inf, "cl");
    CHECK(it != NULL && kitem_key(it) == ((const struct kview *)kitem_view(it))->key);
    kitem_release(it);
    /* replaced: the new item points into the new view, the old view goes */
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "6", x2, false), KINF_PUT_REPLACED);
    it = kinformer_get(inf, "n/x");
    CHECK(it != NULL && kitem_key(it) == x2->key && strcmp(kitem_rv(it), "6") == 0);
    kitem_release(it);
    it = kinformer_take(inf, "n/x");
    CHECK(it != NULL && strcmp(kitem_key(it), "n/x") == 0);
    kitem_release(it);
    CHECK(kinformer_get(inf, "n/x") == NULL);
    CHECK_INT(kinformer_len(inf), 3);
    kinformer_free(inf);
    kclient_free(c);
}

/* A flat view (kinformer_opts.view_bytes): "key\0rv\0" after its length,
 * no pointers; freeing one counts. */
struct fview {
    uint32_t len; /* of s */
    char s[];
};

static void *
fview_new(const char *key, const char *rv)
{
    size_t kl = strlen(key) + 1, rl = strlen(rv) + 1;
    struct fview *v = malloc(sizeof(*v) + kl + rl);

    if (v == NULL)
        abort();
    v->len = (uint32_t)(kl + rl);
    memcpy(v->s, key, kl);
    memcpy(v->s + kl, rv, rl);
    return v;
}

static size_t
fview_bytes(void *ctx, const void *view)
{
    (void)ctx;
    return sizeof(struct fview) + ((const struct fview *)view)->len;
}

static const char *
fview_key(void *ctx, const void *view, const char **rv)
{
    const struct fview *v = view;

    (void)ctx;
    *rv = v->s + strlen(v->s) + 1;
    return v->s;
}

static void
fview_free(void *ctx, void *view)
{
    (*(int *)ctx)++;
    free(view);
}

/* With view_bytes, the item holds a copy of the view and frees the original
 * at once: kitem_view() is inside the item, the key and resourceVersion
 * point into the copy, and releasing the item frees no view again (ASan
 * would see a double free, and the count would move).  A view whose key
 * differs still gets the item's own copies, after the view. */
static void
test_item_holds_flat_view(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    int freed = 0;
    struct kinformer_opts o = {.name = "fv",
                               .path = "/api/v1/fv",
                               .parse = parse_vs,
                               .free_view = fview_free,
                               .view_key = fview_key,
                               .view_bytes = fview_bytes,
                               .parse_ctx = &freed};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    struct fview *x = fview_new("n/x", "5");
    struct kitem *it = NULL;
    const struct fview *v = NULL;

    CHECK(inf != NULL);
    if (inf == NULL)
        return;
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "5", x, false), KINF_PUT_ADDED);
    CHECK_INT(freed, 1); /* x itself is gone: the item has a copy */
    it = kinformer_get(inf, "n/x");
    CHECK(it != NULL);
    if (it == NULL)
        return;
    v = kitem_view(it);
    CHECK(v->len == strlen("n/x") + 1 + strlen("5") + 1);
    CHECK(kitem_key(it) == v->s && strcmp(kitem_rv(it), "5") == 0 &&
          kitem_rv(it) == v->s + strlen("n/x") + 1);
    CHECK((const char *)v > (const char *)it && (const char *)v < (const char *)it + 64);
    kitem_release(it);
    /* a wrong key in the view: copies after it */
    CHECK_INT(kinformer_put(inf, "n", "y", "u2", "7", fview_new("n/other", "7"), false),
              KINF_PUT_ADDED);
    it = kinformer_get(inf, "n/y");
    CHECK(it != NULL && strcmp(kitem_key(it), "n/y") == 0 && strcmp(kitem_rv(it), "7") == 0 &&
          strcmp(((const struct fview *)kitem_view(it))->s, "n/other") == 0);
    kitem_release(it);
    CHECK_INT(freed, 2);
    /* replaced and taken: the items go, no view is freed twice */
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "6", fview_new("n/x", "6"), false),
              KINF_PUT_REPLACED);
    it = kinformer_take(inf, "n/x");
    CHECK(it != NULL && strcmp(kitem_rv(it), "6") == 0 &&
          strcmp(((const struct fview *)kitem_view(it))->s, "n/x") == 0);
    kitem_release(it);
    CHECK_INT(freed, 3);
    CHECK(kinformer_bytes(inf) > 0);
    kinformer_free(inf);
    CHECK_INT(freed, 3);
    kclient_free(c);
}

/* More values than KINF_MAX_INDEX_VALUES from one view: the index has lost
 * entries, so by_index answers SC_ENOMEM (a caller walks instead) rather
 * than a partial list; another index of the same informer still answers. */
static void
many_values(void *ctx, const void *view, struct kindex_out *out)
{
    char v[16];

    (void)ctx;
    (void)view;
    for (int i = 0; i < KINF_MAX_INDEX_VALUES + 1; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        kindex_emit(out, v);
    }
}

static void
one_value(void *ctx, const void *view, struct kindex_out *out)
{
    (void)ctx;
    (void)view;
    kindex_emit(out, "one");
}

static void
test_lossy_index_refuses(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {.name = "lossy", .path = "/api/v1/lossy", .parse = parse_vs};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    struct kitem **items = NULL;
    struct sc_err e = {0};
    size_t n = 0;

    CHECK(inf != NULL);
    if (inf == NULL)
        return;
    CHECK_INT(kinformer_add_index(inf, "many", many_values, NULL, NULL), 0);
    CHECK_INT(kinformer_add_index(inf, "one", one_value, NULL, NULL), 0);
    CHECK_INT(kinformer_by_index(inf, "many", "v1", &items, &n, &e), 0); /* nothing lost yet */
    CHECK_INT(kinformer_put(inf, "n", "x", "u1", "5", strdup("x"), false), KINF_PUT_ADDED);
    CHECK_INT(kinformer_by_index(inf, "many", "v1", &items, &n, &e), SC_ENOMEM);
    CHECK(items == NULL && n == 0 && strstr(e.msg, "lost entries") != NULL);
    CHECK_INT(kinformer_by_index(inf, "one", "one", &items, &n, &e), 0);
    CHECK_INT(n, 1);
    kitem_release_all(items, n);
    kinformer_free(inf);
    kclient_free(c);
}

/* Thousands of items under one value (a burst of snapshots of one claim):
 * every update removes and re-adds the key, and the count answers with the
 * item named by except left out, whether or not it is there. */
static void
test_index_count_one_value(void)
{
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {.name = "count", .path = "/api/v1/count", .parse = parse_vs};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct kinformer *inf = kinformer_new(c, &o, NULL);
    struct kitem **items = NULL;
    struct sc_err e = {0};
    char name[32], rv[16];
    size_t n = 0;
    enum { N = 3000 };

    CHECK(inf != NULL);
    if (inf == NULL)
        return;
    CHECK_INT(kinformer_add_index(inf, "one", one_value, NULL, NULL), 0);
    CHECK_INT(kinformer_index_count(inf, "one", "one", NULL, &n, &e), 0);
    CHECK_INT(n, 0);
    for (int round = 1; round <= 2; round++) { /* added, then replaced */
        for (int i = 0; i < N; i++) {
            snprintf(name, sizeof(name), "s%d", i);
            snprintf(rv, sizeof(rv), "%d", round);
            CHECK_INT(kinformer_put(inf, "ns", name, "u", rv, strdup("x"), false),
                      round == 1 ? KINF_PUT_ADDED : KINF_PUT_REPLACED);
        }
    }
    CHECK_INT(kinformer_index_count(inf, "one", "one", NULL, &n, &e), 0);
    CHECK_INT(n, N);
    CHECK_INT(kinformer_index_count(inf, "one", "one", "ns/s7", &n, &e), 0);
    CHECK_INT(n, N - 1);
    CHECK_INT(kinformer_index_count(inf, "one", "one", "ns/absent", &n, &e), 0);
    CHECK_INT(n, N);
    CHECK_INT(kinformer_index_count(inf, "one", "other", "ns/s7", &n, &e), 0);
    CHECK_INT(n, 0);
    CHECK_INT(kinformer_index_count(inf, "nope", "one", NULL, &n, &e), SC_EINVALID);
    for (int i = 0; i < N; i += 2) {
        snprintf(name, sizeof(name), "ns/s%d", i);
        kitem_release(kinformer_take(inf, name));
    }
    CHECK_INT(kinformer_index_count(inf, "one", "one", "ns/s8", &n, &e), 0);
    CHECK_INT(n, N / 2); /* s8 is gone: nothing to leave out */
    CHECK_INT(kinformer_index_count(inf, "one", "one", "ns/s9", &n, &e), 0);
    CHECK_INT(n, N / 2 - 1);
    CHECK_INT(kinformer_by_index(inf, "one", "one", &items, &n, &e), 0);
    CHECK_INT(n, N / 2);
    for (size_t i = 0; i < n; i++)
        CHECK(atoi(kitem_key(items[i]) + 4) % 2 == 1);
    kitem_release_all(items, n);
    for (int i = 1; i < N; i += 2) {
        snprintf(name, sizeof(name), "ns/s%d", i);
        kitem_release(kinformer_take(inf, name));
    }
    CHECK_INT(kinformer_index_count(inf, "one", "one", NULL, &n, &e), 0);
    CHECK_INT(n, 0);
    kinformer_free(inf);
    kclient_free(c);
}

/* ---- events applied from the cache (kwatch_peek, apply_known) ---------------------- */

static bool
span_is(const char *p, size_t n, const char *want)
{
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

static bool
peek_str(const char *line, struct kwatch_id *id)
{
    return kwatch_peek(line, strlen(line), id);
}

/* Whether the line passes kwatch_peek() and kwatch_peek_rest() both. */
static bool
peek_all(const char *line)
{
    struct kwatch_id id = {0};

    return peek_str(line, &id) && kwatch_peek_rest(line, strlen(line), &id);
}

static void
test_peek_reads_identity(void)
{
    struct kwatch_id id = {0};
    const char *line =
        " {\"type\" : \"MODIFIED\", \"object\":{\"apiVersion\":\"v1\",\"metadata\":{"
        "\"creationTimestamp\":\"2026-12-06T00:00:00Z\",\"finalizers\":[\"a\",\"b\"],"
        "\"generation\":2,\"managedFields\":[{\"f:spec\":{\"x\":[1,{\"y\":null}]}}],"
        "\"name\":\"snap-1\",\"namespace\":\"ns-1\",\"resourceVersion\":\"2001\","
        "\"uid\":\"u-1\"},\"spec\":{\"source\":{\"pvc\":\"p\"}},\"status\":{}}}\n";

    CHECK(peek_str(line, &id));
    CHECK_INT(id.type, KW_MODIFIED);
    CHECK(span_is(id.name, id.name_len, "snap-1"));
    CHECK(span_is(id.ns, id.ns_len, "ns-1"));
    CHECK(span_is(id.uid, id.uid_len, "u-1"));
    CHECK(span_is(id.rv, id.rv_len, "2001"));
    CHECK(id.rest > 0); /* stopped after the metadata: spec and status not read yet */
    CHECK(kwatch_peek_rest(line, strlen(line), &id));
    CHECK_INT(id.rest, 0);
    /* cluster-scoped, "type" after "object": read whole */
    CHECK(peek_str(
        "{\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\",\"resourceVersion\":\"3\"}},"
        "\"type\":\"DELETED\"}",
        &id));
    CHECK_INT(id.type, KW_DELETED);
    CHECK(id.ns == NULL);
    CHECK_INT(id.rest, 0);
    CHECK(peek_all("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
                   "\"resourceVersion\":\"3\"}}}"));
    /* declined: what the informer must parse to read right */
    static const char *const no[] = {
        /* not an object event */
        "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}}}",
        /* an escape in a value read, or in a key that might spell one */
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"sn\\u0061p\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"n\\u0061me\":\"x\",\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}}}",
        /* a duplicate, a missing uid, a uid that is not a string, non-ASCII */
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\",\"uid\":\"v\","
        "\"resourceVersion\":\"3\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"resourceVersion\":\"3\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":7,\"resourceVersion\":\"3\"}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\xc3\xa9\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}}}",
        /* broken structure before the metadata ends */
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"finalizers\":[\"a\"}, \"name\":\"c\","
        "\"uid\":\"u\",\"resourceVersion\":\"3\"}}}",
        "[\"type\",\"ADDED\"]",
        "",
    };
    for (size_t i = 0; i < SC_ARRAY_LEN(no); i++)
        CHECK(!peek_str(no[i], &id));
    /* read up to the metadata, refused by the rest */
    static const char *const bad_rest[] = {
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"},\"metadata\":{}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"},\"spec\":{\"a\":[1,2}}}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}},\"type\":\"ADDED\"}",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}}}x",
        "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"uid\":\"u\","
        "\"resourceVersion\":\"3\"}}",
    };
    for (size_t i = 0; i < SC_ARRAY_LEN(bad_rest); i++) {
        CHECK(peek_str(bad_rest[i], &id));
        CHECK(!kwatch_peek_rest(bad_rest[i], strlen(bad_rest[i]), &id));
    }
}

static int
parse_counted(void *ctx, const json_t *obj, void **out, struct sc_err *err)
{
    (*(int *)ctx)++;
    return parse_vs(NULL, obj, out, err);
}

/* One event line for default/NAME: type, uid, resourceVersion, PVC name,
 * then tail after the event's object. */
static int
feed_named(struct kinformer *inf, const char *name, const char *type, const char *uid,
           const char *rv, const char *pvc, const char *tail, struct sc_err *e)
{
    char line[1024];

    snprintf(line, sizeof(line),
             "{\"type\":\"%s\",\"object\":{\"metadata\":{\"managedFields\":[{\"m\":\"x\"}],"
             "\"name\":\"%s\",\"namespace\":\"default\",\"resourceVersion\":\"%s\",\"uid\":\"%s\"},"
             "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"%s\"}}}}%s\n",
             type, name, rv, uid, pvc, tail);
    return kinformer_feed(inf, line, strlen(line), e);
}

static int
feed_event(struct kinformer *inf, const char *type, const char *uid, const char *rv,
           const char *pvc, const char *tail, struct sc_err *e)
{
    return feed_named(inf, "s", type, uid, rv, pvc, tail, e);
}

/* The cached PVC name of key, into pvc[64] ("-" when not cached). */
static const char *
held_pvc_of(struct kinformer *inf, const char *key, char *pvc)
{
    struct kitem *it = kinformer_get(inf, key);

    snprintf(pvc, 64, "%s", it != NULL ? ((const struct vview *)kitem_view(it))->pvc : "-");
    kitem_release(it);
    return pvc;
}

static void
test_known_events_skip_the_parse(void)
{
    struct kclient *c = NULL;
    struct log l = {0};
    struct sc_err e = {0};
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    int parses = 0;
    char rv[64], pvc[64];
    struct kinformer_opts o = {
        .name = "vs",
        .path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots",
        .parse = parse_counted,
        .parse_ctx = &parses,
        .handlers = {.ctx = &l, .on_add = on_add, .on_update = on_update, .on_delete = on_delete},
        .on_error = on_error,
        .error_ctx = &l,
        .keep_newer = true,
    };
    struct kinformer *inf = NULL;
    struct kitem *it = NULL;

    c = kclient_new(&cfg, NULL, NULL);
    inf = kinformer_new(c, &o, NULL);
    CHECK(inf != NULL);
    if (inf == NULL)
        return;
    CHECK_INT(feed_event(inf, "ADDED", "u1", "5", "p5", "", &e), 0);
    CHECK_INT(parses, 1);
    CHECK_INT(l.adds, 1);
    /* the same object again (uid and resourceVersion): from the cache */
    CHECK_INT(feed_event(inf, "MODIFIED", "u1", "5", "p5", "", &e), 0);
    CHECK_INT(parses, 1);
    CHECK_INT(l.updates, 1);
    CHECK_STR(l.last, "update default/s 5->5");
    CHECK_INT((int)kinformer_known_events(inf), 1);
    /* a write's answer stored ahead of the watch, then its watch event: the
     * stored item, no longer local */
    struct vview *v = calloc(1, sizeof(*v));
    CHECK(v != NULL);
    if (v != NULL)
        v->pvc = "stored";
    CHECK_INT(kinformer_put(inf, "default", "t", "u9", "7", v, false), KINF_PUT_ADDED);
    it = kinformer_get(inf, "default/t");
    CHECK(it != NULL && kitem_local(it));
    kitem_release(it);
    CHECK_INT(feed_named(inf, "t", "ADDED", "u9", "7", "p7", "", &e), 0);
    CHECK_INT(parses, 1);
    CHECK_STR(held_pvc_of(inf, "default/t", pvc), "stored");
    it = kinformer_get(inf, "default/t");
    CHECK(it != NULL && !kitem_local(it));
    kitem_release(it);
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "7");
    CHECK_INT(feed_named(inf, "t", "DELETED", "u9", "7", "p7", "", &e), 0);
    /* a new resourceVersion, or another uid at the same one: parsed */
    CHECK_INT(feed_event(inf, "MODIFIED", "u1", "8", "p8", "", &e), 0);
    CHECK_INT(parses, 2);
    CHECK_STR(held_pvc_of(inf, "default/s", pvc), "p8");
    CHECK_INT(feed_event(inf, "MODIFIED", "u2", "8", "p8b", "", &e), 0);
    CHECK_INT(parses, 3);
    CHECK_STR(held_pvc_of(inf, "default/s", pvc), "p8b");
    /* an echo whose line is broken after the metadata: parsed, and the watch
     * ends as for any malformed line; the cache is as it was */
    CHECK(feed_event(inf, "MODIFIED", "u2", "8", "p8b", "x", &e) != 0);
    CHECK_INT(parses, 3);
    CHECK_INT((int)kinformer_known_events(inf), 3);
    CHECK_STR(held_pvc_of(inf, "default/s", pvc), "p8b");
    /* the delete of the cached uid: from the cache, handlers given its item */
    CHECK_INT(feed_event(inf, "DELETED", "u2", "9", "p9", "", &e), 0);
    CHECK_INT(parses, 3);
    CHECK_INT(l.deletes, 2);
    CHECK_STR(l.last, "delete default/s");
    CHECK_INT(kinformer_len(inf), 0);
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "9");
    CHECK_INT((int)kinformer_known_events(inf), 4);
    /* the delete of a key not cached: parsed, handlers given the event's */
    CHECK_INT(feed_event(inf, "DELETED", "u3", "10", "p10", "", &e), 0);
    CHECK_INT(parses, 4);
    CHECK_INT(l.deletes, 3);
    CHECK_INT(l.errors, 0);
    kinformer_free(inf);
    kclient_free(c);
}

/* parse_bytes: records the bytes it was given; a view whose PVC is
 * "scanned", or a decline while decline is set. */
struct scan_ctx {
    int calls, parses;
    bool decline;
    char last[512];
};

static int
parse_scan_ctx(void *ctx, const json_t *obj, void **out, struct sc_err *err)
{
    ((struct scan_ctx *)ctx)->parses++;
    return parse_vs(NULL, obj, out, err);
}

static int
scan_bytes(void *ctx, const char *obj, size_t n, void **view)
{
    struct scan_ctx *sc = ctx;
    struct vview *v = NULL;

    sc->calls++;
    snprintf(sc->last, sizeof(sc->last), "%.*s", (int)n, obj);
    if (sc->decline || (v = calloc(1, sizeof(*v))) == NULL)
        return 1;
    v->pvc = "scanned";
    *view = v;
    return 0;
}

static void
test_scanned_events(void)
{
    struct kclient *c = NULL;
    struct log l = {0};
    struct sc_err e = {0};
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct scan_ctx sc = {0};
    char rv[64], pvc[64];
    struct kinformer_opts o = {
        .name = "vs",
        .path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots",
        .parse = parse_scan_ctx,
        .parse_ctx = &sc, /* parse_bytes gets the same context */
        .parse_bytes = scan_bytes,
        .handlers = {.ctx = &l, .on_add = on_add, .on_update = on_update, .on_delete = on_delete},
        .on_error = on_error,
        .error_ctx = &l,
        .keep_newer = true,
    };
    struct kinformer *inf = NULL;

    c = kclient_new(&cfg, NULL, NULL);
    inf = kinformer_new(c, &o, NULL);
    CHECK(inf != NULL);
    if (inf == NULL)
        return;
    /* an object the cache does not know: its view from the bytes */
    CHECK_INT(feed_event(inf, "ADDED", "u1", "5", "p5", "", &e), 0);
    CHECK_INT(sc.calls, 1);
    CHECK_STR(sc.last, "{\"metadata\":{\"managedFields\":[{\"m\":\"x\"}],\"name\":\"s\","
                       "\"namespace\":\"default\",\"resourceVersion\":\"5\",\"uid\":\"u1\"},"
                       "\"spec\":{\"source\":{\"persistentVolumeClaimName\":\"p5\"}}}");
    CHECK_STR(held_pvc_of(inf, "default/s", pvc), "scanned");
    CHECK_INT(l.adds, 1);
    CHECK_INT((int)kinformer_scanned_events(inf), 1);
    kinformer_rv(inf, rv, sizeof(rv));
    CHECK_STR(rv, "5");
    /* its echo: from the cache, no call */
    CHECK_INT(feed_event(inf, "MODIFIED", "u1", "5", "p5", "", &e), 0);
    CHECK_INT(sc.calls, 1);
    CHECK_INT((int)kinformer_known_events(inf), 1);
    CHECK_INT(sc.parses, 0);
    /* declined: parsed */
    sc.decline = true;
    CHECK_INT(feed_event(inf, "MODIFIED", "u1", "6", "p6", "", &e), 0);
    CHECK_INT(sc.calls, 2);
    CHECK_INT(sc.parses, 1);
    CHECK_STR(held_pvc_of(inf, "default/s", pvc), "p6");
    CHECK_INT((int)kinformer_scanned_events(inf), 1);
    sc.decline = false;
    /* a line broken after the object: no bytes view, parsed, the watch
     * ends; the cache is as it was */
    CHECK(feed_event(inf, "MODIFIED", "u1", "7", "p7", "x", &e) != 0);
    CHECK_INT(sc.calls, 2);
    CHECK_STR(held_pvc_of(inf, "default/s", pvc), "p6");
    /* a delete never takes the bytes path */
    CHECK_INT(feed_event(inf, "DELETED", "u3", "10", "p10", "", &e), 0);
    CHECK_INT(sc.calls, 2);
    CHECK_INT(sc.parses, 2);
    CHECK_INT(l.deletes, 1);
    CHECK_INT((int)kinformer_scanned_events(inf), 1);
    CHECK_INT(l.errors, 0);
    kinformer_free(inf);
    kclient_free(c);
}

TEST_MAIN(TEST(test_peek_reads_identity), TEST(test_known_events_skip_the_parse),
          TEST(test_scanned_events), TEST(test_recorded_events_drive_cache),
          TEST(test_lossy_index_refuses), TEST(test_index_count_one_value),
          TEST(test_put_keeps_newer_and_tracks_local), TEST(test_item_points_into_view),
          TEST(test_item_holds_flat_view), TEST(test_bad_lines_end_watch_cache_intact),
          TEST(test_store_respects_resource_version))
