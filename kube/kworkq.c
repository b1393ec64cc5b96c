/* kube/kworkq.c -- de-duplicating work queue with per-key backoff (kworkq.h).
 *
 * Entries live in a common/hmap keyed by the key string (held in the entry).  Ready keys
 * form a FIFO through the entries; delayed keys sit in a binary min-heap of
 * (due, entry) nodes, where a node whose due no longer matches its entry's
 * is stale and skipped.  An entry is freed once it is idle: not ready, not
 * processing, not delayed and without failures.
 */
#include "kube/kworkq.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/limits.h"
#include "common/thread.h"
#include "kube/karena.h"
#include "kube/kinternal.h"

#define KWQ_FAKE_POLL_MS 20
#define KWQ_IDLE_EXIT_MS 10000 /* an extra worker idle this long exits */

enum kwq_slot { SLOT_FREE, SLOT_RUNNING, SLOT_EXITED };

struct kwq_entry {
    struct kwq_entry *qnext; /* ready FIFO */
    int failures;
    int hrefs; /* heap nodes pointing here (stale ones included) */
    bool ready, processing, dirty;
    int64_t due; /* mono ms when delayed, 0 = not delayed */
    char key[];
};

struct kwq_node {
    int64_t due;
    struct kwq_entry *e;
};

struct kworkq {
    char *name;
    int64_t base_ms, max_ms;
    struct clock clock;
    struct kworkq_hooks hooks;
    bool fake_clock;

    pthread_mutex_t mu;
    pthread_cond_t cv;      /* ready keys, shutdown, time */
    pthread_cond_t idle_cv; /* processing count dropped */
    struct hmap tab;        /* e->key (borrowed) -> e */
    struct kwq_entry *head, *tail;
    size_t nready, ndelayed_live, nproc;
    size_t done_since_drained; /* kworkq_done() calls since on_drained last ran */
    struct kwq_node *heap;
    size_t nheap, heapcap;
    bool shutdown;
    bool stopping; /* kworkq_stop_workers(): workers take no more keys */

    /* worker pool: slot 0 runs from start to stop (unless no_idle_worker);
     * the others start when ready keys outnumber waiting getters and exit
     * after idle_exit_ms */
    pthread_t *threads;
    unsigned char *slots; /* enum kwq_slot per thread */
    int max_workers;      /* 0: no pool */
    int nworkers;         /* running */
    size_t nwaiting;      /* getters blocked in wait_locked() */
    int64_t idle_exit_ms;
    bool no_idle_worker;
    kworkq_fn *fn;
    void *fn_ctx;
};

struct kwq_worker {
    struct kworkq *q;
    int slot;
};

static void spawn_locked(struct kworkq *q);

/* Give pending work a getter: more ready keys than waiting getters, or
 * delayed keys and nobody waiting to promote them (q->mu held). */
static void
ensure_waiter_locked(struct kworkq *q)
{
    if (q->max_workers == 0 || q->shutdown || q->nworkers >= q->max_workers)
        return;
    if (q->nready > q->nwaiting || (q->nheap > 0 && q->nwaiting == 0))
        spawn_locked(q);
}

static void
entry_free(void *val)
{
    free(val);
}

/* Keys are the entries' own key strings; the map frees the entries. */
static const struct hmap_type entry_keys = {hmap_hash_str, hmap_str_eq, NULL, NULL, entry_free};

