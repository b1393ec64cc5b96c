/* kube/klease.c -- Lease-based leader election (klease.h). */
#include "kube/klease.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/thread.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"

#define KLEASE_ID_MAX 256

struct klease {
    struct kclient *c;
    char *ns, *name, *identity;
    int64_t lease_ms, renew_deadline_ms, retry_ms;
    struct clock clock;
    struct klease_opts cb; /* callbacks and ctx only */
    char path[KPATH_MAX];

    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, started, joined, leader;
    int64_t last_renew; /* mono ms */
    pthread_t thread;

    /* loop state (thread or klease_try caller) */
    char observed_rv[64];
    char observed_holder[KLEASE_ID_MAX];
    int64_t observed_at;     /* mono ms when the record last changed */
    int64_t observed_dur_ms; /* the holder's leaseDurationSeconds, in ms */
};

int
klease_sanitize(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in), k;

    if (n + 2 > cap)
        return SC_ETOOBIG;
    for (k = 0; k < n; k++) {
        char ch = in[k];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-';
        if (ok)
            out[k] = ch;
        else
            out[k] = '-';
    }
    if (k > 0 && out[k - 1] == '-')
        out[k++] = 'X';
    out[k] = '\0';
    return 0;
}

struct klease *
klease_new(struct kclient *c, const struct klease_opts *o, struct sc_err *err)
{
    struct klease *l = NULL;
    pthread_condattr_t ca;
    int rc;

    if (c == NULL || o == NULL || o->ns == NULL || o->name == NULL || o->identity == NULL ||
        o->identity[0] == '\0' || strlen(o->identity) >= KLEASE_ID_MAX) {
        sc_err_set(err, SC_EINVALID, "klease: client, namespace, name and identity are required");
        return NULL;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        sc_err_set(err, SC_ENOMEM, "klease: out of memory");
        return NULL;
    }
    l->c = c;
    l->ns = strdup(o->ns);
    l->name = strdup(o->name);
    l->identity = strdup(o->identity);
    l->lease_ms = o->lease_ms > 0 ? o->lease_ms : 15000;
    l->renew_deadline_ms = o->renew_deadline_ms > 0 ? o->renew_deadline_ms : 10000;
    l->retry_ms = o->retry_ms > 0 ? o->retry_ms : 5000;
    l->clock = o->clock.mono_ms ? o->clock : clock_system();
    l->cb = *o;
    l->cb.ns = l->cb.name = l->cb.identity = NULL;
    rc = kpath(l->path, sizeof(l->path), "coordination.k8s.io", "v1", "leases", o->ns, o->name,
               NULL);
    if (l->ns == NULL || l->name == NULL || l->identity == NULL || rc != 0) {
        sc_err_set(err, rc ? rc : SC_ENOMEM, "klease: bad lease name or out of memory");
        free(l->ns);
        free(l->name);
        free(l->identity);
        free(l);
        return NULL;
    }
    if (l->lease_ms <= l->renew_deadline_ms || l->renew_deadline_ms <= l->retry_ms) {
        sc_err_set(err, SC_EINVALID, "klease: need lease duration > renew deadline > retry period");
        free(l->ns);
        free(l->name);
        free(l->identity);
        free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    return l;
}

/* MicroTime: 2006-01-02T15:04:05.000000Z */
static void
micro_time(int64_t wall_ms, char *out, size_t cap)
{
    time_t s = (time_t)(wall_ms / 1000);
    struct tm tm = {0};
    gmtime_r(&s, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%.20s.%06dZ", date, (int)(wall_ms % 1000) * 1000);
}

static json_t *
lease_body(struct klease *l, const char *rv, const char *holder, int64_t dur_s, const char *acquire,
           const char *renew, int64_t transitions)
{
    json_t *b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:I, s:s, s:s, s:I}}", "apiVersion",
                          "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", l->name,
                          "namespace", l->ns, "spec", "holderIdentity", holder,
                          "leaseDurationSeconds", (json_int_t)dur_s, "acquireTime", acquire,
                          "renewTime", renew, "leaseTransitions", (json_int_t)transitions);
    if (b != NULL && rv != NULL)
        json_object_set_new(json_object_get(b, "metadata"), "resourceVersion", json_string(rv));
    return b;
}

