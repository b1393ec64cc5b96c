/* tests/bench/controller/cache_bench.c -- heap cost of the compact caches:
 * parses the recorded VolumeSnapshot and VolumeSnapshotContent
 * (tests/data/controller/objects.json) N times under distinct names into a
 * cstore, and prints bytes per object from cstore_bytes() and from glibc's
 * mallinfo2() delta, next to the cost of keeping the jansson trees.
 * Then the controller's path per watch event, through an informer
 * (kinformer_feed of ADDED events, a handler, one worker-pass lookup), with
 * the views in two tables (the informer's, and a cstore the handler copies
 * them into; ghost() looks the key up in both) against one store (the
 * cstore attached to the informer; one kinformer_drop_local per pass).
 * Prints figures only. */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/cintern.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "kube/kclient.h"
#include "kube/kinformer.h"
#include "tests/lib/harness.h"

static size_t
heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

static json_t *
load(const char *name)
{
    char path[1024];
    json_t *all, *o;

    snprintf(path, sizeof(path), "%s/controller/objects.json", harness_data_dir());
    all = json_load_file(path, 0, NULL);
    if (all == NULL) {
        fprintf(stderr, "cannot load %s\n", path);
        exit(1);
    }
    o = json_deep_copy(json_object_get(all, name));
    json_decref(all);
    return o;
}

static int
count_ns(const struct cmeta *m, void *arg)
{
    *(size_t *)arg += m->name[0] != '\0';
    return 0;
}

/* ns per view of a walk over the store (cstore_each, as the PVC-source and
 * group-member scans do), best of 5. */
static double
walk_ns(struct cstore *s, int n, const char *in_ns)
{
    double best = 1e18;
    const char *env = getenv("WALK_REPS"); /* more, for a profile of the walk */
    int reps = env != NULL ? (int)strtol(env, NULL, 10) : 5;

    for (int r = 0; r < reps; r++) {
        struct timespec a = {0}, b = {0};
        size_t hits = 0;
        double ns;

        clock_gettime(CLOCK_MONOTONIC, &a);
        cstore_each_ns(s, in_ns, count_ns, &hits);
        clock_gettime(CLOCK_MONOTONIC, &b);
        ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
        if (hits != (in_ns == NULL ? (size_t)n : 0))
            exit(1);
        best = ns < best ? ns : best;
    }
    return best;
}

static void
run(const char *fixture, int n, bool records)
{
    json_t *obj = load(fixture);
    struct cstore *s = cstore_new();
    struct cintern *t = records ? cintern_new() : NULL;
    bool vs = strcmp(fixture, "vs-dynamic") == 0;
    json_t **trees = calloc((size_t)n, sizeof(*trees));
    size_t before, after_views, after_trees;
    struct timespec t0 = {0}, t1 = {0};
    char name[64];
    int i;

    if (records && (t == NULL || cstore_use_records(s, vs ? CREC_VS : CREC_VSC, t) != 0))
        exit(1);
    before = heap_used();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        struct cmeta *m = NULL;
        json_t *meta = json_object_get(obj, "metadata");
        int rc;

        snprintf(name, sizeof(name), "obj-%d", i);
        json_object_set_new(meta, "name", json_string(name));
        if (vs)
            rc = cvs_parse_shared(obj, t, (struct cvs **)&m, NULL);
        else
            rc = cvsc_parse_shared(obj, t, (struct cvsc **)&m, NULL);
        if (rc != 0 || cstore_put(s, m, true) < 0) {
            fprintf(stderr, "parse failed\n");
            exit(1);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    after_views = heap_used();
    for (i = 0; i < n; i++)
        trees[i] = json_deep_copy(obj);
    after_trees = heap_used();
    printf("cache_bench: %s x %d, %s: compact cache %zu bytes/object (cstore_bytes %zu/object), "
           "parse+insert %.2f us/object; a jansson tree per object would add %zu bytes/object; "
           "a walk %.1f ns/object (of another namespace: %.1f)\n",
           fixture, n, records ? "records, shared strings" : "views",
           (after_views - before) / (size_t)n, cstore_bytes(s) / (size_t)n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / n,
           (after_trees - after_views) / (size_t)n, walk_ns(s, n, NULL), walk_ns(s, n, "other"));
    for (i = 0; i < n; i++)
        json_decref(trees[i]);
    free(trees);
    cstore_free(s);
    cintern_free(t);
    json_decref(obj);
}

static double
us_since(const struct timespec *t0)
{
    struct timespec t1 = {0};

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return ((double)(t1.tv_sec - t0->tv_sec) * 1e9 + (double)(t1.tv_nsec - t0->tv_nsec)) / 1e3;
}

/* The handler of the two-table wiring: copy the view into the cstore. */
static void
copy_add(void *ctx, const struct kitem *it)
{
    if (cstore_put(ctx, cview_ref((struct cmeta *)kitem_view(it)), false) < 0)
        exit(1);
}

/* The controller's wiring of a records store: parse with the shared
 * strings, keep the record (controller/ctrl.c's parse_item). */
struct rec_ctx {
    struct cstore *s;
    struct cintern *t;
};

static int
parse_rec(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    struct rec_ctx *x = ctx;
    struct cvs *v = NULL;
    int rc = cvs_parse_shared(obj, x->t, &v, err);

    return rc != 0 ? rc : cstore_stored(x->s, &v->m, view, err);
}

static void
free_rec(void *ctx, void *view)
{
    cstore_free_stored(((struct rec_ctx *)ctx)->s, view);
}

/* n ADDED events of distinct VolumeSnapshots, one line each. */
static char *
event_stream(int n, size_t *len)
{
    json_t *obj = load("vs-dynamic"), *meta = json_object_get(obj, "metadata");
    char name[64], *all = NULL, *line = NULL;
    size_t cap = 0, used = 0;
    int i;

    for (i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "ev-%d", i);
        json_object_set_new(meta, "name", json_string(name));
        line = json_dumps(json_pack("{s:s,s:O}", "type", "ADDED", "object", obj),
                          JSON_COMPACT | JSON_EMBED);
        if (line == NULL)
            exit(1);
        if (used + strlen(line) + 4 > cap) {
            cap = (cap + strlen(line) + 4) * 2;
            all = realloc(all, cap);
        }
        used += (size_t)sprintf(all + used, "{%s}\n", line);
        free(line);
    }
    json_decref(obj);
    *len = used;
    return all;
}

