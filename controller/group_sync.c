/* controller/group_sync.c -- VolumeGroupSnapshot reconcile, step by step as
 * upstream's pkg/common-controller/groupsnapshot_controller_helper.go.
 * Each function names its upstream twin; docs/groups.md lists where we
 * differ on purpose. */
#include "controller/gsync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/limits.h"
#include "common/log.h"
#include "controller/gostr.h"
#include "controller/labelsel.h"
#include "controller/sync_int.h"

#define MSG_CAP LIM_EVENT_MESSAGE

/* ---- small helpers ---- */

static void
vgs_key(const struct gvgs *g, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", g->m.ns, g->m.name);
}

/* upstream: updateGroupSnapshotErrorStatusWithEvent */
static int
vgs_error_status(const struct sync_env *env, const struct gvgs *g, bool set_ready_false,
                 const char *reason, const char *msg)
{
    return sync_error_status(env, KIND_VGS, &g->m, g->error_msg, set_ready_false, reason, msg);
}

static struct gclass *
gclass_get(const struct sync_env *env, const char *name, struct sc_err *err)
{
    struct gclass *c = (struct gclass *)cstore_get(env->group_classes, name);

    if (c == NULL)
        sc_err_set(err, SC_ENOTFOUND,
                   "volumegroupsnapshotclass.groupsnapshot.storage.k8s.io \"%s\" not found", name);
    return c;
}

static struct gvgsc *
gcontent_get(const struct sync_env *env, const char *name)
{
    return name != NULL && name[0] != '\0' ? (struct gvgsc *)cstore_get(env->group_contents, name)
                                           : NULL;
}

/* ---- volumes of a dynamic group (upstream: getVolumesFromVolumeGroupSnapshot) ---- */

struct gvols {
    struct cpv **pv;
    size_t n;
};

static void
gvols_release(struct gvols *v)
{
    size_t i;

    for (i = 0; i < v->n; i++)
        CVIEW_UNREF(v->pv[i]);
    free(v->pv);
    v->pv = NULL;
    v->n = 0;
}

/* upstream: isVolumeBoundToClaim */
static bool
pv_bound_to(const struct cpv *pv, const struct cpvc *pvc)
{
    return pv->claim_name != NULL && pv->claim_ns != NULL &&
           strcmp(pv->claim_name, pvc->m.name) == 0 && strcmp(pv->claim_ns, pvc->m.ns) == 0 &&
           (pv->claim_uid == NULL || pv->claim_uid[0] == '\0' ||
            strcmp(pv->claim_uid, pvc->m.uid) == 0);
}

/* One selected PVC: Bound, its PV by a live GET, the claimRef.  0 with
 * *out (a new view), or an error. */
static int
pvc_volume(const struct sync_env *env, const struct gvgs *g, const json_t *item, struct cpv **out,
           struct sc_err *err)
{
    const char *vol;
    struct cpvc *pvc = NULL;
    struct cpv *pv = NULL;
    struct sc_err perr = {0};
    int rc = cpvc_parse(item, &pvc, err);

    *out = NULL;
    if (rc != 0)
        return sc_err_wrap(err, rc, "PVC in namespace %s", g->m.ns);
    vol = pvc->volume_name != NULL ? pvc->volume_name : "";
    if (pvc->phase == NULL || strcmp(pvc->phase, "Bound") != 0) {
        rc = sc_err_set(err, SC_EINVALID,
                        "the PVC %s is not yet bound to a PV, will not attempt to take a group "
                        "snapshot",
                        pvc->m.name);
        CVIEW_UNREF(pvc);
        return rc;
    }
    sc_err_clear(&perr);
    rc = sync_get_pv(env, vol, &pv, &perr);
    if (rc != 0) {
        char prefix[MSG_CAP];

        snprintf(prefix, sizeof(prefix), "failed to retrieve PV %s from the API server: ", vol);
        sync_err_quoted(err, rc, prefix, perr.msg);
    } else if (!pv_bound_to(pv, pvc)) {
        rc = sc_err_set(err, SC_EINVALID, "claim in dataSource not bound or invalid");
        CVIEW_UNREF(pv);
    } else {
        *out = pv;
    }
    CVIEW_UNREF(pvc);
    return rc;
}

/* LIST the PVCs with the selector's text; *q gets the text. */
static int
list_selected(const struct sync_env *env, const struct gvgs *g, const struct labelsel *sel,
              struct buf *q, json_t **items, struct sc_err *err)
{
    int rc = labelsel_query(sel, q);

    if (rc != 0)
        return sc_err_set(err, rc, "label selector of group snapshot %s/%s is too long", g->m.ns,
                          g->m.name);
    rc = env->act->list(env->act->ctx, KIND_PVC, g->m.ns, buf_str(q), items, err);
    if (rc != 0)
        sc_err_wrap(err, rc, "failed to list PVCs with label selector %s", buf_str(q));
    return rc;
}

static int
none_selected(const struct labelsel *sel, struct sc_err *err)
{
    struct buf f = {0};
    int rc;

    buf_init(&f, LABELSEL_MAX_TEXT);
    if (labelsel_format(sel, &f) != 0)
        buf_reset(&f);
    rc = sc_err_set(err, SC_EINVALID, "label selector %s for group snapshot not applied to any PVC",
                    buf_str(&f));
    buf_release(&f);
    return rc;
}

/* List the PVCs the selector picks (full LabelSelector semantics), require
 * each to be Bound, GET its PV and check the claimRef.  strict=false (the
 * member PV map) skips the volumes it cannot resolve instead of failing. */
static int
group_volumes(const struct sync_env *env, const struct gvgs *g, bool strict, struct gvols *out,
              struct sc_err *err)
{
    struct labelsel *sel = NULL;
    struct buf q = {0};
    json_t *items = NULL;
    const json_t *item;
    size_t i;
    int rc;

    out->pv = NULL;
    out->n = 0;
    rc = labelsel_parse(g->selector, &sel, err);
    if (rc != 0)
        return sc_err_wrap(err, rc, "invalid label selector of group snapshot %s/%s", g->m.ns,
                           g->m.name);
    buf_init(&q, LABELSEL_MAX_TEXT);
    rc = list_selected(env, g, sel, &q, &items, err);
    if (rc == 0) {
        out->pv = calloc(json_array_size(items) + 1, sizeof(struct cpv *));
        if (out->pv == NULL) {
            sc_err_set(err, SC_ENOMEM, "out of memory");
            rc = SC_ENOMEM;
        }
    }
    for (i = 0; rc == 0 && out->pv != NULL && i < json_array_size(items); i++) {
        struct cpv *pv = NULL;

        item = json_array_get(items, i);
        /* the API applied the same selector; match again so a server that
         * ignores part of it cannot widen the group */
        if (!labelsel_match(sel, json_object_get(json_object_get(item, "metadata"), "labels")))
            continue;
        if (out->n >= GVIEW_MAX_VOLUMES) {
            rc = sc_err_set(err, SC_ETOOBIG, "group snapshot %s/%s selects more than %d PVCs",
                            g->m.ns, g->m.name, GVIEW_MAX_VOLUMES);
            break;
        }
        rc = pvc_volume(env, g, item, &pv, err);
        if (rc == 0)
            out->pv[out->n++] = pv;
        else if (!strict)
            rc = 0; /* the member map takes what it can resolve */
    }
    if (rc == 0 && out->n == 0 && strict)
        rc = none_selected(sel, err);
    if (rc != 0)
        gvols_release(out);
    json_decref(items);
    buf_release(&q);
    labelsel_free(sel);
    return rc;
}

