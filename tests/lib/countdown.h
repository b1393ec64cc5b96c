/* tests/lib/countdown.h -- the counter behind the failing allocators that
 * tests install in a library (jansson in tests/unit/controller/
 * alloc_fail_test.c, SQLite in tests/unit/state/state_alloc_test.c): let N
 * allocations through, fail the next one, count the failures.  Header-only;
 * the counter is a static of the test binary (the harness runs each test in
 * its own child process). */
#ifndef SC_TESTS_COUNTDOWN_H
#define SC_TESTS_COUNTDOWN_H

#include <stdbool.h>

struct countdown {
    long left; /* allocations until the failing one; -1: never fail */
    long hit;  /* failures since countdown_arm() */
};

#define COUNTDOWN_OFF \
    {                 \
        -1, 0         \
    }

/* One allocation: true when this one must fail. */
static inline bool
countdown_fails(struct countdown *c)
{
    if (c->left == 0) {
        c->hit++;
        return true;
    }
    if (c->left > 0)
        c->left--;
    return false;
}

/* Let n allocations succeed, then fail every later one until disarmed. */
static inline void
countdown_arm(struct countdown *c, long n)
{
    c->hit = 0;
    c->left = n;
}

static inline void
countdown_disarm(struct countdown *c)
{
    c->left = -1;
}

#endif
