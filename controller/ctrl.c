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
#include "controller/cmetrics.h"
#include "controller/cstore.h"
#include "controller/cview.h"
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
#include "kube/kworkq.h"
#include "state/state.h"

#define Q_SNAPSHOT "snapshot-controller-snapshot"
#define Q_CONTENT  "snapshot-controller-content"
#define Q_GROUP    "snapshot-controller-group-snapshot"
#define Q_GCONTENT "snapshot-controller-group-content"
#define SNAP_GROUP "snapshot.storage.k8s.io"
#define LEASE_NAME "snapshot-controller-leader"

enum { INF_VS, INF_VSC, INF_CLASS, INF_PVC, INF_VGS, INF_VGSC, INF_GCLASS, N_INF };

struct ctrl {
    const struct copts *o;
    struct clock clock;
    struct kconfig *cfg;
    struct kclient *kc;    /* controller traffic */
    struct kclient *le_kc; /* leader election only */
    struct kinformer *inf[N_INF];
    struct cstore *stores[N_INF];
    struct kworkq *q_vs, *q_vsc;
    struct kworkq *q_vgs, *q_vgsc; /* NULL when groups are off */
    bool groups;                   /* CSIVolumeGroupSnapshot and the group CRDs are there */
    struct gsync_actions gact;
    struct gsync_env genv;
    struct krecorder *rec;
    struct cmetrics *metrics;
    struct state *st;
    struct klease *lease;
    struct httpsrv *http;
    struct sync_actions act;
    struct sync_env env;
    struct starter starter; /* the controller thread leadership starts */
    int running;            /* atomic: informers and workers started */
    int synced;             /* atomic: caches synced, workers running */
    int crds_ok;            /* atomic */
    int stopping;           /* atomic */
    uint64_t retries[4];    /* atomic, per queue */
    uint64_t syncs[4];
};

/* ---- informer plumbing ---- */

static int
parse_vs(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return cvs_parse(obj, (struct cvs **)view, err);
}

static int
parse_vsc(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return cvsc_parse(obj, (struct cvsc **)view, err);
}

static int
parse_class(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return cclass_parse(obj, (struct cclass **)view, err);
}

static int
parse_pvc(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return cpvc_parse(obj, (struct cpvc **)view, err);
}

static int
parse_vgs(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return gvgs_parse(obj, (struct gvgs **)view, err);
}

static int
parse_vgsc(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return gvgsc_parse(obj, (struct gvgsc **)view, err);
}

static int
parse_gclass(void *ctx, const json_t *obj, void **view, struct sc_err *err)
{
    (void)ctx;
    return gclass_parse(obj, (struct gclass **)view, err);
}

static void
free_view(void *ctx, void *view)
{
    (void)ctx;
    cview_unref(view);
}

static struct cmeta *
item_view(const struct kitem *it)
{
    return (struct cmeta *)kitem_view(it);
}

/* Queue key for a sync pass.  Until the caches have synced, the informers'
 * adds come from the initial LIST: a key restored from state/ with failures
 * (kworkq_seed, before the informers start) keeps its persisted backoff
 * instead of being made ready at once by that synthetic add. */
static void
enqueue(struct ctrl *c, struct kworkq *q, const char *key)
{
    if (!__atomic_load_n(&c->synced, __ATOMIC_ACQUIRE) && kworkq_failures(q, key) > 0)
        return;
    kworkq_add(q, key);
}

static void
enqueue_snapshot_key(void *ctx, const char *key)
{
    struct ctrl *c = ctx;

    if (c->q_vs != NULL)
        enqueue(c, c->q_vs, key);
}

static void
put_and_enqueue(struct ctrl *c, int which, const struct kitem *it)
{
    struct cmeta *m = item_view(it);
    int rc = cstore_put(c->stores[which], cview_ref(m), false);

    /* Queued even so: the worker finds the view missing from the store and
     * puts the informer's again, or fails and retries with backoff. */
    if (rc < 0)
        log_warnx("cannot store %s: %s", kitem_key(it), sc_err_str(rc));
    if (which == INF_VS)
        enqueue(c, c->q_vs, kitem_key(it));
    else if (which == INF_VSC)
        enqueue(c, c->q_vsc, kitem_key(it));
    else if (which == INF_VGS)
        enqueue(c, c->q_vgs, kitem_key(it));
    else if (which == INF_VGSC)
        enqueue(c, c->q_vgsc, kitem_key(it));
    else if (which == INF_PVC) /* issue 16: a held PVC being deleted re-checks its snapshots */
        pvc_pin_enqueue(c->stores[INF_VS], (const struct cpvc *)m, enqueue_snapshot_key, c);
}