/* ---- class resolution (§5.2) ---- */

static int
gdefault_fn(const struct cmeta *m, void *arg)
{
    const struct gclass *c = (const struct gclass *)m;

    sync_default_scan_add(arg, c->m.name, c->driver, c->is_default);
    return 0;
}

/* upstream: SetDefaultGroupSnapshotClass.  *patched: the class was written
 * (its update event brings the group back). */
static int
group_set_default_class(const struct sync_env *env, const struct gvgs *g, bool *patched,
                        struct sc_err *err)
{
    struct sync_default_scan scan = {0};
    struct gvols vols = {0};
    struct sc_err perr = {0};
    int rc;

    *patched = false;
    if (g->has_content)
        return 0;
    rc = group_volumes(env, g, true, &vols, err);
    if (rc != 0)
        return rc;
    if (vols.n == 0 || vols.pv[0]->csi_driver == NULL) {
        gvols_release(&vols);
        return sc_err_set(err, SC_EINVALID,
                          "snapshotting non-CSI volumes is not supported, group snapshot:%s/%s",
                          g->m.ns, g->m.name);
    }
    memset(&scan, 0, sizeof(scan));
    scan.driver = vols.pv[0]->csi_driver;
    cstore_each(env->group_classes, gdefault_fn, &scan);
    gvols_release(&vols);
    if (scan.n == 0)
        return sc_err_set(err, SC_EINVALID, "cannot find default group snapshot class");
    if (scan.n > 1)
        return sc_err_set(err, SC_EINVALID, "%d default snapshot classes were found", scan.n);
    sc_err_clear(&perr);
    rc = sync_patch(env, KIND_VGS, &g->m, false, SYNC_PATCH_MERGE,
                    cpatch_merge("spec.volumeGroupSnapshotClassName", json_string(scan.first)),
                    &perr);
    if (rc != 0) /* upstream only logs this; the sync fails later without a class */
        log_warnx("group snapshot '%s/%s': cannot set default class %s: %s", g->m.ns, g->m.name,
                  scan.first, perr.msg);
    else
        *patched = true;
    return 0;
}

/* upstream: checkAndUpdateGroupSnapshotClass.  *stop: the pass ends here. */
static int
group_check_class(const struct sync_env *env, const struct gvgs *g, bool *stop, struct sc_err *err)
{
    char msg[MSG_CAP];
    int rc;

    *stop = false;
    if (g->class_name != NULL) {
        struct gclass *c = gclass_get(env, g->class_name, err);

        if (c != NULL) {
            CVIEW_UNREF(c);
            return 0;
        }
        snprintf(msg, sizeof(msg), "failed to get group snapshot class with error %s", err->msg);
        vgs_error_status(env, g, false, "GetGroupSnapshotClassFailed", msg);
        return g->m.deleting ? 0 : err->code; /* a class NotFound never blocks deletion */
    }
    if (g->m.deleting)
        return 0; /* deletion needs no class */
    rc = group_set_default_class(env, g, stop, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Failed to set default group snapshot class with error %s",
                 err->msg);
        vgs_error_status(env, g, false, "SetDefaultGroupSnapshotClassFailed", msg);
    }
    return rc;
}

/* ---- content lookups ---- */

static bool
vgs_ref_set(const struct gvgs *g, const struct gvgsc *c)
{
    return c->ref_name != NULL && c->ref_ns != NULL && c->ref_uid != NULL &&
           strcmp(c->ref_name, g->m.name) == 0 && strcmp(c->ref_ns, g->m.ns) == 0 &&
           strcmp(c->ref_uid, g->m.uid) == 0;
}

/* upstream: getDynamicallyProvisionedGroupContentFromStore */
static int
dynamic_content(const struct sync_env *env, const struct gvgs *g, struct gvgsc **out,
                struct sc_err *err)
{
    char name[LIM_KEY], msg[MSG_CAP];
    struct gvgsc *c = NULL;

    *out = NULL;
    snprintf(name, sizeof(name), "groupsnapcontent-%s", g->m.uid);
    c = gcontent_get(env, name);
    if (c == NULL)
        return 0;
    if (c->has_group_handles) {
        snprintf(msg, sizeof(msg),
                 "VolumeGroupSnapshotContent %s is pre-provisioned while expecting a dynamically "
                 "provisioned one",
                 name);
        vgs_error_status(env, g, true, "GroupSnapshotContentMismatch", msg);
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID,
                          "group snapshot %s/%s expects a dynamically provisioned "
                          "VolumeGroupSnapshotContent %s but gets a pre-provisioned one",
                          g->m.ns, g->m.name, name);
    }
    if (!vgs_ref_set(g, c)) {
        snprintf(msg, sizeof(msg),
                 "VolumeGroupSnapshotContent [%s] is bound to a different group snapshot", name);
        vgs_error_status(env, g, true, "GroupSnapshotContentMisbound", msg);
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID,
                          "group snapshot %s/%s is bound to a different "
                          "group snapshot content %s",
                          g->m.ns, g->m.name, name);
    }
    *out = c;
    return 0;
}

/* upstream: getPreprovisionedGroupSnapshotContentFromStore */
static int
preprovisioned_content(const struct sync_env *env, const struct gvgs *g, struct gvgsc **out,
                       struct sc_err *err)
{
    char msg[MSG_CAP];
    struct gvgsc *c = NULL;

    *out = NULL;
    if (g->content == NULL || g->content[0] == '\0')
        return sc_err_set(err, SC_EINVALID,
                          "empty VolumeGroupSnapshotContentName for group snapshot %s/%s", g->m.ns,
                          g->m.name);
    c = gcontent_get(env, g->content);
    if (c == NULL)
        return 0;
    if (!c->has_group_handles) {
        vgs_error_status(env, g, true, "GroupSnapshotContentMismatch",
                         "VolumeGroupSnapshotContent is dynamically provisioned while expecting a "
                         "pre-provisioned one");
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID,
                          "group snapshot %s/%s expects a pre-provisioned "
                          "VolumeGroupSnapshotContent %s but gets a dynamically provisioned one",
                          g->m.ns, g->m.name, g->content);
    }
    if (c->ref_name == NULL || c->ref_ns == NULL || strcmp(c->ref_name, g->m.name) != 0 ||
        strcmp(c->ref_ns, g->m.ns) != 0 ||
        (c->ref_uid != NULL && c->ref_uid[0] != '\0' && strcmp(c->ref_uid, g->m.uid) != 0)) {
        snprintf(msg, sizeof(msg),
                 "VolumeGroupSnapshotContent [%s] is bound to a different group snapshot",
                 g->content);
        vgs_error_status(env, g, true, "GroupSnapshotContentMisbound", msg);
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_EINVALID,
                          "group snapshot %s/%s is bound to a different "
                          "group snapshot content %s",
                          g->m.ns, g->m.name, g->content);
    }
    *out = c;
    return 0;
}

static int
content_for(const struct sync_env *env, const struct gvgs *g, struct gvgsc **out,
            struct sc_err *err)
{
    return g->has_content ? preprovisioned_content(env, g, out, err)
                          : dynamic_content(env, g, out, err);
}

/* upstream: checkandAddGroupSnapshotFinalizers.  The deletion policy does
 * not matter for groups. */
static int
group_check_add_finalizer(const struct sync_env *env, const struct gvgs *g, bool *wrote,
                          struct sc_err *err)
{
    static const char *const fin[] = {FIN_VGS_BOUND};
    struct gvgsc *c = NULL;
    int rc;

