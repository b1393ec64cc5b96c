/* controller/snapshot_sync.c -- VolumeSnapshot reconcile, step by step as
 * upstream's pkg/common-controller/snapshot_controller{,_base}.go.  Each
 * function names its upstream twin. */
#include "controller/sync.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/log.h"
#include "controller/gostr.h"
#include "controller/gsync.h"
#include "controller/pvc_pin.h"
#include "controller/pvmemo.h"
#include "controller/sync_int.h"

#define MSG_CAP LIM_EVENT_MESSAGE

/* ---- small helpers ---- */

static void
vs_key(const struct cvs *vs, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", vs->m.ns, vs->m.name);
}

static bool
vs_ready(const struct cvs *vs)
{
    return vs->ready == TRI_TRUE;
}

static bool
vs_bound_set(const struct cvs *vs)
{
    return vs->bound != NULL && vs->bound[0] != '\0';
}

/* upstream: updateSnapshotErrorStatusWithEvent */
static int
vs_error_status(const struct sync_env *env, const struct cvs *vs, bool set_ready_false,
                const char *reason, const char *msg)
{
    return sync_error_status(env, KIND_VS, &vs->m, vs->error_msg, set_ready_false, reason, msg);
}

/* ---- lookups in the stores (listers) ---- */

static struct cclass *
class_get(const struct sync_env *env, const char *name, struct sc_err *err)
{
    struct cclass *c = (struct cclass *)cstore_get(env->classes, name);

    if (c == NULL)
        sc_err_set(err, SC_ENOTFOUND,
                   "volumesnapshotclass.snapshot.storage.k8s.io \"%s\" not found", name);
    return c;
}

static struct cvsc *
content_get(const struct sync_env *env, const char *name)
{
    return name != NULL ? (struct cvsc *)cstore_get(env->contents, name) : NULL;
}

/* upstream: getClaimFromVolumeSnapshot. */
static struct cpvc *
claim_of(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    char key[LIM_KEY];
    struct cpvc *p = NULL;

    if (!vs->has_pvc) {
        sc_err_set(err, SC_EINVALID, "the snapshot source does not have a PVC name");
        return NULL;
    }
    if (vs->pvc[0] == '\0') {
        sc_err_set(err, SC_EINVALID, "the PVC name is not specified in snapshot %s/%s", vs->m.ns,
                   vs->m.name);
        return NULL;
    }
    snprintf(key, sizeof(key), "%s/%s", vs->m.ns, vs->pvc);
    p = (struct cpvc *)cstore_get(env->claims, key);
    if (p == NULL) {
        char inner[MSG_CAP], prefix[MSG_CAP];

        snprintf(inner, sizeof(inner), "persistentvolumeclaim \"%s\" not found", vs->pvc);
        snprintf(prefix, sizeof(prefix), "failed to retrieve PVC %s from the lister: ", vs->pvc);
        sync_err_quoted(err, SC_ENOTFOUND, prefix, inner);
    }
    return p;
}

/* upstream: getVolumeFromVolumeSnapshot (PV by a live GET). */
static struct cpv *
volume_of(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    struct cpvc *pvc = claim_of(env, vs, err);
    struct cpv *pv = NULL;
    struct sc_err gerr = {0};
    int rc;

    if (pvc == NULL)
        return NULL;
    if (pvc->phase == NULL || strcmp(pvc->phase, "Bound") != 0) {
        sc_err_set(err, SC_EINVALID,
                   "the PVC %s is not yet bound to a PV, will not attempt to take a snapshot",
                   pvc->m.name);
        goto out;
    }
    sc_err_clear(&gerr);
    /* this snapshot's previous pass may have read the same PV a moment ago
     * (pvmemo.h); else a live GET, kept for its next pass */
    pv = pvmemo_take(env->pv_memo, vs->m.uid, pvc->volume_name);
    rc = 0;
    if (pv == NULL) {
        rc = sync_get_pv(env, pvc->volume_name != NULL ? pvc->volume_name : "", &pv, &gerr);
        if (rc == 0)
            pvmemo_put(env->pv_memo, vs->m.uid, pv);
    }
    if (rc != 0) {
        char prefix[MSG_CAP];

        snprintf(prefix, sizeof(prefix), "failed to retrieve PV %s from the API server: ",
                 pvc->volume_name != NULL ? pvc->volume_name : "");
        sync_err_quoted(err, rc, prefix, gerr.msg);
        pv = NULL;
        goto out;
    }
    /* upstream: isVolumeBoundToClaim */
    if (pv->claim_name == NULL || pv->claim_ns == NULL ||
        strcmp(pv->claim_name, pvc->m.name) != 0 || strcmp(pv->claim_ns, pvc->m.ns) != 0 ||
        (pv->claim_uid != NULL && pv->claim_uid[0] != '\0' &&
         strcmp(pv->claim_uid, pvc->m.uid) != 0)) {
        sc_err_set(err, SC_EINVALID, "claim in dataSource not bound or invalid");
        CVIEW_UNREF(pv);
        pv = NULL;
    }
out:
    CVIEW_UNREF(pvc);
    return pv;
}

static int
default_scan_fn(const struct cmeta *m, void *arg)
{
    const struct cclass *c = (const struct cclass *)m;

    sync_default_scan_add(arg, c->m.name, c->driver, c->is_default);
    return 0;
}

/* The finalizers a dynamic snapshot's first patch adds: as-source and,
 * when its class (class_name) says Delete, bound-protection as well, which
 * upstream adds in a patch of its own once the snapshot is bound; a content
 * made from that class will carry the class's policy (docs/compat.md,
 * "Writes").  class_name NULL: as-source alone.  Returns how many of fins
 * (2) are set. */
static size_t
first_finalizers(const struct sync_env *env, const struct cvs *vs, const char *class_name,
                 const char **fins)
{
    struct cclass *cls = NULL;
    size_t n = 0;

    if ((vs->m.fins & CFIN_VS_SOURCE) == 0)
        fins[n++] = FIN_VS_SOURCE;
    if (n == 0 || !vs->has_pvc || vs->has_content || (vs->m.fins & CFIN_VS_BOUND) != 0 ||
        class_name == NULL)
        return n;
    cls = (struct cclass *)cstore_get(env->classes, class_name);
    if (cls != NULL && cls->policy == POLICY_DELETE)
        fins[n++] = FIN_VS_BOUND;
    CVIEW_UNREF(cls);
    return n;
}

