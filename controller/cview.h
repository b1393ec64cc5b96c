/* controller/cview.h -- compact, immutable views of the objects the
 * controller caches: VolumeSnapshot (cvs), VolumeSnapshotContent (cvsc),
 * VolumeSnapshotClass (cclass), PersistentVolumeClaim (cpvc), and the
 * PersistentVolume (cpv) read live for one pass.
 *
 * A view copies only the fields the sync logic reads into one allocation
 * (a few hundred bytes), so a cache of 10,000 snapshots does not keep
 * 10,000 jansson trees alive.  Views are reference counted and immutable
 * once parsed: readers on any thread take a reference (cview_ref) from the
 * store and drop it (cview_unref) when the pass ends.  Every string field
 * is either NULL (absent or JSON null), a NUL-terminated copy owned by
 * the view, a constant, or (*_parse_shared) a string of the shared table.
 *
 * *_parse(obj, &out, err): obj is borrowed; on success *out is a new view
 * with one reference (caller owns it); on failure *out is untouched and err
 * names the field ("spec.source.persistentVolumeClaimName: expected
 * string, got integer").  Unknown fields are ignored.
 */
#ifndef SC_CVIEW_H
#define SC_CVIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/sc_err.h"
#include "kube/kjson.h"
#include "kube/kscan.h"

/* Finalizers, annotations and labels upstream uses (§3.1). */
#define FIN_VSC_BOUND       "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
#define FIN_VS_BOUND        "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
#define FIN_VS_SOURCE       "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
#define FIN_VS_INGROUP      "snapshot.storage.kubernetes.io/volumesnapshot-in-group-protection"
#define FIN_PVC_SOURCE      "snapshot.storage.kubernetes.io/pvc-as-source-protection"
#define ANN_DEFAULT_CLASS   "snapshot.storage.kubernetes.io/is-default-class"
#define ANN_BEING_DELETED   "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
#define ANN_DEL_SECRET_NAME "snapshot.storage.kubernetes.io/deletion-secret-name"
#define ANN_DEL_SECRET_NS   "snapshot.storage.kubernetes.io/deletion-secret-namespace"
#define LABEL_MANAGED_BY    "snapshot.storage.kubernetes.io/managed-by"
#define PARAM_SECRET_NAME   "csi.storage.k8s.io/snapshotter-secret-name"
#define PARAM_SECRET_NS     "csi.storage.k8s.io/snapshotter-secret-namespace"
#define VGS_API_VERSION     "groupsnapshot.storage.k8s.io/v1"
#define VS_API_VERSION      "snapshot.storage.k8s.io/v1"

/* Bits for the finalizers a view knows about. */
enum cfin {
    CFIN_VS_SOURCE = 1u << 0,
    CFIN_VS_BOUND = 1u << 1,
    CFIN_VS_INGROUP = 1u << 2,
    CFIN_VSC_BOUND = 1u << 3,
    CFIN_PVC_SOURCE = 1u << 4,
};

/* A tri-state bool: a *bool in Go (kjson's three states, same values). */
enum tri { TRI_UNSET = KJSON_UNSET, TRI_FALSE = KJSON_FALSE, TRI_TRUE = KJSON_TRUE };

enum cpolicy { POLICY_UNSET = 0, POLICY_DELETE = 1, POLICY_RETAIN = 2, POLICY_OTHER = 3 };

/* Common header of every view: refcount, metadata every kind has, and the
 * size of the kind's struct.  The view's strings are copied after that
 * struct, in the same allocation (controller/cpack.h): block_len bytes at
 * (char *)m + size.  Fields are ordered by size so that no padding sits
 * between pointers (a view per cached object: every 8 bytes is 0.8 MB at
 * 100,000). */