    *wrote = false;
    rc = content_for(env, g, &c, err);
    if (rc != 0)
        return rc;
    if (c != NULL && !g->m.deleting && g->bound != NULL && g->bound[0] != '\0' &&
        (g->gfins & GFIN_VGS_BOUND) == 0) {
        rc = sync_patch(env, KIND_VGS, &g->m, false, SYNC_PATCH_JSON,
                        cpatch_add_finalizers(&g->m, fin, 1), err);
        if (rc == 0)
            *wrote = true;
    }
    CVIEW_UNREF(c);
    return rc;
}

/* ---- status (§5.7) ---- */

/* Events and metrics of the created / ready transitions. */
static void
status_transitions(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
                   bool created, bool readied)
{
    char key[LIM_KEY], msg[MSG_CAP];

    vgs_key(g, key, sizeof(key));
    if (created) {
        cmetrics_record(env->metrics, OP_CREATE_GROUP_SNAPSHOT, g->m.uid, OP_STATUS_SUCCESS,
                        c->driver);
        snprintf(msg, sizeof(msg), "GroupSnapshot %s was successfully created by the CSI driver.",
                 key);
        sync_event(env, KIND_VGS, &g->m, "Normal", "GroupSnapshotCreated", msg);
    }
    if (readied) {
        cmetrics_record(env->metrics, OP_CREATE_GROUP_SNAPSHOT_AND_READY, g->m.uid,
                        OP_STATUS_SUCCESS, c->driver);
        snprintf(msg, sizeof(msg), "GroupSnapshot %s is ready to use.", key);
        sync_event(env, KIND_VGS, &g->m, "Normal", "GroupSnapshotReady", msg);
    }
}

/* upstream: updateGroupSnapshotStatus.  c may be a zeroed view naming a
 * content just created. */
static int
group_update_status(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
                    struct sc_err *err)
{
    char key[LIM_KEY], ts[40];
    bool ready = c->ready == TRI_TRUE, created = false, readied = false;
    json_t *p = json_object();
    int rc;

    if (!g->has_status || g->bound == NULL)
        cpatch_set(&p, "status.boundVolumeGroupSnapshotContentName", json_string(c->m.name));
    if (c->has_creation_time && g->creation_time == NULL) {
        clock_rfc3339(c->creation_time_ns / 1000000, ts, sizeof(ts));
        cpatch_set(&p, "status.creationTime", json_string(ts));
        created = true;
    }
    if (g->ready == TRI_UNSET || (g->ready == TRI_TRUE) != ready) {
        cpatch_set(&p, "status.readyToUse", json_boolean(ready));
        readied = ready;
    }
    sync_status_error(&p, g->has_error, g->error_msg, g->error_time, c->has_error, c->error_msg,
                      c->error_time);
    if (p != NULL && json_object_size(p) == 0) {
        json_decref(p);
        return 0;
    }
    if (p != NULL)
        status_transitions(env, g, c, created, readied);
    rc = sync_patch(env, KIND_VGS, &g->m, true, SYNC_PATCH_MERGE, p, err);
    if (rc != 0) {
        vgs_key(g, key, sizeof(key));
        sc_err_wrap(err, rc, "snapshot controller failed to update %s on API server", key);
    }
    return rc;
}

/* ---- content creation (§5.4) ---- */

static json_t *
group_content_body(const struct gvgs *g, const struct gclass *cls, const struct gvols *vols,
                   const char *name, bool has_secret, const char *secret_name,
                   const char *secret_ns)
{
    json_t *handles = json_array(), *body;
    size_t i;

    for (i = 0; i < vols->n && handles != NULL; i++)
        if (json_array_append_new(
                handles,
                json_string(vols->pv[i]->csi_handle != NULL ? vols->pv[i]->csi_handle : "")) != 0) {
            json_decref(handles);
            handles = NULL;
        }
    if (handles == NULL)
        return NULL;
    body = json_pack("{s:s,s:s,s:{s:s},s:{s:{s:s,s:s,s:s,s:s,s:s,s:s},s:{s:o},s:s,s:s,s:s}}",
                     "apiVersion", VGS_API_VERSION, "kind", "VolumeGroupSnapshotContent",
                     "metadata", "name", name, "spec", "volumeGroupSnapshotRef", "apiVersion",
                     VGS_API_VERSION, "kind", "VolumeGroupSnapshot", "namespace", g->m.ns, "name",
                     g->m.name, "uid", g->m.uid, "resourceVersion", g->m.rv, "source",
                     "volumeHandles", handles, "volumeGroupSnapshotClassName", cls->m.name,
                     "deletionPolicy", cls->policy_str != NULL ? cls->policy_str : "", "driver",
                     cls->driver != NULL ? cls->driver : "");
    if (has_secret)
        cpatch_put(&body, json_object_get(body, "metadata"), "annotations",
                   json_pack("{s:s,s:s}", ANN_GROUP_DEL_SECRET_NAME, secret_name,
                             ANN_GROUP_DEL_SECRET_NS, secret_ns));
    return body;
}

/* upstream's wrap: "failed to get input parameters to create group
 * snapshot <name>: %q" */
static int
input_err(struct sc_err *err, int rc, const struct gvgs *g, const char *inner)
{
    char prefix[MSG_CAP];

    snprintf(prefix, sizeof(prefix),
             "failed to get input parameters to create group snapshot %s: ", g->m.name);
    return sync_err_quoted(err, rc, prefix, inner);
}

/* Every PV must be CSI and of the class's driver (§5.10). */
static int
check_drivers(const struct sync_env *env, const struct gvgs *g, const struct gclass *cls,
              const struct gvols *vols, struct sc_err *err)
{
    char msg[MSG_CAP];
    size_t i;

    for (i = 0; i < vols->n; i++) {
        const struct cpv *pv = vols->pv[i];

        if (pv->csi_driver == NULL) {
            snprintf(msg, sizeof(msg), "Cannot snapshot a non-CSI volume: %s", pv->m.name);
            sync_event(env, KIND_VGS, &g->m, "Warning", "CreateGroupSnapshotContentFailed", msg);
            return sc_err_set(err, SC_EINVALID,
                              "cannot snapshot a non-CSI volume for group snapshot %s/%s: %s",
                              g->m.ns, g->m.name, pv->m.name);
        }
        if (cls->driver == NULL || strcmp(pv->csi_driver, cls->driver) != 0) {
            snprintf(msg, sizeof(msg),
                     "Volume CSI driver (%s) mismatch with VolumeGroupSnapshotClass (%s) %s/%s: %s",
                     pv->csi_driver, cls->driver != NULL ? cls->driver : "", g->m.ns, g->m.name,
                     pv->m.name);
            sync_event(env, KIND_VGS, &g->m, "Warning", "CreateGroupSnapshotContentFailed", msg);
            return sc_err_set(err, SC_EINVALID, "%s", msg);
        }
    }
    return 0;
}

/* The content body for this group: class, volumes, secret. */
static int
content_body_for(const struct sync_env *env, const struct gvgs *g, const char *name, json_t **body,
                 struct sc_err *err)
{
    char sname[LIM_KEY], sns[LIM_KEY];
    struct gclass *cls = NULL;
    struct gvols vols = {NULL, 0};
    struct sc_err ierr = {0};
    bool has_secret = false;
    int rc;

