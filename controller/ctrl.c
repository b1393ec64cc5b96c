#include "controller/ctrl.h"

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/limits.h"
#include "common/log.h"
#include "controller/cintern.h"
#include "controller/cmetrics.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/feeder.h"
#include "controller/gsync.h"
#include "controller/gview.h"
#include "controller/httpsrv.h"
#include "controller/pvc_pin.h"
#include "controller/starter.h"
#include "controller/stuck_metrics.h"
#include "controller/sync.h"
#include "kube/kclient.h"
#include "kube/kconfig.h"
#include "kube/kinformer.h"
#include "kube/klease.h"
#include "kube/krecorder.h"
#include "kube/kskim.h"
#include "kube/kworkq.h"
#include "state/state.h"

#define Q_SNAPSHOT "snapshot-controller-snapshot"
#define Q_CONTENT  "snapshot-controller-content"
#define Q_GROUP    "snapshot-controller-group-snapshot"
#define Q_CLAIM    "snapshot-controller-claim"
#define Q_GCONTENT "snapshot-controller-group-content"
#define SNAP_GROUP "snapshot.storage.k8s.io"
#define LEASE_NAME "snapshot-controller-leader"

/* One entry per kind (enum kind in controller/sync.h): where it lives in
 * the API, whether it needs the group CRDs, and its work queue and sync
 * step when it has one.  The parser, store and queue of a kind are found
 * by its index: view_parse(), c->stores[kind], c->q[kind]. */
struct kind_def {
    const char *group;    /* API group, "" for the core group */
    const char *resource; /* plural resource name (also the informer's name) */
    const char *kind;     /* Kind, for events */
    bool groups_only;     /* an informer only when groups are on */
    const char *queue;    /* work queue name, NULL: no queue */
    const char *what;     /* the worker's word for it in the log */
    int (*sync)(const struct sync_env *env, const char *key, struct sc_err *err);
};

static const struct kind_def KINDS[N_KIND] = {
    [KIND_VS] = {SNAP_GROUP, "volumesnapshots", "VolumeSnapshot", false, Q_SNAPSHOT, "snapshot",
                 snapshot_sync_key},
    [KIND_VSC] = {SNAP_GROUP, "volumesnapshotcontents", "VolumeSnapshotContent", false, Q_CONTENT,
                  "content", content_sync_key},
    [KIND_CLASS] = {SNAP_GROUP, "volumesnapshotclasses", "VolumeSnapshotClass", false, NULL, NULL,
                    NULL},
    [KIND_PVC] = {"", "persistentvolumeclaims", "PersistentVolumeClaim", false, Q_CLAIM, "claim",
                  pvc_pin_sync_key},
    [KIND_VGS] = {GROUP_API_GROUP, "volumegroupsnapshots", "VolumeGroupSnapshot", true, Q_GROUP,
                  "group snapshot", group_sync_key},
    [KIND_VGSC] = {GROUP_API_GROUP, "volumegroupsnapshotcontents", "VolumeGroupSnapshotContent",
                   true, Q_GCONTENT, "group content", group_content_sync_key},
    [KIND_GCLASS] = {GROUP_API_GROUP, "volumegroupsnapshotclasses", "VolumeGroupSnapshotClass",
                     true, NULL, NULL, NULL},
    [KIND_PV] = {"", "persistentvolumes", "PersistentVolume", false, NULL, NULL, NULL},
    [KIND_NODE] = {"", "nodes", "Node", false, NULL, NULL, NULL},
};

struct ctrl;

/* What an informer handler or a worker of one kind is given. */
struct kind_ctx {
    struct ctrl *c;
    enum kind kind;
};

struct ctrl {
    const struct copts *o;
    struct clock clock;
    struct kconfig *cfg;
    struct kclient *kc;    /* controller traffic */
    struct kclient *le_kc; /* leader election only */
    struct kinformer *inf[N_WATCHED];
    struct cstore *stores[N_WATCHED];
    struct kworkq *q[N_WATCHED]; /* the group kinds' NULL when groups are off */
    struct kind_ctx kctx[N_WATCHED];
    bool groups; /* CSIVolumeGroupSnapshot and the group CRDs are there */
    struct krecorder *rec;
    struct cmetrics *metrics;
    struct state *st;
    struct klease *lease;
    struct httpsrv *http;
    struct sync_actions act;
    struct sync_env env;
    struct pvmemo *pv_memo; /* a snapshot's PV between its passes (env.pv_memo) */
    struct cintern *intern; /* strings the cached views share; freed after them */
    struct cview_scan scan; /* snapshots' and contents' views from bytes (cview.h) */
    struct starter starter; /* the controller thread leadership starts */
    int running;            /* atomic: informers and workers started */
    int synced;             /* atomic: caches synced, workers running */
    int crds_ok;            /* atomic */
    int stopping;           /* atomic */
    /* atomic: until the feeder's first walk, informer adds and updates queue
     * nothing: the walk visits every object the initial LIST cached */
    int hold;
    struct feeder *feeder;       /* atomic pointer: NULL until the caches synced */
    int feed_src[N_WATCHED];     /* the kind's feeder source, or -1 */
    uint64_t retries[N_WATCHED]; /* atomic, per queue */
    uint64_t syncs[N_WATCHED];
};

/* ---- informer plumbing ---- */

/* The compact view of an object of kind (controller/cview.h, gview.h). */
static int
view_parse(struct ctrl *c, enum kind kind, const json_t *obj, struct cmeta **out,
           struct sc_err *err)
{
    switch (kind) {
    case KIND_VS:
        return cvs_parse_shared(obj, c->intern, (struct cvs **)out, err);
    case KIND_VSC:
        return cvsc_parse_shared(obj, c->intern, (struct cvsc **)out, err);
    case KIND_CLASS:
        return cclass_parse(obj, (struct cclass **)out, err);
    case KIND_PVC:
        return cpvc_parse_shared(obj, c->intern, (struct cpvc **)out, err);
    case KIND_VGS:
        return gvgs_parse(obj, (struct gvgs **)out, err);
    case KIND_VGSC:
        return gvgsc_parse(obj, (struct gvgsc **)out, err);
    case KIND_GCLASS:
        return gclass_parse(obj, (struct gclass **)out, err);
    default:
        return sc_err_set(err, SC_EINVALID, "no view for %s", kind_name(kind));
    }
}

/* The view of a snapshot or content straight from its JSON bytes (cview.h,
 * cvs_scan()); CVIEW_DECLINED for every other kind, and wherever the bytes
 * path declines: the caller parses the bytes then. */