#define HANDLERS(tag, which)                                                             \
    static void on_add_##tag(void *ctx, const struct kitem *it)                          \
    {                                                                                    \
        put_and_enqueue(ctx, which, it);                                                 \
    }                                                                                    \
    static void on_update_##tag(void *ctx, const struct kitem *o, const struct kitem *n) \
    {                                                                                    \
        (void)o;                                                                         \
        put_and_enqueue(ctx, which, n);                                                  \
    }

HANDLERS(vs, INF_VS)
HANDLERS(vsc, INF_VSC)
HANDLERS(class, INF_CLASS)
HANDLERS(pvc, INF_PVC)
HANDLERS(vgs, INF_VGS)
HANDLERS(vgsc, INF_VGSC)
HANDLERS(gclass, INF_GCLASS)

static void
on_delete_vgs(void *ctx, const struct kitem *it)
{
    struct ctrl *c = ctx;

    group_deleted(&c->genv, (const struct gvgs *)item_view(it));
    /* a deleted object keeps no retry state (the on_forget hook clears state/) */
    kworkq_forget(c->q_vgs, kitem_key(it));
}

static void
on_delete_vgsc(void *ctx, const struct kitem *it)
{
    struct ctrl *c = ctx;

    group_content_deleted(&c->genv, (const struct gvgsc *)item_view(it));
    /* a deleted object keeps no retry state (the on_forget hook clears state/) */
    kworkq_forget(c->q_vgsc, kitem_key(it));
}

static void
on_delete_vs(void *ctx, const struct kitem *it)
{
    struct ctrl *c = ctx;

    snapshot_deleted(&c->env, (const struct cvs *)item_view(it));
    /* a deleted object keeps no retry state (the on_forget hook clears state/) */
    kworkq_forget(c->q_vs, kitem_key(it));
}

static void
on_delete_vsc(void *ctx, const struct kitem *it)
{
    struct ctrl *c = ctx;

    content_deleted(&c->env, (const struct cvsc *)item_view(it));
    /* a deleted object keeps no retry state (the on_forget hook clears state/) */
    kworkq_forget(c->q_vsc, kitem_key(it));
}

static void
on_delete_plain(struct ctrl *c, int which, const struct kitem *it)
{
    cview_unref(cstore_del(c->stores[which], kitem_key(it)));
}

static void
on_delete_class(void *ctx, const struct kitem *it)
{
    on_delete_plain(ctx, INF_CLASS, it);
}

static void
on_delete_pvc(void *ctx, const struct kitem *it)
{
    on_delete_plain(ctx, INF_PVC, it);
}

static void
on_delete_gclass(void *ctx, const struct kitem *it)
{
    on_delete_plain(ctx, INF_GCLASS, it);
}

static void
on_inf_error(void *ctx, const char *informer, const struct sc_err *err)
{
    (void)ctx;
    log_warnx("informer %s: %s", informer, err->msg);
}

/* ---- actions: the real API ---- */

static int
obj_path(const struct sync_obj *o, bool status, char *out, size_t cap)
{
    const char *sub = status ? "status" : NULL;

    switch (o->kind) {
    case SYNC_VS:
        return kpath(out, cap, SNAP_GROUP, "v1", "volumesnapshots", o->ns, o->name, sub);
    case SYNC_VSC:
        return kpath(out, cap, SNAP_GROUP, "v1", "volumesnapshotcontents", NULL, o->name, sub);
    default:
        return kpath(out, cap, "", "v1", "persistentvolumeclaims", o->ns, o->name, sub);
    }
}

/* Store an object we wrote so the next pass sees it before the watch.
 * kind is an enum gsync_kind (its VS/VSC values equal enum sync_kind's). */
