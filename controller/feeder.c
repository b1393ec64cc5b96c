/* controller/feeder.c -- a pass for every cached object, paced (feeder.h). */
#include "controller/feeder.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/thread.h"
#include "kube/kinformer.h"
#include "kube/kworkq.h"

/* One source's walk: its table's items (acquired), the next to queue. */
struct walk {
    struct kitem **all;
    size_t n, at;
    bool initial;
};

struct feeder {
    struct feeder_src src[FEEDER_MAX_SRC];
    int n;
    int req[FEEDER_MAX_SRC]; /* atomic: walk source i (again) */
    bool walked[FEEDER_MAX_SRC];
    const char *keys[FEEDER_HIGH]; /* a top-up's keys, borrowed from its items */
    struct feeder_hooks h;
    size_t queued;      /* keys since the last walked hook */
    bool retry;         /* a table could not be listed: look again after a poll */
    int walking;        /* atomic: a walk has keys left */
    int stop;           /* atomic */
    pthread_mutex_t mu; /* with cv: an idle feeder sleeps until a request or the stop */
    pthread_cond_t cv;
    pthread_t th;
};

static bool
stopping(struct feeder *f)
{
    return __atomic_load_n(&f->stop, __ATOMIC_ACQUIRE) != 0;
}

static void
walk_end(struct walk *w)
{
    for (; w->at < w->n; w->at++)
        kitem_release(w->all[w->at]);
    free(w->all);
    *w = (struct walk){0};
}

/* Start the walks asked for, where none runs. */
static void
begin(struct feeder *f, struct walk *w)
{
    for (int i = 0; i < f->n; i++) {
        if (w[i].at < w[i].n || !__atomic_exchange_n(&f->req[i], 0, __ATOMIC_ACQ_REL))
            continue;
        walk_end(&w[i]);
        if (kinformer_list(f->src[i].inf, &w[i].all, &w[i].n) != 0) {
            w[i] = (struct walk){0};
            __atomic_store_n(&f->req[i], 1, __ATOMIC_RELEASE); /* after a poll */
            f->retry = true;
            continue;
        }
        w[i].initial = !f->walked[i];
        f->walked[i] = true;
    }
}

/* Top up every queue below FEEDER_LOW; true while a walk has keys left. */
static bool
step(struct feeder *f, struct walk *w)
{
    bool left = false;

    for (int i = 0; i < f->n; i++) {
        const struct feeder_src *s = &f->src[i];
        size_t len = 0;

        if (w[i].at >= w[i].n)
            continue;
        len = kworkq_len(s->q);
        if (len < FEEDER_LOW) {
            size_t from = w[i].at, nk = 0;

            for (; len + nk < FEEDER_HIGH && w[i].at < w[i].n; w[i].at++) {
                const struct kitem *it = w[i].all[w[i].at];

                if (s->wanted == NULL || s->wanted(s->ctx, it, w[i].initial))
                    f->keys[nk++] = kitem_key(it);
            }
            /* a shutdown or want of memory: the keys are lost to this walk
             * only, as a watch event's would be; the next resync has them */
            (void)kworkq_add_batch(s->q, f->keys, nk, w[i].initial);
            for (size_t j = from; j < w[i].at; j++)
                kitem_release(w[i].all[j]);
            f->queued += nk;
        }
        if (w[i].at < w[i].n)
            left = true;
        else
            walk_end(&w[i]);
    }
    return left;
}

static bool
requested(struct feeder *f)
{
    for (int i = 0; i < f->n; i++)
        if (__atomic_load_n(&f->req[i], __ATOMIC_ACQUIRE))
            return true;
    return false;
}

/* Idle: no wakeups until a request or the stop (both signal under mu). */
static void
idle(struct feeder *f)
{
    pthread_mutex_lock(&f->mu);
    while (!stopping(f) && !requested(f))
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

static void *
feeder_main(void *arg)
{
    struct feeder *f = arg;
    struct walk w[FEEDER_MAX_SRC] = {0};

    while (!stopping(f)) {
        bool left;

        f->retry = false;
        begin(f, w);
        left = step(f, w);
        __atomic_store_n(&f->walking, left, __ATOMIC_RELEASE);
        if (!left && f->queued > 0) {
            if (f->h.walked != NULL)
                f->h.walked(f->h.ctx, f->queued);
            f->queued = 0;
        }
        if (left || f->retry)
            usleep((useconds_t)(left ? FEEDER_WAIT_MS : FEEDER_POLL_MS) * 1000);
        else
            idle(f);
    }
    for (int i = 0; i < f->n; i++)
        walk_end(&w[i]);
    return NULL;
}

struct feeder *
feeder_start(const struct feeder_src *src, int n, const struct feeder_hooks *h, struct sc_err *err)
{
    struct feeder *f = NULL;
    int rc;

    if (n < 0 || n > FEEDER_MAX_SRC) {
        sc_err_set(err, SC_EINVALID, "feeder: %d sources", n);
        return NULL;
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL) {
        sc_err_set(err, SC_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(f->src, src, (size_t)n * sizeof(*src));
    f->n = n;
    if (h != NULL)
        f->h = *h;
    for (int i = 0; i < n; i++)
        f->req[i] = 1;
    f->walking = n > 0; /* until the first step says otherwise */
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    rc = thread_start(&f->th, "feeder", THREAD_STACK_SMALL, feeder_main, f);
    if (rc != 0) {
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->cv);
        free(f);
        sc_err_set(err, SC_EIO, "feeder: cannot start its thread: %s", strerror(rc));
        return NULL;
    }
    return f;
}

void
feeder_request(struct feeder *f, int i)
{
    if (f == NULL || i < 0 || i >= f->n)
        return;
    __atomic_store_n(&f->req[i], 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&f->mu);
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

bool
feeder_walking(const struct feeder *f)
{
    return f != NULL && __atomic_load_n(&f->walking, __ATOMIC_ACQUIRE) != 0;
}

void
feeder_stop(struct feeder *f)
{
    if (f == NULL)
        return;
    __atomic_store_n(&f->stop, 1, __ATOMIC_RELEASE);
    pthread_mutex_lock(&f->mu);
    pthread_cond_signal(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->th, NULL);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
