/* common/thread.h -- every thread of the project is started here: with a
 * name (shown by top -H, gdb, /proc/PID/task/TID/comm) and a small stack
 * instead of glibc's default of RLIMIT_STACK (8 MiB of address space each).
 *
 * The stack sizes are named by what the thread runs.  Pages of a stack are
 * only resident once touched, so the size caps the address space and the
 * deepest call chain, not the resident memory.  Sanitizer builds get 4x:
 * their frames carry redzones.
 */
#ifndef SC_THREAD_H
#define SC_THREAD_H

#include <pthread.h>
#include <stddef.h>

/* Calls into libcurl, OpenSSL, jansson, SQLite or getaddrinfo. */
#define THREAD_STACK_CLIENT (256u << 10)
/* Only our own code and libc (timers, poll loops, the metrics server). */
#define THREAD_STACK_SMALL (128u << 10)

/* pthread_create with a stack of stack bytes (rounded up to the page size)
 * and name (cut to 15 bytes).  0, or the pthread_create error number. */
int thread_start(pthread_t *t, const char *name, size_t stack, void *(*fn)(void *), void *arg);

/* The CPUs this process may run on (its affinity mask, which a container's
 * cpuset narrows), at least 1. */
int thread_cpus(void);

#endif
