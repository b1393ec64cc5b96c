/* webhook/wharena.c -- a per-request bump allocator for jansson (see wharena.h). */
#include "webhook/wharena.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#define ALIGN 16u

static _Thread_local struct wharena *current; /* the one exception: see wharena.h */

void
wharena_install(void)
{
    json_set_alloc_funcs(wharena_malloc, wharena_free);
}

void
wharena_begin(struct wharena *a, void *base)
{
    a->base = base;
    a->used = 0;
    a->spilled = 0;
    current = a;
}

void
wharena_end(struct wharena *a)
{
    if (current == a)
        current = NULL;
}

bool
wharena_holds_all(void)
{
    const struct wharena *a = current;
    json_malloc_t m = NULL;
    json_free_t f = NULL;

    if (a == NULL || a->spilled != 0)
        return false;
    json_get_alloc_funcs(&m, &f); /* not installed: jansson took nothing from the buffer */
    return m == wharena_malloc;
}

void *
wharena_malloc(size_t n)
{
    struct wharena *a = current;
    size_t need;

    if (a != NULL && n <= WHARENA_BYTES) {
        need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        if (need <= WHARENA_BYTES - a->used) {
            void *p = a->base + a->used;

            a->used += need;
            return p;
        }
    }
    if (a != NULL)
        a->spilled++;
    return malloc(n);
}

void
wharena_free(void *p)
{
    const struct wharena *a = current;
    uintptr_t u = (uintptr_t)p, b;

    if (a != NULL) {
        b = (uintptr_t)a->base;
        if (u >= b && u < b + WHARENA_BYTES)
            return; /* released with the whole buffer when the scope ends */
    }
    free(p);
}
