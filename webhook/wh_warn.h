/* webhook/wh_warn.h -- admission warnings for VolumeSnapshot and
 * VolumeGroupSnapshot CREATE (endpoint /warn-snapshot).
 *
 * These never deny.  Each one tells, in one line, what will keep the new
 * object from becoming ready and how to fix it, at the moment it can still be
 * fixed; kubectl prints them as "Warning: ...".  Every answer comes from the
 * webhook's caches (struct wh_warn_lookup), never from a live API call.
 *
 * VolumeSnapshot:
 *   class-missing     spec.volumeSnapshotClassName names no cached class
 *   no-default        no class named, and the PVC's driver has no default class
 *   many-defaults     ... or more than one
 *   driver-mismatch   the named class's driver differs from the PVC's driver
 *                     (the PV's CSI driver when bound, else the StorageClass's
 *                     provisioner)
 *   pvc-missing       the source PVC does not exist
 *   pvc-unbound       the source PVC is not bound yet
 *   pvc-deleting      the source PVC is being deleted
 *   content-taken     a pre-provisioned snapshot names a content whose
 *                     volumeSnapshotRef is another snapshot
 * VolumeGroupSnapshot: class-missing, no-default, many-defaults,
 *   driver-mismatch as above for the PVCs its selector matches, plus
 *   selector-empty    the selector matches no PVC in the namespace
 *   mixed-drivers     it matches PVCs of different drivers
 *
 * A cache that cannot answer (not synced, CRD absent) produces no warning
 * for the checks that need it: a missing warning is harmless, a false one is
 * not.  Other operations, other resources and objects that do not decode get
 * no warnings.
 */
#ifndef SC_WH_WARN_H
#define SC_WH_WARN_H

#include <stddef.h>

#include "webhook/review.h"
#include "webhook/wh_objs.h"
#include "webhook/whlookup.h"

#define WH_WARN_MAX  6   /* warnings in one answer */
#define WH_WARN_LEN  320 /* one warning, with its NUL (the API server keeps 256+) */
#define WH_WARN_RULE "snapshot-warnings"

enum wh_warn_kind {
    WH_WARN_CLASS_MISSING,
    WH_WARN_NO_DEFAULT,
    WH_WARN_MANY_DEFAULTS,
    WH_WARN_DRIVER_MISMATCH,
    WH_WARN_PVC_MISSING,
    WH_WARN_PVC_UNBOUND,
    WH_WARN_PVC_DELETING,
    WH_WARN_CONTENT_TAKEN,
    WH_WARN_SELECTOR_EMPTY,
    WH_WARN_MIXED_DRIVERS,
    WH_WARN_KIND_N
};

/* The static label of a kind ("class-missing", ...), for metrics and logs. */
const char *wh_warn_kind_name(enum wh_warn_kind k);

struct wh_warnings {
    size_t n;
    enum wh_warn_kind kind[WH_WARN_MAX];
    char msg[WH_WARN_MAX][WH_WARN_LEN];
};

/* The objects a warning may look at. */
enum wh_obj { WH_OBJ_PVC, WH_OBJ_PV, WH_OBJ_SC, WH_OBJ_CONTENT, WH_OBJ_N };

/* view is a const struct wh_pvc / wh_pv / wh_sc / wh_content, borrowed for
 * the call.  Return non-zero to stop a visit. */
typedef int wh_obj_visit_fn(void *arg, const void *view);

struct wh_warn_lookup {
    struct wh_lookup classes; /* class caches (only .classes is used) */
    /* Call fn once with the object of this kind and key ("ns/name" for a
     * PVC, "name" otherwise).  SC_OK, SC_ENOTFOUND when there is no such
     * object, another code (SC_EIO) when the cache cannot answer. */
    int (*get)(void *ctx, enum wh_obj kind, const char *key, wh_obj_visit_fn *fn, void *arg,
               struct sc_err *err);
    /* Visit every PVC of namespace ns.  SC_OK or an error as above. */
    int (*pvcs)(void *ctx, const char *ns, wh_obj_visit_fn *fn, void *arg, struct sc_err *err);
    void *ctx;
};

/* Fill w (zeroed first) for request r.  Never fails. */
void wh_warn_review(const struct review_admission *r, const struct wh_warn_lookup *lk,
                    struct wh_warnings *w);

#endif