static int
view_scan(struct ctrl *c, enum kind kind, const char *data, size_t n, struct cmeta **out)
{
    if (kind == KIND_VS)
        return cvs_scan(&c->scan, data, n, c->intern, (struct cvs **)out);
    if (kind == KIND_VSC)
        return cvsc_scan(&c->scan, data, n, c->intern, (struct cvsc **)out);
    return CVIEW_DECLINED;
}

/* The informer's parse_bytes: what parse_item() below gives, from bytes. */
static int
scan_item(void *ctx, const char *obj, size_t n, void **view)
{
    const struct kind_ctx *k = ctx;
    struct sc_err err = {0};
    struct cmeta *m = NULL;
    int rc = view_scan(k->c, k->kind, obj, n, &m);

    return rc != 0 ? rc : cstore_stored(k->c->stores[k->kind], m, view, &err);
}

/* An item's view is what the kind's store keeps: the view, or a record of
 * it for snapshots and contents (cstore_use_records). */
static int
parse_item(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    const struct kind_ctx *k = ctx;
    struct cmeta *m = NULL;
    int rc = view_parse(k->c, k->kind, obj, &m, err);

    return rc != 0 ? rc : cstore_stored(k->c->stores[k->kind], m, view, err);
}

static void
free_view(void *ctx, void *view)
{
    const struct kind_ctx *k = ctx;

    cstore_free_stored(k->c->stores[k->kind], view);
}

static const char *
view_key(void *ctx, const void *view, const char **rv)
{
    const struct kind_ctx *k = ctx;

    return cstore_stored_key(k->c->stores[k->kind], view, rv);
}

static size_t
view_bytes(void *ctx, const void *view)
{
    const struct kind_ctx *k = ctx;

    return cstore_stored_flat(k->c->stores[k->kind], view);
}

/* A new reference to the item's view (NULL: out of memory). */
static struct cmeta *
item_view(const struct kind_ctx *k, const struct kitem *it)
{
    return cstore_view_of(k->c->stores[k->kind], kitem_view(it));
}

/* Whether the item's object gets a pass.  The informer's table is the
 * kind's one store (cstore_attach).  A claim has a pass only while it is
 * deleted and held (pvc_pin.h). */
static bool
pass_wanted(const struct kind_ctx *k, const struct kitem *it)
{
    struct cmeta *m = NULL;
    bool wanted = true;

    if (k->kind == KIND_PVC) {
        m = item_view(k, it);
        wanted = m != NULL && pvc_pin_wanted((const struct cpvc *)m);
        cview_unref(m);
    }
    return wanted;
}

/* Queue the item's key for a sync pass, if it gets one.  (The first pass
 * after the initial LIST goes through the feeder, which leaves a key
 * restored from state/ with failures to its persisted backoff.) */
static void
put_and_enqueue(const struct kind_ctx *k, const struct kitem *it)
{
    struct kworkq *q = k->c->q[k->kind];

    if (q != NULL && pass_wanted(k, it))
        kworkq_add(q, kitem_key(it));
}

static void
on_add(void *ctx, const struct kitem *it)
{
    const struct kind_ctx *k = ctx;

    if (__atomic_load_n(&k->c->hold, __ATOMIC_ACQUIRE))
        return; /* the feeder's first walk will */
    put_and_enqueue(k, it);
}

static void
on_update(void *ctx, const struct kitem *old, const struct kitem *it)
{
    (void)old;
    on_add(ctx, it);
}

/* A resync: the feeder walks the kind's table, a few hundred keys at a time. */
static void
on_resync(void *ctx)
{
    const struct kind_ctx *k = ctx;

    feeder_request(__atomic_load_n(&k->c->feeder, __ATOMIC_ACQUIRE), k->c->feed_src[k->kind]);
}

/* The feeder's walks (feeder.h); it queues the keys in batches. */
static bool
feed_wanted(void *ctx, const struct kitem *it, bool initial)
{
    (void)initial;
    return pass_wanted(ctx, it);
}

static void
on_delete(void *ctx, const struct kitem *it)
{
    const struct kind_ctx *k = ctx;
    struct ctrl *c = k->c;
    struct cmeta *m = NULL;

    switch (k->kind) {
    case KIND_VS:
    case KIND_VSC:
    case KIND_VGS:
    case KIND_VGSC:
        m = item_view(k, it);
        if (m == NULL) {
            log_warnx("%s %s deleted: out of memory reading its view", kind_name(k->kind),
                      kitem_key(it));
            break;
        }
        if (k->kind == KIND_VS)
            snapshot_deleted(&c->env, (const struct cvs *)m);
        else if (k->kind == KIND_VSC)
            content_deleted(&c->env, (const struct cvsc *)m);
        else if (k->kind == KIND_VGS)
            group_deleted(&c->env, (const struct gvgs *)m);
        else
            group_content_deleted(&c->env, (const struct gvgsc *)m);
        cview_unref(m);
        break;
    default:
        cview_unref(cstore_del(c->stores[k->kind], kitem_key(it)));
        break;
    }
    /* a deleted object keeps no retry state (the on_forget hook clears state/) */
    if (c->q[k->kind] != NULL)
        kworkq_forget(c->q[k->kind], kitem_key(it));
}

static void
on_inf_error(void *ctx, const char *informer, const struct sc_err *err)
{
    (void)ctx;
    log_warnx("informer %s: %s", informer, err->msg);
}

/* ---- actions (struct sync_actions): the real API ---- */

static int
kind_path(enum kind kind, const char *ns, const char *name, const char *sub, char *out, size_t cap)
{
    return kpath(out, cap, KINDS[kind].group, "v1", KINDS[kind].resource, ns, name, sub);
}

/* Store the view m (taken) of an object we wrote. */
static void store_view(struct ctrl *c, enum kind kind, struct cmeta *m);

/* Store an object we wrote so the next pass sees it before the watch. */
static void
store_response(struct ctrl *c, enum kind kind, const json_t *obj)
{
    struct sc_err err = {0};
    struct cmeta *m = NULL;

    if (obj == NULL || kind >= N_WATCHED || c->stores[kind] == NULL)
        return;
    if (view_parse(c, kind, obj, &m, &err) == 0)
        store_view(c, kind, m);
}

/* The same from the answer's bytes: the view made from them when the bytes
 * path can (view_scan()), else from their tree.  0, or the tree parse's
 * error (the write happened; its answer is unreadable), as
 * kclient_patch() would have given it. */
