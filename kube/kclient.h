/* kube/kclient.h -- requests to the Kubernetes API server.
 *
 * One struct kclient per logical client (the controller's, the webhook's, and
 * a SEPARATE one for leader election so lease renewals never queue behind
 * controller traffic: each client has its own token bucket and its own
 * connections).  A kclient is thread-safe: any number of threads may issue
 * requests at once; each request borrows a kept-alive connection (HTTP/1.1)
 * from the client's pool: khttp's (kube/khttp.h) when no proxy variable is
 * set and the kubeconfig names a CA or skips verification, else a pooled
 * libcurl easy handle's.
 *
 * Every request has a timeout (opts.timeout_ms) and every response body is
 * capped (LIM_API_BODY; a longer body is SC_ETOOBIG).  Requests pass through
 * the client's token bucket (qps/burst, --kube-api-qps/--kube-api-burst).
 *
 * Errors: every function returns 0 or a negative SC_E* code and fills the
 * optional caller-owned *err.  HTTP statuses are mapped in ONE place,
 * kclient_map_status(), which keeps the metav1.Status reason and message and
 * the Retry-After seconds.  429, and 5xx carrying Retry-After, are retried
 * inside the client (at most opts.max_retries times, each wait capped at
 * KCLIENT_MAX_RETRY_AFTER_S) before the error is returned.  A 401 re-reads a
 * rotated token file once and retries.  Transport failures (connect, TLS,
 * timeout) are SC_EIO / SC_ETIMEOUT and are NOT retried here: callers back off.
 *
 * Ownership: "json_t **out" results are set only on success and are new
 * references the caller json_decref()s.  out may be NULL when the caller does
 * not want the body.  Request bodies are borrowed (never stolen).
 *
 * Paths are absolute API paths ("/api/v1/namespaces/ns/persistentvolumeclaims/x",
 * "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/y/status"); build
 * them with kpath().
 */
#ifndef SC_KCLIENT_H
#define SC_KCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/sc_err.h"
#include "kube/kconfig.h"

#define KCLIENT_MAX_RETRY_AFTER_S 10 /* longer Retry-After: returned to the caller */
#define KPATH_MAX                 1024

struct kclient;

struct kclient_opts {
    double qps;             /* tokens per second; <= 0 disables the limiter */
    int burst;              /* bucket size; < 1 means 1 */
    int64_t timeout_ms;     /* per request (not watches); 0 = 30000 */
    int max_retries;        /* 429/Retry-After retries; -1 = none, 0 = default 3 */
    const char *user_agent; /* NULL = "snapshot-controller/<version>" */
    struct clock clock;     /* zeroed = clock_system(); the bucket uses it */
    size_t max_body;        /* response body cap; 0 = LIM_API_BODY (never more) */
};

/* Upstream defaults: qps 5, burst 10, timeout 30s, 3 retries. */
void kclient_opts_default(struct kclient_opts *o);

/* cfg is copied; it may be freed after this returns.  opts may be NULL. */
struct kclient *kclient_new(const struct kconfig *cfg, const struct kclient_opts *opts,
                            struct sc_err *err);
/* Frees the client; no request may be in flight.  NULL-safe. */
void kclient_free(struct kclient *c);

/* ---- paths ---------------------------------------------------------------- */

/* Build "/api/v1/..." (group "" or NULL) or "/apis/<group>/<version>/...".
 * ns, name and sub are optional (NULL); sub is a subresource ("status").
 * Namespace and name are percent-escaped.  SC_ETOOBIG when cap is too small,
 * SC_EINVALID for an empty resource or a name without a resource. */
int kpath(char *out, size_t cap, const char *group, const char *version, const char *resource,
          const char *ns, const char *name, const char *sub);

/* ---- the one error mapper -------------------------------------------------- */

/* Map an HTTP status and its body (a metav1.Status, or anything else) to an
 * SC_E* code and fill err: http_status, reason, message (the server's, or
 * "HTTP <n>" when the body is not a Status), retry_after (from the
 * Retry-After header value or Status details.retryAfterSeconds).
 * 2xx returns 0.  Table: 400/422 EINVALID, 401 EUNAUTHORIZED, 403 EFORBIDDEN,
 * 404 ENOTFOUND, 409 ECONFLICT (reason AlreadyExists: EEXIST), 410 EGONE,
 * 413 ETOOBIG, 429 ETOOMANY, 504 and reason Timeout ETIMEOUT, other 5xx ESERVER,
 * anything else EPROTO.  retry_after_hdr may be NULL. */