static void
note_leader(struct klease *l, const char *holder)
{
    if (strcmp(holder, l->observed_holder) != 0) {
        snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", holder);
        if (l->cb.on_new_leader && holder[0])
            l->cb.on_new_leader(l->cb.ctx, holder);
    }
}

/* We wrote the Lease: remember its new resourceVersion. */
static void
note_written(struct klease *l, const json_t *out, int64_t now_mono)
{
    struct kjson r = {0};
    const char *rv;

    kjson_init(&r, out, NULL);
    rv = kjson_str(&r, "metadata.resourceVersion");
    snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", rv ? rv : "");
    l->observed_at = now_mono;
    note_leader(l, l->identity);
}

/* How long one lease request may take: a leader may use what is left of
 * its renew deadline (client-go bounds the whole renewal by it), a
 * candidate the whole renew deadline; never under LEASE_REQ_MIN_MS.  The
 * retry period is only the pause between attempts: as a request timeout it
 * lost the lease on every API server that needed over a second. */
#define LEASE_REQ_MIN_MS 200

static int64_t
req_deadline(struct klease *l, int64_t now)
{
    int64_t left;

    pthread_mutex_lock(&l->mu);
    left = l->leader ? l->last_renew + l->renew_deadline_ms - now : l->renew_deadline_ms;
    pthread_mutex_unlock(&l->mu);
    return now + (left < LEASE_REQ_MIN_MS ? LEASE_REQ_MIN_MS : left);
}

static int64_t
req_ms(struct klease *l, int64_t deadline)
{
    int64_t left = deadline - clock_mono_ms(&l->clock);

    return left < LEASE_REQ_MIN_MS ? LEASE_REQ_MIN_MS : left;
}

static int
lease_create(struct klease *l, const char *now_s, int64_t now_mono, int64_t deadline,
             struct sc_err *err)
{
    char coll[KPATH_MAX];
    json_t *body, *out = NULL;
    int rc;

    kpath(coll, sizeof(coll), "coordination.k8s.io", "v1", "leases", l->ns, NULL, NULL);
    body = lease_body(l, NULL, l->identity, l->lease_ms / 1000, now_s, now_s, 0);
    if (body == NULL)
        return sc_err_set(err, SC_ENOMEM, "lease: out of memory");
    rc = kclient_request_timeout(l->c, "POST", coll, body, &out, req_ms(l, deadline), err);
    json_decref(body);
    if (rc != 0)
        return rc == SC_EEXIST ? 0 : rc; /* another candidate created it first */
    note_written(l, out, now_mono);
    json_decref(out);
    return 1;
}

/* The Lease as read, fields borrowed from its JSON. */
struct lease_rec {
    const char *rv, *holder, *acquire;
    int64_t dur_s, transitions;
};

static int
read_lease(struct klease *l, const json_t *cur, struct lease_rec *rec, struct sc_err *err)
{
    struct kjson r = {0};

    kjson_init(&r, cur, err);
    rec->rv = kjson_str_req(&r, "metadata.resourceVersion");
    rec->holder = kjson_str(&r, "spec.holderIdentity");
    rec->dur_s = kjson_int(&r, "spec.leaseDurationSeconds", 0);
    rec->acquire = kjson_str(&r, "spec.acquireTime");
    rec->transitions = kjson_int(&r, "spec.leaseTransitions", 0);
    if (kjson_error(&r) != 0)
        return sc_err_wrap(err, SC_EPROTO, "lease %s/%s", l->ns, l->name);
    if (rec->holder == NULL)
        rec->holder = "";
    return 0;
}