static int
store_response_bytes(struct ctrl *c, enum kind kind, const struct buf *body, struct sc_err *err)
{
    struct cmeta *m = NULL;
    json_t *obj = NULL;
    int rc;

    if (kind >= N_WATCHED || c->stores[kind] == NULL)
        return 0;
    if (view_scan(c, kind, buf_str(body), body->len, &m) == 0) {
        store_view(c, kind, m);
        return 0;
    }
    rc = kskim_parse(buf_str(body), body->len, body->max, &obj, err);
    if (rc == 0)
        store_response(c, kind, obj);
    json_decref(obj);
    return rc;
}

static void
store_view(struct ctrl *c, enum kind kind, struct cmeta *m)
{
    int rc;
    /* Being deleted with no finalizer left: the API server has removed the
     * object, and its DELETE event may already have come.  Storing the view
     * would bring it back as a ghost that other keys' passes (a PVC's
     * source protection) keep seeing; the informer's view stays until the
     * event removes it. */
    if (m->deleting && m->n_fins == 0) {
        cview_unref(m);
        return;
    }
    /* the store keeps the older view: the watch event brings this one */
    rc = cstore_put(c->stores[kind], m, false);
    if (rc < 0)
        log_warnx("cannot store the %s write response: %s", m->name, sc_err_str(rc));
}

static int
act_get(void *ctx, enum kind kind, const char *ns, const char *name, json_t **out,
        struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    int rc = kind_path(kind, ns, name, NULL, path, sizeof(path));

    return rc == 0 ? kclient_get(c->kc, path, out, err) : rc;
}

static int
collect(void *ctx, const json_t *item)
{
    return json_array_append((json_t *)ctx, (json_t *)item) == 0 ? 0 : SC_ENOMEM;
}

static int
act_list(void *ctx, enum kind kind, const char *ns, const char *selector, json_t **out,
         struct sc_err *err)
{
    struct ctrl *c = ctx;
    struct klist_opts lo = {selector != NULL && *selector != '\0' ? selector : NULL, NULL, 0};
    char path[KPATH_MAX], rv[64];
    json_t *arr = json_array();
    int rc;

