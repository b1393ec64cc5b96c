/* kube/krecorder.c -- core/v1 Event recorder (krecorder.h). */
#include "kube/krecorder.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmap.h"
#include "common/limits.h"
#include "common/log.h"
#include "common/thread.h"
#include "kube/kinternal.h"
#include "kube/kjson.h"

#define KREC_STR 256 /* api_version, kind, namespace, name, uid, rv, reason */

/* A queued event: one allocation of the exact size, freed once sent (a
 * fixed 2.8 KiB slot per queue entry made the ring resident as it turned). */
enum { P_API, P_KIND, P_NS, P_NAME, P_UID, P_RV, P_TYPE, P_REASON, P_MSG, P_N };
struct pending {
    const char *s[P_N];
    char buf[];
};

struct agg {
    char *key; /* uid \x1f type \x1f reason \x1f message */
    struct krec_entry e;
};

struct spam {
    char *key;
    double tokens;
    int64_t last_ms;
};

#define COMBINED_PREFIX "(combined from similar events): "

/* Distinct messages seen for one (object, type, reason) in the window. */
struct similar {
    char *key;
    int n;
    int64_t first_ms, last_ms;
    uint64_t msgs[]; /* similar_max of them: the table's entries are sized at start */
};

/* Neighbours of an entry in its table's use order. */
struct lru_link {
    uint32_t prev, next;
};

struct slots {
    struct hmap idx;      /* key -> its entry in base */
    char *base;           /* KREC_TABLE_MAX entries of elem bytes */
    struct lru_link *lru; /* per entry, plus the ring's head at LRU_HEAD */
    size_t elem, n;
};

struct krecorder {
    struct kclient *c;
    char *component, *rcomponent, *rinstance;
    int64_t window_ms, spam_refill_ms;
    int spam_burst;
    struct clock clock;
    struct krecorder_store store;
    void (*on_error)(void *ctx, const struct sc_err *err);
    void *error_ctx;

    pthread_mutex_t mu;
    pthread_cond_t cv, idle_cv;
    struct pending **q; /* ring of qmax (owned) */
    size_t qhead, qlen, qmax;
    bool busy, stop;
    pthread_t thread;
    bool started;

    pthread_mutex_t tmu; /* agg, spam and similar tables */
    struct slots aggs, spams, sims;
    int similar_max;
    struct krecorder_stats stats;
    char *replace[KREC_REPLACE_MAX]; /* replace-mode reasons (krecorder.h) */
    int n_replace;
};

static void *run(void *arg);

/* ---- LRU tables: KREC_TABLE_MAX entries, each starting with its key, found
 * through a hash map and kept in use order on a ring of indices (head's next:
 * the least recently used; found or added: moved to the end).  A full table
 * gives its least recently used slot to the new key.  tmu held. ---- */

#define LRU_HEAD KREC_TABLE_MAX

static const struct hmap_type slot_keys = {hmap_hash_str, hmap_str_eq, NULL, NULL, NULL};

static char *
slot_key(const struct slots *t, size_t i)
{
    return *(char **)(t->base + i * t->elem);
}

static void
lru_unlink(struct slots *t, uint32_t i)
{
    t->lru[t->lru[i].prev].next = t->lru[i].next;
    t->lru[t->lru[i].next].prev = t->lru[i].prev;
}

/* i becomes the most recently used. */
static void
lru_push(struct slots *t, uint32_t i)
{
    uint32_t last = t->lru[LRU_HEAD].prev;

    t->lru[i].prev = last;
    t->lru[i].next = LRU_HEAD;
    t->lru[last].next = i;
    t->lru[LRU_HEAD].prev = i;
}

static bool
slots_init(struct slots *t, size_t elem)
{
    /* one over the cap: a new key goes in before the evicted one leaves */
    hmap_init(&t->idx, &slot_keys, KREC_TABLE_MAX + 1);
    t->elem = elem;
    t->n = 0;
    t->base = calloc(KREC_TABLE_MAX, elem);
    t->lru = calloc(KREC_TABLE_MAX + 1, sizeof(*t->lru));
    if (t->lru != NULL)
        t->lru[LRU_HEAD].prev = t->lru[LRU_HEAD].next = LRU_HEAD;
    return t->base != NULL && t->lru != NULL;
}