struct kworkq *
kworkq_new(const struct kworkq_opts *opts, struct sc_err *err)
{
    struct kworkq *q = calloc(1, sizeof(*q));
    pthread_condattr_t ca;

    if (q == NULL)
        goto nomem;
    q->base_ms = opts && opts->base_ms > 0 ? opts->base_ms : 1000;
    q->max_ms = opts && opts->max_ms > 0 ? opts->max_ms : 300000;
    if (q->max_ms < q->base_ms)
        q->max_ms = q->base_ms;
    if (opts && opts->clock.mono_ms) {
        q->clock = opts->clock;
        q->fake_clock = opts->clock.mono_ms != clock_system().mono_ms;
    } else {
        q->clock = clock_system();
    }
    if (opts)
        q->hooks = opts->hooks;
    q->idle_exit_ms = opts && opts->idle_exit_ms > 0 ? opts->idle_exit_ms : KWQ_IDLE_EXIT_MS;
    q->no_idle_worker = opts != NULL && opts->no_idle_worker;
    q->name = strdup(opts && opts->name ? opts->name : "queue");
    if (q->name == NULL) {
        free(q);
        goto nomem;
    }
    hmap_init(&q->tab, &entry_keys, 0);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_cond_init(&q->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    return q;
nomem:
    sc_err_set(err, SC_ENOMEM, "kworkq: out of memory");
    return NULL;
}

void
kworkq_free(struct kworkq *q)
{
    if (q == NULL)
        return;
    if (q->max_workers > 0)
        kworkq_stop_workers(q);
    hmap_free(&q->tab);
    free(q->heap);
    free(q->name);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    pthread_cond_destroy(&q->idle_cv);
    free(q);
}

/* ---- table ------------------------------------------------------------------ */

static struct kwq_entry *
lookup(struct kworkq *q, const char *key)
{
    return hmap_get(&q->tab, key);
}

static struct kwq_entry *
get_or_create(struct kworkq *q, const char *key)
{
    struct kwq_entry *e = lookup(q, key);
    size_t n;

    if (e != NULL)
        return e;
    n = strlen(key);
    e = calloc(1, sizeof(*e) + n + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->key, key, n + 1);
    if (hmap_put(&q->tab, e->key, e, NULL) != 0) {
        free(e);
        return NULL;
    }
    return e;
}

static void
maybe_free(struct kworkq *q, struct kwq_entry *e)
{
    if (e->ready || e->processing || e->dirty || e->due != 0 || e->failures != 0 || e->hrefs != 0)
        return;
    (void)hmap_del(&q->tab, e->key, NULL); /* the type frees e */
    hmap_shrink(&q->tab);                  /* a restart's burst of keys leaves no buckets behind */
}

/* ---- heap -------------------------------------------------------------------- */

static int
heap_push(struct kworkq *q, int64_t due, struct kwq_entry *e)
{
    size_t i;

    if (q->nheap == q->heapcap) {
        size_t nc = q->heapcap ? q->heapcap * 2 : 64;
        struct kwq_node *h = realloc(q->heap, nc * sizeof(*h));
        if (h == NULL)
            return SC_ENOMEM;
        q->heap = h;
        q->heapcap = nc;
    }
    i = q->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (q->heap[p].due <= due)
            break;
        q->heap[i] = q->heap[p];
        i = p;
    }
    q->heap[i].due = due;
    q->heap[i].e = e;
    e->hrefs++;
    return 0;
}

static void
heap_pop(struct kworkq *q)
{
    struct kwq_node last = q->heap[--q->nheap];
    size_t i = 0;

    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        int64_t md = last.due;
        if (l < q->nheap && q->heap[l].due < md) {
            m = l;
            md = q->heap[l].due;
        }
        if (r < q->nheap && q->heap[r].due < md)
            m = r;
        if (m == i)
            break;
        q->heap[i] = q->heap[m];
        i = m;
    }
    if (q->nheap > 0)
        q->heap[i] = last;
}

/* ---- core -------------------------------------------------------------------- */

/* wake: signal a getter now (a batch wakes them once, at its end). */
static void
push_ready(struct kworkq *q, struct kwq_entry *e, bool wake)
{
    e->ready = true;
    e->qnext = NULL;
    if (q->tail)
        q->tail->qnext = e;
    else
        q->head = e;
    q->tail = e;
    q->nready++;
    if (!wake)
        return;
    pthread_cond_signal(&q->cv);
    ensure_waiter_locked(q);
}

static void
add_locked_wake(struct kworkq *q, struct kwq_entry *e, bool wake)
{
    if (e->processing) {
        e->dirty = true;
        return;
    }
    if (!e->ready)
        push_ready(q, e, wake);
}

static void
add_locked(struct kworkq *q, struct kwq_entry *e)
{
    add_locked_wake(q, e, true);
}