    *body = NULL;
    sc_err_clear(&ierr);
    if (g->class_name == NULL) {
        char inner[MSG_CAP];

        snprintf(inner, sizeof(inner),
                 "failed to take group snapshot %s without a group snapshot class", g->m.name);
        return input_err(err, SC_EINVALID, g, inner);
    }
    cls = gclass_get(env, g->class_name, &ierr);
    if (cls == NULL)
        return input_err(err, ierr.code, g, ierr.msg);
    rc = group_volumes(env, g, true, &vols, &ierr);
    if (rc != 0)
        input_err(err, rc, g, ierr.msg);
    if (rc == 0)
        rc = check_drivers(env, g, cls, &vols, err);
    if (rc == 0) {
        rc = gsync_secret_ref(cls, name, g->m.ns, g->m.name, &has_secret, sname, sns, sizeof(sname),
                              &ierr);
        if (rc != 0)
            input_err(err, rc, g, ierr.msg);
    }
    if (rc == 0) {
        *body = group_content_body(g, cls, &vols, name, has_secret, sname, sns);
        if (*body == NULL)
            rc = sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    gvols_release(&vols);
    CVIEW_UNREF(cls);
    return rc;
}

/* upstream: createGroupSnapshotContent.  name (cap bytes) gets the content
 * name. */
static int
group_create_content(const struct sync_env *env, const struct gvgs *g, char *name, size_t cap,
                     struct sc_err *err)
{
    char key[LIM_KEY], msg[MSG_CAP];
    struct sc_err ierr = {0};
    json_t *body = NULL;
    int rc;

    vgs_key(g, key, sizeof(key));
    snprintf(name, cap, "groupsnapcontent-%s", g->m.uid);
    rc = content_body_for(env, g, name, &body, err);
    if (rc != 0)
        return rc;
    sc_err_clear(&ierr);
    rc = env->act->create(env->act->ctx, KIND_VGSC, NULL, body, NULL, &ierr);
    json_decref(body);
    if (rc != 0 && rc != SC_EEXIST) { /* AlreadyExists: the content is ours by its name */
        snprintf(
            msg, sizeof(msg),
            "Error creating volume group snapshot content object for group snapshot %s: %.400s.",
            key, ierr.msg);
        sync_event(env, KIND_VGS, &g->m, "Warning", "CreateGroupSnapshotContentFailed", msg);
        return sc_err_set(err, rc, "snapshot controller failed to update %s on API server: %s", key,
                          ierr.msg);
    }
    snprintf(msg, sizeof(msg), "Waiting for a group snapshot %s to be created by the CSI driver.",
             key);
    sync_event(env, KIND_VGS, &g->m, "Normal", "CreatingGroupSnapshot", msg);
    return 0;
}

/* ---- members (§5.5) ---- */

static const struct cpv *
pv_for_handle(const struct gvols *vols, const char *driver, const char *handle)
{
    const struct cpv *found = NULL;
    size_t i;

    for (i = 0; i < vols->n; i++) {
        const struct cpv *pv = vols->pv[i];

        if (pv->csi_driver != NULL && pv->csi_handle != NULL && driver != NULL &&
            strcmp(pv->csi_driver, driver) == 0 && strcmp(pv->csi_handle, handle) == 0) {
            if (found != NULL)
                return NULL; /* more than one match: like upstream's index, none */
            found = pv;
        }
    }
    return found;
}

/* The member deletion secret (resolved once per group). */
struct member_secret {
    bool has;
    char name[LIM_KEY];
    char ns[LIM_KEY];
};

/* POST, or GET on AlreadyExists; *out the object. */
static int
create_or_get(const struct sync_env *env, enum kind kind, const char *ns, const char *name,
              const json_t *body, json_t **out, struct sc_err *err)
{
    int rc = env->act->create(env->act->ctx, kind, ns, body, out, err);

    if (rc == SC_EEXIST) {
        sc_err_clear(err);
        *out = NULL;
        rc = env->act->get(env->act->ctx, kind, ns, name, out, err);
    }
    return rc;
}

static int
member_err(struct sc_err *err, int rc, const char *what, const char *inner)
{
    return sc_err_set(err, rc, "createIndividualSnapshotForGroupSnapshot: %s %s", what, inner);
}

/* The member VSC body (upstream: the VSC built in
 * createSnapshotsForGroupSnapshotContent).  NULL on ENOMEM. */
static json_t *
member_vsc_body(const struct gvgs *g, const struct gvgsc *c, const struct gvinfo *info,
                const struct cpv *pv, const char *vs_name, const char *vsc_name,
                const struct member_secret *sec)
{
    json_t *b = json_pack(
        "{s:s,s:s,s:{s:s,s:{s:s}},s:{s:{s:s,s:s,s:s},s:s,s:s,s:{s:s}}}", "apiVersion",
        VS_API_VERSION, "kind", "VolumeSnapshotContent", "metadata", "name", vsc_name,
        "annotations", ANN_MEMBER_GROUP_HANDLE, c->group_handle, "spec", "volumeSnapshotRef",
        "kind", "VolumeSnapshot", "name", vs_name, "namespace", g->m.ns, "deletionPolicy",
        c->policy_str != NULL ? c->policy_str : "", "driver", c->driver != NULL ? c->driver : "",
        "source", "volumeHandle", info->volume_handle);

    if (pv != NULL && pv->volume_mode != NULL)
        cpatch_set(&b, "spec.sourceVolumeMode", json_string(pv->volume_mode));
    if (sec->has) {
        cpatch_put(&b, json_object_get(json_object_get(b, "metadata"), "annotations"),
                   ANN_DEL_SECRET_NAME, json_string(sec->name));
        cpatch_put(&b, json_object_get(json_object_get(b, "metadata"), "annotations"),
                   ANN_DEL_SECRET_NS, json_string(sec->ns));
    }
    return b;
}

/* The member VS body: ownerReference, in-group finalizer, the PVC name
 * ("" when the PV is unknown, as upstream). */
static json_t *
member_vs_body(const struct gvgs *g, const struct cpv *pv, const char *vs_name)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s,s:s,s:s}],s:[s]},s:{s:{s:s}}}", "apiVersion",
                     VS_API_VERSION, "kind", "VolumeSnapshot", "metadata", "name", vs_name,
                     "namespace", g->m.ns, "ownerReferences", "apiVersion", VGS_API_VERSION, "kind",
                     "VolumeGroupSnapshot", "name", g->m.name, "uid", g->m.uid, "finalizers",
                     FIN_VS_INGROUP, "spec", "source", "persistentVolumeClaimName",
                     pv != NULL && pv->claim_name != NULL ? pv->claim_name : "");
}

/* POST each member object or adopt the existing one. */
static int
member_objects(const struct sync_env *env, const struct gvgs *g, const json_t *vsc_body,
               const json_t *vs_body, struct cvsc **vsc, struct cvs **vs, struct sc_err *err)
{
    const char *vsc_name =
        json_string_value(json_object_get(json_object_get(vsc_body, "metadata"), "name"));
    const char *vs_name =
        json_string_value(json_object_get(json_object_get(vs_body, "metadata"), "name"));
    json_t *vsc_obj = NULL, *vs_obj = NULL;
    struct sc_err ierr = {0};
    int rc;

    sc_err_clear(&ierr);
    rc = create_or_get(env, KIND_VSC, NULL, vsc_name, vsc_body, &vsc_obj, &ierr);
    if (rc == 0)
        rc = cvsc_parse(vsc_obj, vsc, &ierr);
    if (rc != 0) {
        member_err(err, rc, "creating volumesnapshotcontent", ierr.msg);
        goto out;
    }
    rc = create_or_get(env, KIND_VS, g->m.ns, vs_name, vs_body, &vs_obj, &ierr);
    if (rc == 0)
        rc = cvs_parse(vs_obj, vs, &ierr);
    if (rc != 0) {
        member_err(err, rc, "error creating or fetching volumesnapshot", ierr.msg);
    } else if ((*vs)->m.uid[0] == '\0') {
        rc = sc_err_set(err, SC_EPROTO,
                        "createIndividualSnapshotForGroupSnapshot: created snapshot %s has an "
                        "empty UID",
                        vs_name);
    }
out:
    json_decref(vsc_obj);
    json_decref(vs_obj);
    return rc;
}

