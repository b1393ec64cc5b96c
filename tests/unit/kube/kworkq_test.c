/* Unit tests for kube/kworkq.c with a fake clock: de-duplication, one worker
 * per key, exponential backoff 1s..5m, forget, seeding, hooks, shutdown. */
#include "kube/kworkq.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/limits.h"
#include "tests/lib/harness.h"

static struct kworkq *
fake_queue(struct fake_clock *fc, const struct kworkq_hooks *hooks)
{
    struct kworkq_opts o = {.name = "test", .clock = clock_fake(fc)};
    if (hooks)
        o.hooks = *hooks;
    return kworkq_new(&o, NULL);
}

static void
test_dedup_and_fifo(void)
{
    struct fake_clock fc = {.ms = 5000};
    struct kworkq *q = fake_queue(&fc, NULL);
    char k[LIM_KEY];

    CHECK_INT(kworkq_add(q, "ns/a"), 0);
    CHECK_INT(kworkq_add(q, "ns/b"), 0);
    CHECK_INT(kworkq_add(q, "ns/a"), 0);
    CHECK_INT(kworkq_len(q), 2);
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/a");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/b");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ETIMEOUT);
    kworkq_done(q, "ns/a");
    kworkq_done(q, "ns/b");
    CHECK_INT(kworkq_add(q, ""), SC_EINVALID);
    char longkey[LIM_KEY + 10];
    memset(longkey, 'x', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    CHECK_INT(kworkq_add(q, longkey), SC_EINVALID);
    kworkq_free(q);
}

/* kworkq_add_batch: the keys in order, each once, bad ones skipped; a key
 * being processed is marked dirty, not handed out twice; keep_backoff
 * leaves a key with failures to its backoff, and without it the key is
 * ready at once; after a shutdown nothing is added. */
static void
test_add_batch(void)
{
    struct fake_clock fc = {.ms = 5000};
    struct kworkq *q = fake_queue(&fc, NULL);
    const char *keys[] = {"ns/a", "", "ns/b", "ns/a", "ns/c"};
    const char *again[] = {"ns/c", "ns/f"};
    char k[LIM_KEY];

    CHECK_INT(kworkq_add_rate_limited(q, "ns/f", NULL), 0); /* failures 1, delayed */
    CHECK_INT(kworkq_add_batch(q, keys, 5, true), 0);
    CHECK_INT(kworkq_len(q), 3);
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/a");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/b");
    kworkq_done(q, "ns/a");
    kworkq_done(q, "ns/b");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/c"); /* processing: the batch marks it dirty */
    CHECK_INT(kworkq_add_batch(q, again, 2, true), 0);
    CHECK_INT(kworkq_len(q), 0); /* ns/f keeps its backoff */
    kworkq_done(q, "ns/c");
    CHECK_INT(kworkq_len(q), 1); /* ns/c again, once */
    CHECK_INT(kworkq_add_batch(q, again + 1, 1, false), 0);
    CHECK_INT(kworkq_len(q), 2); /* ns/f now ready */
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/c");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/f");
    kworkq_done(q, "ns/c");
    kworkq_done(q, "ns/f");
    CHECK_INT(kworkq_add_batch(q, keys, 0, false), 0);
    kworkq_shutdown(q);
    CHECK_INT(kworkq_add_batch(q, keys, 5, false), SC_ESHUTDOWN);
    kworkq_free(q);
}

static void
test_never_two_workers_on_one_key(void)
{
    struct fake_clock fc = {.ms = 5000};
    struct kworkq *q = fake_queue(&fc, NULL);
    char k1[LIM_KEY], k2[LIM_KEY];

    kworkq_add(q, "ns/a");
    CHECK_INT(kworkq_get(q, k1, sizeof(k1), 0), 0);
    /* Added again while processing: not handed out until done. */
    kworkq_add(q, "ns/a");
    kworkq_add(q, "ns/a");
    CHECK_INT(kworkq_len(q), 0);
    CHECK_INT(kworkq_get(q, k2, sizeof(k2), 0), SC_ETIMEOUT);
    kworkq_done(q, "ns/a");
    /* ...and then exactly once. */
    CHECK_INT(kworkq_len(q), 1);
    CHECK_INT(kworkq_get(q, k2, sizeof(k2), 0), 0);
    CHECK_STR(k2, "ns/a");
    kworkq_done(q, "ns/a");
    CHECK_INT(kworkq_get(q, k2, sizeof(k2), 0), SC_ETIMEOUT);
    kworkq_free(q);
}

