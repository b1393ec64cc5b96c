/* kube/krecorder.h -- core/v1 Event recorder with aggregation and a spam
 * limit, following client-go's legacy recorder as upstream uses it.
 *
 * An Event for object O is written in O's namespace ("default" for
 * cluster-scoped objects) and named "<O.name>.<hex unix nanos>".  It carries
 * involvedObject (apiVersion, kind, namespace, name, uid, resourceVersion),
 * type, reason, message (truncated to LIM_EVENT_MESSAGE), source.component,
 * firstTimestamp, lastTimestamp, count, reportingComponent and
 * reportingInstance.
 *
 * Aggregation: a second event with the same (object uid, type, reason,
 * message) within window_ms of the first one is not created again: the
 * existing Event is PATCHed (merge patch) with count+1 and a new
 * lastTimestamp.  If that Event is gone (404) a new one is created.
 * Similar events (client-go's EventAggregator): once similar_max (10)
 * different messages with the same (object, type, reason) were seen within
 * window_ms, further ones are folded into ONE Event whose message is
 * "(combined from similar events): <latest message>" and whose count rises.
 * Replace mode (our addition, for status-like events such as the PVC's
 * "deletion waits for ..." Event): for a reason listed in
 * krecorder_opts.replace_reasons the aggregation key is (object uid, type,
 * reason) without the message, so the object keeps ONE Event of that reason:
 * the first event creates it, every later one PATCHes its message, count+1
 * and lastTimestamp, whatever the message and however long ago the last one
 * was (no window, never combined).  A 404 (the API server's event TTL
 * removed it, or a user deleted it) creates it anew.
 * Spam limit: per object, a token bucket of spam_burst events refilling one
 * per spam_refill_ms (client-go: 25, 5 min); events over it are dropped and
 * counted.
 *
 * Sending is asynchronous: krecorder_event() formats the event, applies the
 * spam limit and queues a copy of the exact size (at most KREC_QUEUE_MAX, or
 * queue_max) for the recorder's thread, so workers never wait for the API;
 * the copy is freed once sent.  When the queue is full, a Warning takes the
 * place of the newest queued event that is not a Warning (which is dropped;
 * the Warning goes last); any other event, a Warning when every queued event
 * is one, or an event out of memory is dropped.  Each drop counts as
 * dropped_queue.  (client-go drops whatever arrives at a full queue.)
 * krecorder_flush() waits until the queue is empty (tests, shutdown).
 *
 * Persistence hooks (optional; wired to state/ by the controller): before
 * creating, lookup() is asked for an aggregation record of (uid, type,
 * reason, message); after each successful create/patch save() is given the
 * new record.  The message given to the hooks is the aggregation identity:
 * the message itself, "(combined from similar events): " for a combined
 * Event, and the empty string "" for a replace-mode reason (one record per
 * object, type and reason; no other event of a replace-mode reason is ever
 * stored, so "" cannot collide).  The "uid" passed to the hooks is the object's uid, or
 * "<kind>/<namespace>/<name>" when the object has none.  Without hooks an
 * in-memory table (KREC_TABLE_MAX entries, least recently used evicted) is used.  Hooks
 * are called on the recorder thread (or krecorder_send()'s caller).
 *
 * Threading: every function is thread-safe.  The client is borrowed.
 */
#ifndef SC_KRECORDER_H
#define SC_KRECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/compiler.h"
#include "common/sc_err.h"
#include "kube/kclient.h"

#define KREC_QUEUE_MAX   1000
#define KREC_TABLE_MAX   4096
#define KREC_NAME_MAX    320
#define KREC_SIMILAR_MAX 64 /* cap on similar_max */
#define KREC_REPLACE_MAX 8  /* reasons in krecorder_opts.replace_reasons */

/* The object an event is about (all strings borrowed for the call). */
struct kobj_ref {
    const char *api_version; /* "snapshot.storage.k8s.io/v1" */
    const char *kind;        /* "VolumeSnapshot" */
    const char *ns;          /* NULL or "" for cluster-scoped */
    const char *name;
    const char *uid;
    const char *resource_version; /* may be NULL */
};