int
klease_try(struct klease *l, struct sc_err *err)
{
    json_t *cur = NULL, *body, *out = NULL;
    struct lease_rec rec = {0};
    char now_s[40];
    int64_t now_mono = clock_mono_ms(&l->clock);
    int64_t deadline = req_deadline(l, now_mono);
    int rc;

    micro_time(clock_wall_ms(&l->clock), now_s, sizeof(now_s));
    rc = kclient_request_timeout(l->c, "GET", l->path, NULL, &cur, req_ms(l, deadline), err);
    if (rc == SC_ENOTFOUND)
        return lease_create(l, now_s, now_mono, deadline, err);
    if (rc != 0)
        return rc;
    if ((rc = read_lease(l, cur, &rec, err)) != 0) {
        json_decref(cur);
        return rc;
    }
    if (strcmp(rec.rv, l->observed_rv) != 0) {
        snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", rec.rv);
        l->observed_at = now_mono;
    }
    note_leader(l, rec.holder);
    l->observed_dur_ms = rec.dur_s * 1000;
    bool mine = strcmp(rec.holder, l->identity) == 0;
    if (!mine && rec.holder[0] != '\0' && l->observed_at + rec.dur_s * 1000 > now_mono) {
        json_decref(cur);
        return 0; /* held by someone else and not expired */
    }
    body = lease_body(l, rec.rv, l->identity, l->lease_ms / 1000,
                      (mine && rec.acquire) ? rec.acquire : now_s, now_s,
                      mine ? rec.transitions : rec.transitions + 1);
    json_decref(cur);
    if (body == NULL)
        return sc_err_set(err, SC_ENOMEM, "lease: out of memory");
    rc = kclient_request_timeout(l->c, "PUT", l->path, body, &out, req_ms(l, deadline), err);
    json_decref(body);
    if (rc == SC_ECONFLICT)
        return 0; /* someone else wrote first */
    if (rc != 0)
        return rc;
    note_written(l, out, now_mono);
    json_decref(out);
    return 1;
}

static bool
nap(struct klease *l, int64_t ms)
{
    struct timespec ts = {0};
    bool stop;

    kts_after_ms(&ts, ms);
    pthread_mutex_lock(&l->mu);
    while (!l->stop && pthread_cond_timedwait(&l->cv, &l->mu, &ts) == 0)
        ;
    stop = l->stop;
    pthread_mutex_unlock(&l->mu);
    return stop;
}

static void
report(struct klease *l, struct sc_err *e)
{
    if (l->cb.on_error)
        l->cb.on_error(l->cb.ctx, e);
    else
        log_warnx("leader election %s/%s: %s", l->ns, l->name, e->msg);
}

/* Until we hold the Lease: true when acquired, false when stopping. */
static bool
acquire_loop(struct klease *l)
{
    for (;;) {
        struct sc_err e = {0};
        int rc = klease_try(l, &e);
        if (rc == 1)
            return true;
        if (rc < 0)
            report(l, &e);
        /* client-go jitters the retry period by up to 20%.  If the holder's
         * lease (as we observed it) runs out sooner, try right then. */
        int64_t wait = l->retry_ms + (int64_t)(krand64() % (uint64_t)(l->retry_ms / 5 + 1));
        if (rc == 0 && l->observed_dur_ms > 0) {
            int64_t expiry = l->observed_at + l->observed_dur_ms - clock_mono_ms(&l->clock);
            if (expiry >= 0 && expiry + 50 < wait)
                wait = expiry + 50;
        }
        if (nap(l, wait))
            return false;
    }
}

/* One renewal, retried quickly until it works or the renew deadline passes
 * (or another holder appears).  0 renewed, 1 lost, -1 stopping. */