/* The default class patch.  A snapshot with no as-source finalizer and no
 * content yet (upstream's checkandAddSnapshotFinalizers would add just that
 * one next) gets its first finalizers (first_finalizers) in the same JSON
 * patch: one write for three of upstream's (docs/performance.md); otherwise
 * a merge patch of the class alone. */
static json_t *
default_class_patch(const struct sync_env *env, const struct cvs *vs, const char *class_name)
{
    const char *fins[2];
    char name[LIM_KEY];
    struct cpatch p = {0};
    struct cvsc *c = NULL;

    snprintf(name, sizeof(name), "snapcontent-%s", vs->m.uid);
    c = content_get(env, name);
    if (c != NULL || (vs->m.fins & CFIN_VS_SOURCE) != 0) {
        CVIEW_UNREF(c);
        return cpatch_merge("spec.volumeSnapshotClassName", json_string(class_name));
    }
    p.ops = cpatch_add_finalizers(&vs->m, fins, first_finalizers(env, vs, class_name, fins));
    cpatch_add(&p, "/spec/volumeSnapshotClassName", json_string(class_name));
    return cpatch_end(&p);
}

/* upstream: SetDefaultSnapshotClass.  *patched is set when the default
 * class was written (the update event brings the snapshot back). */
static int
snapshot_set_default_class(const struct sync_env *env, const struct cvs *vs, bool *patched,
                           struct sc_err *err)
{
    struct sync_default_scan scan = {0};
    struct cpv *pv = NULL;
    struct sc_err perr = {0};
    json_t *ops = NULL;
    int rc;

    *patched = false;
    if (vs->vgs_owner != NULL || vs->has_content)
        return 0;
    pv = volume_of(env, vs, err);
    if (pv == NULL)
        return err != NULL ? err->code : SC_EINVALID;
    if (pv->csi_driver == NULL) {
        CVIEW_UNREF(pv);
        return sc_err_set(err, SC_EINVALID,
                          "snapshotting non-CSI volumes is not supported, snapshot:%s/%s", vs->m.ns,
                          vs->m.name);
    }
    scan.driver = pv->csi_driver;
    cstore_each(env->classes, default_scan_fn, &scan);
    CVIEW_UNREF(pv);
    if (scan.n == 0)
        return sc_err_set(err, SC_EINVALID, "cannot find default snapshot class");
    if (scan.n > 1)
        return sc_err_set(err, SC_EINVALID, "%d default snapshot classes were found", scan.n);
    ops = default_class_patch(env, vs, scan.first);
    rc = sync_patch(env, KIND_VS, &vs->m, false,
                    ops != NULL && json_is_array(ops) ? SYNC_PATCH_JSON : SYNC_PATCH_MERGE, ops,
                    &perr);
    if (rc != 0) /* upstream only logs this; the sync fails later without a class */
        log_warnx("snapshot '%s/%s': cannot set default class %s: %s", vs->m.ns, vs->m.name,
                  scan.first, perr.msg);
    else
        *patched = true;
    return 0;
}

/* upstream: checkAndUpdateSnapshotClass.  *stop: the pass ends here
 * successfully (the default class was written). */
static int
snapshot_check_class(const struct sync_env *env, const struct cvs *vs, bool *stop,
                     struct sc_err *err)
{
    char msg[MSG_CAP];
    int rc;

    *stop = false;
    if (vs->class_name != NULL) {
        struct cclass *c = class_get(env, vs->class_name, err);

        if (c != NULL) {
            CVIEW_UNREF(c);
            return 0;
        }
        snprintf(msg, sizeof(msg), "Failed to get snapshot class with error %s", err->msg);
        vs_error_status(env, vs, false, "GetSnapshotClassFailed", msg);
        /* a class NotFound never blocks deletion */
        return vs->m.deleting ? 0 : err->code;
    }
    if (vs->m.deleting)
        return 0; /* deletion needs no class (docs/compat.md) */
    rc = snapshot_set_default_class(env, vs, stop, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Failed to set default snapshot class with error %s", err->msg);
        vs_error_status(env, vs, false, "SetDefaultSnapshotClassFailed", msg);
    }
    return rc;
}

/* ---- PVC source protection (§3.12) ---- */

/* upstream: checkandRemovePVCFinalizer */
static int
snapshot_check_remove_pvc_finalizer(const struct sync_env *env, const struct cvs *vs,
                                    bool skip_current, struct sc_err *err)
{
    struct cpvc *pvc = NULL;
    const char *skip = skip_current ? vs->m.name : NULL;
    bool in_use;
    int rc;

    if (!vs->has_pvc)
        return 0;
    pvc = claim_of(env, vs, NULL);
    if (pvc == NULL)
        return 0;
    if ((pvc->m.fins & CFIN_PVC_SOURCE) == 0) {
        CVIEW_UNREF(pvc);
        return 0;
    }
    /* The pass's own snapshot first, when it counts: while it is being cut
     * (most passes of a new snapshot) that answers without a lookup.  Then
     * the others (ES#1305, pvc_pin.h): one lookup of the snapshots' index,
     * not a walk over every snapshot of the namespace for every pass. */
    in_use = skip == NULL && pvc_pin_holds_claim(vs, pvc->m.ns, pvc->m.name);
    if (!in_use)
        in_use = pvc_pin_others(env->snapshots, pvc->m.ns, pvc->m.name, skip);
    if (in_use) {
        pvc_pin_event(env, pvc, skip); /* issue 16: name what the deletion waits for */
        CVIEW_UNREF(pvc);
        return 0;
    }
    /* upstream: removePVCFinalizer (GET+UPDATE with retry); ours is a
     * guarded JSON patch, and a conflict requeues. */
    rc = sync_patch(env, KIND_PVC, &pvc->m, false, SYNC_PATCH_JSON,
                    cpatch_remove_finalizers(&pvc->m, CFIN_PVC_SOURCE), err);
    CVIEW_UNREF(pvc);
    return rc;
}

