/* kube/kskim.h -- parse an API object without its metadata.managedFields.
 *
 * The API server puts managedFields (server-side apply bookkeeping) into
 * every object it sends: about half the bytes of a VolumeSnapshot, and most
 * of its JSON nodes.  Nothing here reads them.  kskim_parse() finds each
 * "managedFields" member of an object that is the value of a "metadata"
 * member with a scan that allocates nothing, then lets jansson parse the
 * document around those spans, so the tree never holds them.
 *
 * Guarantees (tests/unit/kube/kskim_test.c, tests/fuzz/kube_watch_fuzz.c):
 *   - a document jansson accepts gives the same tree as kjson_parse(), less
 *     those members;
 *   - a document jansson refuses outside those spans is refused with
 *     kjson_parse()'s own message (it is parsed again whole to report it);
 *   - keys are compared as jansson decodes them ("\u006detadata" is
 *     "metadata");
 *   - a second "managedFields" in one metadata object, a document that is
 *     not an object, nesting deeper than KSKIM_DEPTH or more than KSKIM_CUTS
 *     spans: nothing is skipped, the whole document goes to jansson;
 *   - bytes inside a skipped value are checked for JSON structure only
 *     (brackets, strings, commas), not for valid numbers, escapes or UTF-8:
 *     a malformed managedFields, which nothing reads, is not an error.
 *
 * Ownership: data is only read; *out is a new reference, as kjson_parse().
 */
#ifndef SC_KSKIM_H
#define SC_KSKIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/sc_err.h"

#define KSKIM_DEPTH 64 /* nesting the scan follows; deeper goes to jansson whole */
#define KSKIM_CUTS  8  /* managedFields members skipped per document */

/* A skipped span: [start, end) of the document. */
struct kskim_cut {
    size_t start, end;
};

/* Find the spans to skip.  Returns how many (0 when nothing is to be
 * skipped, or when the document is not one the scan follows). */
size_t kskim_find(const char *data, size_t n, struct kskim_cut cuts[KSKIM_CUTS]);

/* kjson_parse() without the managedFields of metadata objects: n > max gives
 * SC_ETOOBIG, bad JSON SC_EPROTO with jansson's line and column.  Tries
 * kparse() first (kparse.h), then the path below. */
int kskim_parse(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err);

/* kskim_parse() without kparse(): the cuts, then jansson (the reference the
 * tests and fuzzers compare kparse() with). */
int kskim_parse_jansson(const char *data, size_t n, size_t max, json_t **out, struct sc_err *err);

/* The value of the four hex digits at p (a \u escape's), or -1. */
int kskim_hex4(const char *p);

/* For kparse(): skip the value at data[*i] (a managedFields value) as the
 * scan of kskim_find() does, nested in depth containers, with ncut spans
 * already cut before it.  False where that scan would give up, so that
 * kparse() declines exactly where kskim would keep the document whole. */
bool kskim_skip(const char *data, size_t n, size_t *i, int depth, size_t ncut);
/* kskim_skip() by the recursive scan alone: the reference its fast path is
 * tested against (tests/unit/kube/kskim_test.c, tests/fuzz). */
bool kskim_skip_slow(const char *data, size_t n, size_t *i, int depth, size_t ncut);

#endif
