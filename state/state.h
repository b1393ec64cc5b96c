/* state/state.h -- a SQLite cache of retry (backoff) and Event-aggregation state.
 *
 * Upstream forgets every backoff and every Event count when it restarts.  This
 * module keeps both in "<state-dir>/state.db" so a restarted controller resumes
 * each object's backoff and keeps PATCHing the same Event instead of creating a
 * duplicate.  It is only a cache: the API server is the source of truth, and
 * deleting the file loses nothing but history.
 *
 * Design (docs/state.md has the figures):
 *  - An in-memory mirror (two hash tables) holds every row.  All reads are served
 *    from it and never touch the disk; every write updates it at once and marks
 *    the row dirty.  So callers always read their own writes, from any thread.
 *  - One writer thread owns the SQLite connection after state_open().  It wakes
 *    every flush_interval_ms, or as soon as flush_batch rows are dirty, and
 *    writes all dirty rows in ONE transaction (WAL, synchronous=NORMAL, prepared
 *    statements created once).  Several updates of a row between two flushes
 *    cost one row write.  The reconcile hot path never waits for the disk.
 *  - Sizes are bounded: at most max_retry / max_event rows; inserting past the
 *    cap evicts the least recently written row.  Retry rows not written for
 *    retry_ttl_ms and Events whose last_ms is older than event_ttl_ms are pruned
 *    (and are invisible to reads even before the prune runs).
 *  - It degrades and never fails the caller: a missing file is created; a
 *    corrupt file (SQLITE_CORRUPT, SQLITE_NOTADB), a file from a newer schema,
 *    a foreign database or a directory in the way is moved aside to
 *    "<path>.bad" (one generation kept) and recreated; an unwritable directory
 *    or a full disk falls back to in-memory operation.  state_open() says what
 *    it did in a struct state_open_report for the caller to log once; later
 *    degradations are counted in state_get_stats() and, optionally, reported
 *    through the on_degrade callback (see state_degrade_fn).  In
 *    memory mode the writer thread retries the file every reopen_interval_ms
 *    and, once it works, rewrites every row into it.
 *
 * Thread safety: every function except state_open()/state_close() may be called
 * from any number of threads at once.  state_close() must not race with other
 * calls on the same handle.
 *
 * Ownership: struct state is opaque; state_open() returns it, state_close()
 * frees it (NULL-safe).  Strings passed in are copied.  Structs filled by the
 * getters are caller-owned values with fixed-size arrays (no pointers).
 *
 * Size caps: a field longer than its STATE_MAX_* cap is refused with
 * SC_ETOOBIG, except the retry error text, which is truncated (it is only
 * shown to humans).  (These caps belong in common/limits.h; see docs/state.md.)
 */
#ifndef SC_STATE_H
#define SC_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/compiler.h"
#include "common/limits.h"
#include "common/sc_err.h"

/* Default of the controller's --state-dir flag; the deploy manifests mount an
 * emptyDir there.  The database is "<dir>/" STATE_DB_NAME. */
#define STATE_DEFAULT_DIR "/var/lib/snapshot-controller"
#define STATE_DB_NAME     "state.db"

#define STATE_MAX_KIND    64                /* object kind or work-queue name */
#define STATE_MAX_UID     LIM_KEY           /* object UID (or a work-queue key) */
#define STATE_MAX_TYPE    16                /* Event type: "Normal" / "Warning" */
#define STATE_MAX_REASON  128               /* Event reason */
#define STATE_MAX_MESSAGE LIM_EVENT_MESSAGE /* Event message */
#define STATE_MAX_NS      256               /* Event namespace (as kube/krecorder.h) */
#define STATE_MAX_NAME    320               /* Event object name (as KREC_NAME_MAX) */
#define STATE_MAX_ERROR   512               /* last error text (truncated, not refused) */
#define STATE_MAX_PATH    4096              /* database path */

/* The schema version this build writes (PRAGMA user_version). */
#define STATE_SCHEMA_VERSION 2

struct state;

enum state_writer_mode {
    STATE_WRITER_THREAD = 0, /* a background thread flushes (default) */
    STATE_WRITER_MANUAL = 1, /* only state_flush() writes, on the caller's thread */
};

