/* kube/kjson.h -- typed, path-based reads from API objects with a sticky error.
 *
 * Paths are dotted field names ("spec.source.persistentVolumeClaimName").
 * Map keys that contain dots (annotations, labels) are read with kjson_obj()
 * on the map and kjson_key_str() on the key.
 *
 * Absent fields and explicit JSON null read as "not set" (NULL / false / the
 * default).  A field of the wrong type, or a missing required field, sets the
 * sticky error: the first error wins, is written to the caller's sc_err as
 * "<path>: expected string, got integer" (code SC_EPROTO), and every later
 * call returns "not set" at once.  A parser is therefore a flat list of reads
 * followed by one check of kjson_error().
 *
 * Ownership: every returned pointer is BORROWED from the root object and is
 * valid while the caller holds a reference to root.  Nothing here allocates
 * except kjson_dumpb().
 * Threading: a struct kjson is used by one thread; the json_t tree may be
 * read by several threads at once only if nobody modifies it.
 */
#ifndef SC_KJSON_H
#define SC_KJSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/sc_err.h"

struct kjson {
    const json_t *root;
    struct sc_err *err; /* may be NULL */
    int rc;             /* 0 or the first SC_E* seen */
};

void kjson_init(struct kjson *r, const json_t *root, struct sc_err *err);

/* Optional reads: NULL / false / def when absent or null. */
/* Walk a dotted path from `from` (any object inside the root, or the root):
 * the value, or NULL when absent or JSON null.  A non-object on the way, or
 * a segment longer than KJSON_PATH_MAX, sets the sticky error.  Borrowed. */
const json_t *kjson_get(struct kjson *r, const json_t *from, const char *path);
/* The name of v's JSON type for messages: "string", "integer", "object", ... */
const char *kjson_type_name(const json_t *v);

const char *kjson_str(struct kjson *r, const char *path);
bool kjson_bool(struct kjson *r, const char *path);
int64_t kjson_int(struct kjson *r, const char *path, int64_t def);
const json_t *kjson_obj(struct kjson *r, const char *path); /* a JSON object */
const json_t *kjson_arr(struct kjson *r, const char *path); /* a JSON array */

/* Required reads: absent or null sets the sticky error ("<path>: missing"). */
const char *kjson_str_req(struct kjson *r, const char *path);
const json_t *kjson_obj_req(struct kjson *r, const char *path);

/* Read a string member of an object obtained with kjson_obj() (the key may
 * contain dots or slashes, e.g. an annotation).  "what" names the map in the
 * error message ("metadata.annotations"). */
const char *kjson_key_str(struct kjson *r, const json_t *map, const char *what, const char *key);

/* Does the string array at path contain s?  (finalizers).  false if absent. */
bool kjson_arr_has_str(struct kjson *r, const char *path, const char *s);

/* 0 or the first error code. */
int kjson_error(const struct kjson *r);

/* Set the sticky error from a custom check ("spec.x: must be positive").
 * Returns the (possibly earlier) sticky code. */
int kjson_fail(struct kjson *r, int code, const char *fmt, ...) SC_PRINTF(3, 4);

/* Parse a body of n bytes (rejects duplicate keys).  n > max gives
 * SC_ETOOBIG, bad JSON gives SC_EPROTO with jansson's line/column; on success
 * *out is a new reference the caller json_decref()s. */
int kjson_parse(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err);

/* Serialise v compactly into b (b's cap applies: SC_ETOOBIG). */
int kjson_dumpb(const json_t *v, struct buf *b, struct sc_err *err);

/* ---- Writing JSON without a tree (added for the webhook's responses) -------
 * Appends to a capped struct buf; each returns 0, SC_ETOOBIG at the cap, or
 * SC_EINVALID for a string that is not valid UTF-8 (nothing written then).
 * The output matches jansson's JSON_COMPACT dump byte for byte: '"', '\\'
 * and control characters escaped, '/' and non-ASCII left as they are. */

/* s as a quoted JSON string. */
int kjson_put_str(struct buf *b, const char *s);
/* Is s valid UTF-8 (as jansson's json_string() requires)? */
bool kjson_utf8_valid(const char *s, size_t n);

#endif