static void
test_backoff_sequence(void)
{
    struct fake_clock fc = {.ms = 1000000};
    struct kworkq *q = fake_queue(&fc, NULL);
    char k[LIM_KEY];
    const int64_t want[] = {1000,  2000,   4000,   8000,   16000, 32000,
                            64000, 128000, 256000, 300000, 300000};

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_INT(kworkq_next_backoff(q, "ns/a"), want[i]);
        kworkq_add_rate_limited(q, "ns/a", NULL);
        CHECK_INT(kworkq_failures(q, "ns/a"), (int)i + 1);
        CHECK_INT(kworkq_delayed(q), 1);
        fc.ms += want[i] - 1;
        CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ETIMEOUT);
        fc.ms += 1;
        CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
        CHECK_STR(k, "ns/a");
        kworkq_done(q, "ns/a");
    }
    /* Forget resets to the start. */
    kworkq_forget(q, "ns/a");
    CHECK_INT(kworkq_failures(q, "ns/a"), 0);
    CHECK_INT(kworkq_next_backoff(q, "ns/a"), 1000);
    kworkq_free(q);
}

static void
test_add_after_moves_earlier_only(void)
{
    struct fake_clock fc = {.ms = 0};
    struct kworkq *q = fake_queue(&fc, NULL);
    char k[LIM_KEY];

    kworkq_add_after(q, "a", 10000);
    kworkq_add_after(q, "a", 20000); /* later: ignored */
    kworkq_add_after(q, "a", 3000);  /* earlier: wins */
    CHECK_INT(kworkq_delayed(q), 1);
    fc.ms = 2999;
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ETIMEOUT);
    fc.ms = 3000;
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    kworkq_done(q, "a");
    /* the stale 10s node must not fire again */
    fc.ms = 30000;
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ETIMEOUT);
    /* an immediate add of a delayed key makes it ready now; the timer then dedups */
    kworkq_add_after(q, "b", 5000);
    kworkq_add(q, "b");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "b");
    kworkq_done(q, "b");
    fc.ms += 5000;
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    kworkq_done(q, "b");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ETIMEOUT);
    kworkq_free(q);
}

struct hook_log {
    int failures_seen, forgets;
    int64_t next;
    char last_key[64], last_msg[SC_ERR_MSG_LEN], queue[32];
};

static void
on_failure(void *ctx, const char *queue, const char *key, int failures, int64_t next_wall_ms,
           const struct sc_err *last)
{
    struct hook_log *h = ctx;
    h->failures_seen = failures;
    h->next = next_wall_ms;
    snprintf(h->last_key, sizeof(h->last_key), "%s", key);
    snprintf(h->queue, sizeof(h->queue), "%s", queue);
    snprintf(h->last_msg, sizeof(h->last_msg), "%s", last ? last->msg : "");
}

static void
on_forget(void *ctx, const char *queue, const char *key)
{
    struct hook_log *h = ctx;
    (void)queue;
    (void)key;
    h->forgets++;
}

static void
test_hooks_and_seed(void)
{
    struct fake_clock fc = {.ms = 50000};
    struct hook_log log = {0};
    struct kworkq_hooks hooks = {.ctx = &log, .on_failure = on_failure, .on_forget = on_forget};
    struct kworkq *q = fake_queue(&fc, &hooks);
    struct sc_err e = {0};
    char k[LIM_KEY];

    sc_err_set(&e, SC_ECONFLICT, "object was modified");
    kworkq_add_rate_limited(q, "ns/x", &e);
    kworkq_add_rate_limited(q, "ns/x", &e);
    CHECK_INT(log.failures_seen, 2);
    CHECK_INT(log.next, 50000 + 2000);
    CHECK_STR(log.last_key, "ns/x");
    CHECK_STR(log.queue, "test");
    CHECK_STR(log.last_msg, "object was modified");
    kworkq_forget(q, "ns/x");
    CHECK_INT(log.forgets, 1);
    kworkq_forget(q, "ns/x"); /* nothing to forget: no hook */
    CHECK_INT(log.forgets, 1);

    /* Seed as after a restart: 5 failures, next attempt in 7s. */
    CHECK_INT(kworkq_seed(q, "ns/y", 5, 50000 + 7000), 0);
    CHECK_INT(kworkq_failures(q, "ns/y"), 5);
    CHECK_INT(kworkq_next_backoff(q, "ns/y"), 32000);
    fc.ms += 6999;
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0); /* ns/x from the 2nd failure (2s) */
    CHECK_STR(k, "ns/x");
    kworkq_done(q, k);
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ETIMEOUT);
    fc.ms += 1;
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/y");
    kworkq_done(q, k);
    /* A seed in the past is due at once. */
    CHECK_INT(kworkq_seed(q, "ns/z", 1, 1), 0);
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "ns/z");
    kworkq_done(q, k);
    kworkq_free(q);
}