/* Called when the database had to be given up or recreated while running
 * (disk full, read-only, I/O error, corruption), and when memory mode found
 * the file usable again.  It runs on the thread whose flush failed (the
 * writer thread, or a state_flush() caller) while the state's I/O lock is
 * held, so it must not call back into this struct state (state_flush() would
 * deadlock).  persistent tells whether rows are being saved to a file after
 * the event.  The caller logs why (one line). */
typedef void state_degrade_fn(void *ctx, bool persistent, const char *why);

/* Zero-initialised fields take the documented default. */
struct state_opts {
    struct clock clock;            /* wall clock for timestamps; default clock_system() */
    enum state_writer_mode writer; /* default STATE_WRITER_THREAD */
    int flush_interval_ms;         /* writer period; default 200 */
    int flush_batch;               /* wake the writer early at this many dirty rows; default 512 */
    int busy_timeout_ms;           /* SQLite busy timeout; default 2000 */
    size_t max_retry;              /* retry rows kept; default 50000 (~15 MB of heap) */
    size_t max_event;              /* event rows kept; default 20000 (~10 MB of heap) */
    int64_t retry_ttl_ms;          /* prune retry rows not written for this long; default 24 h */
    int64_t event_ttl_ms;          /* prune events whose last_ms is older; default 1 h (the
                                      API server's default --event-ttl) */
    int64_t prune_interval_ms;     /* writer runs state_prune() this often; default 60 s */
    int64_t reopen_interval_ms;    /* in memory mode, the writer retries the file this often
                                      (a disk with room again, a directory made writable);
                                      default 60 s.  STATE_WRITER_MANUAL never retries. */
    int64_t max_db_bytes;          /* cap on the file (PRAGMA max_page_count); hitting it is
                                      a full disk; 0 = no cap */
    state_degrade_fn *on_degrade;  /* optional */
    void *on_degrade_ctx;
};

enum state_open_status {
    STATE_OPEN_OK = 0,        /* the existing file was opened as it was */
    STATE_OPEN_CREATED = 1,   /* there was no file: a new one was created */
    STATE_OPEN_MIGRATED = 2,  /* an older schema was upgraded in place */
    STATE_OPEN_RECREATED = 3, /* the file was unusable: moved aside (or removed), new one made */
    STATE_OPEN_MEMORY = 4,    /* no usable file: in-memory only, nothing persists */
};

/* What state_open() did, for the caller to log once (the library never logs). */
struct state_open_report {
    enum state_open_status status;
    int old_version;               /* user_version found (-1 if unreadable/none) */
    size_t n_retry, n_event;       /* rows loaded from the file */
    char path[STATE_MAX_PATH];     /* database path ("" for memory only) */
    char moved_to[STATE_MAX_PATH]; /* where the unusable file went; "" if nowhere */
    char why[SC_ERR_MSG_LEN];      /* reason for RECREATED / MEMORY; "" otherwise */
};

/* Static lower-case name of a status ("recreated"). */
const char *state_open_status_str(enum state_open_status s);
/* True for RECREATED and MEMORY: the caller should log it as a warning. */
bool state_open_report_is_warning(const struct state_open_report *r);
/* One log line describing *r, e.g. "state: /var/lib/x/state.db corrupt (file is
 * not a database), moved to /var/lib/x/state.db.bad and recreated". */
void state_open_report_format(const struct state_open_report *r, char *out, size_t cap);

/* Open (or create) the database at path.  path NULL or "" means memory only.
 * opts may be NULL (all defaults).  Always returns a usable handle unless
 * memory runs out (NULL, SC_ENOMEM) or opts are invalid (NULL, SC_EINVALID):
 * every problem with the file itself is handled as described above and told in
 * *report (may be NULL). */
SC_MUST_CHECK struct state *state_open(const char *path, const struct state_opts *opts,
                                       struct state_open_report *report, struct sc_err *err);

/* state_open() on "<dir>/state.db", creating dir (mode 0700) if missing.
 * dir NULL or "" means memory only. */
SC_MUST_CHECK struct state *state_open_dir(const char *dir, const struct state_opts *opts,
                                           struct state_open_report *report, struct sc_err *err);

/* Flush what is dirty, stop the writer, close the database, free everything.
 * NULL-safe. */
void state_close(struct state *st);

/* ---- retry state, keyed by (kind, uid) ---- */

struct state_retry {
    int failures;                     /* consecutive failures so far */
    int64_t next_ms;                  /* wall ms of the next attempt */
    int64_t updated_ms;               /* wall ms of the last state_retry_put() */
    char last_error[STATE_MAX_ERROR]; /* "" if none */
};