int kclient_map_status(long http_status, const char *body, size_t len, const char *retry_after_hdr,
                       struct sc_err *err);

/* ---- verbs ------------------------------------------------------------------ */

int kclient_get(struct kclient *c, const char *path, json_t **out, struct sc_err *err);

/* POST body to a collection path; *out is the created object. */
int kclient_create(struct kclient *c, const char *path, const json_t *body, json_t **out,
                   struct sc_err *err);
/* The same with a body the caller wrote (len bytes of JSON, copied), and
 * the response dropped unread. */
int kclient_create_text(struct kclient *c, const char *path, const char *body, size_t len,
                        struct sc_err *err);

/* PUT body to an object path (or its /status); the body's
 * metadata.resourceVersion makes it conditional (stale: SC_ECONFLICT). */
int kclient_update(struct kclient *c, const char *path, const json_t *body, json_t **out,
                   struct sc_err *err);

enum kpatch_type {
    KPATCH_JSON,  /* application/json-patch+json: an array of operations */
    KPATCH_MERGE, /* application/merge-patch+json */
};
/* A failed JSON-patch "test" operation is reported by the server as a bare
 * 422 (SC_EINVALID) that does not name the operation.  When the patch tests
 * /metadata/resourceVersion or /metadata/uid, kclient then GETs the object
 * and, if either differs (or the object is gone), returns SC_ECONFLICT
 * ("precondition failed: ...") instead. */
int kclient_patch(struct kclient *c, const char *path, enum kpatch_type type, const json_t *patch,
                  json_t **out, struct sc_err *err);
/* kclient_patch() and kclient_create() with the 2xx answer's bytes appended
 * to body (a buf the caller initialised and releases; its cap bounds them:
 * SC_ETOOBIG past it) instead of parsed: for a caller that reads them its
 * own way (controller/cview.h, cvs_scan()).  Errors as those two. */
int kclient_patch_bytes(struct kclient *c, const char *path, enum kpatch_type type,
                        const json_t *patch, struct buf *body, struct sc_err *err);
int kclient_create_bytes(struct kclient *c, const char *path, const json_t *obj, struct buf *body,
                         struct sc_err *err);

enum kpropagation { KPROP_DEFAULT = 0, KPROP_BACKGROUND, KPROP_FOREGROUND, KPROP_ORPHAN };
struct kdelete_opts {
    const char *uid;              /* precondition, NULL = none */
    const char *resource_version; /* precondition, NULL = none */
    enum kpropagation propagation;
};
/* opts may be NULL.  A failed precondition is SC_ECONFLICT. */
int kclient_delete(struct kclient *c, const char *path, const struct kdelete_opts *opts,
                   json_t **out, struct sc_err *err);

/* Any request: method "GET"/"POST"/..., query without '?' (may be NULL),
 * content_type used when body is not NULL. */
int kclient_request(struct kclient *c, const char *method, const char *path, const char *query,
                    const char *content_type, const json_t *body, json_t **out, struct sc_err *err);

/* ---- LIST -------------------------------------------------------------------- */

/* Called for each item of each page; the item is borrowed for the call only
 * (json_incref() it to keep it).  A non-zero return stops the list and is
 * returned by kclient_list(). */
typedef int klist_fn(void *ctx, const json_t *item);

struct klist_opts {
    const char *label_selector; /* NULL = all */
    const char *field_selector; /* NULL = all */
    int limit;                  /* page size; 0 = LIM_LIST_PAGE, capped at LIM_LIST_PAGE */
};

/* Paginated LIST of a collection path (always limit/continue).  Each page is
 * streamed through a klist_split (below): its items are parsed one at a time
 * and handed to fn as they arrive, so neither a page's body nor its whole
 * JSON tree is ever held.  On success rv (cap >= 64) holds the list's
 * metadata.resourceVersion: the first page's, as client-go's pager keeps it
 * (every page of one continued list is served at that resourceVersion).
 * A continue token that expired (410 on page 2 or later) restarts nothing
 * here: SC_EGONE is returned after fn has seen the earlier pages' items, and
 * the caller drops them and lists again from the start. */
int kclient_list(struct kclient *c, const char *path, const struct klist_opts *opts, klist_fn *fn,
                 void *ctx, char *rv, size_t rv_cap, struct sc_err *err);