/* After a guarded add lost a race: does the claim carry the finalizer now?
 * (Snapshots of one PVC are synced at once, and each first pass adds it.)
 * The cache first (the winner stored its write response), else one GET;
 * any error answers no. */
static bool
pvc_has_source_finalizer(const struct sync_env *env, const struct cvs *vs, const struct cmeta *m)
{
    struct sc_err gerr = {0};
    struct cpvc *cached = claim_of(env, vs, NULL);
    json_t *obj = NULL, *fins;
    size_t i;
    bool found = cached != NULL && (cached->m.fins & CFIN_PVC_SOURCE) != 0;

    CVIEW_UNREF(cached);
    if (found)
        return true;
    if (env->act->get(env->act->ctx, KIND_PVC, m->ns, m->name, &obj, &gerr) != 0)
        return false;
    fins = json_object_get(json_object_get(obj, "metadata"), "finalizers");
    for (i = 0; i < json_array_size(fins) && !found; i++)
        found = json_is_string(json_array_get(fins, i)) &&
                strcmp(json_string_value(json_array_get(fins, i)), FIN_PVC_SOURCE) == 0;
    json_decref(obj);
    return found;
}

/* upstream: ensurePVCFinalizer */
static int
snapshot_ensure_pvc_finalizer(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    static const char *const fin[] = {FIN_PVC_SOURCE};
    struct cpvc *pvc = claim_of(env, vs, NULL);
    int rc;

    if (pvc == NULL)
        return sc_err_set(err, SC_ENOTFOUND,
                          "snapshot controller failed to update %s on API server: cannot get claim "
                          "from snapshot",
                          vs->m.name);
    if ((pvc->m.fins & CFIN_PVC_SOURCE) != 0) {
        CVIEW_UNREF(pvc);
        return 0;
    }
    if (pvc->m.deleting) {
        rc = sc_err_set(err, SC_EINVALID,
                        "snapshot controller failed to update %s on API server: cannot add "
                        "finalizer on claim because it is being deleted",
                        pvc->m.name);
        CVIEW_UNREF(pvc);
        return rc;
    }
    rc = sync_patch(env, KIND_PVC, &pvc->m, false, SYNC_PATCH_JSON,
                    cpatch_add_finalizers_guarded(&pvc->m, fin, 1), err);
    if (rc == SC_ECONFLICT && pvc_has_source_finalizer(env, vs, &pvc->m))
        rc = 0; /* another snapshot's pass added it first: done */
    if (rc != 0)
        sc_err_wrap(err, rc, "snapshot controller failed to update %s on API server", pvc->m.name);
    CVIEW_UNREF(pvc);
    return rc;
}

/* ---- content lookups ---- */

/* upstream: getDynamicallyProvisionedContentFromStore */
static int
dynamic_content(const struct sync_env *env, const struct cvs *vs, struct cvsc **out,
                struct sc_err *err)
{
    char name[LIM_KEY], msg[MSG_CAP];
    struct cvsc *c = NULL;

    *out = NULL;
    snprintf(name, sizeof(name), "snapcontent-%s", vs->m.uid);
    c = content_get(env, name);
    if (c == NULL)
        return 0;
    if (c->volume_handle == NULL) {
        snprintf(msg, sizeof(msg),
                 "VolumeSnapshotContent %s is pre-provisioned while expecting a dynamically "
                 "provisioned one",
                 name);
        vs_error_status(env, vs, true, "SnapshotContentMismatch", msg);
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID,
                          "snapshot %s/%s expects a dynamically provisioned "
                          "VolumeSnapshotContent %s but gets a pre-provisioned one",
                          vs->m.ns, vs->m.name, name);
    }
    if (!sync_vs_ref_set(vs, c)) {
        snprintf(msg, sizeof(msg), "VolumeSnapshotContent [%s] is bound to a different snapshot",
                 name);
        vs_error_status(env, vs, true, "SnapshotContentMisbound", msg);
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID, "snapshot %s/%s is bound to a different content %s",
                          vs->m.ns, vs->m.name, name);
    }
    *out = c;
    return 0;
}

/* upstream: getPreprovisionedContentFromStore */
static int
preprovisioned_content(const struct sync_env *env, const struct cvs *vs, struct cvsc **out,
                       struct sc_err *err)
{
    char msg[MSG_CAP];
    struct cvsc *c = NULL;

    *out = NULL;
    if (vs->content == NULL || vs->content[0] == '\0')
        return sc_err_set(err, SC_EINVALID, "empty VolumeSnapshotContentName for snapshot %s/%s",
                          vs->m.ns, vs->m.name);
    c = content_get(env, vs->content);
    if (c == NULL)
        return 0;
    if (c->snapshot_handle == NULL) {
        vs_error_status(env, vs, true, "SnapshotContentMismatch",
                        "VolumeSnapshotContent is dynamically provisioned while expecting a "
                        "pre-provisioned one");
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID,
                          "snapshot %s/%s expects a pre-provisioned "
                          "VolumeSnapshotContent %s but gets a dynamically provisioned one",
                          vs->m.ns, vs->m.name, vs->content);
    }
    if (c->ref_name == NULL || c->ref_ns == NULL || strcmp(c->ref_name, vs->m.name) != 0 ||
        strcmp(c->ref_ns, vs->m.ns) != 0 ||
        (c->ref_uid != NULL && c->ref_uid[0] != '\0' && strcmp(c->ref_uid, vs->m.uid) != 0)) {
        snprintf(msg, sizeof(msg), "VolumeSnapshotContent [%s] is bound to a different snapshot",
                 vs->content);
        vs_error_status(env, vs, true, "SnapshotContentMisbound", msg);
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID, "snapshot %s/%s is bound to a different content %s",
                          vs->m.ns, vs->m.name, vs->content);
    }
    *out = c;
    return 0;
}

static int
content_for(const struct sync_env *env, const struct cvs *vs, struct cvsc **out, struct sc_err *err)
{
    return vs->has_content ? preprovisioned_content(env, vs, out, err)
                           : dynamic_content(env, vs, out, err);
}

/* upstream: checkandAddSnapshotFinalizers.  *wrote: finalizers were added
 * (the update event brings the snapshot back). */
