/* controller/cpatch.h -- the one builder of every patch the sync steps
 * send (controller/sync.h lists which writes are JSON patches and which
 * merge patches).
 *
 * Every jansson call is checked: a builder returns the complete patch or
 * NULL (out of memory), never a patch with an operation missing -- a JSON
 * patch without its resourceVersion "test" would replace a list a
 * concurrent writer changed.  The caller passes NULL on to sync_patch(),
 * which reports SC_ENOMEM, and the worker requeues the key.
 *
 * Ownership: each function returns a new reference (the caller's); json_t
 * arguments documented "stolen" are released even on failure; strings are
 * copied.
 */
#ifndef SC_CPATCH_H
#define SC_CPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "controller/cview.h"

/* ---- JSON patch (RFC 6902), one operation at a time ---- */

/* ops is NULL once an operation failed: later calls do nothing and
 * cpatch_end() returns NULL. */
struct cpatch {
    json_t *ops;
};

void cpatch_begin(struct cpatch *p);
/* {"op":"test","path":path,"value":value} */
void cpatch_test(struct cpatch *p, const char *path, const char *value);
/* {"op":"add","path":path,"value":value}; value stolen (NULL fails). */
void cpatch_add(struct cpatch *p, const char *path, json_t *value);
/* {"op":"remove","path":path} */
void cpatch_remove(struct cpatch *p, const char *path);
/* The ops array (new reference) or NULL when any step failed. */
json_t *cpatch_end(struct cpatch *p);

/* Add the finalizers fins[0..n) to an object with metadata m: one "add
 * /metadata/finalizers/-" each, or -- when m has none -- the whole list
 * guarded by a resourceVersion test. */
json_t *cpatch_add_finalizers(const struct cmeta *m, const char *const *fins, size_t n);
/* The same, always guarded by a resourceVersion test: for an object the
 * passes of several keys write (a PVC, which every snapshot of it protects),
 * where two unguarded appends would add the name twice. */
json_t *cpatch_add_finalizers_guarded(const struct cmeta *m, const char *const *fins, size_t n);
/* Remove the known finalizers in bits (enum cfin) that m has: "test" +
 * "remove" of each cached index, highest index first. */
json_t *cpatch_remove_finalizers(const struct cmeta *m, unsigned bits);
/* "test" + "remove" of finalizer fin at index idx. */
json_t *cpatch_remove_finalizer_at(int idx, const char *fin);

/* ---- JSON merge patch (RFC 7386) ---- */

/* The merge-patch and object-body steps below share one rule: *patch NULL
 * stays NULL (an earlier step failed), and a failure (no memory, a NULL
 * value) releases *patch and sets it to NULL. */

/* Set key of obj -- an object inside *patch (json_object_get() of it;
 * NULL fails) -- to value (stolen).  For keys with dots (annotations). */
void cpatch_put(json_t **patch, json_t *obj, const char *key, json_t *value);
/* Set a dotted path ("status.readyToUse") in *patch to value (stolen),
 * creating the objects on the way. */
void cpatch_set(json_t **patch, const char *path, json_t *value);
/* A new merge patch setting one dotted path to value (stolen), or NULL. */
json_t *cpatch_merge(const char *path, json_t *value);
/* {"metadata":{"annotations":{key:value}}} */
json_t *cpatch_annotation(const char *key, const char *value);
/* {"status":{"error":{"message":msg,"time":time}[,"readyToUse":false]}} */
json_t *cpatch_error_status(const char *msg, const char *time, bool ready_false);

#endif