/* One LIST response body, fed in chunks of any size, split into its items
 * (exposed for tests and fuzzing).  Each element of the top-level "items"
 * array is parsed on its own (at most LIM_LIST_ITEM bytes; not an object:
 * SC_EPROTO) and passed to fn, then freed.  Everything else (kind,
 * apiVersion, metadata) is kept as the page's skeleton, "items" left empty
 * (at most LIM_LIST_SKELETON bytes).  At most LIM_LIST_PAGE_BYTES are fed.
 * Memory held: one item and the skeleton.  The splitter owns its buffers
 * (klist_split_release()); err is borrowed.
 * feed: 0, fn's non-zero return, or SC_EPROTO / SC_ETOOBIG / SC_ENOMEM
 *   (err filled); after a non-zero return, every later feed returns it again.
 * finish: after the last chunk; the body must have been one complete JSON
 *   object: *skeleton is a new reference to it (items: []). */
struct klist_split {
    klist_fn *fn;
    void *ctx;
    struct sc_err *err;
    struct buf item, skel;
    size_t total, nitems;
    int depth, rc;
    bool in_str, esc, in_items, in_item, items_seen, need_sep;
    unsigned key_len;
    char key[8]; /* the last string at depth 1 (a key when '[' follows) */
};
void klist_split_init(struct klist_split *s, klist_fn *fn, void *ctx, struct sc_err *err);
int klist_split_feed(struct klist_split *s, const char *data, size_t n);
int klist_split_finish(struct klist_split *s, json_t **skeleton);
void klist_split_release(struct klist_split *s);

/* Is group/version/resource served?  Discovery GET /apis/<group>/<version>
 * (or /api/v1) and, when listed, a limit=1 LIST of the resource across all
 * namespaces.  Returns 1 served, 0 not served (404 or absent from
 * discovery; err->msg says which), or a negative error (unreachable, 403). */
int kclient_served(struct kclient *c, const char *group, const char *version, const char *resource,
                   struct sc_err *err);

/* ---- streaming (watches) ----------------------------------------------------- */

/* Called with each chunk of a streaming response body; a non-zero return
 * aborts the stream and is returned by kclient_stream(). */
typedef int kstream_fn(void *ctx, const char *data, size_t n);

/* GET path?query and feed the body to fn until the server ends it, fn
 * aborts, *stop becomes non-zero (checked at least every second; may be NULL)
 * or max_ms passes (0 = no client-side limit).  A non-2xx status is mapped
 * with kclient_map_status() and fn is not called.  Does not use the pooled
 * handles or the per-request timeout; does take one token. */
int kclient_stream(struct kclient *c, const char *path, const char *query, kstream_fn *fn,
                   void *ctx, const volatile int *stop, int64_t max_ms, struct sc_err *err);

/* ---- JSON patch helpers ----------------------------------------------------------- */

/* Append {"op":op,"path":path[,"value":value]} to the array ops.  value is
 * STOLEN (consumed on every path, may be NULL for "remove"). */
int kpatch_add_op(json_t *ops, const char *op, const char *path, json_t *value);

/* Escape one JSON-pointer segment ('~' -> "~0", '/' -> "~1") into out. */
int kpatch_escape(const char *seg, char *out, size_t cap);

/* ---- rate limiter (exposed for tests and for other token buckets) ---------------- */

struct kbucket {
    double qps;
    double burst;
    double tokens;
    int64_t last_ms;
    struct clock clock;
};
/* A full bucket.  qps <= 0: unlimited. */
void kbucket_init(struct kbucket *b, double qps, int burst, struct clock clock);
/* Take one token now; returns how many ms the caller must wait before using
 * it (0 = go).  Not thread-safe: the client serialises calls. */
int64_t kbucket_reserve(struct kbucket *b);

/* ---- counters (for metrics and tests) ----------------------------------------------- */
struct kclient_stats {
    uint64_t requests;     /* HTTP exchanges attempted */
    uint64_t throttled_ms; /* total time spent waiting for tokens */
    uint64_t retries;      /* Retry-After retries */
    uint64_t token_reloads;
    uint64_t connects; /* new connections opened (TLS handshakes) */
    uint64_t resumed;  /* connections, watches' too, that resumed an earlier TLS session */
};
void kclient_get_stats(struct kclient *c, struct kclient_stats *out);

#endif
