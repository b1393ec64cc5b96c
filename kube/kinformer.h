/* kube/kinformer.h -- list+watch caches of compact typed views.
 *
 * An informer keeps one resource (all namespaces) in memory.  Its thread:
 *   1. LISTs in pages of opts.list_page (LIM_LIST_PAGE) objects, each page
 *      streamed and parsed one object at a time (kclient_list), and builds
 *      the cache only once the last page came, then marks itself synced; a
 *      continue token that expired (410 on a later page) lists again from
 *      the first page at once (at most KINF_LIST_RESTARTS times, then the
 *      list error backoff below);
 *   2. WATCHes from the list's resourceVersion with allowWatchBookmarks=true and
 *      a server-side timeoutSeconds (random 5..10 min, like client-go), then
 *      re-watches from the last seen resourceVersion;
 *   3. on 410 Gone (or an ERROR event with code 410) relists and delivers the
 *      DIFFERENCE to the handlers (adds, updates for changed resourceVersions,
 *      deletes for keys that disappeared), so the cache converges;
 *   4. on a transport error, a 5xx or 429, or a malformed / oversized
 *      (LIM_WATCH_LINE) event line, restarts the watch after an exponential
 *      backoff (KINF_BACKOFF_START_MS doubling to KINF_BACKOFF_MAX_MS, reset
 *      once a watch delivers events) and reports the error through on_error.
 *   5. if the resource is not served (404 on LIST: CRD absent) the informer
 *      stays unsynced, kinformer_status() returns SC_ENOTFOUND with message
 *      "resource not served: <path>", and it retries with the same backoff.
 *
 * What is cached: the caller's parse callback turns each object (a borrowed
 * json_t) into a compact view (any struct it allocates, e.g. with kpack
 * below) copying only the fields it reads: no JSON trees, no managedFields.
 * The informer keeps key ("ns/name", or "name" when cluster-scoped), the uid's hash and
 * resourceVersion itself.  An object the parser rejects is skipped and
 * reported through on_error (it is NOT cached).
 *
 * Values and threads: cached entries are struct kitem, reference counted.
 * kinformer_get()/list()/by_index() return ACQUIRED items: the item and its
 * view stay valid and unchanged until the caller calls kitem_release(), even
 * if the watch thread replaces or deletes the object meanwhile.  Views are
 * immutable once published.  All kinformer_* readers are thread-safe.
 *
 * Handlers run on the informer thread, one at a time, in event order, after
 * the cache was updated.  Their kitem arguments are borrowed for the call
 * (kitem_acquire() to keep one).  A handler must not block for long (enqueue
 * keys in a kworkq).  Deletes pass the last known item.
 *
 * Ownership: kinformer_new() copies everything in opts except ctx pointers.
 * kinformer_free() stops the thread and drops the cache; items still held by
 * callers stay valid until released.
 */
#ifndef SC_KINFORMER_H
#define SC_KINFORMER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sc_err.h"
#include "kube/kclient.h"

#define KINF_BACKOFF_START_MS 800
#define KINF_BACKOFF_MAX_MS   30000
#define KINF_MAX_INDEXES      8
#define KINF_MAX_INDEX_VALUES 16 /* values one object may emit per index */
#define KINF_LIST_RESTARTS    3  /* immediate relists after an expired continue token */

/* ---- cached items ------------------------------------------------------------ */

struct kitem;
struct kitem *kitem_acquire(struct kitem *it);          /* returns it */
void kitem_release(struct kitem *it);                   /* NULL-safe */
void kitem_release_all(struct kitem **items, size_t n); /* releases each, frees the array */
const char *kitem_key(const struct kitem *it);          /* "ns/name" or "name" */
/* True when uid is the item's metadata.uid (compared by hash: the item
 * keeps no copy of the string, the view may). */
bool kitem_uid_is(const struct kitem *it, const char *uid);
const char *kitem_rv(const struct kitem *it);   /* resourceVersion */
const void *kitem_view(const struct kitem *it); /* the parse callback's view */
/* True while the item was only stored by kinformer_put() and no list or
 * watch event has shown its key yet (a write response ahead of the watch,
 * or one that came after the object's delete event). */
bool kitem_local(const struct kitem *it);

/* ---- callbacks --------------------------------------------------------------- */

/* Build a view of obj (borrowed).  Return 0 and *view, or an SC_E* code with
 * err filled (the object is skipped).  The informer owns the view afterwards
 * and frees it with free_view (NULL = free()). */