static int
snapshot_check_add_finalizers(const struct sync_env *env, const struct cvs *vs, bool *wrote,
                              struct sc_err *err)
{
    const char *fins[2];
    struct cvsc *c = NULL;
    size_t n = 0;
    int rc;

    *wrote = false;
    rc = content_for(env, vs, &c, err);
    if (rc != 0)
        return rc;
    if (!vs->m.deleting) /* with a content found, its policy decides below */
        n = first_finalizers(env, vs, c == NULL ? vs->class_name : NULL, fins);
    if (!vs->m.deleting && (vs->m.fins & CFIN_VS_BOUND) == 0 && vs_bound_set(vs) && c != NULL &&
        c->policy == POLICY_DELETE)
        fins[n++] = FIN_VS_BOUND;
    CVIEW_UNREF(c);
    if (n == 0)
        return 0;
    rc = sync_patch(env, KIND_VS, &vs->m, false, SYNC_PATCH_JSON,
                    cpatch_add_finalizers(&vs->m, fins, n), err);
    if (rc == 0)
        *wrote = true;
    return rc;
}

/* ---- status mapping (§3.8) ---- */

/* Build the status merge patch; *created / *readied report transitions.
 * Returns NULL when nothing changes (and sets *none) or out of memory. */
static json_t *
status_patch(const struct cvs *vs, const struct cvsc *c, const char *group_name, bool *created,
             bool *readied, bool *none)
{
    json_t *p = json_object();
    bool ready = c->ready == TRI_TRUE;
    char ts[40];
    struct buf q = {0};

    *created = *readied = *none = false;
    buf_init(&q, 64);
    if (!vs->has_status || vs->bound == NULL)
        cpatch_set(&p, "status.boundVolumeSnapshotContentName", json_string(c->m.name));
    if (c->has_creation_time && !vs->has_creation_time) {
        clock_rfc3339(c->creation_time_ns / 1000000, ts, sizeof(ts));
        cpatch_set(&p, "status.creationTime", json_string(ts));
        *created = true;
    }
    if (vs->ready == TRI_UNSET || (vs->ready == TRI_TRUE) != ready) {
        cpatch_set(&p, "status.readyToUse", json_boolean(ready));
        *readied = ready;
    }
    if (c->has_restore_size &&
        (vs->restore_size == NULL || (vs->restore_zero && c->restore_size > 0)) &&
        gostr_quantity_binsi(&q, c->restore_size) == 0)
        cpatch_set(&p, "status.restoreSize", json_string(buf_str(&q)));
    buf_release(&q);
    sync_status_error(&p, vs->has_error, vs->error_msg, vs->error_time, c->has_error, c->error_msg,
                      c->error_time);
    if (group_name != NULL && vs->vgs_name == NULL)
        cpatch_set(&p, "status.volumeGroupSnapshotName", json_string(group_name));
    if (p != NULL && json_object_size(p) == 0) {
        json_decref(p);
        *none = true;
        return NULL;
    }
    return p;
}

/* upstream: updateSnapshotStatus */
static int
snapshot_update_status(const struct sync_env *env, const struct cvs *vs, const struct cvsc *c,
                       struct sc_err *err)
{
    bool created, readied, none;
    char key[LIM_KEY], msg[MSG_CAP], group[256];
    const char *group_name = NULL;
    json_t *p;
    int rc;

    vs_key(vs, key, sizeof(key));
    /* a content made by a group snapshot: name its group (§3.8); with
     * groups off the parent is treated as absent */
    if (c->vgs_handle != NULL && env->group_contents != NULL) {
        if (!gsync_group_name_for_handle(env->group_contents, c->vgs_handle, group, sizeof(group)))
            return sc_err_set(err, SC_ENOTFOUND,
                              "updateSnapshotStatus: cannot find the group "
                              "snapshot for VolumeSnapshot [%s], will not update snapshot status",
                              key);
        group_name = group;
    }
    p = status_patch(vs, c, group_name, &created, &readied, &none);
    if (none)
        return 0;
    if (created) {
        cmetrics_record(env->metrics, OP_CREATE_SNAPSHOT, vs->m.uid, OP_STATUS_SUCCESS, c->driver);
        snprintf(msg, sizeof(msg), "Snapshot %s was successfully created by the CSI driver.", key);
        sync_event(env, KIND_VS, &vs->m, "Normal", "SnapshotCreated", msg);
    }
    if (readied) {
        cmetrics_record(env->metrics, OP_CREATE_SNAPSHOT_AND_READY, vs->m.uid, OP_STATUS_SUCCESS,
                        c->driver);
        snprintf(msg, sizeof(msg), "Snapshot %s is ready to use.", key);
        sync_event(env, KIND_VS, &vs->m, "Normal", "SnapshotReady", msg);
    }
    rc = sync_patch(env, KIND_VS, &vs->m, true, SYNC_PATCH_MERGE, p, err);
    if (rc != 0)
        sc_err_wrap(err, rc, "snapshot controller failed to update %s on API server", key);
    return rc;
}

/* ---- content creation (§3.4) ---- */

static const char *
pick_node(const struct sync_env *env, const struct cpv *pv, char *out, size_t cap,
          struct sc_err *err)
{
    json_t *nodes = NULL;
    const json_t *n;
    size_t i;
    const char *found = NULL;

    if (!env->opts.distributed_snapshotting || pv->node_affinity == NULL)
        return NULL;
    if (env->act->list(env->act->ctx, KIND_NODE, NULL, NULL, &nodes, err) != 0)
        return NULL;
    json_array_foreach (nodes, i, n) {
        if (sync_node_matches(pv->node_affinity, n)) {
            const char *name =
                json_string_value(json_object_get(json_object_get(n, "metadata"), "name"));

            if (name != NULL) {
                snprintf(out, cap, "%s", name);
                found = out;
                break;
            }
        }
    }
    if (found == NULL)
        log_warnx("no node matches the node affinity of volume %s", pv->m.name);
    json_decref(nodes);
    return found;
}

