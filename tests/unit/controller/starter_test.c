/* controller/starter.c: leadership won while the controller stops must not
 * leave a controller thread running after ctrl_stop() (issue 14).  Run the
 * race under ThreadSanitizer with `make tsan`. */
#include "controller/starter.h"

#include <pthread.h>
#include <stdlib.h>

#include "common/sc_err.h"
#include "tests/lib/harness.h"

struct world { /* what a controller thread touches: freed after stop, as ctrl_free does */
    int entered;
    int exited;
};

static void *
controller_main(void *arg)
{
    struct world *w = arg;

    __atomic_add_fetch(&w->entered, 1, __ATOMIC_ACQ_REL);
    __atomic_add_fetch(&w->exited, 1, __ATOMIC_ACQ_REL);
    return NULL;
}

static void
test_launch_then_stop_joins(void)
{
    struct starter s = {0};
    struct world w = {0};

    CHECK_INT(starter_init(&s), 0);
    CHECK_INT(starter_launch(&s, controller_main, &w), 0);
    starter_stop(&s);
    CHECK_INT(__atomic_load_n(&w.exited, __ATOMIC_ACQUIRE), 1);
    /* a second stop is harmless, a second launch refused */
    starter_stop(&s);
    CHECK_INT(starter_launch(&s, controller_main, &w), SC_ESHUTDOWN);
    CHECK_INT(w.entered, 1);
    starter_destroy(&s);
}

/* Leadership won after ctrl_stop() went past its check: refused. */
static void
test_launch_after_stop_refused(void)
{
    struct starter s = {0};
    struct world w = {0};

    CHECK_INT(starter_init(&s), 0);
    starter_stop(&s);
    CHECK_INT(starter_launch(&s, controller_main, &w), SC_ESHUTDOWN);
    starter_stop(&s);
    CHECK_INT(__atomic_load_n(&w.entered, __ATOMIC_ACQUIRE), 0);
    starter_destroy(&s);
}

struct race {
    struct starter *s;
    struct world *w;
    int rc;
};

static void *
lease_thread(void *arg)
{
    struct race *r = arg;

    r->rc = starter_launch(r->s, controller_main, r->w);
    return NULL;
}

/* The lease thread wins leadership while the main thread stops: whichever
 * comes first, no launched thread is left unjoined when stop returns. */
static void
test_launch_races_stop(void)
{
    int i, bad = 0;

    for (i = 0; i < 300; i++) {
        struct starter s = {0};
        struct world *w = calloc(1, sizeof(*w));
        struct race r = {&s, w, 0};
        pthread_t lt;
        int exited;

        CHECK(w != NULL);
        if (w == NULL)
            return;
        CHECK_INT(starter_init(&s), 0);
        CHECK_INT(pthread_create(&lt, NULL, lease_thread, &r), 0);
        starter_stop(&s);
        exited = __atomic_load_n(&w->exited, __ATOMIC_ACQUIRE);
        pthread_join(lt, NULL); /* klease_stop() joins the lease thread */
        if (r.rc == 0 && exited != 1)
            bad++;
        if (r.rc != 0)
            CHECK_INT(r.rc, SC_ESHUTDOWN);
        starter_stop(&s);
        starter_destroy(&s);
        free(w);
    }
    CHECK_INT(bad, 0);
}

TEST_MAIN(TEST(test_launch_then_stop_joins), TEST(test_launch_after_stop_refused),
          TEST(test_launch_races_stop))