typedef int kinf_parse_fn(void *ctx, const json_t *obj, void **view, struct sc_err *err);
typedef void kinf_free_fn(void *ctx, void *view);
/* Optional: the view's own copies of its key ("ns/name", or "name") and
 * resourceVersion, which the item then points at instead of copying them
 * (they must live as long as the view); NULL, or strings that differ from
 * the object's, and the item keeps copies. */
typedef const char *kinf_key_fn(void *ctx, const void *view, const char **rv);
/* Optional: the size of a flat view, one block of bytes (read with no more
 * than 8-byte alignment) that points into itself nowhere and that nothing else references.  The
 * item then keeps a copy of it, in the item's own allocation (one malloc per object, not two), and
 * frees the original with free_view at once; kitem_view() returns the copy.  0: the item points at
 * the view. */
typedef size_t kinf_bytes_fn(void *ctx, const void *view);
/* Optional: the view straight from the object's JSON bytes (obj[0..n), the
 * "object" of an ADDED or MODIFIED watch event), without a tree: 0 and
 * *view (owned by the informer, as parse's), or non-zero when it cannot be
 * sure of giving exactly the view parse would: the event is then parsed. */
typedef int kinf_parse_bytes_fn(void *ctx, const char *obj, size_t n, void **view);

struct kinf_handlers {
    void *ctx;
    void (*on_add)(void *ctx, const struct kitem *it);
    void (*on_update)(void *ctx, const struct kitem *old_it, const struct kitem *new_it);
    void (*on_delete)(void *ctx, const struct kitem *it);
    /* Optional: a resync (kinformer_opts.resync_ms) calls it once, instead
     * of on_update(old == new) for every item; the caller walks the table
     * itself (kinformer_list), at its own pace. */
    void (*on_resync)(void *ctx);
};

/* Secondary index: call kindex_emit() for each value this view is indexed
 * under (e.g. "driver/volumeHandle", or the group owner's name). */
struct kindex_out;
void kindex_emit(struct kindex_out *out, const char *value);
typedef void kindex_fn(void *ctx, const void *view, struct kindex_out *out);

/* ---- the informer -------------------------------------------------------------- */

struct kinformer_opts {
    const char *name;           /* for messages: "volumesnapshots" */
    const char *path;           /* collection path, e.g. kpath(.., "snapshot.storage.k8s.io", "v1",
                                   "volumesnapshots", NULL, NULL, NULL) */
    const char *label_selector; /* NULL = all */
    kinf_parse_fn *parse;
    kinf_free_fn *free_view;          /* NULL = free() */
    kinf_key_fn *view_key;            /* NULL: the item copies key and resourceVersion */
    kinf_bytes_fn *view_bytes;        /* NULL: views are never copied into the item */
    kinf_parse_bytes_fn *parse_bytes; /* NULL: every event not in the cache is parsed */
    void *parse_ctx;
    struct kinf_handlers handlers;
    int64_t resync_ms;       /* > 0: every period, on_update(old == new) for every item */
    int64_t watch_timeout_s; /* 0 = random 300..600 (server-side timeoutSeconds) */
    /* Called on the informer thread for every error it recovers from (list or
     * watch failure, skipped object, restart).  NULL = log_warnx(). */
    void (*on_error)(void *ctx, const char *informer, const struct sc_err *err);
    void *error_ctx;
    /* A list or watch event whose (numeric) resourceVersion is older than
     * the cached item's does not replace it: it keeps a write response the
     * caller stored with kinformer_put().  Handlers still run (on_update with
     * the kept item as old and the event's as new). */
    bool keep_newer;
    int list_page; /* objects per LIST page; 0 = LIM_LIST_PAGE (never more) */
};

struct kinformer;

/* The client is borrowed and must outlive the informer. */
struct kinformer *kinformer_new(struct kclient *c, const struct kinformer_opts *o,
                                struct sc_err *err);
/* Add an index before kinformer_start(). name is copied. */
int kinformer_add_index(struct kinformer *inf, const char *name, kindex_fn *fn, void *ctx,
                        struct sc_err *err);
int kinformer_start(struct kinformer *inf, struct sc_err *err);
/* Stop the thread (interrupts a watch within ~1 s) and join it. Idempotent. */
void kinformer_stop(struct kinformer *inf);
/* Ask the thread to stop without waiting: call it on every informer, then
 * kinformer_stop() on each, so that their ~1 s waits overlap. NULL-safe. */
void kinformer_stop_begin(struct kinformer *inf);
void kinformer_free(struct kinformer *inf); /* stops first; NULL-safe */

