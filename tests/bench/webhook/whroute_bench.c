/* tests/bench/webhook/whroute_bench.c -- cost of one decision in process:
 * envelope parse + rule + response build, without TLS or sockets, over an
 * in-memory lookup holding N classes per kind and N grants.  Prints figures;
 * asserts nothing.  Usage: whroute_bench [ITERATIONS] [N] [malloc]
 * ("malloc": jansson on malloc, not in the per-request arena the server uses) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "webhook/wharena.h"
#include "webhook/whroute.h"

struct mem_lookup {
    int n;
    char (*names)[32];
    struct wh_grant *grants;
};

static int
classes(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct mem_lookup *m = ctx;

    (void)kind;
    (void)err;
    for (int i = 0; i < m->n; i++)
        if (fn(arg, m->names[i], i == m->n - 1 ? "bench.csi.example.com" : "other.example.com",
               i == m->n - 1))
            break;
    return SC_OK;
}

static int
grants(void *ctx, const char *ns, wh_grant_visit_fn *fn, void *arg, struct sc_err *err)
{
    struct mem_lookup *m = ctx;

    (void)ns;
    (void)err;
    for (int i = 0; i < m->n; i++)
        if (fn(arg, &m->grants[i]))
            break;
    return SC_OK;
}

static double
clock_s(clockid_t id)
{
    struct timespec ts = {0};

    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
load(const char *rel, void (*edit)(json_t *))
{
    char path[512];
    const char *d = getenv("TEST_DATA") ? getenv("TEST_DATA") : "tests/data";
    json_t *j;
    char *s;

    snprintf(path, sizeof(path), "%s/webhook/%s", d, rel);
    j = json_load_file(path, 0, NULL);
    if (j == NULL) {
        fprintf(stderr, "cannot load %s\n", path);
        exit(1);
    }
    if (edit)
        edit(j);
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static void
bench_driver(json_t *j)
{
    json_object_set_new(json_object_get(json_object_get(j, "request"), "object"), "driver",
                        json_string("bench.csi.example.com"));
}

int
main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 100000;
    int n = argc > 2 ? atoi(argv[2]) : 100;
    int use_arena = !(argc > 3 && strcmp(argv[3], "malloc") == 0);
    static _Alignas(16) char arena_mem[WHARENA_BYTES];
    static struct wh_grant_from from = {"", "PersistentVolumeClaim", "prod"};
    static struct wh_grant_from from_other = {"", "PersistentVolumeClaim", "elsewhere"};
    static struct wh_grant_to to = {"snapshot.storage.k8s.io", "VolumeSnapshot", NULL};
    struct mem_lookup m = {n, calloc((size_t)n, 32), calloc((size_t)n, sizeof(struct wh_grant))};
    struct whmetrics metrics = {0};
    struct whroute rt = {0};
    struct {
        const char *name, *url;
        char *body;
    } sc[4];

    if (use_arena)
        wharena_install();
    for (int i = 0; i < n; i++) {
        snprintf(m.names[i], 32, "class-%d", i);
        /* Only the last grant matches: the rule walks all of them. */
        m.grants[i] = (struct wh_grant){"backup", "g", i == n - 1 ? &from : &from_other, 1, &to, 1};
    }
    whmetrics_init(&metrics);
    memset(&rt, 0, sizeof(rt));
    rt.lookup = (struct wh_lookup){classes, grants, &m};
    rt.metrics = &metrics;
    sc[0].name = "second default class (denied)";
    sc[0].url = "/validate-class";
    sc[0].body = load("admission/vsclass-create.json", bench_driver);
    sc[1].name = "cross-ns PVC, grant found last";
    sc[1].url = "/validate-pvc";
    sc[1].body = load("admission/pvc-create-cross-ns.json", NULL);
    sc[2].name = "convert one VGSC v1beta2->v1beta1";
    sc[2].url = "/convert";
    {
        char *obj = load("convert/vgsc-v1beta2.json", NULL);

        if (asprintf(&sc[2].body,
                     "{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"ConversionReview\","
                     "\"request\":{\"uid\":\"b\",\"desiredAPIVersion\":"
                     "\"groupsnapshot.storage.k8s.io/v1beta1\",\"objects\":[%s]}}",
                     obj) < 0)
            return 1;
        free(obj);
    }
    sc[3].name = "non-JSON body (400)";
    sc[3].url = "/validate-class";
    sc[3].body = strdup("{\"apiVersion\": nope");
    printf("whroute_bench: %ld iterations each, %d cached classes and grants, one thread, %s\n",
           iters, n, use_arena ? "jansson in a per-request arena" : "jansson on malloc");
    for (int s = 0; s < 4; s++) {
        size_t len = strlen(sc[s].body);
        double t0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), dt, ct;
        int status = 0;

        for (long i = 0; i < iters; i++) {
            struct whroute_resp out = {0};
            struct wharena a = {0};

            /* As the server does (whserver.c): the review's trees in an arena. */
            if (use_arena)
                wharena_begin(&a, arena_mem);
            whroute_handle(&rt, "POST", sc[s].url, "application/json", sc[s].body, len, &out);
            wharena_end(&a);
            status = out.status;
            free(out.body);
        }
        dt = clock_s(CLOCK_MONOTONIC) - t0;
        ct = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        printf("  %-36s %6zu B in, HTTP %d: %8.2f us/op CPU (%8.2f wall), %9.0f ops/s per core\n",
               sc[s].name, len, status, ct / (double)iters * 1e6, dt / (double)iters * 1e6,
               (double)iters / ct);
        free(sc[s].body);
    }
    free(m.names);
    free(m.grants);
    return 0;
}
