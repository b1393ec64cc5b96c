/* controller/cstore.h -- a thread-safe map from "ns/name" (or "name") to a
 * reference-counted compact view (controller/cview.h).
 *
 * It plays both roles upstream splits in two: the informer's lister and the
 * controller's private store.  cstore_put() follows upstream's RV rule:
 * an object replaces the stored one only if its resourceVersion is numeric
 * and >= the stored one (same RV passes, so resyncs are processed; a
 * non-numeric RV is skipped), which drops stale watch events after our own
 * writes stored a newer response.
 *
 * One store per kind: cstore_attach() makes the store a typed view over an
 * informer's table (kube/kinformer.h), so a view is cached once.  From then
 * on every call goes to the informer (cstore_put to kinformer_put, with the
 * same rule; cstore_del to kinformer_take; cstore_each under the informer's
 * read lock).  A standalone store (tests, tools) keeps its own table.
 *
 * A store of VolumeSnapshots or contents keeps records instead of views
 * (cstore_use_records; controller/crec.h): about a third smaller.  Readers
 * still get views: cstore_get() and cstore_del() a new one, cstore_each()
 * one decoded into its stack frame for the call.
 *
 * Ownership: cstore_put() takes ownership of the caller's reference on
 * every path.  cstore_get() returns a new reference (release it with
 * cview_unref) or NULL (absent, or out of memory).  cstore_each() calls fn
 * under the read lock with a borrowed view, valid only during the call (fn
 * must not take a reference on it); fn must not call back into the same
 * store.
 */
#ifndef SC_CSTORE_H
#define SC_CSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sc_err.h"
#include "controller/crec.h"
#include "controller/cview.h"

struct cstore;
struct kinformer;

struct cstore *cstore_new(void);
void cstore_free(struct cstore *s); /* NULL-safe; drops every reference */
/* Keep the views in inf's table instead (borrowed; it must outlive the
 * store, free its views with cview_unref and not be started yet).  The
 * store must be empty: SC_EINVALID otherwise. */
int cstore_attach(struct cstore *s, struct kinformer *inf);
/* Keep records of kind instead of views, their shared strings in t
 * (borrowed; must outlive the store), from now on.  Before cstore_attach()
 * and before anything is stored: SC_EINVALID otherwise. */
int cstore_use_records(struct cstore *s, enum crec_kind kind, struct cintern *t);
/* What the store keeps for view m (its reference is taken on every path):
 * m itself, or its record.  For an attached informer's parse callback;
 * free with cstore_free_stored().  0 or SC_E*. */
SC_MUST_CHECK int cstore_stored(struct cstore *s, struct cmeta *m, void **out, struct sc_err *err);
void cstore_free_stored(struct cstore *s, void *stored);
/* The key ("ns/name" or "name") and *rv the resourceVersion held inside
 * what the store keeps, or NULL when it holds no such key string: for an
 * attached informer's view_key callback (kube/kinformer.h). */
const char *cstore_stored_key(const struct cstore *s, const void *stored, const char **rv);
/* The bytes of what the store keeps when it is one flat block (a record)
 * that an informer's item may hold a copy of, else 0: for an attached
 * informer's view_bytes callback. */
size_t cstore_stored_flat(const struct cstore *s, const void *stored);
/* A new reference to the view of what the store keeps (an item's view);
 * NULL when stored is NULL or memory ran out. */
struct cmeta *cstore_view_of(struct cstore *s, const void *stored);
/* The view of what the store keeps, borrowed: what is stored itself, or,
 * for a record, a view written into buf (CSTORE_PEEK_BYTES, aligned for a
 * pointer) whose strings point into the record.  Never NULL for what the
 * store made; valid while stored is; never referenced or unreferenced.  No
 * allocation: for an index callback, which must not fail. */
#define CSTORE_PEEK_BYTES CREC_PEEK_BYTES
const struct cmeta *cstore_peek(const struct cstore *s, const void *stored, void *buf);
/* The attached informer, or NULL. */
struct kinformer *cstore_informer(const struct cstore *s);
/* Informer callbacks (kinformer.h's kinf_parse_fn, kinf_free_fn; ctx unused)
 * for a store of VolumeSnapshots and for any store's views. */
int cstore_parse_vs(void *ctx, const json_t *obj, void **view, struct sc_err *err);
void cstore_free_view(void *ctx, void *view);

/* The key a view is stored under: "ns/name" or "name". */
int cstore_key(const struct cmeta *m, char *out, size_t cap);

enum cstore_put_result {
    CSTORE_ADDED = 0,
    CSTORE_REPLACED = 1,
    CSTORE_STALE = 2, /* dropped: older or non-numeric resourceVersion */
};
/* Store m under its key (takes the reference).  force skips the RV rule
 * (used when the informer relists).  Returns enum cstore_put_result or a
 * negative SC_E*. */
int cstore_put(struct cstore *s, struct cmeta *m, bool force);
/* New reference or NULL. */
struct cmeta *cstore_get(struct cstore *s, const char *key);
/* Remove the key; returns the removed reference (caller owns) or NULL. */
struct cmeta *cstore_del(struct cstore *s, const char *key);
size_t cstore_len(struct cstore *s);
/* Visit every view (borrowed); fn returns non-zero to stop. */
void cstore_each(struct cstore *s, int (*fn)(const struct cmeta *m, void *arg), void *arg);
/* The same for the views in namespace ns only (NULL: all): the others are
 * skipped without making their views (a record's is made for each call). */
void cstore_each_ns(struct cstore *s, const char *ns, int (*fn)(const struct cmeta *m, void *arg),
                    void *arg);
/* Reads that found a record but could not make its view (out of memory):
 * they returned NULL as if the key were absent.  A caller compares the count
 * before and after a pass to fail the pass instead (controller/ctrl.c). */
uint64_t cstore_failures(struct cstore *s);
/* Sum of cview_bytes() plus the table (the informer's items when attached). */
size_t cstore_bytes(struct cstore *s);

#endif
