/* webhook/whwatch.h -- the watch caches behind the admission rules.
 *
 * Three kube/ informers, each caching a compact view:
 *   VolumeSnapshotClass       snapshot.storage.k8s.io/v1
 *   VolumeGroupSnapshotClass  groupsnapshot.storage.k8s.io, the first served of
 *                             v1beta2 (storage), v1, v1beta1
 *   ReferenceGrant            gateway.networking.k8s.io/v1beta1, or v1 when only
 *                             v1 is served; indexed by namespace
 * and, for the admission warnings (webhook/wh_warn.h), four more, each a
 * compact view (webhook/wh_objs.h) of every object of the cluster:
 *   PersistentVolumeClaim     v1, indexed by namespace
 *   PersistentVolume          v1
 *   StorageClass              storage.k8s.io/v1
 *   VolumeSnapshotContent     snapshot.storage.k8s.io/v1
 * whwatch_lookup() exposes them as the struct wh_lookup the rules use, and
 * whwatch_warn_lookup() as the struct wh_warn_lookup of the warnings; until
 * one of the four has synced, the warnings that need it are not given.  A
 * resource that is not served (its CRD is absent) is reported as such:
 * no group classes means nothing can collide; no ReferenceGrant CRD makes
 * grants() return SC_ENOTFOUND, which the rule turns into a denial.
 *
 * Ready (for /readyz) when the VolumeSnapshotClass cache has synced and the
 * other two have synced or are known not to be served.  The four caches of
 * the warnings do not count: a warning is advice, and the class rule must
 * not wait for a list of every PVC.
 *
 * Ownership: the kclient is borrowed and must outlive the whwatch.
 */
#ifndef SC_WHWATCH_H
#define SC_WHWATCH_H

#include <stdbool.h>

#include "common/sc_err.h"
#include "kube/kclient.h"
#include "webhook/wh_warn.h"
#include "webhook/whlookup.h"

struct whwatch;

int whwatch_start(struct kclient *c, struct whwatch **out, struct sc_err *err);
struct wh_lookup whwatch_lookup(struct whwatch *w);
struct wh_warn_lookup whwatch_warn_lookup(struct whwatch *w);
/* Objects in each cache of the warnings, by enum wh_obj. */
void whwatch_counts(struct whwatch *w, size_t out[WH_OBJ_N]);
/* ctx is a struct whwatch * (the signature fits struct whroute.ready). */
bool whwatch_ready(void *ctx);
void whwatch_free(struct whwatch *w); /* NULL-safe; stops the informers */

#endif