bool kinformer_synced(struct kinformer *inf);
/* Wait until synced, stop or timeout: 0, SC_ETIMEOUT or SC_ESHUTDOWN. */
int kinformer_wait_synced(struct kinformer *inf, int64_t timeout_ms);
/* 0 if the last list/watch worked, else its error (copied to *err). */
int kinformer_status(struct kinformer *inf, struct sc_err *err);
/* What the API server last answered to a LIST: 1 served, 0 not served (404:
 * CRD absent or deleted), -1 no answer yet.  Transport errors, 5xx and 429
 * leave it unchanged, so it survives an API server outage; synced does not
 * imply served (a CRD deleted after the sync). */
int kinformer_served(struct kinformer *inf);

/* Acquired item or NULL. */
struct kitem *kinformer_get(struct kinformer *inf, const char *key);
/* All items / items under an index value: *out is a malloc'd array of
 * acquired items (NULL when n == 0); free with kitem_release_all(). */
int kinformer_list(struct kinformer *inf, struct kitem ***out, size_t *n);
/* kinformer_by_index() answers SC_ENOMEM from the first time an entry of
 * the index could not be added or removed for want of memory (more than
 * KINF_MAX_INDEX_VALUES values of one view count as that too): a caller
 * that needs the exact answer then walks the table instead. */
int kinformer_by_index(struct kinformer *inf, const char *index, const char *value,
                       struct kitem ***out, size_t *n, struct sc_err *err);
/* How many items the index holds under value, not counting the item keyed
 * except (NULL: none), without taking any: one lookup whatever the count.
 * The same errors as kinformer_by_index(). */
int kinformer_index_count(struct kinformer *inf, const char *index, const char *value,
                          const char *except, size_t *n, struct sc_err *err);
size_t kinformer_len(struct kinformer *inf);

/* Store an object the caller just wrote (a PATCH/UPDATE/CREATE response) so
 * readers see it before the watch does; ignored when the cache already holds
 * a newer or equal resourceVersion (compared as integers when both are).
 * Does not call handlers. */
int kinformer_store(struct kinformer *inf, const json_t *obj, struct sc_err *err);

/* The informer's table as the caller's one store of these views (e.g.
 * controller/cstore over an informer):
 * kinformer_put(): store view (taken on every path; freed with free_view)
 *   under "ns/name" (or "name" when ns is NULL or empty), as kinformer_store
 *   does, but with the store's rule: unless force, a resourceVersion that is
 *   not numeric, or older than the cached numeric one, is dropped (STALE);
 *   an equal one replaces.  A key not cached yet is added as local
 *   (kitem_local).  Does not call handlers.  Returns enum kinf_put_result
 *   or SC_ETOOBIG / SC_ENOMEM.
 * kinformer_take(): remove key without calling handlers; the removed item
 *   (caller releases) or NULL.
 * kinformer_drop_local(): true when nothing the server showed is cached
 *   under key: absent, or local (then it is dropped).
 * kinformer_each(): fn on every item (borrowed) under the read lock; fn
 *   returns non-zero to stop and must not call back into the informer.
 * kinformer_bytes(): the table and items, not the views. */
enum kinf_put_result { KINF_PUT_ADDED = 0, KINF_PUT_REPLACED = 1, KINF_PUT_STALE = 2 };
int kinformer_put(struct kinformer *inf, const char *ns, const char *name, const char *uid,
                  const char *rv, void *view, bool force);
struct kitem *kinformer_take(struct kinformer *inf, const char *key);
bool kinformer_drop_local(struct kinformer *inf, const char *key);
void kinformer_each(struct kinformer *inf, int (*fn)(const struct kitem *it, void *arg), void *arg);
size_t kinformer_bytes(struct kinformer *inf);

/* Operational/test hooks.  kinformer_pause() ends the current watch (within
 * ~1 s) and holds the thread before the next one; the cache stays readable.
 * kinformer_resume() lets it watch again, from rv when rv is not NULL (e.g.
 * a compacted resourceVersion, to force the 410 Gone -> relist path). */
void kinformer_pause(struct kinformer *inf);
void kinformer_resume(struct kinformer *inf, const char *rv);

/* Feed bytes of a watch stream to a (not started) informer exactly as its
 * thread does: events update the cache, call the handlers and advance the
 * resourceVersion.  Returns what would end the watch: 0 to go on, SC_EGONE
 * for a 410 ERROR event (relist), SC_EPROTO/SC_ETOOBIG for a malformed or
 * oversized line (restart), another code for other ERROR events.  For tests
 * and tools; never call it on a started informer. */
int kinformer_feed(struct kinformer *inf, const char *data, size_t n, struct sc_err *err);
/* Watch events applied from the cache without parsing their object
 * (kwatch_peek() below), since the informer was made.  Any thread. */
