/* controller/crec.h -- the form a cached VolumeSnapshot or content takes
 * while it sits in the informer's table: a record.
 *
 * A view (controller/cview.h) is a struct of string pointers and flags with
 * its strings after it; the struct is most of its size (a content's has 19
 * pointers: 152 bytes).  A record keeps the same strings and flags, but
 * each string field as a 2-byte slot: an offset into the record's strings,
 * a well-known constant's index (controller/cpack.h) or a shared string's
 * index (controller/cintern.h), or NULL.  A record whose strings pass
 * 32 KiB uses 4-byte slots.  The sync code never sees records: the store
 * (controller/cstore.h) turns one back into a view when it is read.
 *
 * crec_make(m, kind, t): a new record (malloc'd; free() it) with m's
 * fields; m is borrowed.  Strings m points at outside its own block that are
 * neither constants nor in t are copied into the record.
 * crec_view(rec, t): a new view (one reference, cview_unref) holding a copy
 * of the record's strings.  crec_peek(rec, t, buf): the view written into
 * buf (CREC_PEEK_BYTES), its strings pointing into rec: valid while rec is,
 * never to be referenced or unreferenced.  t must be the table the record
 * was made with, and must outlive both.
 */
#ifndef SC_CREC_H
#define SC_CREC_H

#include <stddef.h>

#include "common/compiler.h"
#include "common/sc_err.h"
#include "controller/cview.h"

enum crec_kind { CREC_VS = 0, CREC_VSC = 1, CREC_N_KINDS };

#define CREC_PEEK_BYTES 320 /* >= every kind's struct (asserted in crec.c) */

struct cintern;

SC_MUST_CHECK int crec_make(const struct cmeta *m, enum crec_kind kind, struct cintern *t,
                            void **out, struct sc_err *err);
struct cmeta *crec_view(const void *rec, const struct cintern *t); /* NULL on ENOMEM */
struct cmeta *crec_peek(const void *rec, const struct cintern *t, void *buf);

/* One string field without decoding the rest: 0 namespace, 1 name, 2 uid,
 * 3 resourceVersion (pointing into rec, or a constant or shared string). */
enum { CREC_NS = 0, CREC_NAME = 1, CREC_UID = 2, CREC_RV = 3 };
const char *crec_str(const void *rec, const struct cintern *t, unsigned field);

/* The object's key, "ns/name" (or its name when cluster-scoped), as one
 * string inside the record (or NULL when it has none), and *rv its
 * resourceVersion: for the informer's item to point at instead of copying
 * them (kinformer_opts.view_key). */
const char *crec_key(const void *rec, const struct cintern *t, const char **rv);

/* Bytes the record holds. */
size_t crec_bytes(const void *rec);

#endif