/* Does the member VSC status differ from the group's info entry? */
static bool
vsc_status_differs(const struct cvsc *vsc, const struct gvgsc *c, const struct gvinfo *info)
{
    if (vsc->status_snapshot_handle == NULL || info->snapshot_handle == NULL ||
        strcmp(vsc->status_snapshot_handle, info->snapshot_handle) != 0)
        return true;
    if (vsc->vgs_handle == NULL || strcmp(vsc->vgs_handle, c->group_handle) != 0)
        return true;
    return vsc->ready != info->ready || (info->has_creation_time && !vsc->has_creation_time) ||
           (info->has_restore_size && !vsc->has_restore_size);
}

/* The member VSC status from the group's info entry. */
static json_t *
member_vsc_status(const struct gvgsc *c, const struct gvinfo *info)
{
    json_t *p = json_pack("{s:{s:s?,s:s}}", "status", "snapshotHandle", info->snapshot_handle,
                          "volumeGroupSnapshotHandle", c->group_handle);

    if (info->has_creation_time)
        cpatch_set(&p, "status.creationTime", json_integer(info->creation_time_ns));
    if (info->has_restore_size)
        cpatch_set(&p, "status.restoreSize", json_integer(info->restore_size));
    if (info->ready != TRI_UNSET)
        cpatch_set(&p, "status.readyToUse", json_boolean(info->ready == TRI_TRUE));
    return p;
}

/* Bind the pair (VSC ref uid, VS status) and copy the info into the VSC
 * status; each write only when it changes something.  Unlike upstream an
 * existing VS status is kept, never wiped. */
static int
member_bind(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
            const struct gvinfo *info, const struct cvsc *vsc, const struct cvs *vs,
            struct sc_err *err)
{
    struct sc_err ierr = {0};
    int rc;

    sc_err_clear(&ierr);
    if (vsc->ref_uid == NULL || strcmp(vsc->ref_uid, vs->m.uid) != 0) {
        rc = sync_patch(env, KIND_VSC, &vsc->m, false, SYNC_PATCH_MERGE,
                        cpatch_merge("spec.volumeSnapshotRef.uid", json_string(vs->m.uid)), &ierr);
        if (rc != 0)
            return member_err(err, rc, "binding volumesnapshotcontent to volumesnapshot", ierr.msg);
    }
    if (vs->bound == NULL || vs->vgs_name == NULL) {
        rc = sync_patch(env, KIND_VS, &vs->m, true, SYNC_PATCH_MERGE,
                        json_pack("{s:{s:s,s:s}}", "status", "boundVolumeSnapshotContentName",
                                  vs->bound != NULL ? vs->bound : vsc->m.name,
                                  "volumeGroupSnapshotName",
                                  vs->vgs_name != NULL ? vs->vgs_name : g->m.name),
                        &ierr);
        if (rc != 0)
            return member_err(err, rc, "binding volumesnapshot to volumesnapshotcontent", ierr.msg);
    }
    if (!vsc_status_differs(vsc, c, info))
        return 0;
    rc = sync_patch(env, KIND_VSC, &vsc->m, true, SYNC_PATCH_MERGE, member_vsc_status(c, info),
                    &ierr);
    if (rc != 0)
        return member_err(err, rc, "setting snapshotHandle in volumesnapshotcontent", ierr.msg);
    return 0;
}

/* Create (or adopt) the member VSC and VS for one volume of the group and
 * bind them.  upstream: createSnapshotsForGroupSnapshotContent, one entry. */
static int
create_member(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
              const struct gvinfo *info, const struct cpv *pv, const struct member_secret *sec,
              struct sc_err *err)
{
    char vs_name[GSYNC_MEMBER_NAME_LEN], vsc_name[GSYNC_MEMBER_NAME_LEN];
    json_t *vsc_body, *vs_body;
    struct cvsc *vsc = NULL;
    struct cvs *vs = NULL;
    int rc;

    rc = gsync_member_names(g->m.uid, info->volume_handle, vs_name, vsc_name, sizeof(vs_name));
    if (rc != 0)
        return sc_err_set(err, rc, "cannot name the members of group snapshot %s/%s", g->m.ns,
                          g->m.name);
    vsc_body = member_vsc_body(g, c, info, pv, vs_name, vsc_name, sec);
    vs_body = member_vs_body(g, pv, vs_name);
    if (vsc_body == NULL || vs_body == NULL)
        rc = sc_err_set(err, SC_ENOMEM, "out of memory");
    if (rc == 0)
        rc = member_objects(env, g, vsc_body, vs_body, &vsc, &vs, err);
    if (rc == 0)
        rc = member_bind(env, g, c, info, vsc, vs, err);
    json_decref(vsc_body);
    json_decref(vs_body);
    CVIEW_UNREF(vsc);
    CVIEW_UNREF(vs);
    return rc;
}

/* Members can be made once the sidecar reported the group snapshot:
 * status, a group handle and at least one VolumeSnapshotInfo. */
static bool
members_reported(const struct gvgsc *c)
{
    return c->has_status && c->n_infos > 0 && c->group_handle != NULL;
}

/* upstream: createSnapshotsForGroupSnapshotContent.  Idempotent: member
 * names are fixed by the group UID and volume handle, and AlreadyExists
 * adopts the existing object. */
static int
create_members(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
               struct sc_err *err)
{
    struct member_secret sec = {0};
    struct gvols vols = {NULL, 0};
    struct gclass *cls = NULL;
    struct sc_err ierr = {0};
    size_t i;
    int rc;

    if (!members_reported(c))
        return 0;
    if (g->class_name == NULL)
        return sc_err_set(err, SC_EINVALID,
                          "getGroupSnapshotSecret: internal error: cannot find "
                          "reference to volume group snapshot class");
    sc_err_clear(&ierr);
    cls = gclass_get(env, g->class_name, &ierr);
    if (cls == NULL)
        return sc_err_set(err, ierr.code, "getGroupSnapshotSecret: %s", ierr.msg);
    /* upstream resolves the member secret with no group snapshot (§11.14) */
    memset(&sec, 0, sizeof(sec));
    rc = gsync_secret_ref(cls, c->m.name, NULL, NULL, &sec.has, sec.name, sec.ns, sizeof(sec.name),
                          &ierr);
    CVIEW_UNREF(cls);
    if (rc != 0)
        return sc_err_set(err, rc, "getGroupSnapshotSecret: %s", ierr.msg);
    /* PVs by volume handle, for sourceVolumeMode and the PVC name: errors
     * are only logged, as upstream's index lookup */
    if (group_volumes(env, g, false, &vols, &ierr) != 0)
        log_warnx("group snapshot '%s/%s': cannot resolve member volumes: %s", g->m.ns, g->m.name,
                  ierr.msg);
    for (i = 0; i < c->n_infos; i++) {
        const struct gvinfo *info = &c->infos[i];

        if (info->volume_handle == NULL || info->volume_handle[0] == '\0') {
            rc = sc_err_set(err, SC_EPROTO,
                            "group snapshot content %s: "
                            "status.volumeSnapshotInfoList[%zu] has no volumeHandle",
                            c->m.name, i);
            break;
        }
        rc = create_member(env, g, c, info, pv_for_handle(&vols, c->driver, info->volume_handle),
                           &sec, err);
        if (rc != 0)
            break;
    }
    gvols_release(&vols);
    return rc;
}