static void
slots_free(struct slots *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(slot_key(t, i));
    hmap_free(&t->idx);
    free(t->base);
    free(t->lru);
    t->base = NULL;
    t->lru = NULL;
    t->n = 0;
}

/* key's entry, now the most recently used; NULL when absent. */
static void *
slots_find(struct slots *t, const char *key)
{
    char *e = hmap_get(&t->idx, key);
    uint32_t i;

    if (e == NULL)
        return NULL;
    i = (uint32_t)((size_t)(e - t->base) / t->elem);
    lru_unlink(t, i);
    lru_push(t, i);
    return e;
}

/* A new zeroed entry for key (absent), the most recently used: a free slot,
 * or the least recently used one's when full.  NULL out of memory (nothing
 * changed then). */
static void *
slots_add(struct slots *t, const char *key)
{
    uint32_t i = t->n < KREC_TABLE_MAX ? (uint32_t)t->n : t->lru[LRU_HEAD].next;
    char *k = strdup(key), *e = t->base + (size_t)i * t->elem;

    if (k == NULL)
        return NULL;
    if (hmap_put(&t->idx, k, e, NULL) != 0) {
        free(k);
        return NULL;
    }
    if (t->n < KREC_TABLE_MAX) {
        t->n++;
    } else { /* evict: its key leaves the index, its slot is reused */
        (void)hmap_del(&t->idx, slot_key(t, i), NULL);
        free(slot_key(t, i));
        lru_unlink(t, i);
    }
    memset(e, 0, t->elem);
    memcpy(e, &k, sizeof(k));
    lru_push(t, i);
    return e;
}

/* Settings with defaults; false when a copy could not be allocated. */
static bool
apply_opts(struct krecorder *r, const struct krecorder_opts *o)
{
    static const struct krecorder_opts none;

    if (o == NULL)
        o = &none;
    r->component = strdup(o->component ? o->component : "snapshot-controller");
    r->rcomponent = strdup(o->reporting_component ? o->reporting_component
                           : r->component         ? r->component
                                                  : "snapshot-controller");
    r->rinstance = strdup(o->reporting_instance ? o->reporting_instance : "");
    r->window_ms = o->window_ms > 0 ? o->window_ms : 600000;
    r->spam_burst = o->spam_burst > 0 ? o->spam_burst : 25;
    r->spam_refill_ms = o->spam_refill_ms > 0 ? o->spam_refill_ms : 300000;
    r->clock = o->clock.mono_ms ? o->clock : clock_system();
    r->store = o->store;
    r->on_error = o->on_error;
    r->error_ctx = o->error_ctx;
    r->similar_max = o->similar_max != 0 ? o->similar_max : 10;
    if (r->similar_max > KREC_SIMILAR_MAX)
        r->similar_max = KREC_SIMILAR_MAX;
    return r->component && r->rcomponent && r->rinstance;
}

/* How many replace-mode reasons o names: -1 when too many or one is empty. */
static int
count_replace(const struct krecorder_opts *o)
{
    int n = 0;

    if (o == NULL || o->replace_reasons == NULL)
        return 0;
    for (; o->replace_reasons[n] != NULL; n++)
        if (n == KREC_REPLACE_MAX || o->replace_reasons[n][0] == '\0')
            return -1;
    return n;
}

/* Copy the replace-mode reasons; false out of memory. */
static bool
copy_replace(struct krecorder *r, const struct krecorder_opts *o, int n)
{
    for (r->n_replace = 0; r->n_replace < n; r->n_replace++) {
        r->replace[r->n_replace] = strdup(o->replace_reasons[r->n_replace]);
        if (r->replace[r->n_replace] == NULL)
            return false;
    }
    return true;
}

static bool
is_replace(const struct krecorder *r, const char *reason)
{
    for (int i = 0; i < r->n_replace; i++)
        if (strcmp(r->replace[i], reason) == 0)
            return true;
    return false;
}

