/* controller/group_content_sync.c -- VolumeGroupSnapshotContent reconcile
 * (upstream: syncGroupSnapshotContent) and the content delete event.
 * Contents are never deleted here. */
#include "controller/gsync.h"

#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "controller/sync_int.h"

/* ---- syncGroupSnapshotContent (§5.9) ---- */

/* upstream: needsUpdateGroupSnapshotStatus (with its always-true pointer
 * comparison when both readyToUse are set) */
static bool
needs_status_update(const struct gvgs *g, const struct gvgsc *c)
{
    if (!g->has_status && c->has_status)
        return true;
    if (g->has_status && g->bound == NULL)
        return true;
    if (g->creation_time == NULL && c->has_creation_time)
        return true;
    if (g->ready == TRI_UNSET && c->ready != TRI_UNSET)
        return true;
    if (g->ready != TRI_UNSET && c->ready != TRI_UNSET)
        return true;
    return false;
}

static int
group_content_sync(const struct sync_env *env, const struct gvgsc *c, struct sc_err *err)
{
    static const char *const fin[] = {FIN_VGSC_BOUND};
    char key[LIM_KEY];
    struct gvgs *g = NULL;

    if (c->has_group_handles == (c->n_volume_handles > 0)) {
        static const char m[] =
            "Exactly one of GroupSnapshotHandles and VolumeHandles should be specified";

        sync_event(env, KIND_VGSC, &c->m, "Warning", "GroupContentValidationError", m);
        return sc_err_set(err, SC_EINVALID, "%s", m);
    }
    if (c->ref_uid == NULL || c->ref_uid[0] == '\0')
        return 0; /* pre-bound, waiting for the group snapshot */
    if (!c->m.deleting && (c->gfins & GFIN_VGSC_BOUND) == 0)
        return sync_patch(env, KIND_VGSC, &c->m, false, SYNC_PATCH_JSON,
                          cpatch_add_finalizers(&c->m, fin, 1), err);
    snprintf(key, sizeof(key), "%s/%s", c->ref_ns != NULL ? c->ref_ns : "",
             c->ref_name != NULL ? c->ref_name : "");
    g = (struct gvgs *)cstore_get(env->groups, key);
    if (g != NULL && strcmp(g->m.uid, c->ref_uid) == 0 && needs_status_update(g, c))
        env->act->enqueue(env->act->ctx, KIND_VGS, key);
    CVIEW_UNREF(g);
    return 0;
}

/* upstream: syncGroupSnapshotContentByKey */
int
group_content_sync_key(const struct sync_env *env, const char *key, struct sc_err *err)
{
    struct gvgsc *c = (struct gvgsc *)cstore_get(env->group_contents, key);
    int rc;

    sc_err_clear(err);
    if (c == NULL)
        return 0;
    rc = group_content_sync(env, c, err);
    CVIEW_UNREF(c);
    return rc;
}

/* upstream: deleteGroupSnapshotContent */
void
group_content_deleted(const struct sync_env *env, const struct gvgsc *c)
{
    char key[LIM_KEY];

    cview_unref(cstore_del(env->group_contents, c->m.name));
    snprintf(key, sizeof(key), "%s/%s", c->ref_ns != NULL ? c->ref_ns : "",
             c->ref_name != NULL ? c->ref_name : "");
    env->act->enqueue(env->act->ctx, KIND_VGS, key);
}
