/* controller/feeder.h -- a pass for every cached object, queued a few
 * hundred keys at a time.
 *
 * After the initial LIST, and at every resync, each cached object needs a
 * sync pass.  Queued all at once, 50,000 snapshots and 50,000 contents held
 * 100,000 queue entries (about 11 MB) on top of the cache: the process's
 * peak.  The feeder thread walks each source's informer table instead and
 * keeps at most FEEDER_HIGH keys ready in its queue, topping it up whenever
 * fewer than FEEDER_LOW are left.  The controller's informer handlers queue
 * nothing for those walks (the initial LIST's adds, resync updates); watch
 * events still queue their key at once, and the queue keeps a key once.
 *
 * feeder_start() walks every source once (enqueue's initial = true), then
 * waits for feeder_request(), which walks one source again (initial =
 * false); idle, its thread sleeps until then (no wakeups).  A source
 * whose table cannot be listed (out of memory) is walked again after
 * FEEDER_POLL_MS.
 *
 * Ownership and threads: the sources and hooks are copied; their informers, queues
 * and ctx are borrowed and must outlive feeder_stop().  wanted runs on the
 * feeder's thread with the item borrowed.  feeder_request() may be called
 * from any thread; feeder_stop() joins the thread and frees the feeder
 * (NULL-safe).
 */
#ifndef SC_FEEDER_H
#define SC_FEEDER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/compiler.h"
#include "common/sc_err.h"

struct kinformer;
struct kitem;
struct kworkq;

#define FEEDER_HIGH 2048 /* ready keys the feeder fills a queue up to */
#define FEEDER_LOW                                                                \
    1024                   /* and tops it up below: 10 workers drain 1,024 cached \
                              objects' passes in more than FEEDER_WAIT_MS */
#define FEEDER_POLL_MS 100 /* a table could not be listed: how soon to try again */
#define FEEDER_WAIT_MS 2   /* queues full: how soon the feeder looks again */
#define FEEDER_MAX_SRC 8

/* wanted: whether the item's key is to be queued (NULL: every item); the
 * feeder queues the wanted keys of a top-up in one kworkq_add_batch(), with
 * keep_backoff on the first walk (a key restored from state/ with failures
 * keeps its persisted backoff). */
struct feeder_src {
    struct kinformer *inf;
    struct kworkq *q;
    bool (*wanted)(void *ctx, const struct kitem *it, bool initial);
    void *ctx;
};

/* Optional: called on the feeder's thread when its last running walk has
 * queued its last key, with the keys the walks queued since the previous
 * call (the controller gives the burst's free heap pages back here, once,
 * instead of at every moment a queue ran dry during the walk). */
struct feeder_hooks {
    void (*walked)(void *ctx, size_t keys);
    void *ctx;
};

struct feeder;

/* n sources (at most FEEDER_MAX_SRC).  NULL with err set (SC_EINVALID,
 * SC_ENOMEM, SC_EIO when the thread cannot start). */
struct feeder *feeder_start(const struct feeder_src *src, int n, const struct feeder_hooks *h,
                            struct sc_err *err);
void feeder_request(struct feeder *f, int i);
/* True while a walk has keys left to queue (NULL: false); any thread. */
bool feeder_walking(const struct feeder *f);
void feeder_stop(struct feeder *f);

#endif
