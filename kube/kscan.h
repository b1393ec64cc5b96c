/* kube/kscan.h -- chosen members of a JSON object, read from its bytes
 * without building a tree.
 *
 * A spec is a list of dotted paths ("metadata.name", "status",
 * "spec.source.volumeHandle"), compiled once.  kscan() walks one object
 * once and reports, for each path of the spec (out[i] for paths[i]), what
 * the object holds there:
 *   KSCAN_ABSENT   nothing (a member missing on the way, or a prefix that
 *                  is JSON null: "spec" null reads "spec.driver" as absent);
 *   KSCAN_NULL     JSON null;
 *   KSCAN_STRING   s: a NUL-terminated copy in the caller's scratch, n its
 *                  length;
 *   KSCAN_INTEGER  i: its value (an integer in int64: no fraction, no
 *                  exponent);
 *   KSCAN_TRUE, KSCAN_FALSE;
 *   KSCAN_OBJECT, KSCAN_ARRAY  s, n: the value's own bytes inside data
 *                  (from its '{' or '[' to the matching bracket), for a
 *                  second look (kscan() again, kscan_member(),
 *                  kscan_next()).
 * A path may be reported and also be the prefix of others ("status" and
 * "status.error.message").  Members on no path and on no path's way are
 * checked for JSON structure only (kskim_skip()).
 *
 * What a report promises: for every path, the value is what jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) followed by a walk of the path gives
 * on the same bytes, when jansson accepts them.  Whatever kscan() cannot
 * report that exactly it declines (KSCAN_DECLINE, out[] then unspecified),
 * and the caller parses the document the usual way, whose result and
 * errors stand:
 *   - data that is not one object (whitespace around it allowed), nesting
 *     deeper than KSKIM_DEPTH, or a structure the scan refuses;
 *   - a member key with an escape or a control character at a level the
 *     walk reads (the root and every object on a path's way);
 *   - a member on a path, or on a path's way, present twice in its object;
 *   - a value on a path that is a string with an escape, a control
 *     character or invalid UTF-8, or a number that is not an int64
 *     integer (a real, an exponent, a leading zero, out of range);
 *   - a value on a path's way (a prefix) that is neither an object nor
 *     null: jansson's reader reports that as a type error;
 *   - scratch too small for the strings.
 * What it does not look for: inside values on no path, and among members
 * on no path, duplicate keys, escapes, invalid UTF-8 and malformed numbers
 * are not errors (the structure scan's rules, as for managedFields in
 * kskim.h).  Such a document, which jansson refuses, is read anyway: no
 * API server sends one.
 *
 * Ownership: data is only read and must outlive the OBJECT/ARRAY spans;
 * strings live in the scratch buffer (struct kscan_buf: the caller's
 * memory, appended to, never freed here).  Nothing allocates.  A spec holds
 * pointers to the path strings given to kscan_compile(), which must
 * outlive it (string literals).  A compiled spec is only read by kscan():
 * threads may share it.
 */
#ifndef SC_KSCAN_H
#define SC_KSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KSCAN_MAX_PATHS 48 /* paths of one spec */
#define KSCAN_MAX_NODES 64 /* distinct path prefixes of one spec, the root included */
#define KSCAN_DECLINE   1  /* kscan(), kscan_member(): read it another way */

enum kscan_type {
    KSCAN_ABSENT = 0,
    KSCAN_NULL,
    KSCAN_STRING,
    KSCAN_INTEGER,
    KSCAN_TRUE,
    KSCAN_FALSE,
    KSCAN_OBJECT,
    KSCAN_ARRAY,
};

struct kscan_val {
    enum kscan_type type;
    const char *s; /* STRING: the copy (NUL-terminated); OBJECT/ARRAY: its bytes in data */
    size_t n;      /* bytes at s (not counting the NUL) */
    int64_t i;     /* INTEGER */
};

/* One node of the compiled paths: a member key, the slot it reports into
 * (-1: only on the way), and its children, contiguous in nodes[]. */
struct kscan_node {
    const char *key;
    unsigned short klen;
    short slot;
    unsigned char first, count;
};

struct kscan_spec {
    struct kscan_node nodes[KSCAN_MAX_NODES]; /* nodes[0]: the root object */
    size_t n_nodes, n_paths;
};

/* Strings' scratch: the caller's buffer of cap bytes, len used. */
struct kscan_buf {
    char *p;
    size_t len, cap;
};

/* Compile n paths (each a non-empty dotted path of non-empty segments,
 * each path once).  0, or -1 when a path is malformed, repeated, or the
 * spec passes KSCAN_MAX_PATHS / KSCAN_MAX_NODES. */
int kscan_compile(struct kscan_spec *spec, const char *const *paths, size_t n);

/* Scan the object in data[0..n) (see above).  0 with out[0..n_paths)
 * filled; KSCAN_DECLINE. */
int kscan(const char *data, size_t n, const struct kscan_spec *spec, struct kscan_val *out,
          struct kscan_buf *sb);

/* The member key (taken whole: it may hold dots and slashes, e.g. an
 * annotation's) of the object at obj (a KSCAN_OBJECT report), into *out
 * (KSCAN_ABSENT when the object has no such member), with kscan()'s rules
 * for a value on a path; the object's other members are checked as
 * members on no path, and its keys as at a level kscan() walks (a key with
 * an escape might spell key).  0; KSCAN_DECLINE (also when key is present
 * twice). */
int kscan_member(const struct kscan_val *obj, const char *key, struct kscan_val *out,
                 struct kscan_buf *sb);

/* The elements of an array, one at a time.  kscan_iter_init() over a
 * KSCAN_ARRAY report; kscan_next() reads the next element into *out with
 * kscan()'s rules for a value on a path: 1 with *out set, 0 past the last
 * element, -1 when it cannot (the caller declines). */
struct kscan_iter {
    const char *p, *end;
    size_t i;   /* offset of the next element (of the ',' before it but for the
                 * first), or of the closing ']' */
    bool first; /* no element read yet */
};
void kscan_iter_init(struct kscan_iter *it, const struct kscan_val *arr);
int kscan_next(struct kscan_iter *it, struct kscan_val *out, struct kscan_buf *sb);

#endif