static void
test_blocking_get_wakes_on_fake_clock(void)
{
    struct fake_clock fc = {.ms = 0};
    struct kworkq *q = fake_queue(&fc, NULL);
    char k[LIM_KEY];

    kworkq_add_after(q, "late", 1000);
    /* real-time timeout while the fake clock stands still */
    CHECK_INT(kworkq_get(q, k, sizeof(k), 60), SC_ETIMEOUT);
    fc.ms = 1000;
    kworkq_kick(q);
    CHECK_INT(kworkq_get(q, k, sizeof(k), 1000), 0);
    kworkq_done(q, k);
    kworkq_free(q);
}

/* ---- workers ---------------------------------------------------------------------- */

struct wstate {
    atomic_int inflight[4];
    atomic_int max_parallel_same_key;
    atomic_int calls[4];
    atomic_int fail_first;
};

static int
work(void *ctx, const char *key, struct sc_err *err)
{
    struct wstate *s = ctx;
    int i = key[0] - 'a';
    int now = atomic_fetch_add(&s->inflight[i], 1) + 1;
    if (now > atomic_load(&s->max_parallel_same_key))
        atomic_store(&s->max_parallel_same_key, now);
    atomic_fetch_add(&s->calls[i], 1);
    usleep(2000);
    atomic_fetch_sub(&s->inflight[i], 1);
    if (i == 3 && atomic_fetch_sub(&s->fail_first, 1) > 0)
        return sc_err_set(err, SC_ESERVER, "transient");
    return 0;
}

static void
test_workers_exclusive_and_drain(void)
{
    struct kworkq_opts o = {.name = "w", .base_ms = 5, .max_ms = 20};
    struct kworkq *q = kworkq_new(&o, NULL);
    struct wstate s = {0};

    atomic_store(&s.fail_first, 2);
    CHECK_INT(kworkq_start_workers(q, 8, work, &s, NULL), 0);
    for (int round = 0; round < 200; round++) {
        char key[2] = {(char)('a' + round % 4), 0};
        kworkq_add(q, key);
        if (round % 10 == 0)
            usleep(1000);
    }
    /* let the 'd' retries (5ms, 10ms) happen */
    for (int i = 0; i < 200 && (kworkq_len(q) || kworkq_delayed(q) || atomic_load(&s.calls[3]) < 3);
         i++)
        usleep(5000);
    kworkq_stop_workers(q);
    CHECK_INT(atomic_load(&s.max_parallel_same_key), 1);
    for (int i = 0; i < 4; i++)
        CHECK(atomic_load(&s.calls[i]) >= 1);
    CHECK(atomic_load(&s.calls[3]) >= 3);  /* two failures then success */
    CHECK_INT(kworkq_failures(q, "d"), 0); /* forgotten on success */
    CHECK_INT(kworkq_add(q, "a"), SC_ESHUTDOWN);
    char k[LIM_KEY];
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ESHUTDOWN);
    kworkq_free(q);
}

struct finisher {
    struct kworkq *q;
    atomic_int finishing; /* set just before kworkq_done */
};

static void *
finish_later(void *arg)
{
    struct finisher *f = arg;

    usleep(80000);
    atomic_store(&f->finishing, 1);
    kworkq_done(f->q, "a");
    return NULL;
}

/* Whether shutdown waited is read from the order of events, not the clock:
 * the finisher marks itself before its kworkq_done, so shutdown returning
 * without the mark means it did not wait (a slow machine cannot fake that). */
static void
test_shutdown_waits_for_inflight(void)
{
    struct kworkq *q = kworkq_new(NULL, NULL);
    struct finisher f = {.q = q};
    char k[LIM_KEY];
    pthread_t t;

    kworkq_add(q, "a");
    kworkq_add_after(q, "later", 100000);
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_INT(pthread_create(&t, NULL, finish_later, &f), 0);
    kworkq_shutdown(q); /* returns only after "a" is done */
    CHECK_INT(atomic_load(&f.finishing), 1);
    pthread_join(t, NULL);
    CHECK(kworkq_shutting_down(q));
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), SC_ESHUTDOWN);
    CHECK_INT(kworkq_add(q, "b"), SC_ESHUTDOWN);
    kworkq_free(q);
}