/* Is any member VS or VSC of a reported group missing from the stores? */
static bool
members_missing(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c)
{
    char vs_name[GSYNC_MEMBER_NAME_LEN], vsc_name[GSYNC_MEMBER_NAME_LEN], key[LIM_KEY];
    size_t i;

    if (!members_reported(c))
        return false;
    for (i = 0; i < c->n_infos; i++) {
        struct cmeta *vs = NULL, *vsc = NULL;
        bool missing;

        if (c->infos[i].volume_handle == NULL ||
            gsync_member_names(g->m.uid, c->infos[i].volume_handle, vs_name, vsc_name,
                               sizeof(vs_name)) != 0)
            continue;
        snprintf(key, sizeof(key), "%s/%s", g->m.ns, vs_name);
        vs = cstore_get(env->snapshots, key);
        vsc = cstore_get(env->contents, vsc_name);
        missing = vs == NULL || vsc == NULL;
        cview_unref(vs);
        cview_unref(vsc);
        if (missing)
            return true;
    }
    return false;
}

/* ---- statically provisioned members (§3.6, done from the group side) ---- */

struct link_scan {
    const char *handle, *ns;
    json_t *names;
    bool failed; /* out of memory */
};

static int
link_fn(const struct cmeta *m, void *arg)
{
    const struct cvsc *c = (const struct cvsc *)m;
    struct link_scan *s = arg;

    if (c->vgs_handle != NULL && strcmp(c->vgs_handle, s->handle) == 0 && c->ref_ns != NULL &&
        strcmp(c->ref_ns, s->ns) == 0 && c->ref_name != NULL &&
        json_array_size(s->names) < GVIEW_MAX_VOLUMES &&
        json_array_append_new(s->names, json_string(c->ref_name)) != 0) {
        s->failed = true; /* a member left out would stay unlinked */
        return 1;
    }
    return 0;
}

/* Add the v1 VolumeGroupSnapshot ownerReference to a static member: GET
 * the live object (the view does not keep the list) and add with a
 * resourceVersion test. */
static int
add_owner_ref(const struct sync_env *env, const struct gvgs *g, const struct cvs *vs,
              struct sc_err *err)
{
    struct cpatch p = {0};
    json_t *live = NULL, *ref;
    const json_t *meta;
    const char *rv;
    int rc = env->act->get(env->act->ctx, KIND_VS, vs->m.ns, vs->m.name, &live, err);

    if (rc != 0)
        return rc;
    meta = json_object_get(live, "metadata");
    rv = json_string_value(json_object_get(meta, "resourceVersion"));
    ref = json_pack("{s:s,s:s,s:s,s:s}", "apiVersion", VGS_API_VERSION, "kind",
                    "VolumeGroupSnapshot", "name", g->m.name, "uid", g->m.uid);
    cpatch_begin(&p);
    if (rv != NULL)
        cpatch_test(&p, "/metadata/resourceVersion", rv);
    if (json_array_size(json_object_get(meta, "ownerReferences")) > 0)
        cpatch_add(&p, "/metadata/ownerReferences/-", ref);
    else
        cpatch_add(&p, "/metadata/ownerReferences", ref != NULL ? json_pack("[o]", ref) : NULL);
    rc = sync_patch(env, KIND_VS, &vs->m, false, SYNC_PATCH_JSON, cpatch_end(&p), err);
    json_decref(live);
    return rc;
}

/* One static member VS: status.volumeGroupSnapshotName, then the
 * ownerReference, each when missing. */
static int
link_member(const struct sync_env *env, const struct gvgs *g, const char *name, struct sc_err *err)
{
    char key[LIM_KEY];
    struct cvs *vs = NULL;
    int rc = 0;

    snprintf(key, sizeof(key), "%s/%s", g->m.ns, name);
    vs = (struct cvs *)cstore_get(env->snapshots, key);
    if (vs == NULL || vs->m.deleting) {
        CVIEW_UNREF(vs);
        return 0;
    }
    if (vs->vgs_name == NULL)
        rc =
            sync_patch(env, KIND_VS, &vs->m, true, SYNC_PATCH_MERGE,
                       json_pack("{s:{s:s}}", "status", "volumeGroupSnapshotName", g->m.name), err);
    if (rc == 0 && vs->vgs_owner == NULL)
        rc = add_owner_ref(env, g, vs, err);
    CVIEW_UNREF(vs);
    return rc;
}

/* Link the user's VS/VSC pairs whose content reports this group's handle:
 * status.volumeGroupSnapshotName and the v1 VolumeGroupSnapshot
 * ownerReference (upstream does both from the snapshot side). */
static int
link_static_members(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
                    struct sc_err *err)
{
    struct link_scan scan = {c->group_handle, g->m.ns, NULL, false};
    size_t i;
    int rc = 0;

    if (c->group_handle == NULL)
        return 0;
    scan.names = json_array();
    if (scan.names == NULL)
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    cstore_each(env->contents, link_fn, &scan);
    if (scan.failed)
        rc = sc_err_set(err, SC_ENOMEM, "out of memory");
    for (i = 0; rc == 0 && i < json_array_size(scan.names); i++)
        rc = link_member(env, g, json_string_value(json_array_get(scan.names, i)), err);
    json_decref(scan.names);
    return rc;
}

/* ---- unready / ready (§5.4, §5.6) ---- */

/* upstream: bindGroupSnapshotContent (pre-provisioned) */
static int
group_bind_content(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
                   struct sc_err *err)
{
    json_t *p;

    if (c->ref_uid != NULL && c->ref_uid[0] != '\0' && c->class_name != NULL)
        return 0;
    if (c->ref_uid != NULL && strcmp(c->ref_uid, g->m.uid) == 0 &&
        (g->class_name == NULL ||
         (c->class_name != NULL && strcmp(c->class_name, g->class_name) == 0)))
        return 0;
    p = cpatch_merge("spec.volumeGroupSnapshotRef.uid", json_string(g->m.uid));
    if (g->class_name != NULL)
        cpatch_set(&p, "spec.volumeGroupSnapshotClassName", json_string(g->class_name));
    return sync_patch(env, KIND_VGSC, &c->m, false, SYNC_PATCH_MERGE, p, err);
}