    if (arr == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    rc = kind_path(kind, ns, NULL, NULL, path, sizeof(path));
    if (rc == 0)
        rc = kclient_list(c->kc, path, &lo, collect, arr, rv, sizeof(rv), err);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static int
act_create(void *ctx, enum kind kind, const char *ns, const json_t *body, json_t **out,
           struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *resp = NULL;
    int rc = kind_path(kind, ns, NULL, NULL, path, sizeof(path));

    if (rc == 0 && out == NULL && (kind == KIND_VS || kind == KIND_VSC)) {
        struct buf ans = {0};

        buf_init(&ans, LIM_API_BODY);
        rc = kclient_create_bytes(c->kc, path, body, &ans, err);
        if (rc == 0)
            rc = store_response_bytes(c, kind, &ans, err);
        buf_release(&ans);
        return rc;
    }
    if (rc == 0)
        rc = kclient_create(c->kc, path, body, &resp, err);
    if (rc == 0)
        store_response(c, kind, resp);
    if (rc == 0 && out != NULL)
        *out = resp;
    else
        json_decref(resp);
    return rc;
}

static int
act_patch(void *ctx, const struct sync_ref *o, bool status, enum sync_patch type,
          const json_t *patch, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *out = NULL;
    int rc = kind_path(o->kind, o->m->ns, o->m->name, status ? "status" : NULL, path, sizeof(path));
    enum kpatch_type pt = type == SYNC_PATCH_JSON ? KPATCH_JSON : KPATCH_MERGE;

    if (rc == 0 && (o->kind == KIND_VS || o->kind == KIND_VSC)) {
        struct buf ans = {0};

        buf_init(&ans, LIM_API_BODY);
        rc = kclient_patch_bytes(c->kc, path, pt, patch, &ans, err);
        if (rc == 0)
            rc = store_response_bytes(c, o->kind, &ans, err);
        buf_release(&ans);
        return rc;
    }
    if (rc == 0)
        rc = kclient_patch(c->kc, path, pt, patch, &out, err);
    if (rc == 0)
        store_response(c, o->kind, out);
    json_decref(out);
    return rc;
}

static int
act_del(void *ctx, enum kind kind, const char *ns, const char *name, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    int rc = kind_path(kind, ns, name, NULL, path, sizeof(path));

    return rc == 0 ? kclient_delete(c->kc, path, NULL, NULL, err) : rc;
}

static void
act_event(void *ctx, const struct sync_ref *o, const char *type, const char *reason,
          const char *message)
{
    struct ctrl *c = ctx;
    const struct kind_def *d = &KINDS[o->kind];
    char api_version[64];
    struct kobj_ref ref = {api_version, d->kind, o->m->ns, o->m->name, o->m->uid, o->m->rv};

    snprintf(api_version, sizeof(api_version), "%s%sv1", d->group, d->group[0] != '\0' ? "/" : "");
    /* events also go to the log at info level, as upstream's recorder does */
    log_debug(2, "event %s %s/%s: %s %s: %s", ref.kind, o->m->ns != NULL ? o->m->ns : "",
              o->m->name, type, reason, message);
    if (krecorder_event(c->rec, &ref, type, reason, "%s", message) != 0)
        log_debug(4, "event %s for %s dropped (spam limit or full queue)", reason, o->m->name);
}

static void
act_enqueue(void *ctx, enum kind kind, const char *key)
{
    struct ctrl *c = ctx;

    if (kind < N_WATCHED && c->q[kind] != NULL)
        kworkq_add(c->q[kind], key);
}

/* ---- state/ persistence hooks ---- */

static void
q_on_failure(void *ctx, const char *queue, const char *key, int failures, int64_t next_wall_ms,
             const struct sc_err *last)
{
    struct ctrl *c = ctx;
    struct sc_err err = {0};

    if (state_retry_put(c->st, queue, key, failures, next_wall_ms, last != NULL ? last->msg : NULL,
                        &err) != 0)
        log_debug(2, "state: cannot save retry of %s: %s", key, err.msg);
}

static void
q_on_forget(void *ctx, const char *queue, const char *key)
{
    struct ctrl *c = ctx;
    struct sc_err err = {0};

    if (state_retry_clear(c->st, queue, key, &err) != 0)
        log_debug(2, "state: cannot clear retry of %s: %s", key, err.msg);
}

/* A queue drained after a burst of KWQ_DRAINED_MIN keys or more (the
 * initial sync, a resync, a wave of new snapshots): the burst's transient
 * allocations (queue entries, parse trees, requests) left free chunks
 * among the cached views that malloc keeps; give their pages back.
 * Measured with 10,000 + 10,000 cached objects: 2.3 MB (docs/performance.md,
 * "Free pages back after a burst").  Its cost: 26 ms for a heap of 100,000
 * kept blocks with 300,000 freed between them, 7 ms with nothing left to
 * give back; at most once per 1,000 keys (about 1.8 s of passes). */
static void
q_on_drained(void *ctx, const char *queue)
{
    struct ctrl *c = ctx;

    (void)queue;
    /* A queue runs dry now and then while the feeder walks 100,000 cached
     * objects: it trims once, when its walks end (feed_walked). */
    if (feeder_walking(__atomic_load_n(&c->feeder, __ATOMIC_ACQUIRE)))
        return;
    malloc_trim(0);
}

/* The feeder's walks queued their last key (feeder.h). */
static void
feed_walked(void *ctx, size_t keys)
{
    (void)ctx;
    if (keys >= KWQ_DRAINED_MIN)
        malloc_trim(0);
}

static int
seed_fn(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    struct ctrl *c = ctx;
    int k;

    for (k = 0; k < N_WATCHED; k++)
        if (c->q[k] != NULL && strcmp(kind, KINDS[k].queue) == 0)
            kworkq_seed(c->q[k], uid, r->failures, r->next_ms);
    return 0;
}

static int
rec_lookup(void *ctx, const char *uid, const char *type, const char *reason, const char *message,
           struct krec_entry *out)
{
    struct ctrl *c = ctx;
    struct state_event ev = {0};

    if (state_event_get(c->st, uid, type, reason, message, &ev, NULL) != 0)
        return 0;
    snprintf(out->ev_ns, sizeof(out->ev_ns), "%s", ev.namespace_);
    snprintf(out->ev_name, sizeof(out->ev_name), "%s", ev.name);
    out->count = ev.count;
    out->first_ms = ev.first_ms;
    out->last_ms = ev.last_ms;
    return 1;
}

static void
rec_save(void *ctx, const char *uid, const char *type, const char *reason, const char *message,
         const struct krec_entry *e)
{
    struct ctrl *c = ctx;
    struct state_event ev = {0};

    memset(&ev, 0, sizeof(ev));
    snprintf(ev.namespace_, sizeof(ev.namespace_), "%s", e->ev_ns);
    snprintf(ev.name, sizeof(ev.name), "%s", e->ev_name);
    ev.count = e->count;
    ev.first_ms = e->first_ms;
    ev.last_ms = e->last_ms;
    if (state_event_put(c->st, uid, type, reason, message, &ev, NULL) != 0)
        log_debug(2, "state: cannot save event %s", reason);
}

/* ---- HTTP handlers ---- */

/* Stuck-state gauges (controller/stuck_metrics.h), while the caches are synced. */
static int
metrics_stuck(struct ctrl *c, struct buf *out)
{
    struct stuck_src s = {0};

    if (!__atomic_load_n(&c->synced, __ATOMIC_ACQUIRE))
        return 0;
    s.snapshots = c->stores[KIND_VS];
    s.contents = c->stores[KIND_VSC];
    s.pvcs = c->stores[KIND_PVC];
    s.groups = c->q[KIND_VGS] != NULL ? c->stores[KIND_VGS] : NULL;
    s.group_contents = c->q[KIND_VGSC] != NULL ? c->stores[KIND_VGSC] : NULL;
    s.now_ms = clock_wall_ms(&c->clock);
    s.threshold_ms = c->o->stuck_threshold_ms;
    return stuck_metrics_render(&s, out);
}

static size_t
queue_depth(struct kworkq *q)
{
    return q != NULL ? kworkq_len(q) + kworkq_delayed(q) : 0;
}

/* What became of the events the controller emitted (the recorder's
 * counters): an event dropped under a burst is otherwise invisible. */
static int
metrics_events(struct ctrl *c, struct buf *out)
{
    struct krecorder_stats st = {0};

    if (c->rec == NULL)
        return 0;
    krecorder_get_stats(c->rec, &st);
    return buf_addf(out,
                    "# HELP snapshot_controller_events_total Events the controller emitted, by "
                    "what became of them.\n"
                    "# TYPE snapshot_controller_events_total counter\n"
                    "snapshot_controller_events_total{result=\"created\"} %llu\n"
                    "snapshot_controller_events_total{result=\"aggregated\"} %llu\n"
                    "snapshot_controller_events_total{result=\"dropped_spam_limit\"} %llu\n"
                    "snapshot_controller_events_total{result=\"dropped_queue_full\"} %llu\n"
                    "snapshot_controller_events_total{result=\"failed\"} %llu\n",
                    (unsigned long long)st.created, (unsigned long long)st.patched,
                    (unsigned long long)st.dropped_spam, (unsigned long long)st.dropped_queue,
                    (unsigned long long)st.failed);
}

static int
metrics_extra(void *ctx, struct buf *out)
{
    struct ctrl *c = ctx;
    size_t d_vs = queue_depth(c->q[KIND_VS]), d_vsc = queue_depth(c->q[KIND_VSC]);
    int rc;

    if (c->q[KIND_VGS] != NULL && c->q[KIND_VGSC] != NULL) { /* groups on and this replica leads */
        rc = buf_addf(
            out,
            "# HELP snapshot_controller_group_queue_depth Keys waiting in a group work queue.\n"
            "# TYPE snapshot_controller_group_queue_depth gauge\n"
            "snapshot_controller_group_queue_depth{queue=\"" Q_GROUP "\"} %zu\n"
            "snapshot_controller_group_queue_depth{queue=\"" Q_GCONTENT "\"} %zu\n"
            "# HELP snapshot_controller_group_queue_retries_total Group syncs that failed and were "
            "requeued with backoff.\n"
            "# TYPE snapshot_controller_group_queue_retries_total counter\n"
            "snapshot_controller_group_queue_retries_total{queue=\"" Q_GROUP "\"} %llu\n"
            "snapshot_controller_group_queue_retries_total{queue=\"" Q_GCONTENT "\"} %llu\n",
            queue_depth(c->q[KIND_VGS]), queue_depth(c->q[KIND_VGSC]),
            (unsigned long long)__atomic_load_n(&c->retries[KIND_VGS], __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&c->retries[KIND_VGSC], __ATOMIC_RELAXED));
        if (rc != 0)
            return rc;
    }
    rc = metrics_stuck(c, out); /* issue 16 */
    if (rc == 0)
        rc = metrics_events(c, out);
    if (rc != 0)
        return rc;
    return buf_addf(
        out,
        "# HELP snapshot_controller_queue_depth Keys waiting in a work queue (ready or delayed).\n"
        "# TYPE snapshot_controller_queue_depth gauge\n"
        "snapshot_controller_queue_depth{queue=\"" Q_SNAPSHOT "\"} %zu\n"
        "snapshot_controller_queue_depth{queue=\"" Q_CONTENT "\"} %zu\n"
        "snapshot_controller_queue_depth{queue=\"" Q_CLAIM "\"} %zu\n"
        "# HELP snapshot_controller_queue_retries_total Syncs that failed and were requeued with "
        "backoff.\n"
        "# TYPE snapshot_controller_queue_retries_total counter\n"
        "snapshot_controller_queue_retries_total{queue=\"" Q_SNAPSHOT "\"} %llu\n"
        "snapshot_controller_queue_retries_total{queue=\"" Q_CONTENT "\"} %llu\n"
        "snapshot_controller_queue_retries_total{queue=\"" Q_CLAIM "\"} %llu\n"
        "# HELP snapshot_controller_syncs_total Syncs run by the workers.\n"
        "# TYPE snapshot_controller_syncs_total counter\n"
        "snapshot_controller_syncs_total{queue=\"" Q_SNAPSHOT "\"} %llu\n"
        "snapshot_controller_syncs_total{queue=\"" Q_CONTENT "\"} %llu\n"
        "snapshot_controller_syncs_total{queue=\"" Q_CLAIM "\"} %llu\n"
        "# HELP snapshot_controller_cached_objects Objects held in the controller's caches.\n"
        "# TYPE snapshot_controller_cached_objects gauge\n"
        "snapshot_controller_cached_objects{kind=\"VolumeSnapshot\"} %zu\n"
        "snapshot_controller_cached_objects{kind=\"VolumeSnapshotContent\"} %zu\n"
        "snapshot_controller_cached_objects{kind=\"PersistentVolumeClaim\"} %zu\n"
        "# HELP snapshot_controller_leader 1 when this replica runs the controller.\n"
        "# TYPE snapshot_controller_leader gauge\n"
        "snapshot_controller_leader %d\n",
        d_vs, d_vsc, queue_depth(c->q[KIND_PVC]),
        (unsigned long long)__atomic_load_n(&c->retries[KIND_VS], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->retries[KIND_VSC], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->retries[KIND_PVC], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->syncs[KIND_VS], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->syncs[KIND_VSC], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->syncs[KIND_PVC], __ATOMIC_RELAXED),
        cstore_len(c->stores[KIND_VS]), cstore_len(c->stores[KIND_VSC]),
        cstore_len(c->stores[KIND_PVC]), __atomic_load_n(&c->running, __ATOMIC_ACQUIRE));
}

static int
h_metrics(void *ctx, struct buf *out)
{
    struct ctrl *c = ctx;

    return cmetrics_render(c->metrics, out, metrics_extra, c);
}

static bool
h_ready(void *ctx, char *why, size_t cap)
{
    struct ctrl *c = ctx;

    if (!__atomic_load_n(&c->crds_ok, __ATOMIC_ACQUIRE)) {
        snprintf(why, cap, "snapshot CRDs not found yet");
        return false;
    }
    if (__atomic_load_n(&c->running, __ATOMIC_ACQUIRE) &&
        !__atomic_load_n(&c->synced, __ATOMIC_ACQUIRE)) {
        snprintf(why, cap, "caches not synced yet");
        return false;
    }
    if (!c->o->leader_election && !__atomic_load_n(&c->synced, __ATOMIC_ACQUIRE)) {
        snprintf(why, cap, "caches not synced yet");
        return false;
    }
    return true;
}

static bool
h_leader(void *ctx, char *why, size_t cap)
{
    struct ctrl *c = ctx;
    int64_t last, now;

    /* upstream: unhealthy when we lead and renewal is > 20 s overdue */
    if (c->lease == NULL || !klease_is_leader(c->lease))
        return true;
    last = klease_last_renew_ms(c->lease);
    now = clock_mono_ms(&c->clock);
    if (last > 0 && now - last > c->o->le_lease_ms + 20000) {
        snprintf(why, cap, "failed election to renew leadership on lease %s", LEASE_NAME);
        return false;
    }
    return true;
}

/* ---- workers ---- */

/* A key the informer never showed is a ghost: a write response stored
 * after the delete event (or ahead of a create's).  Drop it (upstream: the
 * lister decides): returns 1; else 0.  One lookup in the kind's one store. */
static int
ghost(struct ctrl *c, enum kind which, const char *key)
{
    if (cstore_informer(c->stores[which]) == NULL) /* never attached: nothing to check */
        return 0;
    return kinformer_drop_local(c->inf[which], key) ? 1 : 0;
}

/* One worker pass of kind: drop a ghost, else sync.  Counts the pass and
 * logs a failure once (the queue retries it). */
static int
worker(void *ctx, const char *key, struct sc_err *err)
{
    const struct kind_ctx *k = ctx;
    struct ctrl *c = k->c;
    uint64_t failed = cstore_failures(c->stores[KIND_VS]) + cstore_failures(c->stores[KIND_VSC]);
    int rc = 0;

    if (!ghost(c, k->kind, key))
        rc = KINDS[k->kind].sync(&c->env, key, err);
    /* A cached snapshot or content read as absent for want of memory: the
     * pass saw less than the cache holds, so it is retried (any thread's
     * failure counts: at worst a spare retry). */
    if (rc == 0 &&
        failed != cstore_failures(c->stores[KIND_VS]) + cstore_failures(c->stores[KIND_VSC]))
        rc = sc_err_set(err, SC_ENOMEM, "out of memory reading the cache; will retry");
    __atomic_add_fetch(&c->syncs[k->kind], 1, __ATOMIC_RELAXED);
    if (rc != 0) {
        __atomic_add_fetch(&c->retries[k->kind], 1, __ATOMIC_RELAXED);
        log_debug(3, "%s '%s': %s (will retry)", KINDS[k->kind].what, key, err->msg);
    }
    return rc;
}

/* ---- construction ---- */

/* The sync logic's view of the ctrl: its stores and its actions.  The
 * group stores join when groups turn on (make_queues). */
static void
wire_sync(struct ctrl *c)
{
    int k;

    for (k = 0; k < N_WATCHED; k++)
        c->kctx[k] = (struct kind_ctx){c, (enum kind)k};
    c->act = (struct sync_actions){c,         act_get, act_list,  act_create,
                                   act_patch, act_del, act_event, act_enqueue};
    c->env.snapshots = c->stores[KIND_VS];
    c->env.contents = c->stores[KIND_VSC];
    c->env.classes = c->stores[KIND_CLASS];
    c->env.claims = c->stores[KIND_PVC];
    c->env.act = &c->act;
    c->env.metrics = c->metrics;
    c->env.pv_memo = c->pv_memo;
    c->env.clock = c->clock;
    c->env.opts.prevent_volume_mode_conversion = c->o->prevent_volume_mode_conversion;
    c->env.opts.distributed_snapshotting = c->o->distributed;
}

/* API clients (controller traffic and leader election apart) and state/. */
static int
open_clients(struct ctrl *c, struct sc_err *err)
{
    struct kclient_opts ko = {0};
    struct state_open_report rep = {0};
    char line[1024];

    if (kconfig_load(c->o->kubeconfig, &c->cfg, err) != 0)
        return err != NULL ? err->code : SC_EINVALID;
    kclient_opts_default(&ko);
    ko.qps = c->o->qps;
    ko.burst = c->o->burst;
    c->kc = kclient_new(c->cfg, &ko, err);
    c->le_kc = c->kc != NULL ? kclient_new(c->cfg, &ko, err) : NULL;
    if (c->kc == NULL || c->le_kc == NULL)
        return SC_ENOMEM;
    c->st = state_open_dir(c->o->state_dir, NULL, &rep, err);
    if (c->st == NULL)
        return SC_EIO;
    state_open_report_format(&rep, line, sizeof(line));
    if (state_open_report_is_warning(&rep))
        log_warnx("%s", line);
    else
        log_debug(1, "%s", line);
    return 0;
}

/* The work queues of the snapshot kinds (groups false) or of the group
 * kinds (groups true), made before the HTTP thread starts (metrics_extra
 * reads them) and never changed after. */
static int
make_queues(struct ctrl *c, bool groups, struct sc_err *err)
{
    struct kworkq_opts qo = {0};
    int k;

    memset(&qo, 0, sizeof(qo));
    qo.base_ms = c->o->retry_start_ms;
    qo.max_ms = c->o->retry_max_ms;
    qo.hooks = (struct kworkq_hooks){c, q_on_failure, q_on_forget, q_on_drained};
    for (k = 0; k < N_WATCHED; k++) {
        if (KINDS[k].queue == NULL || KINDS[k].groups_only != groups)
            continue;
        qo.name = KINDS[k].queue;
        /* the claim queue is idle nearly always: no thread waits on it */
        qo.no_idle_worker = k == KIND_PVC;
        c->q[k] = kworkq_new(&qo, err);
        if (c->q[k] == NULL)
            return err != NULL && err->code != 0 ? err->code : SC_ENOMEM;
    }
    return 0;
}

/* Metrics, stores, the snapshot queues and the event recorder. */
static int
make_parts(struct ctrl *c, struct sc_err *err)
{
    struct krecorder_opts ro = {0};
    int i;

    c->metrics = cmetrics_new(c->clock);
    c->pv_memo = pvmemo_new(c->clock);
    c->intern = cintern_new();
    if (cview_scan_init(&c->scan) != 0)
        return sc_err_set(err, SC_EINVALID, "cview_scan_init");
    for (i = 0; i < N_WATCHED; i++)
        c->stores[i] = cstore_new();
    /* snapshots and contents are most of the cache: kept as records */
    if (c->stores[KIND_VS] != NULL && c->stores[KIND_VSC] != NULL &&
        (cstore_use_records(c->stores[KIND_VS], CREC_VS, c->intern) != 0 ||
         cstore_use_records(c->stores[KIND_VSC], CREC_VSC, c->intern) != 0))
        return sc_err_set(err, SC_EINVALID, "cstore_use_records");
    if (make_queues(c, false, err) != 0)
        return SC_ENOMEM;
    memset(&ro, 0, sizeof(ro));
    ro.component = "snapshot-controller";
    ro.store = (struct krecorder_store){c, rec_lookup, rec_save};
    ro.replace_reasons = (const char *const[]){PVC_PIN_REASON, NULL}; /* one Event per PVC */
    c->rec = krecorder_new(c->kc, &ro, err);
    if (c->metrics == NULL || c->rec == NULL || c->pv_memo == NULL || c->intern == NULL)
        return SC_ENOMEM;
    for (i = 0; i < N_WATCHED; i++)
        if (c->stores[i] == NULL)
            return SC_ENOMEM;
    return 0;
}

struct ctrl *
ctrl_new(const struct copts *o, struct sc_err *err)
{
    struct ctrl *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        sc_err_set(err, SC_ENOMEM, "out of memory");
        return NULL;
    }
    if (starter_init(&c->starter) != 0) {
        free(c);
        sc_err_set(err, SC_ENOMEM, "out of memory");
        return NULL;
    }
    c->o = o;
    c->clock = clock_system();
    c->hold = 1;
    if (open_clients(c, err) != 0 || make_parts(c, err) != 0) {
        if (err != NULL && err->code == 0)
            sc_err_set(err, SC_ENOMEM, "out of memory");
        ctrl_free(c);
        return NULL;
    }
    wire_sync(c);
    return c;
}

/* Probe group/v1 resources with upstream's backoff until deadline. */
static int
wait_served(struct ctrl *c, const char *group, const char *const *res, size_t n, struct sc_err *err)
{
    int64_t deadline = clock_mono_ms(&c->clock) + c->o->crd_wait_ms;
    double delay = 100;
    size_t i = 0;

    for (;;) {
        int rc = 1;

        for (; i < n; i++) {
            rc = kclient_served(c->kc, group, "v1", res[i], err);
            if (rc != 1)
                break;
        }
        if (rc == 1)
            return 0;
        log_debug(1, "waiting for CRD %s.%s: %s", res[i], group, err != NULL ? err->msg : "");
        if (clock_mono_ms(&c->clock) + (int64_t)delay > deadline)
            return SC_ETIMEOUT;
        usleep((useconds_t)(delay * 1000));
        delay *= 1.5;
    }
}

int
ctrl_wait_crds(struct ctrl *c, struct sc_err *err)
{
    static const char *const snap[] = {"volumesnapshots", "volumesnapshotclasses",
                                       "volumesnapshotcontents"};
    static const char *const group[] = {"volumegroupsnapshots", "volumegroupsnapshotclasses",
                                        "volumegroupsnapshotcontents"};
    struct sc_err gerr = {0};

    if (wait_served(c, SNAP_GROUP, snap, SC_ARRAY_LEN(snap), err) != 0) {
        char inner[SC_ERR_MSG_LEN];

        /* copy first: err->msg is both the source and the destination */
        snprintf(inner, sizeof(inner), "%s", err != NULL ? err->msg : "");
        return sc_err_set(err, SC_ETIMEOUT,
                          "Exiting due to failure to ensure CRDs exist during startup: %s", inner);
    }
    __atomic_store_n(&c->crds_ok, 1, __ATOMIC_RELEASE);
    if (!c->o->gate_groups)
        return 0;
    /* HEAD: missing group CRDs only turn the feature off */
    sc_err_clear(&gerr);
    if (wait_served(c, GROUP_API_GROUP, group, SC_ARRAY_LEN(group), &gerr) != 0) {
        log_warnx("group snapshot CRDs not found (%s): running with group snapshot support off",
                  gerr.msg);
        return 0;
    }
    c->groups = true;
    return 0;
}

/* The informer of kind k, feeding c->stores[k]. */
static int
make_informer(struct ctrl *c, enum kind k, struct sc_err *err)
{
    struct kinformer_opts io = {0};
    char path[KPATH_MAX];

    if (kind_path(k, NULL, NULL, NULL, path, sizeof(path)) != 0)
        return sc_err_set(err, SC_EINVALID, "bad path for %s", KINDS[k].resource);
    memset(&io, 0, sizeof(io));
    io.name = KINDS[k].resource;
    io.path = path;
    io.parse = parse_item;
    io.parse_ctx = &c->kctx[k];
    io.free_view = free_view;
    io.view_key = view_key;     /* the item points at the record's key */
    io.view_bytes = view_bytes; /* and holds the record itself */
    io.parse_bytes = k == KIND_VS || k == KIND_VSC ? scan_item : NULL;
    io.handlers = (struct kinf_handlers){&c->kctx[k], on_add, on_update, on_delete, on_resync};
    io.resync_ms = k == KIND_VS || k == KIND_VSC ? c->o->resync_ms : 0;
    io.on_error = on_inf_error;
    io.error_ctx = c;
    io.keep_newer = true; /* a write response stays until the watch catches up */
    c->inf[k] = kinformer_new(c->kc, &io, err);
    if (c->inf[k] == NULL)
        return err != NULL ? err->code : SC_ENOMEM;
    if (cstore_attach(c->stores[k], c->inf[k]) != 0) /* one store per kind */
        return sc_err_set(err, SC_EINVALID, "the %s store is not empty", KINDS[k].resource);
    if (k == KIND_VS) /* the snapshots that hold each PVC: a lookup, not a walk a pass */
        return pvc_pin_add_index(c->inf[k], c->stores[k], err);
    return 0;
}

/* The group queues; the snapshot side sees the group stores from now on. */
static int
make_group_queues(struct ctrl *c, struct sc_err *err)
{
    int rc;

    if (!c->groups)
        return 0;
    rc = make_queues(c, true, err);
    if (rc != 0)
        return rc;
    c->env.groups = c->stores[KIND_VGS];
    c->env.group_contents = c->stores[KIND_VGSC];
    c->env.group_classes = c->stores[KIND_GCLASS];
    return 0;
}

/* One informer a kind; the group kinds only when groups are on. */
static int
make_informers(struct ctrl *c, struct sc_err *err)
{
    int k, rc = 0;

    for (k = 0; k < N_WATCHED && rc == 0; k++)
        if (!KINDS[k].groups_only || c->groups)
            rc = make_informer(c, (enum kind)k, err);
    return rc;
}

/* Every cached object's first pass, and each resync's, comes from the
 * feeder (feeder.h); informer events queue again once it walks. */
static int
start_feeder(struct ctrl *c, struct sc_err *err)
{
    struct feeder_src src[FEEDER_MAX_SRC] = {0};
    struct feeder *f = NULL;
    int n = 0, k;

    for (k = 0; k < N_WATCHED; k++) {
        c->feed_src[k] = -1;
        if (c->inf[k] == NULL || c->q[k] == NULL || n == FEEDER_MAX_SRC)
            continue;
        src[n] = (struct feeder_src){c->inf[k], c->q[k], feed_wanted, &c->kctx[k]};
        c->feed_src[k] = n++;
    }
    /* events from now on queue their keys; the walks list the tables after */
    __atomic_store_n(&c->hold, 0, __ATOMIC_RELEASE);
    f = feeder_start(src, n, &(struct feeder_hooks){feed_walked, c}, err);
    if (f == NULL)
        return err != NULL && err->code != 0 ? err->code : SC_ENOMEM;
    __atomic_store_n(&c->feeder, f, __ATOMIC_RELEASE);
    return 0;
}

/* upstream: ctrl.Run -- informers, cache sync, then the workers. */
static int
ctrl_run(struct ctrl *c, struct sc_err *err)
{
    int i, rc = make_informers(c, err);

    if (rc == 0) {
        /* Restore persisted backoff before the initial LIST queues every key. */
        struct sc_err serr = {0};

        if (state_retry_foreach(c->st, seed_fn, c, &serr) != 0)
            log_debug(1, "state: cannot seed retries: %s", serr.msg);
    }
    for (i = 0; i < N_WATCHED && rc == 0; i++)
        if (c->inf[i] != NULL)
            rc = kinformer_start(c->inf[i], err);
    if (rc != 0)
        return rc;
    __atomic_store_n(&c->running, 1, __ATOMIC_RELEASE);
    for (i = 0; i < N_WATCHED; i++) {
        while (c->inf[i] != NULL && !__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE)) {
            rc = kinformer_wait_synced(c->inf[i], 1000);
            if (rc == 0)
                break;
            if (rc == SC_ESHUTDOWN)
                return sc_err_set(err, rc, "shutting down");
        }
    }
    if (__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE))
        return sc_err_set(err, SC_ESHUTDOWN, "shutting down");
    log_info("caches synced: %zu snapshots, %zu contents, %zu classes, %zu claims",
             cstore_len(c->stores[KIND_VS]), cstore_len(c->stores[KIND_VSC]),
             cstore_len(c->stores[KIND_CLASS]), cstore_len(c->stores[KIND_PVC]));
    malloc_trim(0); /* give back what the initial LIST pages and parse trees used */
    for (i = 0; i < N_WATCHED && rc == 0; i++)
        if (c->q[i] != NULL)
            rc = kworkq_start_workers(c->q[i], c->o->worker_threads, worker, &c->kctx[i], err);
    if (rc == 0)
        __atomic_store_n(&c->synced, 1, __ATOMIC_RELEASE);
    if (rc == 0)
        rc = start_feeder(c, err);
    return rc;
}

