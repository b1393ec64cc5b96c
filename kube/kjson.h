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

#define KJSON_CACHE_PATH 64
struct kjson {
    const json_t *root;
    struct sc_err *err; /* may be NULL */
    int rc;             /* 0 or the first SC_E* seen */
    /* kjson_cache_parents(): the node at c_path (c_len bytes, no NUL) from
     * root, or NULL when it is absent or null */
    bool cache;
    size_t c_len;
    const json_t *c_node;
    char c_path[KJSON_CACHE_PATH];
};

void kjson_init(struct kjson *r, const json_t *root, struct sc_err *err);
/* Remember the parent of the last path read from root, so that reads of
 * siblings ("spec.ref.name", then "spec.ref.uid") look up only their last
 * key.  Only while nothing changes the tree under root: a view's parse. */
void kjson_cache_parents(struct kjson *r);

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

/* ---- Reads relative to a node --------------------------------------------
 * The *_at readers walk path from `from` (the root, or any node inside the
 * tree: an object reached with kjson_obj_at(), an array element) instead of
 * from r->root.  Same rules as above: absent or null is "not set" and sets no
 * error; a value of another type sets the sticky error
 * "<path>: expected <type>, got <type>" (SC_EPROTO), with path as given, so a
 * caller reading inside an array element prefixes the index itself
 * (sc_err_wrap).  from == NULL reads as absent.  After an error every call
 * returns "not set" at once.  Results are borrowed from the tree. */
const char *kjson_str_at(struct kjson *r, const json_t *from, const char *path);
const json_t *kjson_obj_at(struct kjson *r, const json_t *from, const char *path);
const json_t *kjson_arr_at(struct kjson *r, const json_t *from, const char *path);

/* A three-state bool, as Go's *bool: absent or null, false, true. */
enum kjson_tri { KJSON_UNSET = -1, KJSON_FALSE = 0, KJSON_TRUE = 1 };
/* KJSON_UNSET when absent or null (and after an error); a non-boolean sets
 * the sticky error "<path>: expected boolean, got <type>". */
enum kjson_tri kjson_tri_at(struct kjson *r, const json_t *from, const char *path);

/* A strict JSON integer: true with *out set when path holds one; false with
 * *out untouched when absent or null.  Any other type, a number with a
 * fraction or exponent included, sets the sticky error "<path>: expected
 * integer, got number" (unlike kjson_int(), which truncates such a number). */
bool kjson_integer_at(struct kjson *r, const json_t *from, const char *path, int64_t *out);

/* A metav1.Time: an RFC 3339 string, or (v1beta1 objects) int64 nanoseconds
 * since the epoch.  true with *out in nanoseconds; false when absent or null.
 * An unparsable string ("<path>: not an RFC 3339 time"), a time after 2262
 * ("<path>: time out of range") or another type ("<path>: expected string,
 * got <type>") sets the sticky error. */
bool kjson_time_ns_at(struct kjson *r, const json_t *from, const char *path, int64_t *out);

/* Copy the string at path (from `from`) into dst, cap bytes (cap >= 1),
 * always NUL-terminated.  true when the field is a string; false, with dst
 * "", when it is absent or null, or of another type (sticky error).  A string
 * of cap bytes or more is cut to at most cap - 1 bytes, at a UTF-8 character
 * boundary, and *truncated (may be NULL) is set true; otherwise false.  For
 * fixed buffers sized by a limit in common/limits.h. */
bool kjson_str_copy(struct kjson *r, const json_t *from, const char *path, char *dst, size_t cap,
                    bool *truncated);

/* ---- Maps and arrays --------------------------------------------------- */

/* The string value of key in the map at map_path (from `from`), the key
 * taken whole (it may contain dots or slashes: annotations, parameters).
 * *present (may be NULL) tells whether the map has the key at all, with any
 * value, JSON null included.  NULL when the map or the key is absent or
 * null.  A map that is not an object ("<map_path>: expected object, got
 * <type>") or a value that is not a string ("<map_path>[<key>]: expected
 * string, got <type>") sets the sticky error. */