static void
free_parts(struct krecorder *r)
{
    free(r->component);
    free(r->rcomponent);
    free(r->rinstance);
    for (size_t i = 0; r->q != NULL && i < r->qlen; i++) /* left unsent */
        free(r->q[(r->qhead + i) % r->qmax]);
    free(r->q);
    for (int i = 0; i < r->n_replace; i++)
        free(r->replace[i]);
    slots_free(&r->aggs);
    slots_free(&r->spams);
    slots_free(&r->sims);
    free(r);
}

struct krecorder *
krecorder_new(struct kclient *c, const struct krecorder_opts *o, struct sc_err *err)
{
    struct krecorder *r = NULL;
    pthread_condattr_t ca;
    int n_replace = count_replace(o);

    if (c == NULL || n_replace < 0) {
        sc_err_set(err, SC_EINVALID,
                   c == NULL ? "krecorder: no client" : "krecorder: bad replace_reasons");
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        sc_err_set(err, SC_ENOMEM, "krecorder: out of memory");
        return NULL;
    }
    r->c = c;
    r->qmax = o != NULL && o->queue_max > 0 && o->queue_max < KREC_QUEUE_MAX ? (size_t)o->queue_max
                                                                             : KREC_QUEUE_MAX;
    r->q = calloc(r->qmax, sizeof(struct pending *)); /* the ring: pointers */
    if (!apply_opts(r, o) || !slots_init(&r->aggs, sizeof(struct agg)) ||
        !slots_init(&r->spams, sizeof(struct spam)) ||
        !slots_init(&r->sims,
                    sizeof(struct similar) +
                        (size_t)(r->similar_max > 0 ? r->similar_max : 0) * sizeof(uint64_t)) ||
        !r->q || !copy_replace(r, o, n_replace)) {
        free_parts(r);
        sc_err_set(err, SC_ENOMEM, "krecorder: out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->tmu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_cond_init(&r->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (thread_start(&r->thread, "sc-recorder", THREAD_STACK_CLIENT, run, r) != 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_mutex_destroy(&r->tmu);
        pthread_cond_destroy(&r->cv);
        pthread_cond_destroy(&r->idle_cv);
        free_parts(r);
        sc_err_set(err, SC_ENOMEM, "krecorder: cannot start thread");
        return NULL;
    }
    r->started = true;
    return r;
}

void
krecorder_free(struct krecorder *r)
{
    if (r == NULL)
        return;
    krecorder_flush(r, 5000);
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    if (r->started)
        pthread_join(r->thread, NULL);
    if (r->qlen > 0) {
        struct sc_err e = {0};
        sc_err_set(&e, SC_ETIMEOUT, "events: %zu queued events not sent (5 s flush at shutdown)",
                   r->qlen);
        if (r->on_error)
            r->on_error(r->error_ctx, &e);
        else
            log_warnx("%s", e.msg);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->tmu);
    pthread_cond_destroy(&r->cv);
    pthread_cond_destroy(&r->idle_cv);
    free_parts(r);
}

void
krecorder_get_stats(struct krecorder *r, struct krecorder_stats *out)
{
    pthread_mutex_lock(&r->tmu);
    *out = r->stats;
    pthread_mutex_unlock(&r->tmu);
    pthread_mutex_lock(&r->mu);
    out->queued = r->qlen;
    pthread_mutex_unlock(&r->mu);
}

/* ---- spam filter (tmu held) ------------------------------------------------------------ */

static bool
spam_allow(struct krecorder *r, const char *key)
{
    int64_t now = clock_mono_ms(&r->clock);
    struct spam *s = slots_find(&r->spams, key);

    if (s == NULL) {
        s = slots_add(&r->spams, key);
        if (s == NULL)
            return true;
        s->tokens = r->spam_burst;
        s->last_ms = now;
    }
    if (now > s->last_ms) {
        s->tokens += (double)(now - s->last_ms) / (double)r->spam_refill_ms;
        if (s->tokens > r->spam_burst)
            s->tokens = r->spam_burst;
        s->last_ms = now;
    }
    if (s->tokens < 1.0)
        return false;
    s->tokens -= 1.0;
    return true;
}

static void
format_message(char *out, size_t cap, const char *fmt, va_list ap)
{
    /* NOLINTNEXTLINE(clang-analyzer-valist.Uninitialized): analyzer false positive */
    vsnprintf(out, cap, fmt, ap);
}

/* The queued copy of an event, packed in one allocation: each field cut to
 * cap[i] - 1 bytes, NULL as "".  NULL out of memory. */
static struct pending *
pending_new(const struct kobj_ref *obj, const char *type, const char *reason, const char *msg)
{
    const char *src[P_N] = {obj->api_version,      obj->kind, obj->ns, obj->name, obj->uid,
                            obj->resource_version, type,      reason,  msg};
    const size_t cap[P_N] = {KREC_STR, KREC_STR, KREC_STR, KREC_STR,         KREC_STR,
                             KREC_STR, 16,       KREC_STR, LIM_EVENT_MESSAGE};
    size_t len[P_N], total = 0;
    struct pending *p = NULL;
    char *w;

    for (int i = 0; i < P_N; i++) {
        len[i] = src[i] != NULL ? strnlen(src[i], cap[i] - 1) : 0;
        total += len[i] + 1;
    }
    p = malloc(sizeof(*p) + total);
    if (p == NULL)
        return NULL;
    w = p->buf;
    for (int i = 0; i < P_N; i++) {
        memcpy(w, src[i] != NULL ? src[i] : "", len[i]);
        w[len[i]] = '\0';
        p->s[i] = w;
        w += len[i] + 1;
    }
    return p;
}

/* A full queue and a Warning to add: take the newest queued event that is
 * not a Warning out of the ring (closing the gap, so the order of the rest
 * stays) and return it for the caller to free; NULL when every queued event
 * is a Warning.  Caller holds mu.  O(queue), only when full. */
static struct pending *
displace_normal(struct krecorder *r)
{
    for (size_t i = r->qlen; i-- > 0;) {
        struct pending *p = r->q[(r->qhead + i) % r->qmax];

        if (strcmp(p->s[P_TYPE], "Warning") == 0)
            continue;
        for (size_t j = i; j + 1 < r->qlen; j++)
            r->q[(r->qhead + j) % r->qmax] = r->q[(r->qhead + j + 1) % r->qmax];
        r->qlen--;
        r->q[(r->qhead + r->qlen) % r->qmax] = NULL;
        return p;
    }
    return NULL;
}

int
krecorder_event(struct krecorder *r, const struct kobj_ref *obj, const char *type,
                const char *reason, const char *fmt, ...)
{
    struct pending *p = NULL, *displaced = NULL;
    char skey[KREC_STR * 4], msg[LIM_EVENT_MESSAGE];
    va_list ap;
    bool ok, queued;

    if (r == NULL || obj == NULL || obj->name == NULL || obj->kind == NULL || type == NULL ||
        reason == NULL || fmt == NULL)
        return SC_EINVALID;
    snprintf(skey, sizeof(skey), "%s/%s/%s/%s", obj->kind, obj->ns ? obj->ns : "", obj->name,
             obj->uid ? obj->uid : "");
    pthread_mutex_lock(&r->tmu);
    ok = spam_allow(r, skey);
    if (!ok)
        r->stats.dropped_spam++;
    pthread_mutex_unlock(&r->tmu);
    if (!ok)
        return SC_ETOOMANY;
    va_start(ap, fmt);
    format_message(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    p = pending_new(obj, type, reason, msg);
    pthread_mutex_lock(&r->mu);
    if (p != NULL && r->qlen == r->qmax && !r->stop && strcmp(type, "Warning") == 0)
        displaced = displace_normal(r);
    queued = p != NULL && r->qlen < r->qmax && !r->stop;
    if (queued) {
        r->q[(r->qhead + r->qlen) % r->qmax] = p;
        r->qlen++;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (displaced != NULL || !queued) {
        pthread_mutex_lock(&r->tmu);
        r->stats.dropped_queue += (displaced != NULL) + !queued;
        pthread_mutex_unlock(&r->tmu);
    }
    free(displaced);
    if (!queued) {
        free(p);
        return SC_ETOOMANY;
    }
    return 0;
}

int
krecorder_flush(struct krecorder *r, int64_t timeout_ms)
{
    struct timespec ts = {0};
    int rc = 0;

    kts_after_ms(&ts, timeout_ms);
    pthread_mutex_lock(&r->mu);
    while (r->qlen > 0 || r->busy) {
        if (pthread_cond_timedwait(&r->idle_cv, &r->mu, &ts) != 0) {
            rc = (r->qlen > 0 || r->busy) ? SC_ETIMEOUT : 0;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static void *
run(void *arg)
{
    struct krecorder *r = arg;
    struct pending *p = NULL;

    pthread_mutex_lock(&r->mu);
    for (;;) {
        while (r->qlen == 0 && !r->stop)
            pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop) /* krecorder_free flushed first: the rest is dropped */
            break;
        p = r->q[r->qhead];
        r->q[r->qhead] = NULL;
        r->qhead = (r->qhead + 1) % r->qmax;
        r->qlen--;
        r->busy = true;
        pthread_mutex_unlock(&r->mu);
        struct kobj_ref o = {.api_version = p->s[P_API],
                             .kind = p->s[P_KIND],
                             .ns = p->s[P_NS],
                             .name = p->s[P_NAME],
                             .uid = p->s[P_UID],
                             .resource_version = p->s[P_RV]};
        struct sc_err e = {0};
        if (krecorder_send(r, &o, p->s[P_TYPE], p->s[P_REASON], p->s[P_MSG], &e) != 0) {
            if (r->on_error)
                r->on_error(r->error_ctx, &e);
            else
                log_warnx("event %s %s on %s %s/%s: %s", p->s[P_TYPE], p->s[P_REASON], p->s[P_KIND],
                          p->s[P_NS], p->s[P_NAME], e.msg);
        }
        free(p);
        pthread_mutex_lock(&r->mu);
        r->busy = false;
        if (r->qlen == 0)
            pthread_cond_broadcast(&r->idle_cv);
    }
    pthread_cond_broadcast(&r->idle_cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- aggregation table (tmu held) ----------------------------------------------------------- */

static char *
agg_key(const char *uid, const char *type, const char *reason, const char *message)
{
    char *k;
    if (asprintf(&k, "%s\x1f%s\x1f%s\x1f%s", uid, type, reason, message) < 0)
        return NULL;
    return k;
}

static int
mem_lookup(struct krecorder *r, const char *key, struct krec_entry *out)
{
    const struct agg *a = slots_find(&r->aggs, key);

    if (a == NULL)
        return 0;
    *out = a->e;
    return 1;
}

static void
mem_save(struct krecorder *r, const char *key, const struct krec_entry *e)
{
    struct agg *a = slots_find(&r->aggs, key);

    if (a == NULL)
        a = slots_add(&r->aggs, key);
    if (a != NULL)
        a->e = *e;
}

static struct similar *
similar_slot(struct krecorder *r, const char *key, int64_t now)
{
    struct similar *s = slots_find(&r->sims, key);

    if (s != NULL)
        return s;
    s = slots_add(&r->sims, key);
    if (s != NULL)
        s->first_ms = now;
    return s;
}

/* Record msg for (id, type, reason); true when events of this kind are now
 * combined (similar_max distinct messages seen within the window). */
static bool
similar_check(struct krecorder *r, const char *id, const char *type, const char *reason,
              const char *msg, int64_t now)
{
    char key[KREC_STR * 5];
    uint64_t h = hmap_hash_str(msg);
    bool combine, seen = false;

    if (r->similar_max < 0)
        return false;
    snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", id, type, reason);
    pthread_mutex_lock(&r->tmu);
    struct similar *s = similar_slot(r, key, now);
    if (s == NULL) {
        pthread_mutex_unlock(&r->tmu);
        return false;
    }
    if (now - s->first_ms > r->window_ms) {
        s->n = 0;
        s->first_ms = now;
    }
    s->last_ms = now;
    for (int i = 0; i < s->n; i++)
        seen = seen || s->msgs[i] == h;
    if (!seen && s->n < r->similar_max)
        s->msgs[s->n++] = h;
    combine = s->n >= r->similar_max;
    pthread_mutex_unlock(&r->tmu);
    return combine;
}

static void
bump(struct krecorder *r, uint64_t *counter)
{
    pthread_mutex_lock(&r->tmu);
    (*counter)++;
    pthread_mutex_unlock(&r->tmu);
}

/* PATCH count+1 and lastTimestamp (and new_msg, if not NULL) on the Event in *e. */
static int
patch_event(struct krecorder *r, struct krec_entry *e, int64_t now, const char *new_msg,
            struct sc_err *err)
{
    char path[KPATH_MAX], now_s[40];
    json_t *patch;
    int rc;

    clock_rfc3339(now, now_s, sizeof(now_s));
    patch = json_pack("{s:I, s:s}", "count", (json_int_t)e->count + 1, "lastTimestamp", now_s);
    if (patch != NULL && new_msg != NULL)
        json_object_set_new(patch, "message", json_string(new_msg));
    if (patch == NULL)
        return sc_err_set(err, SC_ENOMEM, "event: out of memory");
    rc = kpath(path, sizeof(path), NULL, "v1", "events", e->ev_ns, e->ev_name, NULL);
    if (rc == 0)
        rc = kclient_patch(r->c, path, KPATCH_MERGE, patch, NULL, err);
    json_decref(patch);
    if (rc == 0) {
        e->count++;
        e->last_ms = now;
    }
    return rc;
}

int
krecorder_event_body(struct buf *b, const struct kobj_ref *obj, const struct krec_event_text *t)
{
    const char *ns = obj->ns && obj->ns[0] ? obj->ns : NULL;
    const char *uid = obj->uid && obj->uid[0] ? obj->uid : NULL;
    const char *rv =
        obj->resource_version && obj->resource_version[0] ? obj->resource_version : NULL;
    const struct kjson_part parts[] = {
        {"{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":", t->ev_name},
        {",\"namespace\":", t->ev_ns},
        {"},\"involvedObject\":{\"kind\":", obj->kind},
        {",\"name\":", obj->name},
        {",\"apiVersion\":", obj->api_version ? obj->api_version : ""},
        {ns ? ",\"namespace\":" : "", ns},
        {uid ? ",\"uid\":" : "", uid},
        {rv ? ",\"resourceVersion\":" : "", rv},
        {"},\"reason\":", t->reason},
        {",\"message\":", t->message},
        {",\"type\":", t->type},
        {",\"source\":{\"component\":", t->component},
        {"},\"firstTimestamp\":", t->timestamp},
        {",\"lastTimestamp\":", t->timestamp},
        {",\"count\":1,\"reportingComponent\":", t->reporting_component},
        {",\"reportingInstance\":", t->reporting_instance},
        {"}", NULL},
    };
    size_t before = b->len;
    int rc = kjson_put_parts(b, parts, SC_ARRAY_LEN(parts));

    if (rc != 0)
        b->len = before; /* nothing half-written */
    return rc;
}

/* CREATE a new Event "<name>.<hex unix nanos>" and describe it in *e. */
static int
create_event(struct krecorder *r, const struct kobj_ref *obj, const char *type, const char *reason,
             const char *msg, int64_t now, struct krec_entry *e, struct sc_err *err)
{
    char path[KPATH_MAX], first_s[40];
    struct timespec ts = {0};
    struct buf body = {0};
    int rc, n;

    memset(e, 0, sizeof(*e));
    clock_gettime(CLOCK_REALTIME, &ts);
    n = snprintf(e->ev_name, sizeof(e->ev_name), "%s.%llx", obj->name,
                 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
    if (n < 0 || (size_t)n >= sizeof(e->ev_name))
        return sc_err_set(err, SC_EINVALID, "event: object name too long");
    snprintf(e->ev_ns, sizeof(e->ev_ns), "%s", obj->ns && obj->ns[0] ? obj->ns : "default");
    e->count = 1;
    e->first_ms = e->last_ms = now;
    clock_rfc3339(now, first_s, sizeof(first_s));
    buf_init(&body, LIM_REQUEST_BODY);
    rc = krecorder_event_body(&body, obj,
                              &(struct krec_event_text){e->ev_name, e->ev_ns, type, reason, msg,
                                                        r->component, first_s, r->rcomponent,
                                                        r->rinstance});
    if (rc == SC_EINVALID)
        rc = sc_err_set(err, rc, "event %s: a field is not valid UTF-8", reason);
    else if (rc != 0)
        rc = sc_err_set(err, rc, "event %s: cannot write the body", reason);
    if (rc == 0)
        rc = kpath(path, sizeof(path), NULL, "v1", "events", e->ev_ns, NULL, NULL);
    if (rc == 0)
        rc = kclient_create_text(r->c, path, buf_str(&body), body.len, err);
    buf_release(&body);
    return rc;
}

static int
lookup_entry(struct krecorder *r, const char *id, const char *key, const char *type,
             const char *reason, const char *msg, struct krec_entry *e)
{
    int found;

    memset(e, 0, sizeof(*e));
    if (r->store.lookup)
        return r->store.lookup(r->store.ctx, id, type, reason, msg, e) == 1;
    pthread_mutex_lock(&r->tmu);
    found = mem_lookup(r, key, e);
    pthread_mutex_unlock(&r->tmu);
    return found;
}

static void
save_entry(struct krecorder *r, const char *id, const char *key, const char *type,
           const char *reason, const char *msg, const struct krec_entry *e)
{
    if (r->store.save) {
        r->store.save(r->store.ctx, id, type, reason, msg, e);
        return;
    }
    pthread_mutex_lock(&r->tmu);
    mem_save(r, key, e);
    pthread_mutex_unlock(&r->tmu);
}

/* The message to send into msg; returns the aggregation identity: msg
 * itself, the combined marker, or "" in replace mode (one Event per object,
 * type and reason). */
static const char *
identity(struct krecorder *r, bool replace, const char *id, const char *type, const char *reason,
         const char *message, int64_t now, char *msg, size_t cap)
{
    if (!replace && similar_check(r, id, type, reason, message, now)) {
        snprintf(msg, cap, "%s%s", COMBINED_PREFIX, message);
        return COMBINED_PREFIX;
    }
    snprintf(msg, cap, "%s", message);
    return replace ? "" : msg;
}

int
krecorder_send(struct krecorder *r, const struct kobj_ref *obj, const char *type,
               const char *reason, const char *message, struct sc_err *err)
{
    char idbuf[KREC_STR * 3], msg[LIM_EVENT_MESSAGE];
    const char *id = obj->uid;
    struct krec_entry e = {0};
    int64_t now = clock_wall_ms(&r->clock);
    int rc = SC_ENOTFOUND;
    char *key;

    if (obj->name == NULL || obj->kind == NULL)
        return sc_err_set(err, SC_EINVALID, "event: object needs a kind and a name");
    if (id == NULL || id[0] == '\0') {
        /* no uid: aggregate by kind/namespace/name instead */
        snprintf(idbuf, sizeof(idbuf), "%s/%s/%s", obj->kind, obj->ns ? obj->ns : "", obj->name);
        id = idbuf;
    }
    bool replace = is_replace(r, reason);
    const char *amsg = identity(r, replace, id, type, reason, message, now, msg, sizeof(msg));
    key = agg_key(id, type, reason, amsg);
    if (key == NULL)
        return sc_err_set(err, SC_ENOMEM, "event: out of memory");
    /* the message goes along unless it is the identity itself */
    if (lookup_entry(r, id, key, type, reason, amsg, &e) && e.ev_name[0] &&
        (replace || now - e.last_ms <= r->window_ms))
        rc = patch_event(r, &e, now, amsg == msg ? NULL : msg, err);
    if (rc == 0) {
        bump(r, &r->stats.patched);
    } else if (rc == SC_ENOTFOUND) {
        /* nothing to aggregate onto, or the Event expired or was deleted */
        rc = create_event(r, obj, type, reason, msg, now, &e, err);
        if (rc == 0)
            bump(r, &r->stats.created);
    }
    if (rc == 0)
        save_entry(r, id, key, type, reason, amsg, &e);
    else
        bump(r, &r->stats.failed);
    free(key);
    return rc;
}
