/* webhook/wh_objs.h -- compact views of the objects the admission warnings read.
 *
 * The webhook caches every PersistentVolumeClaim, PersistentVolume,
 * StorageClass and VolumeSnapshotContent of the cluster, so each view copies
 * only the few fields the warnings need (docs/webhook.md has the RSS with 10k
 * PVCs).  Each parser returns ONE allocation holding the struct and all its
 * strings: free() it.  The JSON object is borrowed for the call only.
 *
 * Absent optional fields read as NULL (or false); a field of the wrong type is
 * SC_EINVALID with a message naming it, and the object is not cached.  Label
 * counts are capped by WH_OBJ_MAX_LABELS (SC_ETOOBIG beyond; the API server
 * itself has no such cap, but a PVC with more labels is not a real one).
 */
#ifndef SC_WH_OBJS_H
#define SC_WH_OBJS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/sc_err.h"

#define WH_OBJ_MAX_LABELS 256

/* PersistentVolumeClaim */
struct wh_pvc {
    const char *ns;
    const char *name;
    const char *volume; /* spec.volumeName; NULL when unset or "" */
    const char *sc;     /* spec.storageClassName, else the beta annotation; NULL when neither */
    bool bound;         /* status.phase == "Bound" */
    bool deleting;      /* metadata.deletionTimestamp is set */
    size_t n_labels;
    const char *const *labels; /* 2 * n_labels strings: key, value, key, value, ... */
};

/* PersistentVolume */
struct wh_pv {
    const char *name;
    const char *driver; /* spec.csi.driver; NULL for a volume that is not CSI */
};

/* StorageClass */
struct wh_sc {
    const char *name;
    const char *provisioner; /* "" when absent */
};

/* VolumeSnapshotContent */
struct wh_content {
    const char *name;
    const char *driver;   /* spec.driver, "" when absent */
    const char *ref_ns;   /* spec.volumeSnapshotRef.namespace, "" when absent */
    const char *ref_name; /* spec.volumeSnapshotRef.name, "" when absent */
};

int wh_pvc_parse(const json_t *obj, struct wh_pvc **out, struct sc_err *err);
int wh_pv_parse(const json_t *obj, struct wh_pv **out, struct sc_err *err);
int wh_sc_parse(const json_t *obj, struct wh_sc **out, struct sc_err *err);
int wh_content_parse(const json_t *obj, struct wh_content **out, struct sc_err *err);

/* The value of label key on p, or NULL. */
const char *wh_pvc_label(const struct wh_pvc *p, const char *key);

#endif