const char *kjson_map_str_at(struct kjson *r, const json_t *from, const char *map_path,
                             const char *key, bool *present);

/* The string member key of obj, or NULL when obj is not an object or the
 * member is absent, null or not a string.  Never sets an error: for scans
 * that skip entries they do not understand (ownerReferences). */
const char *kjson_peek_str(const json_t *obj, const char *key);

/* Element i of the array arr (from kjson_arr/kjson_arr_at) that must be a
 * string / an object.  An element is required: null, another type, or i
 * past the end sets the sticky error "<what>[<i>]: expected string, got
 * null" ("<what>[<i>]: missing" past the end).  what names the array
 * ("spec.source.volumeHandles").  arr NULL reads as absent (NULL, no
 * error).  Borrowed. */
const char *kjson_elem_str(struct kjson *r, const json_t *arr, const char *what, size_t i);
const json_t *kjson_elem_obj(struct kjson *r, const json_t *arr, const char *what, size_t i);

/* Does the string array at path contain s?  (finalizers).  false if absent. */
bool kjson_arr_has_str(struct kjson *r, const char *path, const char *s);

/* The value at an RFC 6901 JSON pointer ("/metadata/finalizers/2", "~0" for
 * '~' and "~1" for '/' in a segment; "" is root itself), or NULL when a
 * segment is absent, an array index is not a plain decimal in range, or the
 * pointer is malformed.  Sets no error.  Borrowed from root. */
const json_t *kjson_pointer(const json_t *root, const char *ptr);

/* 0 or the first error code. */
int kjson_error(const struct kjson *r);

/* Set the sticky error from a custom check ("spec.x: must be positive").
 * Returns the (possibly earlier) sticky code. */
int kjson_fail(struct kjson *r, int code, const char *fmt, ...) SC_PRINTF(3, 4);

/* Parse a body of n bytes (rejects duplicate keys).  n > max gives
 * SC_ETOOBIG, bad JSON gives SC_EPROTO with jansson's line/column; on success
 * *out is a new reference the caller json_decref()s. */
int kjson_parse(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err);

/* Serialise v compactly into b (b's cap applies: SC_ETOOBIG), byte for byte
 * the text of jansson's json_dump_callback(v, JSON_COMPACT | ...), without
 * jansson's per-character work.  A string that is not valid UTF-8 gives
 * SC_EINVALID, as does a top level that is not an object or an array
 * (unless KJSON_ENCODE_ANY).  On any error b is left as it was. */
int kjson_dumpb(const json_t *v, struct buf *b, struct sc_err *err);
#define KJSON_SORT_KEYS  0x1u /* members in jansson's JSON_SORT_KEYS order */
#define KJSON_ENCODE_ANY 0x2u /* any value at the top level */
int kjson_dump_ex(const json_t *v, struct buf *b, unsigned flags, struct sc_err *err);

/* ---- Writing JSON without a tree (added for the webhook's responses) -------
 * Appends to a capped struct buf; each returns 0, SC_ETOOBIG at the cap, or
 * SC_EINVALID for a string that is not valid UTF-8 (nothing written then).
 * The output matches jansson's JSON_COMPACT dump byte for byte: '"', '\\'
 * and control characters escaped, '/' and non-ASCII left as they are. */

/* s as a quoted JSON string. */
int kjson_put_str(struct buf *b, const char *s);
/* A document of fixed text and strings in turn: each part's lit as it is,
 * then its str quoted (none when str is NULL).  Stops at the first error. */
struct kjson_part {
    const char *lit;
    const char *str;
};
int kjson_put_parts(struct buf *b, const struct kjson_part *parts, size_t n);
/* Is s valid UTF-8 (as jansson's json_string() requires)? */
bool kjson_utf8_valid(const char *s, size_t n);

#endif