static void
test_shutdown_drains_ready_keys(void)
{
    struct fake_clock fc = {.ms = 0};
    struct kworkq *q = fake_queue(&fc, NULL);
    char k[LIM_KEY];

    kworkq_add(q, "a");
    kworkq_add(q, "b");
    kworkq_add_after(q, "delayed", 1000);
    kworkq_shutdown(q); /* nothing in flight: returns at once */
    CHECK_INT(kworkq_add(q, "c"), SC_ESHUTDOWN);
    fc.ms = 5000; /* the delayed key was dropped, not promoted */
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "a");
    kworkq_add(q, "a"); /* refused: no re-queue while draining */
    kworkq_done(q, "a");
    CHECK_INT(kworkq_get(q, k, sizeof(k), 0), 0);
    CHECK_STR(k, "b");
    kworkq_done(q, "b");
    CHECK_INT(kworkq_get(q, k, sizeof(k), -1), SC_ESHUTDOWN);
    kworkq_free(q);
}

struct dstate {
    atomic_int hold, inflight, max_inflight, calls, late;
    struct kworkq *q; /* when set, a held key is let go once q shuts down */
};

/* Keys "h*" block while hold is set; "late" is counted. */
static int
demand_work(void *ctx, const char *key, struct sc_err *err)
{
    struct dstate *s = ctx;
    (void)err;
    if (strcmp(key, "late") == 0) {
        atomic_fetch_add(&s->late, 1);
        return 0;
    }
    int now = atomic_fetch_add(&s->inflight, 1) + 1;
    if (now > atomic_load(&s->max_inflight))
        atomic_store(&s->max_inflight, now);
    while (atomic_load(&s->hold) && !(s->q != NULL && kworkq_shutting_down(s->q)))
        usleep(1000);
    atomic_fetch_sub(&s->inflight, 1);
    atomic_fetch_add(&s->calls, 1);
    return 0;
}

/* Poll up to 5 s for *v to reach want (liveness, not speed). */
static bool
reaches(atomic_int *v, int want)
{
    for (int i = 0; i < 5000 && atomic_load(v) < want; i++)
        usleep(1000);
    return atomic_load(v) >= want;
}

static bool
workers_drop_to(struct kworkq *q, int want)
{
    for (int i = 0; i < 5000 && kworkq_workers(q) > want; i++)
        usleep(1000);
    return kworkq_workers(q) == want;
}

/* One worker while idle; more only while keys wait, never over the limit;
 * the extras leave after idle_exit_ms; a delayed key is taken on time even
 * while the one permanent worker is busy. */
static void
test_workers_on_demand(void)
{
    struct kworkq_opts o = {.name = "d", .idle_exit_ms = 50};
    struct kworkq *q = kworkq_new(&o, NULL);
    struct dstate s = {0};
    char key[16];

    atomic_store(&s.hold, 1);
    CHECK_INT(kworkq_start_workers(q, 4, demand_work, &s, NULL), 0);
    CHECK_INT(kworkq_workers(q), 1);
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "h%d", i);
        CHECK_INT(kworkq_add(q, key), 0);
    }
    CHECK(reaches(&s.inflight, 4));
    CHECK_INT(kworkq_workers(q), 4);
    usleep(20000);
    CHECK_INT(atomic_load(&s.max_inflight), 4); /* the limit holds */
    atomic_store(&s.hold, 0);
    CHECK(reaches(&s.calls, 6));
    CHECK(workers_drop_to(q, 1));

    atomic_store(&s.hold, 1);
    CHECK_INT(kworkq_add(q, "h-busy"), 0);
    CHECK(reaches(&s.inflight, 1));
    CHECK_INT(kworkq_add_after(q, "late", 30), 0);
    CHECK(reaches(&s.late, 1)); /* a second worker waited for it */
    CHECK_INT(atomic_load(&s.inflight), 1);
    atomic_store(&s.hold, 0);
    CHECK(reaches(&s.calls, 7));
    CHECK(workers_drop_to(q, 1));
    kworkq_stop_workers(q);
    CHECK_INT(kworkq_workers(q), 0);
    kworkq_free(q);
}

/* no_idle_worker: no worker starts without a key, the first idles out too; a key, or a delayed key,
 * added to a queue with no thread gets one, and the queue is empty again
 * after. */
