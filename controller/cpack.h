/* controller/cpack.h -- copy a view's borrowed strings into one block.
 *
 * A parser points each string field of a view at the JSON tree it reads,
 * registers the field with cpack_add(), then cpack_commit() copies every
 * non-NULL string into one malloc'd block and points the fields at the
 * copies, so the tree can go.  At most CPACK_MAX fields: one more makes
 * cpack_commit() fail (SC_ETOOBIG) instead of leaving a field pointing into
 * the freed tree.
 *
 * Ownership: *block (from cpack_commit) is the caller's; free() it.
 */
#ifndef SC_CPACK_H
#define SC_CPACK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sc_err.h"

#define CPACK_MAX 24

struct cpack {
    const char **slot[CPACK_MAX];
    size_t n;
    bool over; /* a cpack_add() found the table full */
};

void cpack_add(struct cpack *p, const char **slot);
/* 0, SC_ETOOBIG (more than CPACK_MAX fields) or SC_ENOMEM; on failure the
 * fields still point at the borrowed strings and *block is NULL. */
int cpack_commit(struct cpack *p, char **block, unsigned *block_len, struct sc_err *err);

#endif