struct cmeta {
    json_t *extra;          /* owned reference (cpv's node affinity), or NULL */
    const char *ns;         /* NULL for cluster-scoped kinds */
    const char *name;       /* never NULL */
    const char *uid;        /* "" when absent (unsaved objects) */
    const char *rv;         /* resourceVersion, "" when absent */
    int64_t created_ms;     /* metadata.creationTimestamp (wall ms), -1 when absent or bad */
    int64_t deleting_ms;    /* metadata.deletionTimestamp (wall ms), -1 when absent or bad */
    int refs;               /* atomic */
    unsigned block_len;     /* bytes of strings after the kind's struct */
    unsigned size;          /* sizeof the kind's struct */
    unsigned fins;          /* enum cfin bits */
    unsigned n_fins;        /* all finalizers, known or not */
    signed char fin_idx[5]; /* index in metadata.finalizers per enum cfin bit, -1 if absent */
    bool deleting;          /* metadata.deletionTimestamp set */
};

struct cvs {
    struct cmeta m;
    const char *vgs_owner; /* name of a groupsnapshot.storage.k8s.io/v1 VGS ownerRef */
    const char *pvc;
    const char *content;
    const char *class_name;   /* spec.volumeSnapshotClassName */
    const char *bound;        /* status.boundVolumeSnapshotContentName */
    const char *restore_size; /* quantity string as stored */
    const char *error_msg;
    const char *error_time;
    const char *vgs_name; /* status.volumeGroupSnapshotName */
    enum tri ready;
    bool has_pvc;     /* spec.source.persistentVolumeClaimName present (may be "") */
    bool has_content; /* spec.source.volumeSnapshotContentName present */
    bool has_status;
    bool restore_zero; /* restore_size parses as zero */
    bool has_error;
    /* status.creationTime set: only whether it is is ever read (its value
     * comes from the content), so a cached snapshot keeps no 20-byte copy */
    bool has_creation_time;
};

struct cvsc {
    struct cmeta m;
    const char *ref_name, *ref_ns, *ref_uid, *ref_kind, *ref_api;
    const char *class_name;
    const char *driver;
    const char *volume_handle;   /* spec.source.volumeHandle */
    const char *snapshot_handle; /* spec.source.snapshotHandle */
    const char *source_volume_mode;
    const char *error_msg;
    const char *error_time;
    const char *status_snapshot_handle;
    const char *vgs_handle; /* status.volumeGroupSnapshotHandle */
    int64_t creation_time_ns;
    int64_t restore_size;
    enum cpolicy policy;
    enum tri ready;
    bool being_deleted_ann; /* ANN_BEING_DELETED present */
    bool has_status;
    bool has_creation_time;
    bool has_restore_size;
    bool has_error;
};

struct cclass {
    struct cmeta m;
    const char *driver;
    enum cpolicy policy;
    const char *policy_str;
    bool is_default; /* annotation value exactly "true" */
    bool has_secret_name, has_secret_ns;
    const char *secret_name, *secret_ns; /* templates from the parameters */
};

struct cpvc {
    struct cmeta m;
    const char *phase;                            /* status.phase */
    const char *volume_name;                      /* spec.volumeName */
    const char *ds_kind, *ds_api_group, *ds_name; /* spec.dataSource */
};

struct cpv {
    struct cmeta m;
    const char *csi_driver; /* spec.csi.driver; NULL if not a CSI volume */
    const char *csi_handle; /* spec.csi.volumeHandle */
    const char *claim_ns, *claim_name, *claim_uid;
    const char *volume_mode;
    const json_t *node_affinity; /* spec.nodeAffinity.required (m.extra), or NULL */
};

SC_MUST_CHECK int cvs_parse(const json_t *obj, struct cvs **out, struct sc_err *err);
SC_MUST_CHECK int cvsc_parse(const json_t *obj, struct cvsc **out, struct sc_err *err);
SC_MUST_CHECK int cclass_parse(const json_t *obj, struct cclass **out, struct sc_err *err);
SC_MUST_CHECK int cpvc_parse(const json_t *obj, struct cpvc **out, struct sc_err *err);
SC_MUST_CHECK int cpv_parse(const json_t *obj, struct cpv **out, struct sc_err *err);

