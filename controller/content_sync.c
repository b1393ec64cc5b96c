/* controller/content_sync.c -- VolumeSnapshotContent reconcile, as
 * upstream's syncContent: validate, add the bound finalizer, re-enqueue the
 * snapshot, mark being-deleted.  Contents are never deleted here. */
#include "controller/sync.h"

#include <stdio.h>
#include <string.h>

#include "common/limits.h"
#include "controller/sync_int.h"

/* upstream: needsUpdateSnapshotStatus (with its always-true pointer
 * comparison when both readyToUse are set, §11.2) */
static bool
needs_status_update(const struct cvs *vs, const struct cvsc *c)
{
    if (!vs->has_status && c->has_status)
        return true;
    if (vs->has_status && vs->bound == NULL)
        return true;
    if (!vs->has_creation_time && c->has_creation_time)
        return true;
    if (vs->ready == TRI_UNSET && c->ready != TRI_UNSET)
        return true;
    if (vs->ready != TRI_UNSET && c->ready != TRI_UNSET)
        return true;
    if (vs->restore_size == NULL && c->has_restore_size)
        return true;
    if (vs->restore_size != NULL && vs->restore_zero && c->has_restore_size && c->restore_size > 0)
        return true;
    return false;
}

/* upstream: syncContent */
static int
content_sync(const struct sync_env *env, const struct cvsc *c, struct sc_err *err)
{
    static const char *const fin[] = {FIN_VSC_BOUND};
    char key[LIM_KEY];
    struct cvs *vs = NULL;
    int rc = 0;

    if ((c->volume_handle == NULL) == (c->snapshot_handle == NULL)) {
        static const char m[] =
            "Exactly one of VolumeHandle and SnapshotHandle should be specified";

        sync_event(env, KIND_VSC, &c->m, "Warning", "ContentValidationError", m);
        return sc_err_set(err, SC_EINVALID, "%s", m);
    }
    if (c->ref_uid == NULL || c->ref_uid[0] == '\0')
        return 0; /* pre-bound, waiting for the snapshot */
    if (!c->m.deleting && (c->m.fins & CFIN_VSC_BOUND) == 0)
        return sync_patch(env, KIND_VSC, &c->m, false, SYNC_PATCH_JSON,
                          cpatch_add_finalizers(&c->m, fin, 1), err);
    snprintf(key, sizeof(key), "%s/%s", c->ref_ns != NULL ? c->ref_ns : "",
             c->ref_name != NULL ? c->ref_name : "");
    vs = (struct cvs *)cstore_get(env->snapshots, key);
    if (vs != NULL && strcmp(vs->m.uid, c->ref_uid) != 0) {
        CVIEW_UNREF(vs);
        vs = NULL;
    }
    if (vs != NULL && needs_status_update(vs, c))
        env->act->enqueue(env->act->ctx, KIND_VS, key);
    if (vs != NULL && sync_vs_deletion_candidate(vs))
        rc = sync_set_being_deleted(env, c, err);
    CVIEW_UNREF(vs);
    return rc;
}

/* upstream: syncContentByKey */
int
content_sync_key(const struct sync_env *env, const char *key, struct sc_err *err)
{
    struct cvsc *c = (struct cvsc *)cstore_get(env->contents, key);
    int rc;

    sc_err_clear(err);
    if (c == NULL)
        return 0;
    rc = content_sync(env, c, err);
    CVIEW_UNREF(c);
    return rc;
}

/* upstream: deleteContent */
void
content_deleted(const struct sync_env *env, const struct cvsc *c)
{
    char key[LIM_KEY];

    cview_unref(cstore_del(env->contents, c->m.name));
    snprintf(key, sizeof(key), "%s/%s", c->ref_ns != NULL ? c->ref_ns : "",
             c->ref_name != NULL ? c->ref_name : "");
    env->act->enqueue(env->act->ctx, KIND_VS, key);
}