static int
sync_unready_preprovisioned(const struct sync_env *env, const struct gvgs *g, struct sc_err *err)
{
    char msg[MSG_CAP], inner[SC_ERR_MSG_LEN];
    struct gvgsc *c = NULL;
    struct sc_err lerr = {0};
    int rc = preprovisioned_content(env, g, &c, err);

    if (rc != 0)
        return rc;
    if (c == NULL) {
        vgs_error_status(env, g, true, "GroupSnapshotContentMissing",
                         "VolumeGroupSnapshotContent is missing");
        return sc_err_set(err, SC_ENOTFOUND,
                          "group snapshot %s/%s requests an non-existing group "
                          "snapshot content %s",
                          g->m.ns, g->m.name, g->content);
    }
    rc = group_bind_content(env, g, c, err);
    if (rc != 0) {
        snprintf(inner, sizeof(inner), "%s", err->msg);
        snprintf(msg, sizeof(msg), "GroupSnapshot failed to bind VolumeGroupSnapshotContent, %s",
                 inner);
        vgs_error_status(env, g, true, "GroupSnapshotBindFailed", msg);
        sc_err_set(err, rc,
                   "group snapshot %s/%s is bound, but VolumeGroupSnapshotContent %s is "
                   "not bound to the VolumeGroupSnapshot correctly, %s",
                   g->m.ns, g->m.name, c->m.name, inner);
        CVIEW_UNREF(c);
        return rc;
    }
    sc_err_clear(&lerr);
    if (link_static_members(env, g, c, &lerr) != 0)
        log_warnx("group snapshot '%s/%s': cannot link its members: %s", g->m.ns, g->m.name,
                  lerr.msg);
    rc = group_update_status(env, g, c, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "GroupSnapshot status update failed, %s", err->msg);
        vgs_error_status(env, g, false, "GroupSnapshotStatusUpdateFailed", msg);
    }
    CVIEW_UNREF(c);
    return rc;
}

/* upstream: syncUnreadyGroupSnapshot */
static int
group_sync_unready(const struct sync_env *env, const struct gvgs *g, struct sc_err *err)
{
    char key[LIM_KEY], msg[MSG_CAP], driver[256], name[LIM_KEY];
    struct gvgsc *c = NULL;
    int rc;

    vgs_key(g, key, sizeof(key));
    sync_metrics_driver(env, true, g->has_content, g->content, g->class_name, driver,
                        sizeof(driver));
    if (g->creation_time == NULL)
        cmetrics_start(env->metrics, OP_CREATE_GROUP_SNAPSHOT, g->m.uid, driver,
                       sync_snap_type(g->has_content));
    cmetrics_start(env->metrics, OP_CREATE_GROUP_SNAPSHOT_AND_READY, g->m.uid, driver,
                   sync_snap_type(g->has_content));
    if (g->has_content)
        return sync_unready_preprovisioned(env, g, err);

    rc = dynamic_content(env, g, &c, err);
    if (rc != 0)
        return rc;
    if (c != NULL) {
        /* members first: the group reports ready only once they exist, so a
         * restart in between repeats the (idempotent) creation */
        rc = create_members(env, g, c, err);
        if (rc == 0) {
            /* upstream: bindandUpdateVolumeGroupSnapshot */
            rc = group_update_status(env, g, c, err);
            if (rc != 0) {
                snprintf(msg, sizeof(msg), "GroupSnapshot status update failed, %s", err->msg);
                vgs_error_status(env, g, true, "GroupSnapshotStatusUpdateFailed", msg);
            }
        }
        CVIEW_UNREF(c);
        return rc;
    }
    rc = group_create_content(env, g, name, sizeof(name), err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "failed to create group snapshot content with error %s",
                 err->msg);
        vgs_error_status(env, g, true, "GroupSnapshotContentCreationFailed", msg);
        return rc;
    }
    {
        /* the new content has no status yet: {bound, readyToUse=false} */
        struct gvgsc fresh = {0};

        memset(&fresh, 0, sizeof(fresh));
        fresh.m.name = name;
        fresh.ready = TRI_UNSET;
        fresh.driver = driver;
        rc = group_update_status(env, g, &fresh, err);
    }
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "GroupSnapshot status update failed, %s", err->msg);
        vgs_error_status(env, g, false, "GroupSnapshotStatusUpdateFailed", msg);
    }
    return rc;
}

/* upstream: syncReadyGroupSnapshot */
static int
group_sync_ready(const struct sync_env *env, const struct gvgs *g, struct sc_err *err)
{
    struct gvgsc *c = gcontent_get(env, g->bound);
    struct sc_err lerr = {0};
    int rc = 0;

    if (c == NULL) {
        vgs_error_status(env, g, true, "GroupSnapshotContentMissing",
                         "VolumeGroupSnapshotContent is missing");
        return 0;
    }
    if (!vgs_ref_set(g, c)) {
        vgs_error_status(env, g, true, "GroupSnapshotMisbound",
                         "VolumeGroupSnapshotContent is not bound to the VolumeGroupSnapshot "
                         "correctly");
    } else if (!g->has_content && members_missing(env, g, c)) {
        /* a member lost after readiness (or never made by a controller
         * that stopped in between): make it again, idempotently */
        rc = create_members(env, g, c, err);
    } else if (g->has_content) {
        sc_err_clear(&lerr);
        if (link_static_members(env, g, c, &lerr) != 0)
            log_warnx("group snapshot '%s/%s': cannot link its members: %s", g->m.ns, g->m.name,
                      lerr.msg);
    }
    CVIEW_UNREF(c);
    return rc;
}

/* ---- deletion (§5.8) ---- */

struct member_scan {
    const char *ns, *name;
    json_t *names;    /* member VS names */
    json_t *deleting; /* parallel: true when the member is being deleted */
    bool failed;      /* out of memory: the lists are incomplete */
};

static int
member_fn(const struct cmeta *m, void *arg)
{
    const struct cvs *s = (const struct cvs *)m;
    struct member_scan *ms = arg;

    if (s->vgs_owner != NULL && strcmp(s->m.ns, ms->ns) == 0 &&
        strcmp(s->vgs_owner, ms->name) == 0 &&
        (json_array_append_new(ms->names, json_string(s->m.name)) != 0 ||
         json_array_append_new(ms->deleting, json_boolean(s->m.deleting)) != 0)) {
        ms->failed = true;
        return 1;
    }
    return 0;
}

/* upstream: the ByVolumeGroupSnapshotMembership index (ownerRef name). */
static int
group_members(const struct sync_env *env, const char *ns, const char *name, struct member_scan *ms)
{
    ms->ns = ns;
    ms->name = name;
    ms->names = json_array();
    ms->deleting = json_array();
    ms->failed = false;
    if (ms->names != NULL && ms->deleting != NULL)
        cstore_each_ns(env->snapshots, ms->ns, member_fn, ms);
    if (ms->names == NULL || ms->deleting == NULL || ms->failed) {
        json_decref(ms->names);
        json_decref(ms->deleting);
        ms->names = ms->deleting = NULL;
        return SC_ENOMEM;
    }
    return 0;
}

/* A member is the source of a Pending restore: SnapshotDeletePending. */
static int
members_restoring(const struct sync_env *env, const struct gvgs *g, const struct member_scan *ms,
                  struct sc_err *err)
{
    char msg[MSG_CAP];
    size_t i;

    for (i = 0; i < json_array_size(ms->names); i++) {
        const char *vs = json_string_value(json_array_get(ms->names, i));

        if (sync_vs_restoring(env, g->m.ns, vs)) {
            snprintf(msg, sizeof(msg),
                     "Snapshot %s/%s belonging to VolumeGroupSnapshot %s/%s is being used to "
                     "restore a PVC",
                     g->m.ns, vs, g->m.ns, g->m.name);
            sync_event(env, KIND_VGS, &g->m, "Warning", "SnapshotDeletePending", msg);
            return sc_err_set(err, SC_EINVALID, "%s", msg);
        }
    }
    return 0;
}