static const char *
key_rec(void *ctx, const void *view, const char **rv)
{
    return cstore_stored_key(((struct rec_ctx *)ctx)->s, view, rv);
}

static size_t
bytes_rec(void *ctx, const void *view)
{
    return cstore_stored_flat(((struct rec_ctx *)ctx)->s, view);
}

static void
use_records(struct kinformer_opts *o, struct rec_ctx *rx, struct cstore *s)
{
    rx->s = s;
    rx->t = cintern_new();
    if (rx->t == NULL || cstore_use_records(s, CREC_VS, rx->t) != 0)
        exit(1);
    o->parse = parse_rec;
    o->free_view = free_rec;
    o->view_key = key_rec;
    o->view_bytes = bytes_rec;
    o->parse_ctx = rx;
}

enum wiring { TWO_TABLES, ONE_STORE, ONE_STORE_RECORDS };

static void
informer_path(const char *stream, size_t len, int n, enum wiring w)
{
    static const char *const what[] = {"two tables (informer + cstore copy)",
                                       "one store (attached)", "one store of records (attached)"};
    bool one_store = w != TWO_TABLES;
    struct rec_ctx rx = {0};
    struct kconfig cfg = {.server = "https://127.0.0.1:1"};
    struct kinformer_opts o = {0};
    struct kclient *c = kclient_new(&cfg, NULL, NULL);
    struct cstore *s = cstore_new();
    struct kinformer *inf = NULL;
    struct timespec t0 = {0};
    char key[64];
    size_t before, off;
    double us;
    int i;

    o.path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshots";
    o.parse = cstore_parse_vs;
    o.free_view = cstore_free_view;
    o.keep_newer = one_store;
    o.handlers.ctx = s;
    o.handlers.on_add = one_store ? NULL : copy_add;
    before = heap_used();
    if (w == ONE_STORE_RECORDS)
        use_records(&o, &rx, s);
    inf = kinformer_new(c, &o, NULL);
    if (inf == NULL || (one_store && cstore_attach(s, inf) != 0))
        exit(1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (off = 0; off < len; off += 16384)
        if (kinformer_feed(inf, stream + off, len - off < 16384 ? len - off : 16384, NULL) != 0)
            exit(1);
    for (i = 0; i < n; i++) { /* the worker pass's lookups before the sync */
        snprintf(key, sizeof(key), "default/ev-%d", i);
        if (one_store) {
            if (kinformer_drop_local(inf, key))
                exit(1);
        } else {
            struct kitem *it = kinformer_get(inf, key);
            struct cmeta *m = cstore_get(s, key);

            if (it == NULL || m == NULL)
                exit(1);
            cview_unref(m);
            kitem_release(it);
        }
    }
    us = us_since(&t0);
    printf("cache_bench: informer + store, %d VolumeSnapshot ADDED events: %s: %zu heap "
           "bytes/object, %.2f us/event (feed, handler, worker lookups)\n",
           n, what[w], (heap_used() - before) / (size_t)n, us / n);
    kinformer_free(inf); /* its records are freed through the store */
    cstore_free(s);
    cintern_free(rx.t);
    kclient_free(c);
}

int
main(void)
{
    run("vs-dynamic", 1000, false);
    run("vs-dynamic", 10000, false);
    run("vs-dynamic", 10000, true);
    run("vsc-dynamic-ready", 10000, false);
    run("vsc-dynamic-ready", 10000, true);
    {
        size_t len = 0;
        char *stream = event_stream(10000, &len);
        int round;

        for (round = 0; round < 2; round++) { /* alternated: the machine's load drifts */
            informer_path(stream, len, 10000, TWO_TABLES);
            informer_path(stream, len, 10000, ONE_STORE);
            informer_path(stream, len, 10000, ONE_STORE_RECORDS);
        }
        free(stream);
    }
    return 0;
}
