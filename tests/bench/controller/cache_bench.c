/* tests/bench/controller/cache_bench.c -- heap cost of the compact caches:
 * parses the recorded VolumeSnapshot and VolumeSnapshotContent
 * (tests/data/controller/objects.json) N times under distinct names into a
 * cstore, and prints bytes per object from cstore_bytes() and from glibc's
 * mallinfo2() delta, next to the cost of keeping the jansson trees.
 * Prints figures only. */
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/cstore.h"
#include "controller/cview.h"
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

int
main(void)
{
    run("vs-dynamic", 1000);
    run("vs-dynamic", 10000);
    run("vsc-dynamic-ready", 10000);
    return 0;
}