/* The being-deleted annotation, then (Delete) the content itself. */
static int
delete_group_content(const struct sync_env *env, const struct gvgs *g, const struct gvgsc *c,
                     bool delete_content, struct sc_err *err)
{
    struct sc_err derr = {0};
    int rc;

    if (!c->being_deleted_ann) {
        rc = sync_patch(env, KIND_VGSC, &c->m, false, SYNC_PATCH_MERGE,
                        cpatch_annotation(ANN_GROUP_BEING_DELETED, "yes"), err);
        if (rc != 0)
            return sc_err_wrap(err, rc,
                               "failed to set VolumeGroupSnapshotBeingDeleted annotation on the "
                               "content %s",
                               c->m.name);
    }
    if (!delete_content)
        return 0;
    sc_err_clear(&derr);
    rc = env->act->del(env->act->ctx, KIND_VGSC, NULL, c->m.name, &derr);
    if (rc == 0 || rc == SC_ENOTFOUND)
        return 0; /* already gone: upstream retries here (§11.15) */
    sync_event(env, KIND_VGS, &g->m, "Warning", "GroupSnapshotContentObjectDeleteError",
               "Failed to delete group snapshot content API object");
    return sc_err_set(err, rc, "failed to delete VolumeGroupSnapshotContent %s from API server: %s",
                      c->m.name, derr.msg);
}

/* DELETE every member not already on its way (NotFound is fine). */
static int
delete_members(const struct sync_env *env, const struct gvgs *g, const struct member_scan *ms,
               struct sc_err *err)
{
    char msg[MSG_CAP];
    size_t i;

    for (i = 0; i < json_array_size(ms->names); i++) {
        const char *vs = json_string_value(json_array_get(ms->names, i));
        struct sc_err derr = {0};
        int rc;

        if (json_is_true(json_array_get(ms->deleting, i)))
            continue;
        sc_err_clear(&derr);
        rc = env->act->del(env->act->ctx, KIND_VS, g->m.ns, vs, &derr);
        if (rc != 0 && rc != SC_ENOTFOUND) {
            snprintf(msg, sizeof(msg),
                     "failed to delete snapshot API object %s/%s part of group snapshot %s/%s: "
                     "%.400s",
                     g->m.ns, vs, g->m.ns, g->m.name, derr.msg);
            sync_event(env, KIND_VGS, &g->m, "Warning", "SnapshotDeleteError", msg);
            return sc_err_set(err, rc, "%s", msg);
        }
    }
    return 0;
}

/* The bound content of a deleting group, if it points back (upstream's
 * fallback to the fixed name is dead code, §11.15; ours works). */
static struct gvgsc *
deleting_content(const struct sync_env *env, const struct gvgs *g)
{
    char cname[LIM_KEY];
    const char *name = NULL;
    struct gvgsc *c = NULL;

    if (g->bound != NULL && g->bound[0] != '\0') {
        name = g->bound;
    } else if (!g->has_content) {
        snprintf(cname, sizeof(cname), "groupsnapcontent-%s", g->m.uid);
        name = cname;
    }
    c = gcontent_get(env, name);
    if (c != NULL && !vgs_ref_set(g, c)) {
        CVIEW_UNREF(c);
        c = NULL;
    }
    return c;
}

/* upstream: processGroupSnapshotWithDeletionTimestamp */
static int
group_process_deletion(const struct sync_env *env, const struct gvgs *g, struct sc_err *err)
{
    char driver[256];
    struct member_scan ms = {0};
    struct gvgsc *c = NULL;
    bool delete_content;
    int rc, idx;

    sync_metrics_driver(env, true, g->has_content, g->content, g->class_name, driver,
                        sizeof(driver));
    cmetrics_start(env->metrics, OP_DELETE_GROUP_SNAPSHOT, g->m.uid, driver,
                   sync_snap_type(g->has_content));
    if (!g->m.deleting || (g->gfins & GFIN_VGS_BOUND) == 0)
        return 0;
    c = deleting_content(env, g);
    delete_content = c != NULL && c->policy == POLICY_DELETE;
    if (group_members(env, g->m.ns, g->m.name, &ms) != 0) {
        CVIEW_UNREF(c);
        return sc_err_set(err, SC_ENOMEM, "out of memory");
    }
    rc = members_restoring(env, g, &ms, err);
    if (rc == 0 && c != NULL)
        rc = delete_group_content(env, g, c, delete_content, err);
    if (rc == 0)
        rc = delete_members(env, g, &ms, err);
    idx = gview_fin_index(g->gfins, g->gfin_idx, GFIN_VGS_BOUND);
    /* with Delete the finalizer goes once the content is gone */
    if (rc == 0 && !delete_content && idx >= 0)
        rc = sync_patch(env, KIND_VGS, &g->m, false, SYNC_PATCH_JSON,
                        cpatch_remove_finalizer_at(idx, FIN_VGS_BOUND), err);
    json_decref(ms.names);
    json_decref(ms.deleting);
    CVIEW_UNREF(c);
    return rc;
}

/* upstream: syncGroupSnapshot */
static int
group_sync(const struct sync_env *env, const struct gvgs *g, struct sc_err *err)
{
    char msg[MSG_CAP];
    bool wrote;
    int rc;

    if (g->m.deleting)
        return group_process_deletion(env, g, err);
    if (g->has_selector == g->has_content) {
        static const char m[] =
            "Exactly one of Selector and VolumeGroupSnapshotContentName should be specified";

        vgs_error_status(env, g, true, "GroupSnapshotValidationError", m);
        return sc_err_set(err, SC_EINVALID, "%s", m);
    }
    rc = group_check_add_finalizer(env, g, &wrote, err);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "Failed to check and update group snapshot: %s", err->msg);
        sync_event(env, KIND_VGS, &g->m, "Warning", "GroupSnapshotFinalizerError", msg);
        return rc;
    }
    if (wrote)
        return 0; /* the update event brings the group back */
    if (g->ready != TRI_TRUE || g->bound == NULL || g->bound[0] == '\0')
        return group_sync_unready(env, g, err);
    return group_sync_ready(env, g, err);
}

int
group_sync_key(const struct sync_env *env, const char *key, struct sc_err *err)
{
    struct gvgs *g = (struct gvgs *)cstore_get(env->groups, key);
    bool stop = false;
    int rc;

    sc_err_clear(err);
    if (g == NULL)
        return 0;
    rc = group_check_class(env, g, &stop, err);
    if (rc == 0 && !stop)
        rc = group_sync(env, g, err);
    CVIEW_UNREF(g);
    return rc;
}

/* upstream: deleteGroupSnapshot */
void
group_deleted(const struct sync_env *env, const struct gvgs *g)
{
    char key[LIM_KEY];
    struct member_scan ms = {0};
    size_t i;

    vgs_key(g, key, sizeof(key));
    cview_unref(cstore_del(env->groups, key));
    cmetrics_record(env->metrics, OP_DELETE_GROUP_SNAPSHOT, g->m.uid, OP_STATUS_SUCCESS, NULL);
    /* upstream leaves pending group creates in the in-flight gauge */
    cmetrics_drop(env->metrics, OP_CREATE_GROUP_SNAPSHOT, g->m.uid);
    cmetrics_drop(env->metrics, OP_CREATE_GROUP_SNAPSHOT_AND_READY, g->m.uid);
    if (g->bound != NULL && g->bound[0] != '\0')
        env->act->enqueue(env->act->ctx, KIND_VGSC, g->bound);
    /* members blocked on their parent can let go of it now */
    if (group_members(env, g->m.ns, g->m.name, &ms) != 0)
        return;
    for (i = 0; i < json_array_size(ms.names); i++) {
        snprintf(key, sizeof(key), "%s/%s", g->m.ns,
                 json_string_value(json_array_get(ms.names, i)));
        env->act->enqueue(env->act->ctx, KIND_VS, key);
    }
    json_decref(ms.names);
    json_decref(ms.deleting);
}