/* Move delayed keys whose time came to the ready FIFO. */
static void
promote_locked(struct kworkq *q)
{
    int64_t now = clock_mono_ms(&q->clock);

    while (q->nheap > 0 && q->heap[0].due <= now) {
        struct kwq_entry *e = q->heap[0].e;
        int64_t due = q->heap[0].due;
        heap_pop(q);
        /* e is live while a heap node counts it in hrefs (maybe_free() keeps
         * it); the analyzer cannot see that: a false positive */
        e->hrefs--; // NOLINT(clang-analyzer-unix.Malloc)
        if (e->due != due) {
            maybe_free(q, e); /* stale node: the entry was rescheduled */
            continue;
        }
        e->due = 0;
        q->ndelayed_live--;
        add_locked(q, e);
        maybe_free(q, e);
    }
}

static int
check_key(const char *key)
{
    if (key == NULL || key[0] == '\0' || strlen(key) >= LIM_KEY)
        return SC_EINVALID;
    return 0;
}

/* key's entry (created when new) in *e with mu held: 0, or an error (a bad
 * key, SC_ESHUTDOWN, SC_ENOMEM) with mu not held. */
static int
lock_entry(struct kworkq *q, const char *key, struct kwq_entry **e)
{
    int rc = check_key(key);

    if (rc != 0)
        return rc;
    pthread_mutex_lock(&q->mu);
    if (q->shutdown)
        rc = SC_ESHUTDOWN;
    else if ((*e = get_or_create(q, key)) == NULL)
        rc = SC_ENOMEM;
    if (rc != 0)
        pthread_mutex_unlock(&q->mu);
    return rc;
}

int
kworkq_add(struct kworkq *q, const char *key)
{
    struct kwq_entry *e = NULL;
    int rc = lock_entry(q, key, &e);
    bool wake;

    if (rc != 0)
        return rc;
    wake = !e->processing && !e->ready;
    add_locked_wake(q, e, false);
    if (wake)
        ensure_waiter_locked(q);
    pthread_mutex_unlock(&q->mu);
    /* Signalled after the unlock: a getter woken while the lock is still
     * held here would block on it at once (two more futex calls a key:
     * docs/performance.md).  The key was queued under the lock, so no
     * getter can miss it. */
    if (wake)
        pthread_cond_signal(&q->cv);
    return 0;
}

