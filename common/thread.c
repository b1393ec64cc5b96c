#include "common/thread.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

/* -DTHREAD_STACK_SCALE=1 checks the plain sizes under a sanitizer. */
#ifdef THREAD_STACK_SCALE
#define STACK_SCALE THREAD_STACK_SCALE
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STACK_SCALE 4
#else
#define STACK_SCALE 1
#endif

int
thread_cpus(void)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 1)
        return 1;
    return CPU_COUNT(&set);
}

int
thread_start(pthread_t *t, const char *name, size_t stack, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    long page = sysconf(_SC_PAGESIZE);
    size_t pg = page > 0 ? (size_t)page : 4096;
    size_t size = (stack * STACK_SCALE + pg - 1) / pg * pg;
    char comm[16];
    int rc = pthread_attr_init(&attr);

    if (rc != 0)
        return rc;
    if (size < (size_t)PTHREAD_STACK_MIN)
        size = (size_t)PTHREAD_STACK_MIN;
    rc = pthread_attr_setstacksize(&attr, size);
    if (rc == 0)
        rc = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    if (rc == 0 && name != NULL) {
        snprintf(comm, sizeof(comm), "%s", name);
        pthread_setname_np(*t, comm); /* cosmetic: a failure changes nothing */
    }
    return rc;
}
