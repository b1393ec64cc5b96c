/* controller/gsync.h -- upstream's group snapshot decisions
 * (VolumeGroupSnapshot, VolumeGroupSnapshotContent and their member
 * VolumeSnapshot / VolumeSnapshotContent objects) behind a narrow
 * interface, in the style of controller/sync.h.
 *
 * The sync functions read compact views (controller/gview.h for the group
 * kinds, controller/cview.h for VS/VSC/PVC/PV) from the stores in struct
 * sync_env and act only through struct sync_actions: the vocabulary of
 * controller/sync.h, shared with the snapshot side.  Time comes only from
 * env->clock, so unit tests replay recorded objects with a fake clock and
 * the recording actions of tests/unit/controller/fake.c.
 *
 * Writes (all scoped to the fields the controller owns):
 *   - finalizer add: JSON patch "add /metadata/finalizers/-" (or the whole
 *     list guarded by a resourceVersion test); removal: "test" + "remove" of
 *     the cached index, so a concurrent change fails and the key requeues;
 *   - the default group class, the being-deleted annotation, content
 *     binding: JSON merge patch;
 *   - status: JSON merge patch on the /status subresource;
 *   - member ownerReferences: JSON patch with a resourceVersion test.
 *
 * Return value of every entry point: 0 (done, forget the key) or a negative
 * SC_E* code with err->msg holding upstream's error text (requeue with
 * backoff).  Messages, event reasons and metrics follow upstream
 * (docs/groups.md lists where we differ on purpose).
 */
#ifndef SC_GSYNC_H
#define SC_GSYNC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/clock.h"
#include "common/sc_err.h"
#include "controller/cmetrics.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/gview.h"
#include "controller/sync.h"

#define OP_CREATE_GROUP_SNAPSHOT           "CreateGroupSnapshot"
#define OP_CREATE_GROUP_SNAPSHOT_AND_READY "CreateGroupSnapshotAndReady"
#define OP_DELETE_GROUP_SNAPSHOT           "DeleteGroupSnapshot"

#define GROUP_API_GROUP "groupsnapshot.storage.k8s.io"

/* upstream: syncGroupSnapshotByKey.  A key not in env->groups is done. */
int group_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);
/* upstream: syncGroupSnapshotContentByKey. */
int group_content_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);

/* The informer saw a VolumeGroupSnapshot disappear (upstream:
 * deleteGroupSnapshot): drops it from the store, records the
 * DeleteGroupSnapshot metric, enqueues its bound content and its member
 * snapshots (their in-group finalizer may go now).  g borrowed. */
void group_deleted(const struct sync_env *env, const struct gvgs *g);
/* The informer saw a group content disappear: drop it, enqueue its group. */
void group_content_deleted(const struct sync_env *env, const struct gvgsc *c);

/* ---- hooks for the VolumeSnapshot side (snapshot_sync.c) ---- */

/* Does the group snapshot ns/name exist in the store?  groups may be NULL
 * (groups disabled): false.  One being deleted with no finalizer left counts
 * as gone (the API server removes it at once). */
bool gsync_group_exists(struct cstore *groups, const char *ns, const char *name);
/* upstream's SnapshotDeletePending message for a member deleted alone:
 * "deletion of the individual volume snapshot <ns/vs> is not allowed as it
 * belongs to group snapshot <ns/vgs>. Deleting the group snapshot will
 * trigger the deletion of all the individual volume snapshots that are part
 * of the group." */
void gsync_member_delete_msg(const char *ns, const char *vs, const char *vgs, char *out,
                             size_t cap);
/* Name of the group snapshot whose content has status handle `handle`
 * (upstream: the VGSC list scan of updateSnapshotStatus).  true and out
 * filled when found; groups disabled (NULL store) or none: false. */
bool gsync_group_name_for_handle(struct cstore *group_contents, const char *handle, char *out,
                                 size_t cap);

/* ---- pieces exposed for unit tests ---- */

/* Member object names: "snapshot-" / "snapcontent-" + lowercase hex
 * sha256(vgs_uid + volume_handle).  cap >= GSYNC_MEMBER_NAME_LEN. */
#define GSYNC_MEMBER_NAME_LEN 80
int gsync_member_names(const char *vgs_uid, const char *volume_handle, char *vs_name,
                       char *vsc_name, size_t cap);

/* upstream: GetSecretReference with the group snapshotter secret
 * parameters of a VolumeGroupSnapshotClass.  Tokens:
 * ${volumegroupsnapshotcontent.name} (name and namespace templates),
 * ${volumegroupsnapshot.namespace} (both), ${volumegroupsnapshot.name}
 * (name only); vgs_ns / vgs_name NULL means "no group snapshot" (member
 * creation, upstream §11.14: only the content name resolves). */
int gsync_secret_ref(const struct gclass *cls, const char *content_name, const char *vgs_ns,
                     const char *vgs_name, bool *has_ref, char *name, char *ns, size_t cap,
                     struct sc_err *err);

#endif
