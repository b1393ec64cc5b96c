/* controller/cpack.h -- copy a view's borrowed strings into the view itself.
 *
 * A parser points each string field of a view at the JSON tree it reads,
 * registers the field with cpack_add(), then cpack_commit() grows the view's
 * allocation by the strings' bytes, copies every non-NULL string after the
 * struct and points the fields at the copies, so the tree can go and the
 * view stays one allocation.  A string equal to another field's, or ending
 * it ("<uid>" and "snapcontent-<uid>"), points into that field's copy; one
 * equal to a well-known constant ("", "Delete",
 * "VolumeSnapshot", ...) points at the constant and costs nothing, as does
 * one found in the shared table (cpack_add_shared).  At most
 * CPACK_MAX fields: one more makes cpack_commit() fail (SC_ETOOBIG) instead
 * of leaving a field pointing into the freed tree.
 *
 * Ownership: the view (*base) stays the caller's; it may move, and is still
 * one malloc'd block: free() it.
 */
#ifndef SC_CPACK_H
#define SC_CPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sc_err.h"

#define CPACK_MAX 24

struct cintern;

struct cpack {
    const char **slot[CPACK_MAX];
    size_t n;
    uint32_t shared_bits;   /* the slots cpack_add_shared() registered */
    struct cintern *shared; /* where those strings may be found; NULL: copy them */
    bool over;              /* a cpack_add() found the table full */
};

/* slot must lie inside the view later passed to cpack_commit(). */
void cpack_add(struct cpack *p, const char **slot);
/* The same, for a string many views repeat (a namespace, a class or driver
 * name): with p->shared set, the field points at the table's copy
 * (controller/cintern.h) instead of one in the view, while the table has
 * room. */
void cpack_add_shared(struct cpack *p, const char **slot);
/* *base: a malloc'd view of size bytes holding every registered slot.
 * 0 (*base may have moved; *block_len = bytes copied after the struct),
 * SC_ETOOBIG (more than CPACK_MAX fields), SC_EINVALID (a slot outside the
 * view) or SC_ENOMEM; on failure *base is unchanged and the fields still
 * point at the borrowed strings. */
int cpack_commit(struct cpack *p, void **base, size_t size, unsigned *block_len,
                 struct sc_err *err);

/* The index of the well-known constant s points at (the pointer, not the
 * text: a view's field that cpack_commit() pointed at it), or -1; and back
 * (NULL past the last).  Indexes are below CPACK_KNOWN_MAX. */
#define CPACK_KNOWN_MAX 32
int cpack_known_index(const char *s);
const char *cpack_known_at(unsigned idx);

#endif