static void *
starter_main(void *arg)
{
    struct ctrl *c = arg;
    struct sc_err err = {0};

    sc_err_clear(&err);
    if (ctrl_run(c, &err) != 0 && err.code != SC_ESHUTDOWN)
        fatalx("cannot start the controller: %s", err.msg);
    return NULL;
}

static void
le_started(void *ctx)
{
    struct ctrl *c = ctx;

    int rc;

    log_info("became leader, starting the controller");
    /* the lease thread must keep renewing: start on another thread */
    rc = starter_launch(&c->starter, starter_main, c);
    if (rc == SC_ESHUTDOWN)
        log_info("shutting down: not starting the controller");
    else if (rc != 0)
        fatalx("cannot start the controller thread");
}

static void
le_stopped(void *ctx)
{
    (void)ctx;
    log_error("leaderelection lost");
    /* Not exit(): the workers and informers still run, and exit()'s
     * handlers (libcurl, OpenSSL, stdio) would free what they use -- the
     * soak saw 21 of 124 such exits end in SIGSEGV.  The state file may
     * miss its last write-behind; the API server is the truth. */
    fflush(NULL);
    _exit(1);
}

static void
le_new_leader(void *ctx, const char *identity)
{
    (void)ctx;
    log_info("new leader elected: %s", identity);
}

