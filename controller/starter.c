#include "controller/starter.h"

#include "common/sc_err.h"
#include "common/thread.h"

int
starter_init(struct starter *s)
{
    s->launched = false;
    s->stopped = false;
    return pthread_mutex_init(&s->mu, NULL) == 0 ? 0 : SC_ENOMEM;
}

void
starter_destroy(struct starter *s)
{
    pthread_mutex_destroy(&s->mu);
}

int
starter_launch(struct starter *s, void *(*fn)(void *), void *arg)
{
    int rc = 0;

    pthread_mutex_lock(&s->mu);
    if (s->stopped || s->launched)
        rc = SC_ESHUTDOWN;
    else if (thread_start(&s->th, "sc-starter", THREAD_STACK_CLIENT, fn, arg) != 0)
        rc = SC_EIO;
    else
        s->launched = true;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void
starter_stop(struct starter *s)
{
    bool join;

    pthread_mutex_lock(&s->mu);
    s->stopped = true;
    join = s->launched;
    s->launched = false;
    pthread_mutex_unlock(&s->mu);
    /* outside the lock: the thread may not need it, but a launch racing
     * this stop must see stopped without waiting for the join */
    if (join)
        pthread_join(s->th, NULL);
}