static json_t *
content_body(const struct sync_env *env, const struct cvs *vs, const struct cclass *cls,
             const struct cpv *pv, const char *name, const char *node, bool has_secret,
             const char *secret_name, const char *secret_ns)
{
    json_t *body;

    /* born with its bound finalizer: upstream adds it with a separate patch
     * from syncContent, which races with the sidecar's first update of the
     * new content (docs/compat.md) */
    body = json_pack("{s:s,s:s,s:{s:s,s:[s]},s:{s:{s:s,s:s,s:s,s:s,s:s,s:s},s:{s:s},s:s,s:s,s:s}}",
                     "apiVersion", VS_API_VERSION, "kind", "VolumeSnapshotContent", "metadata",
                     "name", name, "finalizers", FIN_VSC_BOUND, "spec", "volumeSnapshotRef", "kind",
                     "VolumeSnapshot", "apiVersion", VS_API_VERSION, "namespace", vs->m.ns, "name",
                     vs->m.name, "uid", vs->m.uid, "resourceVersion", vs->m.rv, "source",
                     "volumeHandle", pv->csi_handle != NULL ? pv->csi_handle : "",
                     "volumeSnapshotClassName", cls->m.name, "deletionPolicy",
                     cls->policy_str != NULL ? cls->policy_str : "", "driver",
                     cls->driver != NULL ? cls->driver : "");
    if (env->opts.prevent_volume_mode_conversion && pv->volume_mode != NULL)
        cpatch_set(&body, "spec.sourceVolumeMode", json_string(pv->volume_mode));
    if (node != NULL)
        cpatch_put(&body, json_object_get(body, "metadata"), "labels",
                   json_pack("{s:s}", LABEL_MANAGED_BY, node));
    if (has_secret)
        cpatch_put(
            &body, json_object_get(body, "metadata"), "annotations",
            json_pack("{s:s,s:s}", ANN_DEL_SECRET_NAME, secret_name, ANN_DEL_SECRET_NS, secret_ns));
    return body;
}

/* upstream: getCreateSnapshotInput + the CSI check.  On success *cls and
 * *pv are new references. */
static int
create_input(const struct sync_env *env, const struct cvs *vs, struct cclass **cls, struct cpv **pv,
             struct sc_err *err)
{
    *cls = NULL;
    *pv = NULL;
    if (vs->class_name == NULL)
        return sc_err_set(err, SC_EINVALID, "failed to take snapshot %s without a snapshot class",
                          vs->m.name);
    *cls = class_get(env, vs->class_name, err);
    if (*cls == NULL)
        return SC_ENOTFOUND;
    *pv = volume_of(env, vs, err);
    if (*pv == NULL) {
        CVIEW_UNREF(*cls);
        *cls = NULL;
        return err->code != 0 ? err->code : SC_EINVALID;
    }
    return 0;
}

/* POST the content body; events for both outcomes (an existing one is
 * reused). */
static int
create_content_post(const struct sync_env *env, const struct cvs *vs, const json_t *body,
                    struct sc_err *err)
{
    char key[LIM_KEY], msg[2 * MSG_CAP];
    struct sc_err ierr = {0};
    int rc;

    vs_key(vs, key, sizeof(key));
    sc_err_clear(&ierr);
    rc = env->act->create(env->act->ctx, KIND_VSC, NULL, body, NULL, &ierr);
    if (rc == SC_EEXIST)
        rc = 0; /* created by an earlier pass: reuse it */
    if (rc != 0) {
        snprintf(msg, sizeof(msg),
                 "Error creating volume snapshot content object for snapshot %s: %s.", key,
                 ierr.msg);
        sync_event(env, KIND_VS, &vs->m, "Warning", "CreateSnapshotContentFailed", msg);
        return sc_err_set(err, rc, "snapshot controller failed to update %s on API server: %s", key,
                          ierr.msg);
    }
    snprintf(msg, sizeof(msg), "Waiting for a snapshot %s to be created by the CSI driver.", key);
    sync_event(env, KIND_VS, &vs->m, "Normal", "CreatingSnapshot", msg);
    return 0;
}

/* upstream: createSnapshotContent.  On success *name holds the content name. */
static int
snapshot_create_content(const struct sync_env *env, const struct cvs *vs, char *name, size_t cap,
                        struct sc_err *err)
{
    char prefix[MSG_CAP], node_buf[256], sname[LIM_KEY], sns[LIM_KEY];
    struct cclass *cls = NULL;
    struct cpv *pv = NULL;
    struct sc_err ierr = {0};
    const char *node;
    bool has_secret = false;
    json_t *body = NULL;
    int rc;

    rc = snapshot_ensure_pvc_finalizer(env, vs, err);
    if (rc != 0)
        return rc;
    snprintf(name, cap, "snapcontent-%s", vs->m.uid);
    sc_err_clear(&ierr);
    rc = create_input(env, vs, &cls, &pv, &ierr);
    if (rc == 0)
        rc = sync_secret_ref(cls, name, vs->m.ns, vs->m.name, &has_secret, sname, sns,
                             sizeof(sname), &ierr);
    if (rc != 0) {
        snprintf(prefix, sizeof(prefix),
                 "failed to get input parameters to create snapshot %s: ", vs->m.name);
        rc = sync_err_quoted(err, rc, prefix, ierr.msg);
        goto out;
    }
    if (pv == NULL || pv->csi_driver == NULL) {
        rc = sc_err_set(err, SC_EINVALID, "cannot find CSI PersistentVolumeSource for volume %s",
                        pv != NULL ? pv->m.name : "");
        goto out;
    }
    sc_err_clear(&ierr);
    node = pick_node(env, pv, node_buf, sizeof(node_buf), &ierr);
    if (node == NULL && ierr.code != 0) {
        rc = sc_err_set(err, ierr.code, "%s", ierr.msg);
        goto out;
    }
    body = content_body(env, vs, cls, pv, name, node, has_secret, sname, sns);
    if (body == NULL) {
        rc = sc_err_set(err, SC_ENOMEM, "out of memory");
        goto out;
    }
    rc = create_content_post(env, vs, body, err);
out:
    json_decref(body);
    CVIEW_UNREF(cls);
    CVIEW_UNREF(pv);
    return rc;
}