static int
renew_once(struct klease *l)
{
    for (;;) {
        struct sc_err e = {0};
        int rc = klease_try(l, &e);
        int64_t now = clock_mono_ms(&l->clock);
        if (rc == 1) {
            pthread_mutex_lock(&l->mu);
            l->last_renew = now;
            pthread_mutex_unlock(&l->mu);
            return 0;
        }
        if (rc < 0)
            report(l, &e);
        pthread_mutex_lock(&l->mu);
        bool late = now - l->last_renew >= l->renew_deadline_ms;
        bool taken = rc == 0 && strcmp(l->observed_holder, l->identity) != 0;
        if (late || taken)
            l->leader = false;
        pthread_mutex_unlock(&l->mu);
        if (late || taken) {
            struct sc_err le = {0};
            sc_err_set(&le, SC_ETIMEOUT, "lost lease %s/%s: %s", l->ns, l->name,
                       late ? "renew deadline passed" : "another candidate holds it");
            report(l, &le);
            return 1;
        }
        if (nap(l, l->retry_ms / 4 > 200 ? l->retry_ms / 4 : 200))
            return -1;
    }
}

static void *
run(void *arg)
{
    struct klease *l = arg;

    if (!acquire_loop(l))
        return NULL;
    pthread_mutex_lock(&l->mu);
    l->leader = true;
    l->last_renew = clock_mono_ms(&l->clock);
    pthread_mutex_unlock(&l->mu);
    if (l->cb.on_started_leading)
        l->cb.on_started_leading(l->cb.ctx);
    for (;;) {
        if (nap(l, l->retry_ms))
            return NULL;
        int rc = renew_once(l);
        if (rc < 0)
            return NULL;
        if (rc > 0) {
            if (l->cb.on_stopped_leading)
                l->cb.on_stopped_leading(l->cb.ctx);
            return NULL;
        }
    }
}

int
klease_start(struct klease *l, struct sc_err *err)
{
    if (l->started)
        return sc_err_set(err, SC_EINVALID, "klease: already started");
    l->started = true;
    if (thread_start(&l->thread, "sc-lease", THREAD_STACK_CLIENT, run, l) != 0) {
        l->started = false;
        return sc_err_set(err, SC_ENOMEM, "klease: cannot start thread");
    }
    return 0;
}

void
klease_stop(struct klease *l, bool release)
{
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    if (l->started && !l->joined) {
        pthread_join(l->thread, NULL);
        l->joined = true;
    }
    if (release && klease_is_leader(l)) {
        json_t *cur = NULL, *body;
        char now_s[40];
        if (kclient_request_timeout(l->c, "GET", l->path, NULL, &cur, l->retry_ms, NULL) == 0) {
            struct kjson r = {0};
            kjson_init(&r, cur, NULL);
            const char *rv = kjson_str(&r, "metadata.resourceVersion");
            const char *holder = kjson_str(&r, "spec.holderIdentity");
            int64_t trans = kjson_int(&r, "spec.leaseTransitions", 0);
            if (rv && holder && strcmp(holder, l->identity) == 0) {
                micro_time(clock_wall_ms(&l->clock), now_s, sizeof(now_s));
                body = lease_body(l, rv, "", 1, now_s, now_s, trans);
                if (body != NULL)
                    kclient_request_timeout(l->c, "PUT", l->path, body, NULL, l->retry_ms, NULL);
                json_decref(body);
            }
            json_decref(cur);
        }
        pthread_mutex_lock(&l->mu);
        l->leader = false;
        pthread_mutex_unlock(&l->mu);
    }
}

void
klease_free(struct klease *l)
{
    if (l == NULL)
        return;
    klease_stop(l, false);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}

bool
klease_is_leader(struct klease *l)
{
    bool b;
    pthread_mutex_lock(&l->mu);
    b = l->leader;
    pthread_mutex_unlock(&l->mu);
    return b;
}

int64_t
klease_last_renew_ms(struct klease *l)
{
    int64_t v;
    pthread_mutex_lock(&l->mu);
    v = l->last_renew;
    pthread_mutex_unlock(&l->mu);
    return v;
}
