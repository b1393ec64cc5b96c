/* controller/gview.h -- compact, immutable views of the group snapshot
 * objects (groupsnapshot.storage.k8s.io): VolumeGroupSnapshot (gvgs),
 * VolumeGroupSnapshotContent (gvgsc) and VolumeGroupSnapshotClass
 * (gclass), in the style of controller/cview.h.
 *
 * Each view starts with a struct cmeta, so it lives in a struct cstore and
 * is reference counted with cview_ref / cview_unref / CVIEW_UNREF like the
 * snapshot views.  The object is kept as a trimmed JSON copy in m.extra
 * (group objects are few; they carry variable-length parts: the selector,
 * the volume handle lists, the volumeSnapshotInfoList) and every pointer
 * of the view borrows from it.  Every string is NULL (absent or
 * null) or NUL-terminated and lives as long as the view.
 *
 * The group finalizers are not in cmeta's known table: cmeta.fins and
 * cmeta.fin_idx stay empty and the view carries gfins / gfin_idx instead
 * (cmeta.n_fins and cmeta.rv are filled, so cpatch_add_finalizers()
 * works on group views).
 *
 * *_parse(obj, &out, err): obj borrowed; on success *out is a new view with
 * one reference; on failure *out is untouched and err names the field.
 * Both the v1 / v1beta2 shapes and v1beta1's integer creationTime are read.
 */
#ifndef SC_GVIEW_H
#define SC_GVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/sc_err.h"
#include "controller/cview.h"

#define FIN_VGS_BOUND "groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-bound-protection"
#define FIN_VGSC_BOUND \
    "groupsnapshot.storage.kubernetes.io/volumegroupsnapshotcontent-bound-protection"
#define ANN_GROUP_DEFAULT_CLASS "groupsnapshot.storage.kubernetes.io/is-default-class"
#define ANN_GROUP_BEING_DELETED \
    "groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-being-deleted"
#define ANN_GROUP_DEL_SECRET_NAME "groupsnapshot.storage.kubernetes.io/deletion-secret-name"
#define ANN_GROUP_DEL_SECRET_NS   "groupsnapshot.storage.kubernetes.io/deletion-secret-namespace"
/* on member VSCs: note the k8s.io domain and the camelCase (upstream) */
#define ANN_MEMBER_GROUP_HANDLE "groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle"
#define PARAM_GROUP_SECRET_NAME "csi.storage.k8s.io/group-snapshotter-secret-name"
#define PARAM_GROUP_SECRET_NS   "csi.storage.k8s.io/group-snapshotter-secret-namespace"

#define GVIEW_MAX_VOLUMES 1024 /* volume handles / infos kept per group content */

enum gfin {
    GFIN_VGS_BOUND = 1u << 0,
    GFIN_VGSC_BOUND = 1u << 1,
};

struct gvgs {
    struct cmeta m;
    unsigned gfins;         /* enum gfin bits */
    int gfin_idx[2];        /* index in metadata.finalizers per bit, -1 if absent */
    bool has_selector;      /* spec.source.selector present (an object) */
    const json_t *selector; /* borrowed from m.extra, or NULL */
    bool has_content;       /* spec.source.volumeGroupSnapshotContentName present */
    const char *content;
    const char *class_name; /* spec.volumeGroupSnapshotClassName */
    bool has_status;
    const char *bound;         /* status.boundVolumeGroupSnapshotContentName */
    const char *creation_time; /* RFC 3339 as stored */
    enum tri ready;
    bool has_error;
    const char *error_msg;
    const char *error_time;
};

/* One entry of status.volumeSnapshotInfoList. */
struct gvinfo {
    const char *volume_handle;
    const char *snapshot_handle;
    bool has_creation_time;
    int64_t creation_time_ns;
    enum tri ready;
    bool has_restore_size;
    int64_t restore_size;
};

struct gvgsc {
    struct cmeta m;
    unsigned gfins;
    int gfin_idx[2];
    bool being_deleted_ann; /* ANN_GROUP_BEING_DELETED present */
    const char *ref_name, *ref_ns, *ref_uid, *ref_kind, *ref_api;
    const char *class_name; /* spec.volumeGroupSnapshotClassName */
    enum cpolicy policy;
    const char *policy_str;
    const char *driver;
    size_t n_volume_handles; /* spec.source.volumeHandles */
    const char **volume_handles;
    bool has_group_handles;       /* spec.source.groupSnapshotHandles present */
    const char *src_group_handle; /* ...groupSnapshotHandles.volumeGroupSnapshotHandle */
    size_t n_snapshot_handles;    /* ...groupSnapshotHandles.volumeSnapshotHandles */
    bool has_status;
    const char *group_handle; /* status.volumeGroupSnapshotHandle */
    bool has_creation_time;
    int64_t creation_time_ns; /* status.creationTime (RFC 3339, or v1beta1 int64 ns) */
    enum tri ready;
    bool has_error;
    const char *error_msg;
    const char *error_time;
    size_t n_infos; /* status.volumeSnapshotInfoList */
    struct gvinfo *infos;
};

struct gclass {
    struct cmeta m;
    const char *driver;
    enum cpolicy policy;
    const char *policy_str;
    bool is_default; /* ANN_GROUP_DEFAULT_CLASS exactly "true" */
    bool has_secret_name, has_secret_ns;
    const char *secret_name, *secret_ns; /* group-snapshotter secret templates */
};

SC_MUST_CHECK int gvgs_parse(const json_t *obj, struct gvgs **out, struct sc_err *err);
SC_MUST_CHECK int gvgsc_parse(const json_t *obj, struct gvgsc **out, struct sc_err *err);
SC_MUST_CHECK int gclass_parse(const json_t *obj, struct gclass **out, struct sc_err *err);

/* Index of group finalizer `bit` in metadata.finalizers, or -1. */
int gview_fin_index(const unsigned gfins, const int *gfin_idx, unsigned bit);

#endif
