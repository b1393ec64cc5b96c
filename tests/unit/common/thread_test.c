/* Unit tests for common/thread.c: a named thread with its stack size, and
 * thread_cpus() following the affinity mask as a container's cpuset does. */
#include "common/thread.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/harness.h"

struct seen {
    atomic_int named; /* thread_start() has returned: the name is set */
    size_t size;
    char name[16];
};

/* The thread reports on itself (its name is readable only while it runs),
 * once thread_start(), which names it after pthread_create(), returned. */
static void *
report(void *arg)
{
    struct seen *s = arg;
    pthread_attr_t attr;

    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstacksize(&attr, &s->size);
        pthread_attr_destroy(&attr);
    }
    while (!atomic_load(&s->named))
        usleep(1000);
    pthread_getname_np(pthread_self(), s->name, sizeof(s->name));
    return NULL;
}

static void
test_named_thread_with_its_stack(void)
{
    pthread_t t;
    struct seen s = {0};

    CHECK_INT(thread_start(&t, "sc-test-thread-long-name", THREAD_STACK_SMALL, report, &s), 0);
    atomic_store(&s.named, 1);
    pthread_join(t, NULL);
    CHECK_STR(s.name, "sc-test-thread-"); /* cut to 15 bytes */
    CHECK(s.size >= THREAD_STACK_SMALL);  /* at least the size asked (x4 under a sanitizer) */
    CHECK(s.size <= 4 * THREAD_STACK_SMALL);
}

static void
test_cpus_follow_the_affinity_mask(void)
{
    cpu_set_t all, one;
    int first = -1;

    CPU_ZERO(&all);
    CHECK_INT(sched_getaffinity(0, sizeof(all), &all), 0);
    CHECK_INT(thread_cpus(), CPU_COUNT(&all));
    for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
        if (CPU_ISSET(i, &all))
            first = i;
    CHECK(first >= 0);
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK_INT(sched_setaffinity(0, sizeof(one), &one), 0); /* as a one-CPU cpuset */
    CHECK_INT(thread_cpus(), 1);
    CHECK_INT(sched_setaffinity(0, sizeof(all), &all), 0);
    CHECK_INT(thread_cpus(), CPU_COUNT(&all));
}

TEST_MAIN(TEST(test_named_thread_with_its_stack), TEST(test_cpus_follow_the_affinity_mask))
