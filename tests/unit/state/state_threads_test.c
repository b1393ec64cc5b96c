/* tests/unit/state/state_threads_test.c -- state/ used by several worker
 * threads at once while the writer thread flushes, another thread flushes,
 * prunes and lists, and the size cap evicts. */
#include "tests/unit/state/state_testutil.h"

#include <pthread.h>
#include <time.h>

#define N_WORKERS 8
#define N_KEYS    200
#define N_OPS     20000

struct worker {
    struct state *st;
    int id;
    int expect[N_KEYS]; /* final failures per own key, -1 = cleared */
    int errors;
};

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    char uid[32], shared[32], msg[32];
    int j;

    for (j = 0; j < N_KEYS; j++)
        w->expect[j] = -1;
    for (j = 0; j < N_OPS; j++) {
        int k = (j * 7 + w->id) % N_KEYS;
        struct state_retry r = {0};
        struct state_event e = tu_event("ev", j, j, (int64_t)time(NULL) * 1000), got;

        snprintf(uid, sizeof(uid), "t%d-%d", w->id, k);
        snprintf(shared, sizeof(shared), "shared-%d", j % 10);
        snprintf(msg, sizeof(msg), "f=%d", j);
        if (j % 5 == 4) {
            if (state_retry_clear(w->st, "K", uid, NULL) != SC_OK)
                w->errors++;
            w->expect[k] = -1;
        } else {
            if (state_retry_put(w->st, "K", uid, j, j, msg, NULL) != SC_OK)
                w->errors++;
            w->expect[k] = j;
        }
        /* our own key: we always read our own last write */
        if (state_retry_get(w->st, "K", uid, &r, NULL) == SC_OK) {
            snprintf(msg, sizeof(msg), "f=%d", r.failures);
            if (w->expect[k] != r.failures || strcmp(r.last_error, msg) != 0)
                w->errors++;
        } else if (w->expect[k] != -1) {
            w->errors++;
        }
        /* shared keys: every thread writes and forgets them */
        if (state_retry_put(w->st, "VolumeSnapshot", shared, j, j, "s", NULL) != SC_OK)
            w->errors++;
        if (state_event_put(w->st, shared, "Warning", "R", "m", &e, NULL) != SC_OK)
            w->errors++;
        if (state_event_get(w->st, shared, "Warning", "R", "m", &got, NULL) == SC_OK &&
            strcmp(got.name, "ev") != 0)
            w->errors++;
        if (j % 50 == 0 && state_forget_uid(w->st, shared, NULL, NULL) != SC_OK)
            w->errors++;
    }
    return NULL;
}

struct busy {
    struct state *st;
    volatile int stop;
    int rounds;
};

static int
count_fn(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    (void)kind;
    (void)uid;
    (void)r;
    (*(int *)ctx)++;
    return 0;
}

static void *
busy_main(void *arg)
{
    struct busy *b = arg;

    while (!__atomic_load_n(&b->stop, __ATOMIC_ACQUIRE)) {
        struct state_stats stats = {0};
        int n = 0;
        (void)!state_flush(b->st, NULL);
        (void)!state_prune(b->st, NULL, NULL);
        (void)!state_retry_foreach(b->st, count_fn, &n, NULL);
        state_get_stats(b->st, &stats);
        b->rounds++;
        usleep(1000);
    }
    return NULL;
}