/* upstream: checkandBindSnapshotContent */
static int
snapshot_bind_content(const struct sync_env *env, const struct cvs *vs, const struct cvsc *c,
                      struct sc_err *err)
{
    json_t *p;

    if (c->ref_name == NULL || strcmp(c->ref_name, vs->m.name) != 0)
        return sc_err_set(err, SC_EINVALID,
                          "Could not bind snapshot %s and content %s, the "
                          "VolumeSnapshotRef does not match",
                          vs->m.name, c->m.name);
    if (c->ref_uid != NULL && c->ref_uid[0] != '\0' && strcmp(c->ref_uid, vs->m.uid) != 0)
        return sc_err_set(err, SC_EINVALID,
                          "Could not bind snapshot %s and content %s, the "
                          "VolumeSnapshotRef does not match",
                          vs->m.name, c->m.name);
    if (c->ref_uid != NULL && c->ref_uid[0] != '\0' && c->class_name != NULL)
        return 0;
    if (c->ref_uid != NULL && strcmp(c->ref_uid, vs->m.uid) == 0 &&
        (vs->class_name == NULL ||
         (c->class_name != NULL && strcmp(c->class_name, vs->class_name) == 0)))
        return 0; /* upstream re-patches the same uid here: a no-op we skip */
    p = cpatch_merge("spec.volumeSnapshotRef.uid", json_string(vs->m.uid));
    if (vs->class_name != NULL)
        cpatch_set(&p, "spec.volumeSnapshotClassName", json_string(vs->class_name));
    return sync_patch(env, KIND_VSC, &c->m, false, SYNC_PATCH_MERGE, p, err);
}

/* upstream: updateSnapshotStatus, a failure also written to the snapshot's
 * status and evented.  Releases c. */
static int
update_status_reported(const struct sync_env *env, const struct cvs *vs, struct cvsc *c,
                       struct sc_err *err)
{
    char msg[MSG_CAP];
    int rc = snapshot_update_status(env, vs, c, err);

    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Snapshot status update failed, %s", err->msg);
        vs_error_status(env, vs, false, "SnapshotStatusUpdateFailed", msg);
    }
    CVIEW_UNREF(c);
    return rc;
}

/* upstream: syncUnreadySnapshot, pre-provisioned branch */
static int
sync_unready_preprovisioned(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    char msg[MSG_CAP];
    struct cvsc *c = NULL;
    int rc = preprovisioned_content(env, vs, &c, err);

    if (rc != 0)
        return rc;
    if (c == NULL) {
        vs_error_status(env, vs, true, "SnapshotContentMissing",
                        "VolumeSnapshotContent is missing");
        return sc_err_set(err, SC_ENOTFOUND, "snapshot %s/%s requests an non-existing content %s",
                          vs->m.ns, vs->m.name, vs->content);
    }
    rc = snapshot_bind_content(env, vs, c, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Snapshot failed to bind VolumeSnapshotContent, %s", err->msg);
        vs_error_status(env, vs, true, "SnapshotBindFailed", msg);
        sc_err_set(err, rc,
                   "snapshot %s/%s is bound, but VolumeSnapshotContent %s is not bound to "
                   "the VolumeSnapshot correctly, %s",
                   vs->m.ns, vs->m.name, c->m.name, msg);
        CVIEW_UNREF(c);
        return rc;
    }
    return update_status_reported(env, vs, c, err);
}

/* upstream: syncUnreadySnapshot, group member branch (groups are a hook:
 * the member keeps its bound content's status). */
static int
sync_unready_member(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    struct cvsc *c = NULL;

    if (vs->bound == NULL)
        return sc_err_set(err, SC_EINVALID,
                          "detected group snapshot member %s/%s with no content, "
                          "retrying",
                          vs->m.ns, vs->m.name);
    c = content_get(env, vs->bound);
    if (c == NULL)
        return sc_err_set(err, SC_ENOTFOUND,
                          "failed to get group snapshot member content %s for "
                          "snapshot %s/%s",
                          vs->bound, vs->m.ns, vs->m.name);
    return update_status_reported(env, vs, c, err);
}

/* Dynamic snapshot whose content exists: bind it (no handle allowed). */
static int
unready_bind(const struct sync_env *env, const struct cvs *vs, const struct cvsc *c,
             const char *key, struct sc_err *err)
{
    char msg[MSG_CAP];
    int rc;

    if (c->snapshot_handle != NULL) {
        snprintf(msg, sizeof(msg),
                 "Snapshot handle should not be set in content %s for dynamic provisioning", key);
        vs_error_status(env, vs, true, "SnapshotHandleSet", msg);
        return sc_err_set(err, SC_EINVALID,
                          "snapshotHandle should not be set in the content "
                          "for dynamic provisioning for snapshot %s",
                          key);
    }
    /* upstream: bindandUpdateVolumeSnapshot */
    rc = snapshot_update_status(env, vs, c, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Snapshot status update failed, %s", err->msg);
        vs_error_status(env, vs, true, "SnapshotStatusUpdateFailed", msg);
    }
    return rc;
}

/* Dynamic snapshot with no content yet: create it, then point the status
 * at it.  driver is the metrics driver, replaced by the class's. */
static int
unready_create(const struct sync_env *env, const struct cvs *vs, const char *key, char *driver,
               size_t dcap, struct sc_err *err)
{
    char msg[MSG_CAP], name[LIM_KEY];
    struct cvsc fresh = {0};
    int rc;

    if (!vs->has_pvc) {
        snprintf(msg, sizeof(msg), "PVC source for snapshot %s is missing", key);
        vs_error_status(env, vs, true, "SnapshotPVCSourceMissing", msg);
        return sc_err_set(err, SC_EINVALID, "expected PVC source for snapshot %s but got nil", key);
    }
    rc = snapshot_create_content(env, vs, name, sizeof(name), err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Failed to create snapshot content with error %s", err->msg);
        vs_error_status(env, vs, true, "SnapshotContentCreationFailed", msg);
        return rc;
    }
    /* the new content has no status yet: status = {bound, ready=false} */
    memset(&fresh, 0, sizeof(fresh));
    fresh.m.name = name;
    fresh.ready = TRI_UNSET;
    if (vs->class_name != NULL) {
        struct cclass *cls = (struct cclass *)cstore_get(env->classes, vs->class_name);

        if (cls != NULL && cls->driver != NULL)
            snprintf(driver, dcap, "%s", cls->driver);
        CVIEW_UNREF(cls);
    }
    fresh.driver = driver;
    rc = snapshot_update_status(env, vs, &fresh, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Snapshot status update failed, %s", err->msg);
        vs_error_status(env, vs, false, "SnapshotStatusUpdateFailed", msg);
    }
    return rc;
}