/* The same, with the strings many views repeat (namespaces, class and
 * driver names) pointing into shared (controller/cintern.h; NULL: copied),
 * which must outlive the view. */
struct cintern;
SC_MUST_CHECK int cvs_parse_shared(const json_t *obj, struct cintern *shared, struct cvs **out,
                                   struct sc_err *err);
SC_MUST_CHECK int cvsc_parse_shared(const json_t *obj, struct cintern *shared, struct cvsc **out,
                                    struct sc_err *err);
SC_MUST_CHECK int cpvc_parse_shared(const json_t *obj, struct cintern *shared, struct cpvc **out,
                                    struct sc_err *err);

/* Reference counting for any view (pass &v->m).  cview_unref(NULL) is a
 * no-op; the last unref frees the view. */
void *cview_ref(struct cmeta *m);
void cview_unref(struct cmeta *m);
#define CVIEW_UNREF(v) cview_unref((v) != NULL ? &(v)->m : NULL)

/* Index of the finalizer bit in the fin_idx table (0..4). */
int cview_fin_slot(unsigned bit);
/* Index of finalizer `bit` in metadata.finalizers, or -1. */
int cview_fin_index(const struct cmeta *m, unsigned bit);

/* Shared with controller/gview.c. */
/* The metadata every view reads, from `from` with r: namespace (when
 * namespaced), name, uid, resourceVersion, deletion and creation times.  A
 * missing name (or namespace) sets r's error.  Strings borrow from the tree;
 * fins and fin_idx are left empty (-1) for the caller's finalizer table. */
void cview_meta_read(struct kjson *r, const json_t *from, struct cmeta *m, bool namespaced);
/* kjson_tri_at() as an enum tri. */
enum tri cview_tri_at(struct kjson *r, const json_t *from, const char *path);
/* A deletionPolicy string as an enum cpolicy (NULL: POLICY_UNSET). */
enum cpolicy cview_policy(const char *s);

/* Set the bit (and first index) of finalizer f, the i-th of
 * metadata.finalizers, when it is one the views know; f NULL: nothing. */
void cview_fin_note(struct cmeta *m, const char *f, size_t i);
/* True if a quantity string denotes zero ("0", "0Gi", "0.0", "+0"). */
bool cview_quantity_zero(const char *q);
/* Parse a resourceVersion as an int64; false if it is not a number. */
bool cview_rv_num(const char *rv, int64_t *out);

/* Approximate heap bytes held by a view (for the RSS figures). */
size_t cview_bytes(const struct cmeta *m);

/* ---- snapshots and contents straight from their bytes (controller/cscan.c) ----
 *
 * cvs_scan() / cvsc_scan(): the view cvs_parse_shared() / cvsc_parse_shared()
 * would give for the object whose JSON is data[0..n), read with kscan()
 * (kube/kscan.h) instead of a tree: 0 and *out (one reference).  They return
 * CVIEW_DECLINED whenever they cannot be sure of giving exactly that view:
 * what kscan() declines, a value of a type the tree path refuses, a missing
 * name or namespace, strings past CSCAN_SCRATCH bytes, out of memory.  The
 * caller then parses the bytes into a tree and calls *_parse_shared(), whose
 * view or error stands.  (Where kscan() is lenient, on defects inside
 * members no view reads, a document the tree path refuses gets a view: see
 * kscan.h.)
 *
 * struct cview_scan holds the compiled paths: cview_scan_init() once, then
 * only read, by any thread.  The caller owns it. */
#define CVIEW_DECLINED 1
#define CSCAN_SCRATCH  4096 /* bytes of one object's strings read by a scan */

struct cview_scan {
    struct kscan_spec vs, vsc, owner;
};
/* 0, or -1 if a path table does not compile (a programming error). */
int cview_scan_init(struct cview_scan *sc);
int cvs_scan(const struct cview_scan *sc, const char *data, size_t n, struct cintern *shared,
             struct cvs **out);
int cvsc_scan(const struct cview_scan *sc, const char *data, size_t n, struct cintern *shared,
              struct cvsc **out);

#endif