static void
store_response(struct ctrl *c, int kind, const json_t *obj)
{
    struct sc_err err = {0};
    struct cmeta *m = NULL;
    int which, rc;

    if (obj == NULL)
        return;
    switch (kind) {
    case GSYNC_VS:
        which = INF_VS;
        rc = cvs_parse(obj, (struct cvs **)&m, &err);
        break;
    case GSYNC_VSC:
        which = INF_VSC;
        rc = cvsc_parse(obj, (struct cvsc **)&m, &err);
        break;
    case GSYNC_VGS:
        which = INF_VGS;
        rc = gvgs_parse(obj, (struct gvgs **)&m, &err);
        break;
    case GSYNC_VGSC:
        which = INF_VGSC;
        rc = gvgsc_parse(obj, (struct gvgsc **)&m, &err);
        break;
    default:
        which = INF_PVC;
        rc = cpvc_parse(obj, (struct cpvc **)&m, &err);
        break;
    }
    if (rc == 0 && c->stores[which] != NULL) {
        /* the store keeps the older view: the watch event brings this one */
        rc = cstore_put(c->stores[which], m, false);
        if (rc < 0)
            log_warnx("cannot store the %s write response: %s", m->name, sc_err_str(rc));
    } else if (rc == 0) {
        cview_unref(m);
    }
}

static int
act_get_pv(void *ctx, const char *name, struct cpv **out, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *obj = NULL;
    int rc;

    rc = kpath(path, sizeof(path), "", "v1", "persistentvolumes", NULL, name, NULL);
    if (rc == 0)
        rc = kclient_get(c->kc, path, &obj, err);
    if (rc == 0)
        rc = cpv_parse(obj, out, err);
    json_decref(obj);
    return rc;
}

static int
collect(void *ctx, const json_t *item)
{
    return json_array_append((json_t *)ctx, (json_t *)item) == 0 ? 0 : SC_ENOMEM;
}