static void
many_workers(void)
{
    char dir[64], path[128], uid[32];
    struct state_opts o = {0};
    struct state_stats stats = {0};
    struct state *st = NULL;
    struct worker w[N_WORKERS] = {0};
    struct busy b = {0};
    pthread_t th[N_WORKERS], bt;
    int i, k;

    memset(&o, 0, sizeof(o));
    o.flush_interval_ms = 5;
    o.flush_batch = 64;
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    st = state_open(path, &o, NULL, NULL);
    CHECK(st != NULL);
    memset(&b, 0, sizeof(b));
    b.st = st;
    CHECK_INT(pthread_create(&bt, NULL, busy_main, &b), 0);
    for (i = 0; i < N_WORKERS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].st = st;
        w[i].id = i;
        CHECK_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (i = 0; i < N_WORKERS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(w[i].errors, 0);
    }
    __atomic_store_n(&b.stop, 1, __ATOMIC_RELEASE);
    pthread_join(bt, NULL);
    CHECK(b.rounds > 0);
    state_get_stats(st, &stats);
    CHECK(stats.persistent);
    CHECK(stats.n_flushes > 1);
    CHECK_INT(stats.n_degraded, 0);
    state_close(st);

    /* every thread's last write is what a restart sees */
    o.writer = STATE_WRITER_MANUAL;
    st = state_open(path, &o, NULL, NULL);
    for (i = 0; i < N_WORKERS; i++) {
        for (k = 0; k < N_KEYS; k++) {
            struct state_retry r = {0};
            int rc;
            snprintf(uid, sizeof(uid), "t%d-%d", i, k);
            rc = state_retry_get(st, "K", uid, &r, NULL);
            if (w[i].expect[k] < 0)
                CHECK_INT(rc, SC_ENOTFOUND);
            else if (rc == SC_OK)
                CHECK_INT(r.failures, w[i].expect[k]);
            else
                CHECK_INT(rc, SC_OK);
        }
    }
    state_close(st);
    tu_rmdir(dir);
}

struct cap_worker {
    struct state *st;
    int id;
    int errors;
};

static void *
cap_main(void *arg)
{
    struct cap_worker *w = arg;
    char uid[32];
    int j;

    for (j = 0; j < N_OPS; j++) {
        snprintf(uid, sizeof(uid), "c%d-%d", w->id, j % 1000);
        if (state_retry_put(w->st, "K", uid, j, j, "x", NULL) != SC_OK)
            w->errors++;
        if (j % 3 == 0 && state_retry_clear(w->st, "K", uid, NULL) != SC_OK)
            w->errors++;
    }
    return NULL;
}

struct collect {
    int n;
    long long sum;
};

static int
collect_fn(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    struct collect *c = ctx;
    (void)kind;
    (void)uid;
    c->n++;
    c->sum += r->failures;
    return 0;
}

/* Eviction and tombstones under contention: the cap holds and the file ends
 * up equal to the mirror. */
static void
cap_under_contention(void)
{
    char dir[64], path[128];
    struct state_opts o = {0};
    struct state_stats stats = {0};
    struct state *st = NULL;
    struct cap_worker w[N_WORKERS] = {0};
    pthread_t th[N_WORKERS];
    struct collect before = {0, 0}, after = {0, 0};
    int i;

    memset(&o, 0, sizeof(o));
    o.flush_interval_ms = 3;
    o.flush_batch = 16;
    o.max_retry = 100;
    tu_mkdtemp(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/state.db", dir);
    st = state_open(path, &o, NULL, NULL);
    for (i = 0; i < N_WORKERS; i++) {
        w[i].st = st;
        w[i].id = i;
        w[i].errors = 0;
        CHECK_INT(pthread_create(&th[i], NULL, cap_main, &w[i]), 0);
    }
    for (i = 0; i < N_WORKERS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(w[i].errors, 0);
    }
    state_get_stats(st, &stats);
    CHECK(stats.n_retry <= 100);
    CHECK(stats.n_evicted > 0);
    CHECK_INT(state_retry_foreach(st, collect_fn, &before, NULL), SC_OK);
    state_close(st);
    CHECK_INT(tu_sql_int(path, "SELECT count(*) FROM retry"), before.n);
    CHECK_INT(tu_sql_int(path, "SELECT sum(failures) FROM retry"), before.sum);
    o.writer = STATE_WRITER_MANUAL;
    st = state_open(path, &o, NULL, NULL);
    CHECK_INT(state_retry_foreach(st, collect_fn, &after, NULL), SC_OK);
    CHECK_INT(after.n, before.n);
    CHECK_INT(after.sum, before.sum);
    state_close(st);
    tu_rmdir(dir);
}

TEST_MAIN(TEST(many_workers), TEST(cap_under_contention))