/* upstream: syncUnreadySnapshot */
static int
snapshot_sync_unready(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    char key[LIM_KEY], driver[256];
    struct cvsc *c = NULL;
    int rc;

    vs_key(vs, key, sizeof(key));
    sync_metrics_driver(env, false, vs->has_content, vs->content, vs->class_name, driver,
                        sizeof(driver));
    if (!vs->has_creation_time)
        cmetrics_start(env->metrics, OP_CREATE_SNAPSHOT, vs->m.uid, driver,
                       sync_snap_type(vs->has_content));
    cmetrics_start(env->metrics, OP_CREATE_SNAPSHOT_AND_READY, vs->m.uid, driver,
                   sync_snap_type(vs->has_content));

    if (vs->has_content)
        return sync_unready_preprovisioned(env, vs, err);
    if (vs->vgs_owner != NULL)
        return sync_unready_member(env, vs, err);

    rc = dynamic_content(env, vs, &c, err);
    if (rc != 0)
        return rc;
    if (c != NULL) {
        rc = unready_bind(env, vs, c, key, err);
        CVIEW_UNREF(c);
        return rc;
    }
    return unready_create(env, vs, key, driver, sizeof(driver), err);
}

/* upstream: syncReadySnapshot */
static int
snapshot_sync_ready(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    struct cvsc *c = content_get(env, vs->bound);
    int rc = 0;

    (void)err;
    if (c == NULL) {
        vs_error_status(env, vs, true, "SnapshotContentMissing",
                        "VolumeSnapshotContent is missing");
        return 0;
    }
    if (!sync_vs_ref_set(vs, c))
        vs_error_status(env, vs, true, "SnapshotMisbound",
                        "VolumeSnapshotContent is not bound to the VolumeSnapshot correctly");
    /* group ownership fix-up: a hook for the groups issue (the parent VGS is
     * treated as absent while groups are not implemented) */
    CVIEW_UNREF(c);
    return rc;
}

/* ---- deletion (§3.11) ---- */

/* upstream: isVolumeBeingCreatedFromSnapshot */
static bool
snapshot_restoring(const struct sync_env *env, const struct cvs *vs)
{
    return sync_vs_restoring(env, vs->m.ns, vs->m.name);
}

/* The content a deleted snapshot points to (bound, or the one it would
 * have made), when its snapshot reference names this snapshot; new ref. */
static struct cvsc *
deletion_content(const struct sync_env *env, const struct cvs *vs)
{
    char cname[LIM_KEY];
    const char *content_name = NULL;
    struct cvsc *c = NULL;

    if (vs->bound != NULL && vs->bound[0] != '\0') {
        content_name = vs->bound;
    } else if (vs->has_pvc) {
        snprintf(cname, sizeof(cname), "snapcontent-%s", vs->m.uid);
        content_name = cname;
    }
    c = content_get(env, content_name);
    if (c != NULL && !sync_vs_ref_set(vs, c)) {
        CVIEW_UNREF(c);
        c = NULL;
    }
    return c;
}

/* What holds a deletion back: a restore from it, a live group.  0, or the
 * error; *remove gains the in-group finalizer when that may go. */
static int
deletion_blocked(const struct sync_env *env, const struct cvs *vs, bool has_content,
                 unsigned *remove, struct sc_err *err)
{
    char key[LIM_KEY];

    vs_key(vs, key, sizeof(key));
    if (has_content && snapshot_restoring(env, vs)) {
        sync_event(env, KIND_VS, &vs->m, "Warning", "SnapshotDeletePending",
                   "Snapshot is being used to restore a PVC");
        return sc_err_set(err, SC_EINVALID, "snapshot %s is being used to restore a PVC", key);
    }
    if (vs->vgs_name == NULL || vs->vgs_name[0] == '\0')
        return 0;
    /* a member of a live group snapshot is deleted with its group; once the
     * group is gone (or groups are off) the in-group finalizer goes */
    if (env->groups != NULL && gsync_group_exists(env->groups, vs->m.ns, vs->vgs_name)) {
        char msg[MSG_CAP];

        gsync_member_delete_msg(vs->m.ns, vs->m.name, vs->vgs_name, msg, sizeof(msg));
        sync_event(env, KIND_VS, &vs->m, "Warning", "SnapshotDeletePending", msg);
        return sc_err_set(err, SC_EINVALID, "%s", msg);
    }
    *remove |= CFIN_VS_INGROUP;
    return 0;
}

/* Mark the content being deleted and, under policy Delete, delete it. */
static int
deletion_content_steps(const struct sync_env *env, const struct cvs *vs, const struct cvsc *c,
                       bool delete_content, struct sc_err *err)
{
    char prefix[MSG_CAP];
    struct sc_err derr = {0};
    int rc = sync_set_being_deleted(env, c, err);

    if (rc != 0) {
        char inner[SC_ERR_MSG_LEN];

        snprintf(inner, sizeof(inner), "%s", err->msg);
        snprintf(
            prefix, sizeof(prefix),
            "failed to set VolumeSnapshotBeingDeleted annotation on the content %s: ", c->m.name);
        sync_err_quoted(err, rc, prefix, inner);
        return rc;
    }
    if (!delete_content)
        return 0;
    sc_err_clear(&derr);
    rc = env->act->del(env->act->ctx, KIND_VSC, NULL, c->m.name, &derr);
    if (rc == 0 || rc == SC_ENOTFOUND)
        return 0;
    sync_event(env, KIND_VS, &vs->m, "Warning", "SnapshotContentObjectDeleteError",
               "Failed to delete snapshot content API object");
    snprintf(prefix, sizeof(prefix),
             "failed to delete VolumeSnapshotContent %s from API server: ", c->m.name);
    sync_err_quoted(err, rc, prefix, derr.msg);
    return rc;
}

