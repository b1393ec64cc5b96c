/* tests/bench/state/state_bench.c -- figures for docs/state.md.  Prints
 * numbers, asserts nothing about time.
 *
 *   build-x/tests/bench/state/state_bench [dir]     (dir defaults to /tmp)
 *
 * Measures: the hot-path cost of a retry write and of an event write (the
 * mirror only, 1 and 4 threads); the cost per row of persisting them with
 * different transaction sizes (batching); the sustained rate with the writer
 * thread; the file size after 100k events; the time to open (load) it; the
 * mirror's heap per row.
 */
#include "state/state.h"

#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
    struct timespec ts = {0};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t
wall_ms(void)
{
    return (int64_t)time(NULL) * 1000;
}

static long long
file_size(const char *p)
{
    struct stat sb = {0};
    return stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
}

static void
rm_db(const char *path)
{
    char p[600];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

/* path := dir/name, that database removed, o := a manual writer's
 * options (nothing flushes by itself). */
static void
manual_db(const char *dir, const char *name, char *path, size_t cap, struct state_opts *o)
{
    snprintf(path, cap, "%s/%s", dir, name);
    rm_db(path);
    memset(o, 0, sizeof(*o));
    o->writer = STATE_WRITER_MANUAL;
}

static void
die(const char *what)
{
    fprintf(stderr, "state_bench: %s failed\n", what);
    exit(1);
}

/* A UID shaped like the API server's. */
static void
uid_of(int i, char *out, size_t cap)
{
    snprintf(out, cap, "6f1c2d3e-%04x-4a5b-8c9d-%012x", (unsigned)(i & 0xffff), (unsigned)i);
}

#define TYPICAL_MSG                                                                           \
    "Failed to check and update snapshot: snapshot controller failed to update "              \
    "default/snap-%d on API server: the object has been modified; please apply your changes " \
    "to the latest version and try again"

static void
event_for(int i, struct state_event *e, char *msg, size_t cap)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->namespace_, sizeof(e->namespace_), "default");
    snprintf(e->name, sizeof(e->name), "snap-%d.187a1b2c3d4e5f60", i);
    e->count = 1 + i % 7;
    e->first_ms = wall_ms() - 1000;
    e->last_ms = wall_ms();
    snprintf(msg, cap, TYPICAL_MSG, i);
}

/* ---- hot path: the mirror only ---- */

struct hot {
    struct state *st;
    int id, n;
    int events;
};

static void *
hot_main(void *arg)
{
    struct hot *h = arg;
    char uid[64], msg[400];
    struct state_event e = {0};
    int i;

    for (i = 0; i < h->n; i++) {
        uid_of(h->id * 1000000 + i % 20000, uid, sizeof(uid));
        if (h->events) {
            event_for(i % 20000, &e, msg, sizeof(msg));
            if (state_event_put(h->st, uid, "Warning", "SnapshotFinalizerError", msg, &e, NULL))
                die("event_put");
        } else if (state_retry_put(h->st, "VolumeSnapshot", uid, 1 + i % 9, wall_ms() + 1000,
                                   "the object has been modified", NULL)) {
            die("retry_put");
        }
    }
    return NULL;
}

