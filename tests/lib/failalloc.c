#include "tests/lib/failalloc.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "tests/lib/harness.h"

/* The real allocators (-Wl,--wrap=...). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static long left = -1; /* allocations until the first failing one; -1: never fail */
static bool sticky;    /* keep failing after the first failure */
static long hits;      /* failures since failalloc_arm() */

/* True if this allocation must fail (atomics: a state writer thread may
 * allocate too). */
static bool
fail_now(void)
{
    long l = __atomic_load_n(&left, __ATOMIC_SEQ_CST);

    if (l < 0)
        return false;
    if (l == 0) {
        if (!__atomic_load_n(&sticky, __ATOMIC_SEQ_CST))
            __atomic_store_n(&left, -1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&hits, 1, __ATOMIC_SEQ_CST);
        errno = ENOMEM;
        return true;
    }
    __atomic_sub_fetch(&left, 1, __ATOMIC_SEQ_CST);
    return false;
}

void *
__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
    return fail_now() ? NULL : __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
    return fail_now() ? NULL : __real_strndup(s, n);
}

void
failalloc_arm(long n, bool keep_failing)
{
    __atomic_store_n(&hits, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sticky, keep_failing, __ATOMIC_SEQ_CST);
    __atomic_store_n(&left, n, __ATOMIC_SEQ_CST);
}

long
failalloc_disarm(void)
{
    __atomic_store_n(&left, -1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&hits, __ATOMIC_SEQ_CST);
}

long
failalloc_sweep(const struct failalloc_case *c)
{
    long points = 0;

    for (long n = 0; n < FAILALLOC_MAX_POINTS; n++) {
        long failed = 0;

        for (int pass = 0; pass < 2; pass++) {
            int rc;

            failalloc_arm(n, pass == 1);
            rc = c->run(c->ctx);
            failed = failalloc_disarm();
            c->check(c->ctx, rc, failed > 0);
        }
        if (failed == 0)
            return points;
        points++;
    }
    fprintf(stderr, "%s: still failing after %d points\n", c->what, FAILALLOC_MAX_POINTS);
    CHECK(false);
    return points;
}
