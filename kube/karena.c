/* kube/karena.c -- scoped arenas for jansson's allocations (see karena.h).
 *
 * A chunk's count starts at BIAS, which stands for its scope; frees take one
 * off atomically.  When the scope lets the chunk go (a new chunk, or the end
 * of the scope) it takes off BIAS less the blocks it carved, which leaves
 * the blocks not yet freed: at zero, or when the last of them is freed, the
 * chunk goes.  Carving itself touches no atomic. */
#include "kube/karena.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
/* Under ASan a freed block is poisoned, so a use after free inside a chunk
 * is reported as it would be for a malloc'd node. */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16u
#define HDR   16u /* a block's header: struct hdr */
#define BIAS  ((uint64_t)1 << 48)

struct karena_chunk {
    uint64_t count; /* BIAS while carved from, + carved - freed blocks (atomic) */
    size_t used;
    _Alignas(16) unsigned char data[];
};

struct hdr {
    struct karena_chunk *chunk; /* NULL: a malloc'd block */
    size_t size;                /* bytes asked for */
};

static _Thread_local struct karena *current; /* the one exception: see karena.h */

void
karena_install(void)
{
    json_set_alloc_funcs(karena_malloc, karena_free);
}

static void
chunk_put(struct karena_chunk *c, uint64_t n)
{
    if (__atomic_sub_fetch(&c->count, n, __ATOMIC_ACQ_REL) == 0)
        free(c);
}

/* The scope lets its chunk go: it stays while blocks of it are in use. */
static void
release(struct karena *a)
{
    if (a->chunk != NULL)
        chunk_put(a->chunk, BIAS - a->allocs);
    a->chunk = NULL;
    a->allocs = 0;
}

void
karena_begin(struct karena *a)
{
    a->prev = current;
    a->chunk = NULL;
    a->allocs = 0;
    current = a;
}

void
karena_end(struct karena *a)
{
    release(a);
    if (current == a)
        current = a->prev;
}

struct karena *
karena_suspend(void)
{
    struct karena *a = current;

    current = NULL;
    return a;
}

void
karena_resume(struct karena *a)
{
    current = a;
}

/* need bytes (header included) from a's chunk, a new one when it is full;
 * NULL when no chunk can be had. */
static unsigned char *
carve(struct karena *a, size_t need)
{
    struct karena_chunk *c = a->chunk;

    if (c == NULL || KARENA_CHUNK - c->used < need) {
        struct karena_chunk *n = malloc(sizeof(*n) + KARENA_CHUNK);
        if (n == NULL)
            return NULL;
        n->count = BIAS;
        n->used = 0;
        release(a);
        a->chunk = c = n;
    }
    unsigned char *p = c->data + c->used;
    c->used += need;
    a->allocs++;
    ((struct hdr *)(void *)p)->chunk = c;
    return p;
}

void *
karena_malloc(size_t n)
{
    struct karena *a = current;
    unsigned char *p = NULL;

    if (a != NULL && n <= KARENA_MAX_BLOCK)
        p = carve(a, HDR + ((n + ALIGN - 1) & ~(size_t)(ALIGN - 1)));
    if (p == NULL) {
        if (n > SIZE_MAX - HDR || (p = malloc(HDR + n)) == NULL)
            return NULL;
        ((struct hdr *)(void *)p)->chunk = NULL;
    }
    ((struct hdr *)(void *)p)->size = n;
    return p + HDR;
}

void
karena_free(void *p)
{
    struct hdr *h = NULL;
    struct karena_chunk *c = NULL;

    if (p == NULL)
        return;
    h = (struct hdr *)(void *)((unsigned char *)p - HDR);
    c = h->chunk;
    if (c == NULL) {
        free(h);
        return;
    }
    POISON(p, h->size);
    chunk_put(c, 1);
}