static void
test_no_idle_worker(void)
{
    struct kworkq_opts o = {.name = "n", .idle_exit_ms = 50, .no_idle_worker = true};
    struct kworkq *q = kworkq_new(&o, NULL);
    struct dstate s = {0};

    CHECK_INT(kworkq_start_workers(q, 4, demand_work, &s, NULL), 0);
    CHECK_INT(kworkq_workers(q), 0); /* no key: no thread, not even at the start */
    CHECK_INT(kworkq_add(q, "h0"), 0);
    CHECK(reaches(&s.calls, 1));
    CHECK(workers_drop_to(q, 0));
    CHECK_INT(kworkq_add_after(q, "late", 120), 0); /* longer than idle_exit_ms */
    CHECK(reaches(&s.late, 1));
    CHECK(workers_drop_to(q, 0));
    kworkq_stop_workers(q);
    kworkq_free(q);
}

static void
on_drained(void *ctx, const char *queue)
{
    CHECK_STR(queue, "drain");
    (*(int *)ctx)++;
}

/* Get and finish n keys named prefix-i, one at a time. */
static void
get_done(struct kworkq *q, int n)
{
    char key[LIM_KEY];

    for (int i = 0; i < n; i++) {
        CHECK_INT(kworkq_get(q, key, sizeof(key), 0), 0);
        kworkq_done(q, key);
    }
}

/* on_drained runs once a burst of KWQ_DRAINED_MIN keys or more is done and
 * nothing is ready or running; not while keys wait, not for a small burst. */
static void
test_drained_hook(void)
{
    int calls = 0;
    struct kworkq_opts o = {.name = "drain"};
    struct kworkq *q = NULL;
    char key[32];

    o.hooks.ctx = &calls;
    o.hooks.on_drained = on_drained;
    q = kworkq_new(&o, NULL);
    for (int i = 0; i < KWQ_DRAINED_MIN + 5; i++) {
        snprintf(key, sizeof(key), "k-%d", i);
        CHECK_INT(kworkq_add(q, key), 0);
    }
    get_done(q, KWQ_DRAINED_MIN);
    CHECK_INT(calls, 0); /* 5 keys still ready */
    get_done(q, 4);
    CHECK_INT(calls, 0);
    CHECK_INT(kworkq_get(q, key, sizeof(key), 0), 0);
    CHECK_INT(kworkq_add(q, "other"), 0);
    kworkq_done(q, key);
    CHECK_INT(calls, 0); /* "other" is ready */
    get_done(q, 1);
    CHECK_INT(calls, 1); /* drained after the burst */
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "small-%d", i);
        CHECK_INT(kworkq_add(q, key), 0);
    }
    get_done(q, 10);
    CHECK_INT(calls, 1); /* a small burst: not again */
    kworkq_free(q);
}

/* kworkq_stop_workers() lets the calls running finish and takes no other
 * key: the rest stay queued (kworkq_free frees them).  Before, the workers
 * drained all 200 keys first. */
static void
test_stop_workers_takes_no_more(void)
{
    struct kworkq_opts o = {.name = "stop"};
    struct kworkq *q = kworkq_new(&o, NULL);
    struct dstate s = {.q = q};
    char key[16];

    atomic_store(&s.hold, 1);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "h%d", i);
        CHECK_INT(kworkq_add(q, key), 0);
    }
    CHECK_INT(kworkq_start_workers(q, 2, demand_work, &s, NULL), 0);
    CHECK(reaches(&s.inflight, 2)); /* both workers hold a key until the stop */
    kworkq_stop_workers(q);
    CHECK_INT(kworkq_workers(q), 0);
    CHECK_INT(atomic_load(&s.calls), 2);
    CHECK_INT(kworkq_len(q), 198);
    kworkq_free(q);
}

TEST_MAIN(TEST(test_shutdown_drains_ready_keys), TEST(test_stop_workers_takes_no_more),
          TEST(test_workers_on_demand), TEST(test_no_idle_worker), TEST(test_drained_hook),
          TEST(test_dedup_and_fifo), TEST(test_add_batch), TEST(test_never_two_workers_on_one_key),
          TEST(test_backoff_sequence), TEST(test_add_after_moves_earlier_only),
          TEST(test_hooks_and_seed), TEST(test_blocking_get_wakes_on_fake_clock),
          TEST(test_workers_exclusive_and_drain), TEST(test_shutdown_waits_for_inflight))
