/* controller/starter.h -- the controller thread that leadership starts.
 *
 * The lease thread calls starter_launch() when this replica wins the lease;
 * ctrl_stop() calls starter_stop().  The two may race (leadership won while
 * the process stops): once starter_stop() has begun, starter_launch()
 * refuses, and starter_stop() joins any thread that was launched before, so
 * no controller thread outlives its ctrl.
 *
 * Threading: every function is safe to call from any thread.  Ownership:
 * the caller owns the struct (embedded, no allocation); arg is borrowed.
 */
#ifndef SC_STARTER_H
#define SC_STARTER_H

#include <pthread.h>
#include <stdbool.h>

struct starter {
    pthread_mutex_t mu;
    pthread_t th;
    bool launched; /* th is a thread to join */
    bool stopped;  /* starter_stop() has begun: launch no more */
};

/* 0, or SC_ENOMEM when the mutex cannot be made. */
int starter_init(struct starter *s);
/* Needs starter_stop() first. */
void starter_destroy(struct starter *s);
/* Run fn(arg) on a new thread, at most once.  0 when started; SC_ESHUTDOWN
 * when starter_stop() has begun or a thread was already launched; SC_EIO
 * when the thread cannot be created. */
int starter_launch(struct starter *s, void *(*fn)(void *), void *arg);
/* Refuse later launches and join the launched thread, if any.  Idempotent. */
void starter_stop(struct starter *s);

#endif
