/* kube/kworkq.h -- a de-duplicating work queue of keys with per-key
 * exponential backoff, modelled on client-go's rate-limited workqueue.
 *
 * Semantics:
 *   - A key is queued at most once.  A key being processed that is added again
 *     is marked dirty and re-queued when its worker calls kworkq_done(): a key
 *     is NEVER handed to two workers at once.
 *   - kworkq_add_rate_limited() counts a failure for the key and re-adds it
 *     after base_ms * 2^(failures-1), capped at max_ms (upstream
 *     --retry-interval-start=1s, --retry-interval-max=5m: 1s, 2s, 4s, ... 5m).
 *     kworkq_forget() resets the count (call it on success).
 *   - kworkq_add_after() with a shorter delay than an already pending one
 *     moves the key earlier; a longer one leaves it.
 *   - All times come from opts.clock, so tests drive it with a fake clock
 *     (kworkq_get(.., 0) polls; after advancing a fake clock call
 *     kworkq_kick() to wake blocked getters).
 *   - kworkq_shutdown() drains, as client-go's queue does: adds are refused
 *     (SC_ESHUTDOWN) from then on, delayed keys are dropped (persist them
 *     through the hooks), getters still receive the keys that were already
 *     ready and get SC_ESHUTDOWN once none are left, and it returns when
 *     every key handed out has been kworkq_done()'d.
 *
 * Persistence hooks (optional; the controller wires them to state/):
 *   on_failure(queue, key, failures, next_wall_ms, last_error) after each
 *   rate-limited add; on_forget(queue, key) when a key with failures is
 *   forgotten.  kworkq_seed() restores a key's failure count and next attempt
 *   (wall-clock ms) at startup.  Hooks are called WITHOUT the queue lock held,
 *   from the thread that called add_rate_limited/forget.
 *
 * Threading: every function is thread-safe.  Keys are copied (LIM_KEY).
 * Ownership: kworkq_new() allocates; kworkq_free() (NULL-safe) after all
 * workers stopped.
 */
#ifndef SC_KWORKQ_H
#define SC_KWORKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/sc_err.h"

struct kworkq_hooks {
    void *ctx;
    void (*on_failure)(void *ctx, const char *queue, const char *key, int failures,
                       int64_t next_wall_ms, const struct sc_err *last_error);
    void (*on_forget)(void *ctx, const char *queue, const char *key);
    /* After a burst: a kworkq_done() left no key ready and no pass running,
     * and KWQ_DRAINED_MIN keys at least were done since the last call.
     * Called without the queue's lock, on the thread that called
     * kworkq_done(); the controller gives free heap pages back here. */
    void (*on_drained)(void *ctx, const char *queue);
};

#define KWQ_DRAINED_MIN 1000

struct kworkq_opts {
    const char *name;          /* "snapshot-controller-snapshot" (copied) */
    int64_t base_ms;           /* 0 = 1000 */
    int64_t max_ms;            /* 0 = 300000 */
    struct clock clock;        /* zeroed = clock_system() */
    struct kworkq_hooks hooks; /* zeroed = none (copied) */
    int64_t idle_exit_ms;      /* 0 = 10000: an extra worker idle this long exits */
    bool no_idle_worker;       /* no worker before a key, every one idles out: none while idle */
};

struct kworkq;

struct kworkq *kworkq_new(const struct kworkq_opts *opts, struct sc_err *err);
void kworkq_free(struct kworkq *q);

/* Keys longer than LIM_KEY-1 are refused with SC_EINVALID. */
int kworkq_add(struct kworkq *q, const char *key);
int kworkq_add_after(struct kworkq *q, const char *key, int64_t delay_ms);
/* kworkq_add() of n keys under one lock, waking getters once at the end
 * (one signal a key woke a worker a key, each then waiting for the lock
 * the adder held).  keep_backoff: a key with failures (kworkq_seed, a
 * failed pass) is left to its backoff instead.  Bad keys are skipped.  0,
 * or SC_ESHUTDOWN / SC_ENOMEM at the first key that could not be added
 * (those before it were). */
int kworkq_add_batch(struct kworkq *q, const char *const *keys, size_t n, bool keep_backoff);
/* last_error may be NULL; it is passed to on_failure. */
int kworkq_add_rate_limited(struct kworkq *q, const char *key, const struct sc_err *last_error);
void kworkq_forget(struct kworkq *q, const char *key);
int kworkq_failures(struct kworkq *q, const char *key);
/* The backoff the next failure of key would get, in ms. */
int64_t kworkq_next_backoff(struct kworkq *q, const char *key);
/* Restore persisted state: failures and the next attempt (wall ms; in the
 * past = now).  The key is queued for that time. */
int kworkq_seed(struct kworkq *q, const char *key, int failures, int64_t next_wall_ms);

/* Take the next ready key into key (cap >= LIM_KEY).  Blocks up to timeout_ms
 * (0 = poll, < 0 = forever).  Returns 0, SC_ETIMEOUT or SC_ESHUTDOWN.  The
 * caller must call kworkq_done(key) when finished with it. */
int kworkq_get(struct kworkq *q, char *key, size_t cap, int64_t timeout_ms);
void kworkq_done(struct kworkq *q, const char *key);

/* Wake blocked getters (after a fake clock moved). */
void kworkq_kick(struct kworkq *q);
void kworkq_shutdown(struct kworkq *q);
bool kworkq_shutting_down(struct kworkq *q);
size_t kworkq_len(struct kworkq *q);     /* ready keys */
size_t kworkq_delayed(struct kworkq *q); /* keys waiting for their time */

/* ---- worker pool ------------------------------------------------------------- */

/* Process one key.  Return 0 on success (the key is forgotten), or an SC_E*
 * code with err filled (the key is re-added rate-limited with err as
 * last_error).  SC_ESHUTDOWN: neither. */
typedef int kworkq_fn(void *ctx, const char *key, struct sc_err *err);

/* Run fn in up to n worker threads.  One runs from start to stop (unless
 * opts.no_idle_worker); the others start while ready keys outnumber idle
 * workers (or delayed keys have no worker waiting for them) and exit after
 * opts.idle_exit_ms without a key (the last one stays while delayed keys
 * wait), so an idle queue holds one thread, or none, not n (upstream's
 * workers are goroutines).  kworkq_stop_workers() shuts the queue down, lets running
 * calls finish and joins the threads; workers take no key after it (unlike
 * kworkq_shutdown, it does not drain: a SIGTERM with hundreds of keys
 * waiting at --kube-api-qps 5 would outlast the pod's grace period; the
 * API server keeps the truth and the next leader lists it).  kworkq_workers():
 * running now. */
int kworkq_start_workers(struct kworkq *q, int n, kworkq_fn *fn, void *ctx, struct sc_err *err);
int kworkq_workers(struct kworkq *q);
void kworkq_stop_workers(struct kworkq *q);

#endif