/* Record a failure: failures so far, when to try next (wall ms), and the error
 * text (may be NULL; truncated to STATE_MAX_ERROR-1 bytes). */
SC_MUST_CHECK int state_retry_put(struct state *st, const char *kind, const char *uid, int failures,
                                  int64_t next_ms, const char *last_error, struct sc_err *err);
/* Fill *out; SC_ENOTFOUND if there is no (unexpired) row. */
SC_MUST_CHECK int state_retry_get(struct state *st, const char *kind, const char *uid,
                                  struct state_retry *out, struct sc_err *err);
/* Forget the row (success, or the object was deleted).  No row is not an error. */
SC_MUST_CHECK int state_retry_clear(struct state *st, const char *kind, const char *uid,
                                    struct sc_err *err);

/* Called once per row by state_retry_foreach(), without any lock held (rows
 * are copied first, at most max_retry of them).  Return non-zero to stop. */
typedef int state_retry_fn(void *ctx, const char *kind, const char *uid,
                           const struct state_retry *r);
/* Visit every unexpired retry row (e.g. to seed a work queue at startup). */
SC_MUST_CHECK int state_retry_foreach(struct state *st, state_retry_fn *fn, void *ctx,
                                      struct sc_err *err);

/* ---- event state, keyed by (object uid, type, reason, message) ----
 * message is the recorder's aggregation identity (kube/krecorder.h): "" for
 * a replace-mode reason, whose one row follows the one Event. */

struct state_event {
    char namespace_[STATE_MAX_NS]; /* namespace of the Event object */
    char name[STATE_MAX_NAME];     /* name of the Event object in the API server */
    int count;                     /* the Event's count */
    int64_t first_ms, last_ms;     /* firstTimestamp / lastTimestamp, wall ms */
};

/* Record the Event object created or patched for this key. */
SC_MUST_CHECK int state_event_put(struct state *st, const char *uid, const char *type,
                                  const char *reason, const char *message,
                                  const struct state_event *ev, struct sc_err *err);
/* Fill *out; SC_ENOTFOUND if unknown or expired (last_ms older than event_ttl_ms). */
SC_MUST_CHECK int state_event_get(struct state *st, const char *uid, const char *type,
                                  const char *reason, const char *message, struct state_event *out,
                                  struct sc_err *err);
/* Forget one key (e.g. the PATCH answered 404: the Event expired). */
SC_MUST_CHECK int state_event_clear(struct state *st, const char *uid, const char *type,
                                    const char *reason, const char *message, struct sc_err *err);

/* ---- housekeeping ---- */

/* Forget every retry row (any kind) and every event row of an object UID:
 * call it when the object is deleted.  Sets *n_removed if not NULL. */
SC_MUST_CHECK int state_forget_uid(struct state *st, const char *uid, size_t *n_removed,
                                   struct sc_err *err);

/* Drop expired rows now (the writer thread also does it every
 * prune_interval_ms).  Sets *n_pruned if not NULL. */
SC_MUST_CHECK int state_prune(struct state *st, size_t *n_pruned, struct sc_err *err);

/* Write every dirty row now, in one transaction, on the caller's thread, and
 * return when it is on disk (WAL committed).  SC_OK when memory only.
 * SC_ESTATE if the write failed; the handle has then already degraded
 * (recreated the file or fallen back to memory) and stays usable. */
SC_MUST_CHECK int state_flush(struct state *st, struct sc_err *err);

struct state_stats {
    bool persistent;                   /* rows are being saved to a file */
    size_t n_retry, n_event;           /* live rows in the mirror */
    size_t n_dirty;                    /* rows waiting for the writer */
    uint64_t n_flushes;                /* committed transactions */
    uint64_t n_rows_written;           /* row writes (upserts + deletes) committed */
    uint64_t n_evicted;                /* rows dropped by the size caps */
    uint64_t n_pruned;                 /* rows dropped by the TTLs */
    uint64_t n_degraded;               /* runtime degradations (recreate or memory fallback) */
    uint64_t n_reopened;               /* times memory mode found the file usable again */
    char degraded_why[SC_ERR_MSG_LEN]; /* the last one; "" if none */
};

void state_get_stats(struct state *st, struct state_stats *out);

#endif
