/* tests/lib/failalloc.h -- make our own allocations fail, in test binaries only.
 *
 * A unit test named *_oom_test is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * and tests/lib/failalloc.o (the Makefile's OOM_UNITS): every such call made
 * by OUR objects (the component libraries, the test, the harness) goes
 * through the wrappers here.  Shared libraries (jansson, SQLite, libc) keep
 * their allocator: tests/unit/controller/alloc_fail_test.c and
 * tests/unit/state/state_alloc_test.c inject those.  Production code has no
 * hook and no global state for this.
 *
 * failalloc_sweep() runs an operation with the 1st, 2nd, ... allocation
 * failing until a run reaches no failure.  The counters are process state of
 * the test binary (the harness runs every test in its own child process).
 */
#ifndef SC_TESTS_FAILALLOC_H
#define SC_TESTS_FAILALLOC_H

#include <stdbool.h>

/* Let n allocations succeed, then fail the next one (n = 0: the very next);
 * with keep_failing, also every later one until disarmed. */
void failalloc_arm(long n, bool keep_failing);
/* Stop failing; returns how many allocations failed since failalloc_arm(). */
long failalloc_disarm(void);

/* One operation under test.  run() performs it once and returns its result
 * code (0 = success); check() is then called with that code and whether an
 * allocation failed during the run, verifies the outcome (an error with a
 * message, or exactly the normal result) and releases what run() made. */
struct failalloc_case {
    const char *what;
    int (*run)(void *ctx);
    void (*check)(void *ctx, int rc, bool failed);
    void *ctx;
};

/* Run c with allocation 1, 2, ... failing until a run sees no failure (at
 * most FAILALLOC_MAX_POINTS); returns the number of failure points (values of
 * N that reached a failure).  Each point runs twice: failing only the Nth
 * allocation (an ignored failure then shows as a wrong result, as later
 * allocations succeed), and failing the Nth and every later one (error paths
 * that allocate). */
#define FAILALLOC_MAX_POINTS 100000
long failalloc_sweep(const struct failalloc_case *c);

#endif