uint64_t kinformer_known_events(struct kinformer *inf);
/* Watch events whose view parse_bytes made, without a tree.  Any thread. */
uint64_t kinformer_scanned_events(struct kinformer *inf);
/* The resourceVersion the next watch would start from (copied into out). */
void kinformer_rv(struct kinformer *inf, char *out, size_t cap);

/* ---- watch framing (exposed for tests and fuzzing) ------------------------------------ */

/* Splits a watch stream into newline-delimited events; events may span chunks
 * and one chunk may hold several.  A line longer than max is SC_ETOOBIG. */
struct kwatch_framer {
    char *buf;
    size_t len, cap, max;
};
void kwatch_framer_init(struct kwatch_framer *f, size_t max);
void kwatch_framer_release(struct kwatch_framer *f);
/* For each complete line in data, call fn(ctx, line, len) (line is not
 * NUL-terminated, no '\n'; empty lines skipped).  Stops at the first non-zero
 * return of fn and returns it.  Keeps the partial tail for the next call. */
int kwatch_framer_feed(struct kwatch_framer *f, const char *data, size_t n,
                       int (*fn)(void *ctx, const char *line, size_t len), void *ctx);

enum kwatch_type { KW_ADDED, KW_MODIFIED, KW_DELETED, KW_BOOKMARK, KW_ERROR };
/* Decode one event line.  On success *type is set and *obj is a new
 * reference (the "object" member).  Malformed line or wrong shape: SC_EPROTO. */
int kwatch_decode(const char *line, size_t len, enum kwatch_type *type, json_t **obj,
                  struct sc_err *err);

/* What names the object of an ADDED, MODIFIED or DELETED event, read
 * without parsing it (the fields point into the line; not NUL-terminated).
 *
 * kwatch_peek() is true for a line of that shape whose "type", "object" and
 * object.metadata's "name", "namespace" (may be absent), "uid" and
 * "resourceVersion" members are each present once, with printable ASCII
 * string values without escapes, and whose keys in those three objects have
 * no escapes (one might spell a member read here).  Other values are
 * scanned for JSON structure only (kskim_skip(): brackets, strings,
 * commas).  It may stop reading at the end of the metadata, where it has
 * all it needs (id->rest is then where it stopped): kwatch_peek_rest()
 * scans the rest of the line the same way, and is true when the whole line
 * passes.  Where kwatch_peek() and kwatch_peek_rest() are true and
 * kwatch_decode() succeeds on the same line, both give the same type and
 * strings (tests/fuzz/kube_watch_fuzz.c).
 *
 * The informer applies such an event from its cache, without parsing the
 * object, when the cached item has the same uid and, for ADDED and
 * MODIFIED, the same resourceVersion (the echo of a write whose answer
 * kinformer_put() stored: the same object), or, for DELETED, any (the
 * handlers get the cached item, as when the event is parsed); and only once
 * kwatch_peek_rest() passed, so a line it would end the watch for still
 * does.  An ADDED or MODIFIED event it does not know goes to the parse_bytes
 * callback, when there is one, with the object's bytes ([obj, obj_end),
 * known once both calls passed); where that declines, the event is parsed. */
struct kwatch_id {
    enum kwatch_type type;
    const char *ns, *name, *uid, *rv; /* ns NULL when absent */
    size_t ns_len, name_len, uid_len, rv_len;
    size_t rest;         /* where kwatch_peek() stopped; 0 once the whole line was read */
    size_t obj, obj_end; /* the object's bytes, [obj, obj_end) once obj_end > 0 */
    unsigned seen;       /* the members read so far (kinformer.c) */
};
bool kwatch_peek(const char *line, size_t len, struct kwatch_id *id);
bool kwatch_peek_rest(const char *line, size_t len, struct kwatch_id *id);

/* ---- compact views: one allocation for a struct and its strings ---------------------- */

/* Usage:  struct kpack p; kpack_init(&p, sizeof(struct vs_view));
 *         kpack_reserve(&p, name); kpack_reserve(&p, uid); ...   (pass 1)
 *         struct vs_view *v = kpack_alloc(&p);                    (zeroed)
 *         v->name = kpack_str(&p, name); ...                      (pass 2, same order)
 * The view is freed with one free(v).  kpack_str(NULL) returns NULL. */
struct kpack {
    size_t fixed; /* sizeof the struct */
    size_t need;  /* bytes for strings */
    char *mem;
    size_t off;
};
void kpack_init(struct kpack *p, size_t fixed);
void kpack_reserve(struct kpack *p, const char *s);
void *kpack_alloc(struct kpack *p); /* NULL on ENOMEM */
const char *kpack_str(struct kpack *p, const char *s);

#endif