static int
act_list_nodes(void *ctx, json_t **out, struct sc_err *err)
{
    struct ctrl *c = ctx;
    json_t *arr = json_array();
    char rv[64];
    int rc;

    if (arr == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    rc = kclient_list(c->kc, "/api/v1/nodes", NULL, collect, arr, rv, sizeof(rv), err);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static int
act_create_content(void *ctx, const json_t *body, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *out = NULL;
    int rc =
        kpath(path, sizeof(path), SNAP_GROUP, "v1", "volumesnapshotcontents", NULL, NULL, NULL);

    if (rc == 0)
        rc = kclient_create(c->kc, path, body, &out, err);
    if (rc == 0)
        store_response(c, GSYNC_VSC, out);
    json_decref(out);
    return rc;
}

static int
act_patch(void *ctx, const struct sync_obj *o, bool status, enum sync_patch type,
          const json_t *patch, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *out = NULL;
    int rc = obj_path(o, status, path, sizeof(path));

    if (rc == 0)
        rc = kclient_patch(c->kc, path, type == SYNC_PATCH_JSON ? KPATCH_JSON : KPATCH_MERGE, patch,
                           &out, err);
    if (rc == 0)
        store_response(c,
                       o->kind == SYNC_VS    ? GSYNC_VS
                       : o->kind == SYNC_VSC ? GSYNC_VSC
                                             : -1,
                       out);
    json_decref(out);
    return rc;
}

static int
act_delete_content(void *ctx, const char *name, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    int rc =
        kpath(path, sizeof(path), SNAP_GROUP, "v1", "volumesnapshotcontents", NULL, name, NULL);

    return rc == 0 ? kclient_delete(c->kc, path, NULL, NULL, err) : rc;
}

static void
act_event(void *ctx, const struct sync_obj *o, const char *type, const char *reason,
          const char *message)
{
    struct ctrl *c = ctx;
    struct kobj_ref ref = {
        o->kind == SYNC_PVC ? "v1" : "snapshot.storage.k8s.io/v1",
        o->kind == SYNC_VS    ? "VolumeSnapshot"
        : o->kind == SYNC_VSC ? "VolumeSnapshotContent"
                              : "PersistentVolumeClaim",
        o->ns,
        o->name,
        o->uid,
        o->rv,
    };

    /* events also go to the log at info level, as upstream's recorder does */
    log_debug(2, "event %s %s/%s: %s %s: %s", ref.kind, o->ns != NULL ? o->ns : "", o->name, type,
              reason, message);
    if (krecorder_event(c->rec, &ref, type, reason, "%s", message) != 0)
        log_debug(4, "event %s for %s dropped by the spam limit", reason, o->name);
}

static void
act_enqueue_vs(void *ctx, const char *key)
{
    struct ctrl *c = ctx;

    kworkq_add(c->q_vs, key);
}

static void
act_enqueue_vsc(void *ctx, const char *key)
{
    struct ctrl *c = ctx;

    kworkq_add(c->q_vsc, key);
}

/* ---- group actions (controller/gsync.h) ---- */

static int
gpath(enum gsync_kind kind, const char *ns, const char *name, const char *sub, char *out,
      size_t cap)
{
    switch (kind) {
    case GSYNC_VS:
        return kpath(out, cap, SNAP_GROUP, "v1", "volumesnapshots", ns, name, sub);
    case GSYNC_VSC:
        return kpath(out, cap, SNAP_GROUP, "v1", "volumesnapshotcontents", NULL, name, sub);
    case GSYNC_VGS:
        return kpath(out, cap, GROUP_API_GROUP, "v1", "volumegroupsnapshots", ns, name, sub);
    default:
        return kpath(out, cap, GROUP_API_GROUP, "v1", "volumegroupsnapshotcontents", NULL, name,
                     sub);
    }
}

static int
gact_list_pvcs(void *ctx, const char *ns, const char *selector, json_t **out, struct sc_err *err)
{
    struct ctrl *c = ctx;
    struct klist_opts lo = {selector != NULL && *selector != '\0' ? selector : NULL, NULL, 0};
    char path[KPATH_MAX], rv[64];
    json_t *arr = json_array();
    int rc;

    if (arr == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    rc = kpath(path, sizeof(path), "", "v1", "persistentvolumeclaims", ns, NULL, NULL);
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
gact_create(void *ctx, enum gsync_kind kind, const char *ns, const json_t *body, json_t **out,
            struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *resp = NULL;
    int rc = gpath(kind, ns, NULL, NULL, path, sizeof(path));

    if (rc == 0)
        rc = kclient_create(c->kc, path, body, &resp, err);
    if (rc == 0)
        store_response(c, (int)kind, resp);
    if (rc == 0 && out != NULL)
        *out = resp;
    else
        json_decref(resp);
    return rc;
}

static int
gact_get(void *ctx, enum gsync_kind kind, const char *ns, const char *name, json_t **out,
         struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    int rc = gpath(kind, ns, name, NULL, path, sizeof(path));

    return rc == 0 ? kclient_get(c->kc, path, out, err) : rc;
}

static int
gact_patch(void *ctx, const struct gsync_obj *o, bool status, enum sync_patch type,
           const json_t *patch, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    json_t *out = NULL;
    int rc = gpath(o->kind, o->ns, o->name, status ? "status" : NULL, path, sizeof(path));

    if (rc == 0)
        rc = kclient_patch(c->kc, path, type == SYNC_PATCH_JSON ? KPATCH_JSON : KPATCH_MERGE, patch,
                           &out, err);
    if (rc == 0)
        store_response(c, (int)o->kind, out);
    json_decref(out);
    return rc;
}

static int
gact_del(void *ctx, enum gsync_kind kind, const char *ns, const char *name, struct sc_err *err)
{
    struct ctrl *c = ctx;
    char path[KPATH_MAX];
    int rc = gpath(kind, ns, name, NULL, path, sizeof(path));

    return rc == 0 ? kclient_delete(c->kc, path, NULL, NULL, err) : rc;
}

static void
gact_event(void *ctx, const struct gsync_obj *o, const char *type, const char *reason,
           const char *message)
{
    struct ctrl *c = ctx;
    static const char *kinds[] = {"VolumeSnapshot", "VolumeSnapshotContent", "VolumeGroupSnapshot",
                                  "VolumeGroupSnapshotContent"};
    struct kobj_ref ref = {
        o->kind == GSYNC_VS || o->kind == GSYNC_VSC ? "snapshot.storage.k8s.io/v1"
                                                    : "groupsnapshot.storage.k8s.io/v1",
        kinds[o->kind],
        o->ns,
        o->name,
        o->uid,
        o->rv,
    };

    log_debug(2, "event %s %s/%s: %s %s: %s", ref.kind, o->ns != NULL ? o->ns : "", o->name, type,
              reason, message);
    if (krecorder_event(c->rec, &ref, type, reason, "%s", message) != 0)
        log_debug(4, "event %s for %s dropped by the spam limit", reason, o->name);
}

static void
gact_enqueue_group(void *ctx, const char *key)
{
    struct ctrl *c = ctx;

    if (c->q_vgs != NULL)
        kworkq_add(c->q_vgs, key);
}

static void
gact_enqueue_group_content(void *ctx, const char *key)
{
    struct ctrl *c = ctx;

    if (c->q_vgsc != NULL)
        kworkq_add(c->q_vgsc, key);
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

static int
seed_fn(void *ctx, const char *kind, const char *uid, const struct state_retry *r)
{
    struct ctrl *c = ctx;

    if (strcmp(kind, Q_SNAPSHOT) == 0)
        kworkq_seed(c->q_vs, uid, r->failures, r->next_ms);
    else if (strcmp(kind, Q_CONTENT) == 0)
        kworkq_seed(c->q_vsc, uid, r->failures, r->next_ms);
    else if (strcmp(kind, Q_GROUP) == 0 && c->q_vgs != NULL)
        kworkq_seed(c->q_vgs, uid, r->failures, r->next_ms);
    else if (strcmp(kind, Q_GCONTENT) == 0 && c->q_vgsc != NULL)
        kworkq_seed(c->q_vgsc, uid, r->failures, r->next_ms);
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
    s.snapshots = c->stores[INF_VS];
    s.contents = c->stores[INF_VSC];
    s.pvcs = c->stores[INF_PVC];
    s.groups = c->q_vgs != NULL ? c->stores[INF_VGS] : NULL;
    s.group_contents = c->q_vgsc != NULL ? c->stores[INF_VGSC] : NULL;
    s.now_ms = clock_wall_ms(&c->clock);
    s.threshold_ms = c->o->stuck_threshold_ms;
    return stuck_metrics_render(&s, out);
}

static int
metrics_extra(void *ctx, struct buf *out)
{
    struct ctrl *c = ctx;
    size_t d_vs = c->q_vs != NULL ? kworkq_len(c->q_vs) + kworkq_delayed(c->q_vs) : 0;
    size_t d_vsc = c->q_vsc != NULL ? kworkq_len(c->q_vsc) + kworkq_delayed(c->q_vsc) : 0;
    int rc;

    if (c->q_vgs != NULL && c->q_vgsc != NULL) { /* groups on and this replica leads */
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
            kworkq_len(c->q_vgs) + kworkq_delayed(c->q_vgs),
            kworkq_len(c->q_vgsc) + kworkq_delayed(c->q_vgsc),
            (unsigned long long)__atomic_load_n(&c->retries[2], __ATOMIC_RELAXED),
            (unsigned long long)__atomic_load_n(&c->retries[3], __ATOMIC_RELAXED));
        if (rc != 0)
            return rc;
    }
    rc = metrics_stuck(c, out); /* issue 16 */
    if (rc != 0)
        return rc;
    return buf_addf(
        out,
        "# HELP snapshot_controller_queue_depth Keys waiting in a work queue (ready or delayed).\n"
        "# TYPE snapshot_controller_queue_depth gauge\n"
        "snapshot_controller_queue_depth{queue=\"" Q_SNAPSHOT "\"} %zu\n"
        "snapshot_controller_queue_depth{queue=\"" Q_CONTENT "\"} %zu\n"
        "# HELP snapshot_controller_queue_retries_total Syncs that failed and were requeued with "
        "backoff.\n"
        "# TYPE snapshot_controller_queue_retries_total counter\n"
        "snapshot_controller_queue_retries_total{queue=\"" Q_SNAPSHOT "\"} %llu\n"
        "snapshot_controller_queue_retries_total{queue=\"" Q_CONTENT "\"} %llu\n"
        "# HELP snapshot_controller_syncs_total Syncs run by the workers.\n"
        "# TYPE snapshot_controller_syncs_total counter\n"
        "snapshot_controller_syncs_total{queue=\"" Q_SNAPSHOT "\"} %llu\n"
        "snapshot_controller_syncs_total{queue=\"" Q_CONTENT "\"} %llu\n"
        "# HELP snapshot_controller_cached_objects Objects held in the controller's caches.\n"
        "# TYPE snapshot_controller_cached_objects gauge\n"
        "snapshot_controller_cached_objects{kind=\"VolumeSnapshot\"} %zu\n"
        "snapshot_controller_cached_objects{kind=\"VolumeSnapshotContent\"} %zu\n"
        "snapshot_controller_cached_objects{kind=\"PersistentVolumeClaim\"} %zu\n"
        "# HELP snapshot_controller_leader 1 when this replica runs the controller.\n"
        "# TYPE snapshot_controller_leader gauge\n"
        "snapshot_controller_leader %d\n",
        d_vs, d_vsc, (unsigned long long)__atomic_load_n(&c->retries[0], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->retries[1], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->syncs[0], __ATOMIC_RELAXED),
        (unsigned long long)__atomic_load_n(&c->syncs[1], __ATOMIC_RELAXED),
        cstore_len(c->stores[INF_VS]), cstore_len(c->stores[INF_VSC]),
        cstore_len(c->stores[INF_PVC]), __atomic_load_n(&c->running, __ATOMIC_ACQUIRE));
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

/* A store entry the informer no longer has is a ghost: a write response
 * stored after the delete event.  Drop it (upstream: the lister decides):
 * returns 1.  An informer item missing from the store (its put failed) is
 * put again: 0, or the put's error (the queue retries the key). */
static int
ghost(struct ctrl *c, int which, const char *key)
{
    struct kitem *it = kinformer_get(c->inf[which], key);
    struct cmeta *m = NULL;
    int rc = 0;

    if (it == NULL) {
        cview_unref(cstore_del(c->stores[which], key));
        return 1;
    }
    m = cstore_get(c->stores[which], key);
    if (m == NULL)
        rc = cstore_put(c->stores[which], cview_ref(item_view(it)), false);
    cview_unref(m);
    kitem_release(it);
    return rc < 0 ? rc : 0;
}

/* Count one sync pass of queue q and log a failure once (the queue retries it). */
static int
worker_result(struct ctrl *c, int q, const char *what, const char *key, int rc,
              const struct sc_err *err)
{
    __atomic_add_fetch(&c->syncs[q], 1, __ATOMIC_RELAXED);
    if (rc != 0) {
        __atomic_add_fetch(&c->retries[q], 1, __ATOMIC_RELAXED);
        log_debug(3, "%s '%s': %s (will retry)", what, key, err->msg);
    }
    return rc;
}

/* One worker pass: drop a ghost, re-put a missing view, else sync. */
static int
worker_pass(struct ctrl *c, int which, int q, const char *what, const char *key, struct sc_err *err)
{
    int rc = ghost(c, which, key);

    if (rc < 0)
        rc = sc_err_set(err, rc, "cannot store the informer's view");
    else if (rc == 1)
        rc = 0;
    else if (which == INF_VS)
        rc = snapshot_sync_key(&c->env, key, err);
    else if (which == INF_VSC)
        rc = content_sync_key(&c->env, key, err);
    else if (which == INF_VGS)
        rc = group_sync_key(&c->genv, key, err);
    else
        rc = group_content_sync_key(&c->genv, key, err);
    return worker_result(c, q, what, key, rc, err);
}

static int
vs_worker(void *ctx, const char *key, struct sc_err *err)
{
    return worker_pass(ctx, INF_VS, 0, "snapshot", key, err);
}

static int
vsc_worker(void *ctx, const char *key, struct sc_err *err)
{
    return worker_pass(ctx, INF_VSC, 1, "content", key, err);
}

static int
vgs_worker(void *ctx, const char *key, struct sc_err *err)
{
    return worker_pass(ctx, INF_VGS, 2, "group snapshot", key, err);
}

static int
vgsc_worker(void *ctx, const char *key, struct sc_err *err)
{
    return worker_pass(ctx, INF_VGSC, 3, "group content", key, err);
}

/* ---- construction ---- */

/* The sync logic's view of the ctrl: its stores and its actions. */
static void
wire_sync(struct ctrl *c)
{
    c->act = (struct sync_actions){c,
                                   act_get_pv,
                                   act_list_nodes,
                                   act_create_content,
                                   act_patch,
                                   act_delete_content,
                                   act_event,
                                   act_enqueue_vs,
                                   act_enqueue_vsc};
    c->env.snapshots = c->stores[INF_VS];
    c->env.contents = c->stores[INF_VSC];
    c->env.classes = c->stores[INF_CLASS];
    c->env.claims = c->stores[INF_PVC];
    c->env.act = &c->act;
    c->env.metrics = c->metrics;
    c->env.clock = c->clock;
    c->env.opts.prevent_volume_mode_conversion = c->o->prevent_volume_mode_conversion;
    c->env.opts.distributed_snapshotting = c->o->distributed;
    c->gact = (struct gsync_actions){c,
                                     act_get_pv,
                                     gact_list_pvcs,
                                     gact_create,
                                     gact_get,
                                     gact_patch,
                                     gact_del,
                                     gact_event,
                                     gact_enqueue_group,
                                     gact_enqueue_group_content,
                                     act_enqueue_vs};
    c->genv.groups = c->stores[INF_VGS];
    c->genv.group_contents = c->stores[INF_VGSC];
    c->genv.group_classes = c->stores[INF_GCLASS];
    c->genv.snapshots = c->stores[INF_VS];
    c->genv.contents = c->stores[INF_VSC];
    c->genv.claims = c->stores[INF_PVC];
    c->genv.act = &c->gact;
    c->genv.metrics = c->metrics;
    c->genv.clock = c->clock;
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

/* Metrics, stores, the snapshot queues and the event recorder. */
static int
make_parts(struct ctrl *c, struct sc_err *err)
{
    struct kworkq_opts qo = {0};
    struct krecorder_opts ro = {0};
    int i;

    c->metrics = cmetrics_new(c->clock);
    for (i = 0; i < N_INF; i++)
        c->stores[i] = cstore_new();
    memset(&qo, 0, sizeof(qo));
    qo.base_ms = c->o->retry_start_ms;
    qo.max_ms = c->o->retry_max_ms;
    qo.hooks = (struct kworkq_hooks){c, q_on_failure, q_on_forget};
    qo.name = Q_SNAPSHOT;
    c->q_vs = kworkq_new(&qo, err);
    qo.name = Q_CONTENT;
    c->q_vsc = c->q_vs != NULL ? kworkq_new(&qo, err) : NULL;
    memset(&ro, 0, sizeof(ro));
    ro.component = "snapshot-controller";
    ro.store = (struct krecorder_store){c, rec_lookup, rec_save};
    ro.replace_reasons = (const char *const[]){PVC_PIN_REASON, NULL}; /* one Event per PVC */
    c->rec = c->q_vsc != NULL ? krecorder_new(c->kc, &ro, err) : NULL;
    if (c->metrics == NULL || c->q_vs == NULL || c->q_vsc == NULL || c->rec == NULL)
        return SC_ENOMEM;
    for (i = 0; i < N_INF; i++)
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

static int
make_informer(struct ctrl *c, int which, const char *name, const char *group, const char *res,
              kinf_parse_fn *parse, struct kinf_handlers h, struct sc_err *err)
{
    struct kinformer_opts io = {0};
    char path[KPATH_MAX];

    if (kpath(path, sizeof(path), group, "v1", res, NULL, NULL, NULL) != 0)
        return sc_err_set(err, SC_EINVALID, "bad path for %s", res);
    memset(&io, 0, sizeof(io));
    io.name = name;
    io.path = path;
    io.parse = parse;
    io.free_view = free_view;
    io.handlers = h;
    io.resync_ms = which == INF_VS || which == INF_VSC ? c->o->resync_ms : 0;
    io.on_error = on_inf_error;
    io.error_ctx = c;
    c->inf[which] = kinformer_new(c->kc, &io, err);
    return c->inf[which] != NULL ? 0 : (err != NULL ? err->code : SC_ENOMEM);
}

/* The group queues, made before the HTTP thread starts (metrics_extra
 * reads them) and never changed after. */
static int
make_group_queues(struct ctrl *c, struct sc_err *err)
{
    struct kworkq_opts qo = {0};

    if (!c->groups)
        return 0;
    memset(&qo, 0, sizeof(qo));
    qo.base_ms = c->o->retry_start_ms;
    qo.max_ms = c->o->retry_max_ms;
    qo.hooks = (struct kworkq_hooks){c, q_on_failure, q_on_forget};
    qo.name = Q_GROUP;
    c->q_vgs = kworkq_new(&qo, err);
    qo.name = Q_GCONTENT;
    c->q_vgsc = c->q_vgs != NULL ? kworkq_new(&qo, err) : NULL;
    if (c->q_vgs == NULL || c->q_vgsc == NULL)
        return err != NULL && err->code != 0 ? err->code : SC_ENOMEM;
    /* the snapshot side sees the groups from now on */
    c->env.groups = c->stores[INF_VGS];
    c->env.group_contents = c->stores[INF_VGSC];
    return 0;
}

/* One informer a kind; the group kinds only when groups are on. */
static int
make_informers(struct ctrl *c, struct sc_err *err)
{
    struct kinf_handlers h[N_INF] = {
        {c, on_add_vs, on_update_vs, on_delete_vs},
        {c, on_add_vsc, on_update_vsc, on_delete_vsc},
        {c, on_add_class, on_update_class, on_delete_class},
        {c, on_add_pvc, on_update_pvc, on_delete_pvc},
        {c, on_add_vgs, on_update_vgs, on_delete_vgs},
        {c, on_add_vgsc, on_update_vgsc, on_delete_vgsc},
        {c, on_add_gclass, on_update_gclass, on_delete_gclass},
    };
    int rc;

    rc = make_informer(c, INF_VS, "volumesnapshots", SNAP_GROUP, "volumesnapshots", parse_vs,
                       h[INF_VS], err);
    if (rc == 0)
        rc = make_informer(c, INF_VSC, "volumesnapshotcontents", SNAP_GROUP,
                           "volumesnapshotcontents", parse_vsc, h[INF_VSC], err);
    if (rc == 0)
        rc = make_informer(c, INF_CLASS, "volumesnapshotclasses", SNAP_GROUP,
                           "volumesnapshotclasses", parse_class, h[INF_CLASS], err);
    if (rc == 0)
        rc = make_informer(c, INF_PVC, "persistentvolumeclaims", "", "persistentvolumeclaims",
                           parse_pvc, h[INF_PVC], err);
    if (rc == 0 && c->groups)
        rc = make_informer(c, INF_VGS, "volumegroupsnapshots", GROUP_API_GROUP,
                           "volumegroupsnapshots", parse_vgs, h[INF_VGS], err);
    if (rc == 0 && c->groups)
        rc = make_informer(c, INF_VGSC, "volumegroupsnapshotcontents", GROUP_API_GROUP,
                           "volumegroupsnapshotcontents", parse_vgsc, h[INF_VGSC], err);
    if (rc == 0 && c->groups)
        rc = make_informer(c, INF_GCLASS, "volumegroupsnapshotclasses", GROUP_API_GROUP,
                           "volumegroupsnapshotclasses", parse_gclass, h[INF_GCLASS], err);
    return rc;
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
    for (i = 0; i < N_INF && rc == 0; i++)
        if (c->inf[i] != NULL)
            rc = kinformer_start(c->inf[i], err);
    if (rc != 0)
        return rc;
    __atomic_store_n(&c->running, 1, __ATOMIC_RELEASE);
    for (i = 0; i < N_INF; i++) {
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
             cstore_len(c->stores[INF_VS]), cstore_len(c->stores[INF_VSC]),
             cstore_len(c->stores[INF_CLASS]), cstore_len(c->stores[INF_PVC]));
    malloc_trim(0); /* give back what the initial LIST pages and parse trees used */
    rc = kworkq_start_workers(c->q_vs, c->o->worker_threads, vs_worker, c, err);
    if (rc == 0)
        rc = kworkq_start_workers(c->q_vsc, c->o->worker_threads, vsc_worker, c, err);
    if (rc == 0 && c->groups)
        rc = kworkq_start_workers(c->q_vgs, c->o->worker_threads, vgs_worker, c, err);
    if (rc == 0 && c->groups)
        rc = kworkq_start_workers(c->q_vgsc, c->o->worker_threads, vgsc_worker, c, err);
    if (rc == 0)
        __atomic_store_n(&c->synced, 1, __ATOMIC_RELEASE);
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
    exit(1);
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
    if (c->q_vs != NULL)
        kworkq_stop_workers(c->q_vs);
    if (c->q_vsc != NULL)
        kworkq_stop_workers(c->q_vsc);
    if (c->q_vgs != NULL)
        kworkq_stop_workers(c->q_vgs);
    if (c->q_vgsc != NULL)
        kworkq_stop_workers(c->q_vgsc);
    for (i = 0; i < N_INF; i++)
        if (c->inf[i] != NULL)
            kinformer_stop(c->inf[i]);
    if (c->lease != NULL)
        klease_stop(c->lease, release);
    if (c->rec != NULL)
        krecorder_flush(c->rec, 5000);
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
    for (i = 0; i < N_INF; i++)
        kinformer_free(c->inf[i]);
    krecorder_free(c->rec);
    kworkq_free(c->q_vs);
    kworkq_free(c->q_vsc);
    kworkq_free(c->q_vgs);
    kworkq_free(c->q_vgsc);
    for (i = 0; i < N_INF; i++)
        cstore_free(c->stores[i]);
    cmetrics_free(c->metrics);
    state_close(c->st);
    kclient_free(c->kc);
    kclient_free(c->le_kc);
    kconfig_free(c->cfg);
    free(c);
}
