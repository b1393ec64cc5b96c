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

static void
run(const char *fixture, int n)
{
    json_t *obj = load(fixture);
    struct cstore *s = cstore_new();
    json_t **trees = calloc((size_t)n, sizeof(*trees));
    size_t before, after_views, after_trees;
    struct timespec t0 = {0}, t1 = {0};
    char name[64];
    int i;

    before = heap_used();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
        struct cmeta *m = NULL;
        json_t *meta = json_object_get(obj, "metadata");
        int rc;

        snprintf(name, sizeof(name), "obj-%d", i);
        json_object_set_new(meta, "name", json_string(name));
        if (strcmp(fixture, "vs-dynamic") == 0)
            rc = cvs_parse(obj, (struct cvs **)&m, NULL);
        else
            rc = cvsc_parse(obj, (struct cvsc **)&m, NULL);
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
    printf("cache_bench: %s x %d: compact cache %zu bytes/object (cstore_bytes %zu/object), "
           "parse+insert %.2f us/object; a jansson tree per object would add %zu bytes/object\n",
           fixture, n, (after_views - before) / (size_t)n, cstore_bytes(s) / (size_t)n,
           ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 1e3 / n,
           (after_trees - after_views) / (size_t)n);
    for (i = 0; i < n; i++)
        json_decref(trees[i]);
    free(trees);
    cstore_free(s);
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

static void
informer_path(const char *stream, size_t len, int n, bool one_store)
{
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
           n, one_store ? "one store (attached)" : "two tables (informer + cstore copy)",
           (heap_used() - before) / (size_t)n, us / n);
    cstore_free(s);
    kinformer_free(inf);
    kclient_free(c);
}

int
main(void)
{
    run("vs-dynamic", 1000);
    run("vs-dynamic", 10000);
    run("vsc-dynamic-ready", 10000);
    {
        size_t len = 0;
        char *stream = event_stream(10000, &len);
        int round;

        for (round = 0; round < 2; round++) { /* alternated: the machine's load drifts */
            informer_path(stream, len, 10000, false);
            informer_path(stream, len, 10000, true);
        }
        free(stream);
    }
    return 0;
}