/* The text of a new Event (all strings borrowed for the call). */
struct krec_event_text {
    const char *ev_name, *ev_ns; /* the Event object's own name and namespace */
    const char *type, *reason, *message;
    const char *component; /* source.component */
    const char *timestamp; /* firstTimestamp and lastTimestamp, RFC 3339 */
    const char *reporting_component, *reporting_instance;
};

/* The JSON body that creates the Event t about obj, appended to b without a
 * tree (exported for the unit test).  0; SC_EINVALID when a string is not
 * valid UTF-8 or SC_ETOOBIG at b's cap, b unchanged then. */
int krecorder_event_body(struct buf *b, const struct kobj_ref *obj,
                         const struct krec_event_text *t);

/* One aggregation record. */
struct krec_entry {
    char ev_ns[256];             /* namespace of the Event object */
    char ev_name[KREC_NAME_MAX]; /* name of the Event object */
    int count;
    int64_t first_ms; /* wall ms of firstTimestamp */
    int64_t last_ms;  /* wall ms of lastTimestamp */
};

struct krecorder_store {
    void *ctx;
    /* Return 1 and fill *out if a record exists, 0 if not, < 0 on error
     * (treated as "not found"). */
    int (*lookup)(void *ctx, const char *uid, const char *type, const char *reason,
                  const char *message, struct krec_entry *out);
    void (*save)(void *ctx, const char *uid, const char *type, const char *reason,
                 const char *message, const struct krec_entry *e);
};

struct krecorder_opts {
    const char *component;           /* source.component; NULL = "snapshot-controller" */
    const char *reporting_component; /* NULL = component */
    const char *reporting_instance;  /* NULL = "" (upstream sets no host) */
    int64_t window_ms;               /* 0 = 600000 */
    int spam_burst;                  /* 0 = 25 */
    int64_t spam_refill_ms;          /* 0 = 300000 */
    struct clock clock;              /* zeroed = clock_system() */
    struct krecorder_store store;    /* zeroed = in-memory table */
    /* Failed sends are reported here on the recorder thread; NULL = log_warnx. */
    void (*on_error)(void *ctx, const struct sc_err *err);
    void *error_ctx;
    int similar_max; /* 0 = 10 (client-go); < 0 = never combine */
    /* Reasons recorded in replace mode (see above): a NULL-terminated list of
     * at most KREC_REPLACE_MAX, copied by krecorder_new; NULL = none. */
    const char *const *replace_reasons;
    int queue_max; /* events queued at most; 0 (or over KREC_QUEUE_MAX) = KREC_QUEUE_MAX */
};

struct krecorder;

/* NULL with err set: SC_EINVALID (no client, more than KREC_REPLACE_MAX
 * replace reasons, or an empty one), SC_ENOMEM. */
struct krecorder *krecorder_new(struct kclient *c, const struct krecorder_opts *o,
                                struct sc_err *err);
/* Flushes (up to 5 s), stops the thread once the event being sent is done
 * and frees; events still queued are not sent (on_error is told how many).
 * Shutdown is bounded: at --kube-api-qps 5 a full queue would take 200 s.
 * NULL-safe. */
void krecorder_free(struct krecorder *r);

/* type is "Normal" or "Warning".  Returns 0 when queued, SC_ETOOMANY when
 * the spam limit or the queue dropped it, SC_EINVALID for a bad argument. */
int krecorder_event(struct krecorder *r, const struct kobj_ref *obj, const char *type,
                    const char *reason, const char *fmt, ...) SC_PRINTF(5, 6);

/* Send one event synchronously on the calling thread (tests; also used by
 * the thread).  Returns the API error if any. */
int krecorder_send(struct krecorder *r, const struct kobj_ref *obj, const char *type,
                   const char *reason, const char *message, struct sc_err *err);

/* Wait until queued events were sent: 0 or SC_ETIMEOUT. */
int krecorder_flush(struct krecorder *r, int64_t timeout_ms);

struct krecorder_stats {
    uint64_t created, patched, dropped_spam, dropped_queue, failed;
    uint64_t queued; /* events waiting now (not counting the one being sent) */
};
void krecorder_get_stats(struct krecorder *r, struct krecorder_stats *out);

#endif
