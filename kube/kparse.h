/* kube/kparse.h -- a fast reader of JSON into jansson trees.
 *
 * jansson's own reader spends most of its time in its lexer (a byte at a
 * time through a stream, each byte copied into a growing buffer).  This one
 * reads the bytes in place and builds the same tree with jansson's public
 * constructors.  It is the first try of kjson_parse() and kskim_parse(),
 * which fall back to their jansson paths whenever it declines, so:
 *
 *   - when kparse() returns 0, *out equals (json_equal, member order
 *     included) what jansson's json_loadb(JSON_REJECT_DUPLICATES) gives for
 *     the same bytes; with KPARSE_SKIM, what kskim_parse_jansson() gives;
 *   - it declines (returns -1, *out untouched) every document jansson
 *     refuses, and any it is not sure of: nesting deeper than KSKIM_DEPTH,
 *     a number longer than KPARSE_NUMBER_MAX characters, integers outside
 *     int64, a \u0000 (refused by jansson too), a top level that is not an
 *     object or an array.  It never reports why: the fallback gives
 *     jansson's own message.
 *
 * KPARSE_SKIM skips the "managedFields" member of every object that is the
 * value of a "metadata" member, as kskim_parse() does (kskim.h), and declines
 * where kskim would keep the document whole (a top level that is not an
 * object, a second managedFields in one metadata, more than KSKIM_CUTS, a
 * skipped value its structure scan refuses).
 *
 * KPARSE_REVIEW also skips the members of the top level's "request" that no
 * admission rule reads: userInfo, options, requestKind and requestResource
 * (about a third of a small AdmissionReview's bytes, and of its parse).  As
 * with managedFields, their values are scanned for structure only, and a
 * second one in the request declines.
 *
 * Tested against jansson on every input of tests/fuzz/kube_watch_fuzz.c and
 * in tests/unit/kube/kparse_test.c.
 *
 * Ownership: data is only read; *out is a new reference.  Nothing is kept
 * between calls; the only allocations are the tree's and, for a document
 * with escaped or long strings, one scratch buffer freed before returning.
 */
#ifndef SC_KPARSE_H
#define SC_KPARSE_H

#include <jansson.h>
#include <stddef.h>

#define KPARSE_SKIM       1u /* leave out metadata.managedFields (kskim.h) */
#define KPARSE_REVIEW     2u /* leave out request.userInfo, options, requestKind, requestResource */
#define KPARSE_NUMBER_MAX 63 /* characters of one number read in place */

int kparse(const char *data, size_t n, unsigned flags, json_t **out);

#endif