static const char *
le_namespace(const struct copts *o, char *buf, size_t cap)
{
    FILE *fp;
    const char *env;

    if (o->le_namespace[0] != '\0')
        return o->le_namespace;
    env = getenv("POD_NAMESPACE");
    if (env != NULL && env[0] != '\0')
        return env;
    fp = fopen("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "r");
    if (fp != NULL) {
        size_t n = fread(buf, 1, cap - 1, fp);

        fclose(fp);
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if (buf[0] != '\0')
            return buf;
    }
    return "default";
}

/* The lease, made before the HTTP thread starts (h_leader reads c->lease)
 * and started after it. */
static int
make_lease(struct ctrl *c, struct sc_err *err)
{
    char ns_buf[256], name[256], host[256], ident[256];
    struct klease_opts lo = {0};

    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    if (klease_sanitize(LEASE_NAME, name, sizeof(name)) != 0 ||
        klease_sanitize(host, ident, sizeof(ident)) != 0)
        return sc_err_set(err, SC_EINVALID, "bad lease name or identity");
    memset(&lo, 0, sizeof(lo));
    lo.ns = le_namespace(c->o, ns_buf, sizeof(ns_buf));
    lo.name = name;
    lo.identity = ident;
    lo.lease_ms = c->o->le_lease_ms;
    lo.renew_deadline_ms = c->o->le_renew_ms;
    lo.retry_ms = c->o->le_retry_ms;
    lo.ctx = c;
    lo.on_started_leading = le_started;
    lo.on_stopped_leading = le_stopped;
    lo.on_new_leader = le_new_leader;
    log_info("leader election: lease %s/%s, identity %s", lo.ns, lo.name, lo.identity);
    c->lease = klease_new(c->le_kc, &lo, err);
    return c->lease != NULL ? 0 : (err != NULL && err->code != 0 ? err->code : SC_ENOMEM);
}

int
ctrl_start(struct ctrl *c, struct sc_err *err)
{
    int rc = make_group_queues(c, err);

    if (rc == 0 && c->o->leader_election)
        rc = make_lease(c, err);
    if (rc != 0)
        return rc;
    if (c->o->http_endpoint[0] != '\0') {
        struct httpsrv_handlers h = {c, h_metrics, h_ready,
                                     c->o->leader_election ? h_leader : NULL};

        c->http = httpsrv_start(c->o->http_endpoint, c->o->metrics_path, &h, err);
        if (c->http == NULL)
            return err != NULL ? err->code : SC_EIO;
    }
    if (c->lease != NULL)
        return klease_start(c->lease, err);
    return ctrl_run(c, err);
}

void
ctrl_stop(struct ctrl *c, bool release)
{
    int i;

    if (c == NULL || __atomic_exchange_n(&c->stopping, 1, __ATOMIC_ACQ_REL))
        return; /* already stopped */
    /* Leadership may be won until klease_stop(): a launch after this
     * refuses, one before it is joined here. */
    starter_stop(&c->starter);
    for (i = 0; i < N_WATCHED; i++)
        kinformer_stop_begin(c->inf[i]); /* their watches end together, not one by one */
    for (i = 0; i < N_WATCHED; i++)
        if (c->q[i] != NULL)
            kworkq_stop_workers(c->q[i]);
    for (i = 0; i < N_WATCHED; i++)
        if (c->inf[i] != NULL)
            kinformer_stop(c->inf[i]);
    /* after the informers: no resync asks it for a walk any more */
    feeder_stop(__atomic_exchange_n(&c->feeder, NULL, __ATOMIC_ACQ_REL));
    if (c->lease != NULL)
        klease_stop(c->lease, release);
}

void
ctrl_free(struct ctrl *c)
{
    int i;

    if (c == NULL)
        return;
    ctrl_stop(c, false);
    httpsrv_stop(c->http);
    starter_destroy(&c->starter);
    klease_free(c->lease);
    for (i = 0; i < N_WATCHED; i++)
        kinformer_free(c->inf[i]);
    krecorder_free(c->rec);
    for (i = 0; i < N_WATCHED; i++)
        kworkq_free(c->q[i]);
    for (i = 0; i < N_WATCHED; i++)
        cstore_free(c->stores[i]);
    cmetrics_free(c->metrics);
    pvmemo_free(c->pv_memo);
    state_close(c->st);
    kclient_free(c->kc);
    kclient_free(c->le_kc);
    kconfig_free(c->cfg);
    cintern_free(c->intern); /* after every view: the stores, the memo, the informers */
    free(c);
}