/* upstream: removeSnapshotFinalizer.  hold: the snapshot cannot go yet
 * (bound-protection stays while its content is being deleted), so only the
 * PVC is checked and the finalizers wait for the pass that finds the content
 * gone, to go in one patch (docs/compat.md). */
static int
deletion_remove_finalizers(const struct sync_env *env, const struct cvs *vs, unsigned remove,
                           bool hold, struct sc_err *err)
{
    int rc;

    if ((vs->m.fins & remove) == 0)
        return 0;
    rc = snapshot_check_remove_pvc_finalizer(env, vs, true, err);
    if (rc != 0) {
        char inner[SC_ERR_MSG_LEN];

        snprintf(inner, sizeof(inner), "%s", err->msg);
        sync_event(env, KIND_VS, &vs->m, "Warning", "ErrorPVCFinalizer",
                   "Error check and remove PVC Finalizer for VolumeSnapshot");
        return sc_err_set(err, rc, "snapshot controller failed to update %s on API server: %s",
                          vs->m.name, inner);
    }
    if (hold)
        return 0;
    return sync_patch(env, KIND_VS, &vs->m, false, SYNC_PATCH_JSON,
                      cpatch_remove_finalizers(&vs->m, remove), err);
}

/* upstream: processSnapshotWithDeletionTimestamp */
static int
snapshot_process_deletion(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    char driver[256];
    struct cvsc *c = NULL;
    bool delete_content;
    unsigned remove = CFIN_VS_SOURCE;
    int rc;

    sync_metrics_driver(env, false, vs->has_content, vs->content, vs->class_name, driver,
                        sizeof(driver));
    cmetrics_start(env->metrics, OP_DELETE_SNAPSHOT, vs->m.uid, driver,
                   sync_snap_type(vs->has_content));
    c = deletion_content(env, vs);
    delete_content = c != NULL && c->policy == POLICY_DELETE;
    if (!sync_vs_deletion_candidate(vs)) {
        CVIEW_UNREF(c);
        return 0;
    }
    rc = deletion_blocked(env, vs, c != NULL, &remove, err);
    if (rc == 0 && c != NULL)
        rc = deletion_content_steps(env, vs, c, delete_content, err);
    CVIEW_UNREF(c);
    if (rc != 0)
        return rc;
    if (!delete_content)
        remove |= CFIN_VS_BOUND;
    return deletion_remove_finalizers(env, vs, remove,
                                      delete_content && (vs->m.fins & CFIN_VS_BOUND) != 0, err);
}
/* upstream: syncSnapshot */
static int
snapshot_sync(const struct sync_env *env, const struct cvs *vs, struct sc_err *err)
{
    struct sc_err ferr = {0};
    char msg[MSG_CAP];
    bool wrote;
    int rc;

    sc_err_clear(&ferr);
    rc = snapshot_check_remove_pvc_finalizer(env, vs, false, &ferr);
    if (rc == SC_ECONFLICT) {
        /* another worker removed it first, or the claim changed: its event
         * brings the claim back, and a snapshot being deleted retries */
        log_debug(2, "snapshot '%s/%s': PVC finalizer not removed: %s", vs->m.ns, vs->m.name,
                  ferr.msg);
    } else if (rc != 0) {
        log_warnx("snapshot '%s/%s': cannot remove PVC finalizer: %s", vs->m.ns, vs->m.name,
                  ferr.msg);
        sync_event(env, KIND_VS, &vs->m, "Warning", "ErrorPVCFinalizer",
                   "Error check and remove PVC Finalizer for VolumeSnapshot");
    }
    if (vs->m.deleting)
        return snapshot_process_deletion(env, vs, err);
    if (vs->has_pvc == vs->has_content) {
        static const char m[] =
            "Exactly one of PersistentVolumeClaimName and VolumeSnapshotContentName should be "
            "specified";

        vs_error_status(env, vs, true, "SnapshotValidationError", m);
        return sc_err_set(err, SC_EINVALID, "%s", m);
    }
    rc = snapshot_check_add_finalizers(env, vs, &wrote, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Failed to check and update snapshot: %s", err->msg);
        sync_event(env, KIND_VS, &vs->m, "Warning", "SnapshotFinalizerError", msg);
        return rc;
    }
    if (wrote)
        return 0; /* the update event brings the snapshot back */
    if (!vs_ready(vs) || !vs_bound_set(vs))
        return snapshot_sync_unready(env, vs, err);
    return snapshot_sync_ready(env, vs, err);
}

/* upstream: syncSnapshotByKey */
int
snapshot_sync_key(const struct sync_env *env, const char *key, struct sc_err *err)
{
    struct cvs *vs = (struct cvs *)cstore_get(env->snapshots, key);
    bool stop = false;
    int rc;

    sc_err_clear(err);
    if (vs == NULL)
        return 0;
    rc = snapshot_check_class(env, vs, &stop, err);
    if (rc == 0 && !stop)
        rc = snapshot_sync(env, vs, err);
    CVIEW_UNREF(vs);
    return rc;
}

/* upstream: deleteSnapshot */
void
snapshot_deleted(const struct sync_env *env, const struct cvs *vs)
{
    char key[LIM_KEY];
    struct cmeta *old = NULL;
    struct cpvc *pvc = NULL;

    vs_key(vs, key, sizeof(key));
    old = cstore_del(env->snapshots, key);
    cview_unref(old);
    cmetrics_record(env->metrics, OP_DELETE_SNAPSHOT, vs->m.uid, OP_STATUS_SUCCESS, NULL);
    if (vs->bound != NULL && vs->bound[0] != '\0')
        env->act->enqueue(env->act->ctx, KIND_VSC, vs->bound);
    /* issue 16, ES#764: a held PVC being deleted gets the claim's pass, so
     * its Event names only what is left, or its finalizer goes */
    pvc = claim_of(env, vs, NULL);
    if (pvc_pin_wanted(pvc) && cstore_key(&pvc->m, key, sizeof(key)) == 0)
        env->act->enqueue(env->act->ctx, KIND_PVC, key);
    CVIEW_UNREF(pvc);
}
