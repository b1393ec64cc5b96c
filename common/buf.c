#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sc_err.h"

void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static int
buf_grow(struct buf *b, size_t need)
{
    size_t ncap;
    char *p;

    if (need > b->max)
        return SC_ETOOBIG;
    if (need + 1 <= b->cap)
        return SC_OK;
    ncap = b->cap ? b->cap : 64;
    while (ncap < need + 1)
        ncap *= 2;
    if (ncap > b->max + 1)
        ncap = b->max + 1;
    p = realloc(b->data, ncap);
    if (p == NULL)
        return SC_ENOMEM;
    b->data = p;
    b->cap = ncap;
    return SC_OK;
}

int
buf_add(struct buf *b, const void *p, size_t n)
{
    int rc;

    if (n > b->max || b->len > b->max - n)
        return SC_ETOOBIG;
    rc = buf_grow(b, b->len + n);
    if (rc != SC_OK)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SC_OK;
}

int
buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SC_EINVALID;
    if ((size_t)n > b->max || b->len > b->max - (size_t)n)
        return SC_ETOOBIG;
    rc = buf_grow(b, b->len + (size_t)n);
    if (rc != SC_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SC_OK;
}

void
buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

const char *
buf_str(const struct buf *b)
{
    return b->data != NULL ? b->data : "";
}

char *
buf_detach(struct buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = calloc(1, 1);
    buf_init(b, b->max);
    return p;
}

void
buf_release(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}
