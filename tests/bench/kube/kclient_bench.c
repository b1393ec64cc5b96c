/* tests/bench/kube/kclient_bench.c -- requests per second through one
 * kclient against the API server in $KUBECONFIG (tests/cluster/up), with 1
 * and 4 threads sharing the client (keep-alive connections, pooled handles,
 * limiter off), and with the upstream default limiter (qps 5, burst 10).
 * Prints figures; asserts nothing.  Without KUBECONFIG it says so and exits 0.
 * With KCLIENT_BENCH_N=n it instead makes exactly n GETs on one thread (for
 * valgrind --tool=callgrind: instructions per request, repeatable).  It
 * also prints the CPU a new connection costs: n streamed GETs on one client,
 * each on a connection of its own (a stream takes no pooled connection),
 * every one after the first resuming the first one's TLS session. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kube/kclient.h"
#include "kube/kconfig.h"

struct run {
    struct kclient *c;
    double until;
    atomic_long ok, failed;
};

static double
now_s(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
    struct run *r = arg;
    while (now_s() < r->until) {
        json_t *o = NULL;
        if (kclient_get(r->c, "/api/v1/namespaces/default", &o, NULL) == 0)
            atomic_fetch_add(&r->ok, 1);
        else
            atomic_fetch_add(&r->failed, 1);
        json_decref(o);
    }
    return NULL;
}

static void
bench(struct kconfig *cfg, double qps, int burst, int threads, double secs)
{
    struct kclient_opts o = {0};
    kclient_opts_default(&o);
    o.qps = qps;
    o.burst = burst;
    struct run r = {.c = kclient_new(cfg, &o, NULL)};
    pthread_t t[16];
    double t0 = now_s();
    r.until = t0 + secs;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, &r);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double dt = now_s() - t0;
    struct kclient_stats st = {0};
    kclient_get_stats(r.c, &st);
    printf("figure: GET through one client, %d thread(s), %s: %.0f requests/s (%ld ok, %ld "
           "failed, %llu connections)\n",
           threads, qps > 0 ? "qps=5 burst=10" : "no client limiter",
           (double)atomic_load(&r.ok) / dt, atomic_load(&r.ok), atomic_load(&r.failed),
           (unsigned long long)st.connects);
    kclient_free(r.c);
}

static int
drop_chunk(void *ctx, const char *data, size_t n)
{
    (void)ctx;
    (void)data;
    (void)n;
    return 0;
}

static double
cpu_s(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
connections(struct kconfig *cfg, int n)
{
    struct kclient_opts o = {0};
    struct kclient_stats st = {0};
    struct kclient *c = NULL;
    double c0;
    long ok = 0;

    kclient_opts_default(&o);
    o.qps = -1;
    c = kclient_new(cfg, &o, NULL);
    if (c == NULL || kclient_get(c, "/api/v1/namespaces/default", NULL, NULL) != 0) {
        printf("kclient_bench: no first request\n");
        kclient_free(c);
        return;
    }
    c0 = cpu_s();
    for (int i = 0; i < n; i++)
        ok += kclient_stream(c, "/api/v1/namespaces/default", NULL, drop_chunk, NULL, NULL, 10000,
                             NULL) == 0;
    kclient_get_stats(c, &st);
    printf("figure: a GET on a new connection, %ld of %d ok: %.0f us of CPU each (%llu resumed "
           "a TLS session)\n",
           ok, n, (cpu_s() - c0) * 1e6 / n, (unsigned long long)st.resumed);
    kclient_free(c);
}

static void
fixed(struct kconfig *cfg, int n)
{
    struct kclient_opts o = {0};
    struct kclient_stats st = {0};
    struct kclient *c = NULL;
    long ok = 0;

    kclient_opts_default(&o);
    o.qps = -1;
    c = kclient_new(cfg, &o, NULL);
    for (int i = 0; c != NULL && i < n; i++) {
        json_t *obj = NULL;
        if (kclient_get(c, "/api/v1/namespaces/default", &obj, NULL) == 0)
            ok++;
        json_decref(obj);
    }
    kclient_get_stats(c, &st);
    printf("figure: %ld of %d GETs ok on one thread, %llu connections\n", ok, n,
           (unsigned long long)st.connects);
    kclient_free(c);
}

int
main(void)
{
    struct kconfig *cfg = NULL;
    struct sc_err e = {0};

    if (getenv("KUBECONFIG") == NULL) {
        printf("kclient_bench: KUBECONFIG not set, nothing measured\n");
        return 0;
    }
    if (kconfig_load(NULL, &cfg, &e) != 0) {
        printf("kclient_bench: %s\n", e.msg);
        return 1;
    }
    if (getenv("KCLIENT_BENCH_N") != NULL) {
        fixed(cfg, atoi(getenv("KCLIENT_BENCH_N")));
        kconfig_free(cfg);
        return 0;
    }
    bench(cfg, -1, 1, 1, 3);
    bench(cfg, -1, 1, 4, 3);
    bench(cfg, 5, 10, 4, 3);
    connections(cfg, 200);
    kconfig_free(cfg);
    return 0;
}
