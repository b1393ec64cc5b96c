/* kube/klease.h -- leader election on a coordination.k8s.io/v1 Lease, with
 * client-go's semantics.
 *
 *   - Acquire: GET the Lease; create it if absent; take it over if
 *     holderIdentity is empty or its renewTime + leaseDurationSeconds has
 *     passed (judged by OUR clock from when we last saw the record change,
 *     as client-go does, so clock skew between nodes does not matter);
 *     leaseTransitions is incremented on takeover.  Every write is an UPDATE
 *     carrying the observed resourceVersion, so two candidates cannot both win.
 *   - Renew every retry_ms while leading.  If no renewal succeeded within
 *     renew_deadline_ms, leadership is lost: on_stopped_leading() is called
 *     once (the controller exits 1 there so the pod restarts).
 *   - Release (klease_stop with release): a leader writes holderIdentity ""
 *     and leaseDurationSeconds 1 so a successor takes over at once.
 * Defaults are upstream's: lease 15s, renew deadline 10s, retry 5s.
 *
 * Use a DEDICATED kclient (its own token bucket) so renewals never wait
 * behind controller traffic.  A leader's Lease request may take what is left
 * of its renew deadline, a candidate's the whole renew deadline (at least
 * 200 ms; the client's timeout if shorter), so a slow API server does not
 * cost the lease while a hung one cannot hold a renewal past the deadline.
 * The release at klease_stop is limited to retry_ms.
 *
 * Threading: klease_start() runs the loop on its own thread; the callbacks
 * run on it.  klease_is_leader()/klease_last_renew_ms() are thread-safe.
 * Ownership: the client is borrowed; opts strings are copied.
 */
#ifndef SC_KLEASE_H
#define SC_KLEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/sc_err.h"
#include "kube/kclient.h"

struct klease_opts {
    const char *ns;            /* Lease namespace */
    const char *name;          /* "snapshot-controller-leader" (sanitise with klease_sanitize) */
    const char *identity;      /* hostname, sanitised */
    int64_t lease_ms;          /* 0 = 15000 */
    int64_t renew_deadline_ms; /* 0 = 10000 */
    int64_t retry_ms;          /* 0 = 5000 */
    struct clock clock;        /* zeroed = clock_system() */
    void *ctx;
    void (*on_started_leading)(void *ctx);                  /* start informers and workers */
    void (*on_stopped_leading)(void *ctx);                  /* lost the lease: exit(1) */
    void (*on_new_leader)(void *ctx, const char *identity); /* may be NULL */
    void (*on_error)(void *ctx, const struct sc_err *err);  /* NULL = log_warnx */
};

struct klease;

struct klease *klease_new(struct kclient *c, const struct klease_opts *o, struct sc_err *err);
int klease_start(struct klease *l, struct sc_err *err);
/* Stop the loop; if release and we lead, give the Lease up.  Does not call
 * on_stopped_leading.  Idempotent. */
void klease_stop(struct klease *l, bool release);
void klease_free(struct klease *l); /* stops (without release) first; NULL-safe */

/* One acquire-or-renew attempt without the thread (tests; the loop uses it).
 * Returns 1 if we hold the lease afterwards, 0 if someone else does, or an
 * error. */
int klease_try(struct klease *l, struct sc_err *err);

bool klease_is_leader(struct klease *l);
/* Monotonic ms of the last successful acquire/renew (0 = never), for the
 * /healthz/leader-election check. */
int64_t klease_last_renew_ms(struct klease *l);

/* Upstream's name sanitiser: every char outside [a-zA-Z0-9-] becomes '-',
 * and a trailing '-' gets an 'X' appended.  SC_ETOOBIG if out is too small. */
int klease_sanitize(const char *in, char *out, size_t cap);

#endif
