/* common/buf.h -- a growable byte buffer with a hard cap, always NUL-terminated.
 *
 * buf_init() cannot fail and allocates nothing.  An append that would pass the
 * cap fails with SC_ETOOBIG and leaves the buffer unchanged.  buf_release()
 * frees the bytes; buf_detach() hands them to the caller (free() them).
 */
#ifndef SC_BUF_H
#define SC_BUF_H

#include <stddef.h>

#include "common/compiler.h"

struct buf {
    char *data; /* NULL until the first append; else NUL-terminated */
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
SC_MUST_CHECK int buf_add(struct buf *b, const void *p, size_t n);
SC_MUST_CHECK int buf_adds(struct buf *b, const char *s);
SC_MUST_CHECK int buf_addf(struct buf *b, const char *fmt, ...) SC_PRINTF(2, 3);
/* Drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b); /* len = 0, keeps the allocation */
/* Never NULL: "" for an empty buffer. */
const char *buf_str(const struct buf *b);
char *buf_detach(struct buf *b);
void buf_release(struct buf *b);

#endif