static void
bench_hot(const char *dir, int threads, int events)
{
    char path[512];
    struct state_opts o = {0};
    struct state *st = NULL;
    pthread_t th[8];
    struct hot h[8] = {0};
    const int per = 200000;
    double t0, t;
    int i;

    manual_db(dir, "bench-hot.db", path, sizeof(path), &o); /* measure the caller's cost alone */
    st = state_open(path, &o, NULL, NULL);
    if (st == NULL)
        die("open");
    t0 = now_s();
    for (i = 0; i < threads; i++) {
        h[i] = (struct hot){st, i, per, events};
        pthread_create(&th[i], NULL, hot_main, &h[i]);
    }
    for (i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    t = now_s() - t0;
    printf("hot path  %-6s put, %d thread%s: %7.0f ns per call (%.2f M calls/s total)\n",
           events ? "event" : "retry", threads, threads > 1 ? "s" : " ", t * 1e9 / per,
           (double)per * threads / t / 1e6);
    state_close(st);
    rm_db(path);
}

/* ---- persisting: rows per transaction ---- */

static void
bench_batch(const char *dir, int batch, int events)
{
    char path[512], uid[64], msg[400];
    struct state_opts o = {0};
    struct state *st = NULL;
    struct state_event e = {0};
    const int total = batch == 1 ? 5000 : 50000;
    double t0, t;
    int i;

    manual_db(dir, "bench-batch.db", path, sizeof(path), &o);
    st = state_open(path, &o, NULL, NULL);
    t0 = now_s();
    for (i = 0; i < total; i++) {
        uid_of(i, uid, sizeof(uid));
        if (events) {
            event_for(i, &e, msg, sizeof(msg));
            if (state_event_put(st, uid, "Warning", "SnapshotFinalizerError", msg, &e, NULL))
                die("event_put");
        } else if (state_retry_put(st, "VolumeSnapshot", uid, 1, wall_ms(), "conflict", NULL)) {
            die("retry_put");
        }
        if ((i + 1) % batch == 0 && state_flush(st, NULL) != SC_OK)
            die("flush");
    }
    t = now_s() - t0;
    printf("persist   %-6s rows, %5d per transaction: %7.1f us per row, %8.0f rows/s\n",
           events ? "event" : "retry", batch, t * 1e6 / total, total / t);
    state_close(st);
    rm_db(path);
}

/* ---- the writer thread, sustained ---- */

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void
bench_writer(const char *dir)
{
    char path[512];
    static char uids[50000][64];
    static double lat[500000];
    struct state_opts o = {0};
    struct state_stats s = {0};
    struct state *st = NULL;
    const int total = 500000;
    double t0, t_put, t_all;
    int i;

    snprintf(path, sizeof(path), "%s/bench-writer.db", dir);
    rm_db(path);
    for (i = 0; i < 50000; i++)
        uid_of(i, uids[i], sizeof(uids[i]));
    memset(&o, 0, sizeof(o)); /* defaults: 200 ms / 512 rows */
    st = state_open(path, &o, NULL, NULL);
    t0 = now_s();
    for (i = 0; i < total; i++) {
        double a = now_s();
        if (state_retry_put(st, "VolumeSnapshot", uids[i % 50000], i, wall_ms(), "conflict", NULL))
            die("retry_put");
        lat[i] = now_s() - a;
    }
    t_put = now_s() - t0;
    state_get_stats(st, &s);
    state_close(st); /* the final flush */
    t_all = now_s() - t0;
    qsort(lat, (size_t)total, sizeof(lat[0]), cmp_double);
    printf("writer    %d retry puts over 50k keys with the writer thread: %.0f ns/put mean, "
           "p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f ms\n",
           total, t_put * 1e9 / total, lat[total / 2] * 1e6, lat[total / 100 * 99] * 1e6,
           lat[total / 1000 * 999] * 1e6, lat[total - 1] * 1e3);
    printf("writer    %llu transactions wrote %llu rows while the puts ran (%.1f puts per row "
           "written); everything on disk %.2f s after the first put\n",
           (unsigned long long)s.n_flushes, (unsigned long long)s.n_rows_written,
           s.n_rows_written ? (double)(total - (int)s.n_dirty) / (double)s.n_rows_written : 0.0,
           t_all);
    rm_db(path);
}

/* ---- size and load time ---- */

static void
bench_size(const char *dir, int n_events, int n_retry)
{
    char path[512], uid[64], msg[400];
    struct state_opts o = {0};
    struct state_open_report rep = {0};
    struct state *st = NULL;
    struct state_event e = {0};
    struct mallinfo2 m0 = {0}, m1 = {0};
    double t0, t;
    int i;

    manual_db(dir, "bench-size.db", path, sizeof(path), &o);
    o.max_event = (size_t)n_events;
    o.max_retry = (size_t)(n_retry > 0 ? n_retry : 1);
    st = state_open(path, &o, NULL, NULL);
    t0 = now_s();
    for (i = 0; i < n_events; i++) {
        uid_of(i, uid, sizeof(uid));
        event_for(i, &e, msg, sizeof(msg));
        if (state_event_put(st, uid, "Warning", "SnapshotFinalizerError", msg, &e, NULL))
            die("event_put");
        if ((i + 1) % 1000 == 0 && state_flush(st, NULL) != SC_OK)
            die("flush");
    }
    for (i = 0; i < n_retry; i++) {
        uid_of(i, uid, sizeof(uid));
        if (state_retry_put(st, "VolumeSnapshot", uid, 3, wall_ms() + 4000,
                            "the object has been modified", NULL))
            die("retry_put");
        if ((i + 1) % 1000 == 0 && state_flush(st, NULL) != SC_OK)
            die("flush");
    }
    t = now_s() - t0;
    state_close(st);
    printf("size      %d events (~%zu-byte messages) + %d retry rows: file %.1f MB "
           "(%.0f bytes per row), written in %.2f s\n",
           n_events, strlen(TYPICAL_MSG), n_retry, file_size(path) / 1e6,
           (double)file_size(path) / (n_events + n_retry), t);
    malloc_trim(0);
    m0 = mallinfo2();
    t0 = now_s();
    st = state_open(path, &o, &rep, NULL);
    t = now_s() - t0;
    m1 = mallinfo2();
    printf("open      status %s, loaded %zu events + %zu retry rows in %.0f ms; mirror heap "
           "%.1f MB (%.0f bytes per row)\n",
           state_open_status_str(rep.status), rep.n_event, rep.n_retry, t * 1e3,
           (double)(m1.uordblks - m0.uordblks) / 1e6,
           (double)(m1.uordblks - m0.uordblks) / (double)(rep.n_event + rep.n_retry));
    state_close(st);
    rm_db(path);
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";

    printf("state/ benchmark, SQLite %s, directory %s\n", sqlite3_libversion(), dir);
    bench_hot(dir, 1, 0);
    bench_hot(dir, 4, 0);
    bench_hot(dir, 1, 1);
    bench_hot(dir, 4, 1);
    bench_batch(dir, 1, 0);
    bench_batch(dir, 10, 0);
    bench_batch(dir, 100, 0);
    bench_batch(dir, 1000, 0);
    bench_batch(dir, 1, 1);
    bench_batch(dir, 100, 1);
    bench_batch(dir, 1000, 1);
    bench_writer(dir);
    bench_size(dir, 100000, 0);
    bench_size(dir, 100000, 100000);
    return 0;
}