int
kworkq_add_batch(struct kworkq *q, const char *const *keys, size_t n, bool keep_backoff)
{
    size_t added = 0;
    int rc = 0;

    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct kwq_entry *e = NULL;

        if (q->shutdown) {
            rc = SC_ESHUTDOWN;
        } else if (check_key(keys[i]) != 0) {
            continue;
        } else if ((e = get_or_create(q, keys[i])) == NULL) {
            rc = SC_ENOMEM;
        } else if (!keep_backoff || e->failures == 0) {
            add_locked_wake(q, e, false);
            added++;
        }
    }
    if (added > 0) {
        pthread_cond_broadcast(&q->cv);
        ensure_waiter_locked(q);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int
add_after_locked(struct kworkq *q, struct kwq_entry *e, int64_t delay_ms)
{
    int64_t due;

    if (delay_ms <= 0) {
        add_locked(q, e);
        return 0;
    }
    due = clock_mono_ms(&q->clock) + delay_ms;
    if (due == 0)
        due = 1;
    if (e->due != 0 && e->due <= due)
        return 0;
    if (heap_push(q, due, e) != 0)
        return SC_ENOMEM;
    if (e->due == 0)
        q->ndelayed_live++;
    e->due = due;
    pthread_cond_broadcast(&q->cv); /* a getter may need to wake earlier */
    ensure_waiter_locked(q);
    return 0;
}

int
kworkq_add_after(struct kworkq *q, const char *key, int64_t delay_ms)
{
    struct kwq_entry *e = NULL;
    int rc = lock_entry(q, key, &e);

    if (rc != 0)
        return rc;
    rc = add_after_locked(q, e, delay_ms);
    maybe_free(q, e);
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int64_t
backoff_for(const struct kworkq *q, int failures)
{
    int64_t d = q->base_ms;

    for (int i = 1; i < failures; i++) {
        if (d >= q->max_ms / 2) {
            d = q->max_ms;
            break;
        }
        d *= 2;
    }
    return d > q->max_ms ? q->max_ms : d;
}

int
kworkq_add_rate_limited(struct kworkq *q, const char *key, const struct sc_err *last_error)
{
    struct kwq_entry *e = NULL;
    int failures = 0, rc = check_key(key);
    int64_t delay = 0, next_wall;

    if (rc != 0)
        return rc;
    pthread_mutex_lock(&q->mu);
    e = get_or_create(q, key);
    if (e == NULL) {
        pthread_mutex_unlock(&q->mu);
        return SC_ENOMEM;
    }
    if (e->failures < 1000000)
        e->failures++;
    failures = e->failures;
    delay = backoff_for(q, failures);
    if (q->shutdown)
        rc = SC_ESHUTDOWN; /* remembered through the hook only */
    else
        rc = add_after_locked(q, e, delay);
    pthread_mutex_unlock(&q->mu);
    next_wall = clock_wall_ms(&q->clock) + delay;
    if (q->hooks.on_failure)
        q->hooks.on_failure(q->hooks.ctx, q->name, key, failures, next_wall, last_error);
    return rc;
}

void
kworkq_forget(struct kworkq *q, const char *key)
{
    struct kwq_entry *e = NULL;
    int had = 0;

    if (check_key(key) != 0)
        return;
    pthread_mutex_lock(&q->mu);
    e = lookup(q, key);
    if (e != NULL && e->failures > 0) {
        e->failures = 0;
        had = 1;
        maybe_free(q, e);
    }
    pthread_mutex_unlock(&q->mu);
    if (had && q->hooks.on_forget)
        q->hooks.on_forget(q->hooks.ctx, q->name, key);
}

int
kworkq_failures(struct kworkq *q, const char *key)
{
    struct kwq_entry *e = NULL;
    int f = 0;

    if (check_key(key) != 0)
        return 0;
    pthread_mutex_lock(&q->mu);
    e = lookup(q, key);
    if (e != NULL)
        f = e->failures;
    pthread_mutex_unlock(&q->mu);
    return f;
}

int64_t
kworkq_next_backoff(struct kworkq *q, const char *key)
{
    return backoff_for(q, kworkq_failures(q, key) + 1);
}

int
kworkq_seed(struct kworkq *q, const char *key, int failures, int64_t next_wall_ms)
{
    struct kwq_entry *e = NULL;
    int rc = check_key(key);

    if (rc != 0)
        return rc;
    if (failures < 0)
        failures = 0;
    pthread_mutex_lock(&q->mu);
    if (q->shutdown) {
        pthread_mutex_unlock(&q->mu);
        return SC_ESHUTDOWN;
    }
    e = get_or_create(q, key);
    if (e == NULL) {
        rc = SC_ENOMEM;
    } else {
        int64_t delay = next_wall_ms - clock_wall_ms(&q->clock);
        if (delay > q->max_ms)
            delay = q->max_ms;
        e->failures = failures;
        rc = add_after_locked(q, e, delay);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

/* Hand the first ready key to the caller (q->mu held, q->head not NULL). */
static int
take_head_locked(struct kworkq *q, char *key, size_t cap)
{
    struct kwq_entry *e = q->head;
    size_t n = strlen(e->key);

    if (n + 1 > cap)
        return SC_ETOOBIG;
    q->head = e->qnext;
    if (q->head == NULL)
        q->tail = NULL;
    q->nready--;
    e->ready = false;
    e->processing = true;
    q->nproc++;
    memcpy(key, e->key, n + 1);
    return 0;
}

static bool
ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Sleep (q->mu held) until a key may be ready: signalled, the next delayed
 * key is due, the deadline (if has_deadline), or a fake-clock poll.
 * Returns true once the deadline has passed. */
static bool
wait_locked(struct kworkq *q, bool has_deadline, const struct timespec *deadline)
{
    struct timespec ts = {0}, now = {0};
    int64_t wait = -1;

    if (q->nheap > 0) {
        wait = q->heap[0].due - clock_mono_ms(&q->clock);
        if (wait < 1)
            wait = 1;
    }
    if (q->fake_clock && (wait < 0 || wait > KWQ_FAKE_POLL_MS))
        wait = KWQ_FAKE_POLL_MS;
    if (wait < 0 && !has_deadline) {
        pthread_cond_wait(&q->cv, &q->mu);
        return false;
    }
    if (wait >= 0)
        kts_after_ms(&ts, wait);
    if (has_deadline && (wait < 0 || ts_before(deadline, &ts)))
        ts = *deadline;
    pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    if (!has_deadline)
        return false;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return !ts_before(&now, deadline);
}

/* The next ready key, waiting up to timeout_ms (< 0: forever).  A pool
 * worker passes its slot (others -1): it gets SC_ETIMEOUT only when leaving
 * keeps a getter for the delayed keys, and on either error it is counted
 * out here, under the same lock, so a spawn never waits for its exit. */
static int
get_key(struct kworkq *q, char *key, size_t cap, int64_t timeout_ms, int slot)
{
    struct timespec deadline = {0};
    bool expired = false;
    int rc;

    if (timeout_ms > 0)
        kts_after_ms(&deadline, timeout_ms);
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (!q->shutdown)
            promote_locked(q);
        if (q->stopping && slot >= 0) {
            rc = SC_ESHUTDOWN; /* the keys left stay queued: kworkq_free */
            break;
        }
        if (q->head != NULL) {
            rc = take_head_locked(q, key, cap);
            ensure_waiter_locked(q); /* others may still wait to be taken */
            break;
        }
        if (q->shutdown) {
            rc = SC_ESHUTDOWN; /* drained */
            break;
        }
        if (expired && slot >= 0 && q->nheap > 0 && q->nwaiting == 0) {
            expired = false; /* the last getter stays for the delayed keys */
            kts_after_ms(&deadline, timeout_ms);
        }
        if (timeout_ms == 0 || expired) {
            rc = SC_ETIMEOUT;
            break;
        }
        q->nwaiting++;
        expired = wait_locked(q, timeout_ms > 0, &deadline);
        q->nwaiting--;
    }
    if (slot >= 0 && (rc == SC_ESHUTDOWN || rc == SC_ETIMEOUT)) {
        q->nworkers--;
        q->slots[slot] = SLOT_EXITED; /* joined by the next spawn or by stop */
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

int
kworkq_get(struct kworkq *q, char *key, size_t cap, int64_t timeout_ms)
{
    return get_key(q, key, cap, timeout_ms, -1);
}

void
kworkq_done(struct kworkq *q, const char *key)
{
    struct kwq_entry *e = NULL;
    bool drained = false;

    if (check_key(key) != 0)
        return;
    pthread_mutex_lock(&q->mu);
    e = lookup(q, key);
    if (e != NULL && e->processing) {
        e->processing = false;
        q->nproc--;
        if (e->dirty) {
            e->dirty = false;
            if (!q->shutdown)
                push_ready(q, e, true);
        }
        maybe_free(q, e);
        pthread_cond_broadcast(&q->idle_cv);
        q->done_since_drained++;
        if (q->nready == 0 && q->nproc == 0 && q->done_since_drained >= KWQ_DRAINED_MIN) {
            q->done_since_drained = 0;
            drained = q->hooks.on_drained != NULL;
        }
    }
    pthread_mutex_unlock(&q->mu);
    if (drained)
        q->hooks.on_drained(q->hooks.ctx, q->name);
}

void
kworkq_kick(struct kworkq *q)
{
    pthread_mutex_lock(&q->mu);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void
kworkq_shutdown(struct kworkq *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutdown = true;
    pthread_cond_broadcast(&q->cv);
    while (q->nproc > 0)
        pthread_cond_wait(&q->idle_cv, &q->mu);
    pthread_mutex_unlock(&q->mu);
}

bool
kworkq_shutting_down(struct kworkq *q)
{
    bool s;
    pthread_mutex_lock(&q->mu);
    s = q->shutdown;
    pthread_mutex_unlock(&q->mu);
    return s;
}

/* Keys ready (or, delayed=true, still waiting) once the due ones are promoted. */
static size_t
count_keys(struct kworkq *q, bool delayed)
{
    size_t n;
    pthread_mutex_lock(&q->mu);
    if (!q->shutdown)
        promote_locked(q);
    n = delayed ? q->ndelayed_live : q->nready;
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t
kworkq_len(struct kworkq *q)
{
    return count_keys(q, false);
}

size_t
kworkq_delayed(struct kworkq *q)
{
    return count_keys(q, true);
}

/* ---- workers ------------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
    struct kwq_worker *w = arg;
    struct kworkq *q = w->q;
    int64_t timeout = w->slot == 0 && !q->no_idle_worker ? -1 : q->idle_exit_ms;
    char key[LIM_KEY];

    for (;;) {
        struct sc_err err = {0};
        int rc = get_key(q, key, sizeof(key), timeout, w->slot);
        if (rc == SC_ESHUTDOWN || rc == SC_ETIMEOUT)
            break;
        if (rc != 0)
            continue;
        struct karena arena = {0};
        karena_begin(&arena); /* the pass's jansson trees (karena.h) */
        rc = q->fn(q->fn_ctx, key, &err);
        karena_end(&arena);
        if (rc == 0)
            kworkq_forget(q, key);
        else if (rc != SC_ESHUTDOWN) {
            if (err.code == 0)
                sc_err_set(&err, rc, "%s", sc_err_str(rc));
            kworkq_add_rate_limited(q, key, &err);
        }
        kworkq_done(q, key);
    }
    free(w); /* no use of q after get_key() counted this worker out */
    return NULL;
}

/* Start a worker in a free slot (q->mu held, q->nworkers < q->max_workers).
 * A thread that cannot start is not an error: the keys wait for the
 * running workers, slot 0 at least. */
static void
spawn_locked(struct kworkq *q)
{
    struct kwq_worker *w = NULL;
    int i = 0;

    while (i < q->max_workers && q->slots[i] == SLOT_RUNNING)
        i++;
    if (i == q->max_workers || (w = malloc(sizeof(*w))) == NULL)
        return;
    if (q->slots[i] == SLOT_EXITED)
        pthread_join(q->threads[i], NULL); /* past its last use of q */
    q->slots[i] = SLOT_FREE;
    w->q = q;
    w->slot = i;
    if (thread_start(&q->threads[i], "sc-worker", THREAD_STACK_CLIENT, worker_main, w) != 0) {
        free(w);
        return;
    }
    q->slots[i] = SLOT_RUNNING;
    q->nworkers++;
}

int
kworkq_start_workers(struct kworkq *q, int n, kworkq_fn *fn, void *ctx, struct sc_err *err)
{
    if (n < 1 || fn == NULL)
        return sc_err_set(err, SC_EINVALID, "kworkq: need at least one worker and a function");
    pthread_mutex_lock(&q->mu);
    if (q->max_workers > 0) {
        pthread_mutex_unlock(&q->mu);
        return sc_err_set(err, SC_EINVALID, "kworkq: workers already started");
    }
    q->threads = calloc((size_t)n, sizeof(*q->threads));
    q->slots = calloc((size_t)n, sizeof(*q->slots));
    if (q->threads == NULL || q->slots == NULL) {
        free(q->threads);
        free(q->slots);
        q->threads = NULL;
        q->slots = NULL;
        pthread_mutex_unlock(&q->mu);
        return sc_err_set(err, SC_ENOMEM, "kworkq: out of memory");
    }
    q->fn = fn;
    q->fn_ctx = ctx;
    q->max_workers = n;
    if (!q->no_idle_worker)
        spawn_locked(q); /* slot 0, the one that never idles out */
    if (q->nworkers == 0 && !q->no_idle_worker) {
        pthread_mutex_unlock(&q->mu);
        kworkq_stop_workers(q);
        return sc_err_set(err, SC_ENOMEM, "kworkq: cannot start a worker");
    }
    ensure_waiter_locked(q); /* keys added before the start */
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int
kworkq_workers(struct kworkq *q)
{
    int n;
    pthread_mutex_lock(&q->mu);
    n = q->nworkers;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void
kworkq_stop_workers(struct kworkq *q)
{
    int n;

    pthread_mutex_lock(&q->mu);
    q->shutdown = true; /* no spawn from here on: the slots stay as they are */
    q->stopping = true;
    pthread_cond_broadcast(&q->cv);
    n = q->max_workers;
    pthread_mutex_unlock(&q->mu);
    for (int i = 0; i < n; i++) {
        bool started;
        pthread_mutex_lock(&q->mu);
        started = q->slots[i] != SLOT_FREE; /* only a spawn makes it so */
        pthread_mutex_unlock(&q->mu);
        if (started)
            pthread_join(q->threads[i], NULL);
    }
    free(q->threads);
    free(q->slots);
    q->threads = NULL;
    q->slots = NULL;
    q->max_workers = 0;
}
