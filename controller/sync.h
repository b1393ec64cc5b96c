/* controller/sync.h -- upstream's common snapshot controller decisions for
 * VolumeSnapshot and VolumeSnapshotContent, behind a narrow interface.
 *
 * This header is also the sync vocabulary shared with the group side
 * (controller/gsync.h): one enum kind, one object reference (struct
 * sync_ref), one action interface (struct sync_actions) and one env.
 *
 * The sync functions read compact views (controller/cview.h) from the
 * stores in struct sync_env and act only through struct sync_actions: live
 * reads (GET PV, LIST nodes) and writes (create content, patches, delete,
 * events, enqueues).  Patches are built by controller/cpatch.h.  They never touch a clock or a
 * random source except env->clock, so unit tests replay recorded objects with a fake clock and a
 * recording sync_actions and assert exactly which writes a pass makes.
 *
 * Writes are patches scoped to the fields the controller owns:
 *   - VS / VSC / PVC finalizer add: JSON patch "add /metadata/finalizers/-"
 *     (or "add /metadata/finalizers" with a one-element list when there are
 *     none); removal: JSON patch "test" + "remove" of the cached index, so a
 *     concurrent change fails the test and the key is requeued;
 *   - status: JSON merge patch on the /status subresource;
 *   - default class, content binding, annotations: JSON merge patch.
 * A write that fails with SC_ECONFLICT (or a failed test) is returned as an
 * error: the worker requeues the key with backoff.
 *
 * Messages, reasons and error strings follow upstream (see
 * docs/controller.md); each step names its upstream twin.
 *
 * Return value of every entry point: 0 (done, forget the key) or a negative
 * SC_E* code with err->msg holding upstream's error text (requeue with
 * backoff).
 */
#ifndef SC_SYNC_H
#define SC_SYNC_H

#include <jansson.h>
#include <stdbool.h>

#include "common/clock.h"
#include "common/sc_err.h"
#include "controller/cmetrics.h"
#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/pvmemo.h"

enum sync_patch {
    SYNC_PATCH_JSON = 0,  /* RFC 6902 */
    SYNC_PATCH_MERGE = 1, /* RFC 7386 */
};

/* Every kind the controller reads or writes, snapshot and group alike.
 * The first N_WATCHED have an informer, a store and (some) a queue; the
 * table in ctrl.c maps each to its API path, parser, store and queue. */
enum kind {
    KIND_VS = 0,     /* VolumeSnapshot, "ns/name", queue */
    KIND_VSC = 1,    /* VolumeSnapshotContent, "name", queue */
    KIND_CLASS = 2,  /* VolumeSnapshotClass, "name" */
    KIND_PVC = 3,    /* PersistentVolumeClaim, "ns/name" */
    KIND_VGS = 4,    /* VolumeGroupSnapshot, "ns/name", queue (groups on) */
    KIND_VGSC = 5,   /* VolumeGroupSnapshotContent, "name", queue (groups on) */
    KIND_GCLASS = 6, /* VolumeGroupSnapshotClass, "name" */
    N_WATCHED = 7,
    KIND_PV = 7,   /* PersistentVolume: live GET only */
    KIND_NODE = 8, /* Node: live LIST only */
    N_KIND = 9,
};

/* Short lowercase name of a kind ("vs", "vgsc", "pv", ...), for logs. */
const char *kind_name(enum kind k);

/* The object an event or write is about: its kind and compact metadata
 * (controller/cview.h; namespace NULL for cluster-scoped kinds), both
 * borrowed for the call. */
struct sync_ref {
    enum kind kind;
    const struct cmeta *m;
};

/* The only way the sync steps reach the API server, the event recorder and
 * the work queues.  ns is NULL for cluster-scoped kinds. */
struct sync_actions {
    void *ctx;
    /* GET an object: *out is a new reference.  NotFound is SC_ENOTFOUND. */
    int (*get)(void *ctx, enum kind kind, const char *ns, const char *name, json_t **out,
               struct sc_err *err);
    /* LIST: KIND_NODE all Nodes; KIND_PVC the claims in ns with
     * labelSelector=selector (labelsel_query() syntax, "" selects all).
     * *out is a new reference to a JSON array in API order. */
    int (*list)(void *ctx, enum kind kind, const char *ns, const char *selector, json_t **out,
                struct sc_err *err);
    /* POST an object (body borrowed).  On success *out (when out is not
     * NULL) is a new reference to the created object; the implementation
     * also stores it.  AlreadyExists is SC_EEXIST. */
    int (*create)(void *ctx, enum kind kind, const char *ns, const json_t *body, json_t **out,
                  struct sc_err *err);
    /* PATCH (status: the /status subresource); patch borrowed.  The
     * implementation stores the response in the kind's store. */
    int (*patch)(void *ctx, const struct sync_ref *obj, bool status, enum sync_patch type,
                 const json_t *patch, struct sc_err *err);
    /* DELETE an object.  NotFound is SC_ENOTFOUND. */
    int (*del)(void *ctx, enum kind kind, const char *ns, const char *name, struct sc_err *err);
    /* Record an Event on obj; type "Normal"/"Warning". */
    void (*event)(void *ctx, const struct sync_ref *obj, const char *type, const char *reason,
                  const char *message);
    /* Add a key ("ns/name" or "name") to the kind's queue; a kind without
     * a running queue drops it. */
    void (*enqueue)(void *ctx, enum kind kind, const char *key);
};

struct sync_opts {
    bool prevent_volume_mode_conversion; /* default true */
    bool distributed_snapshotting;       /* default false */
};

/* What every sync step (snapshot and group) reads and acts through. */
struct sync_env {
    struct cstore *snapshots; /* struct cvs, "ns/name" */
    struct cstore *contents;  /* struct cvsc, "name" */
    struct cstore *classes;   /* struct cclass, "name" */
    struct cstore *claims;    /* struct cpvc, "ns/name" */
    /* Group snapshot stores (controller/gview.h), NULL when groups are off:
     * the snapshot side then treats a parent group as absent
     * (docs/compat.md); the group steps run only when they are set. */
    struct cstore *groups;         /* struct gvgs, "ns/name" */
    struct cstore *group_contents; /* struct gvgsc, "name" */
    struct cstore *group_classes;  /* struct gclass, "name" */
    const struct sync_actions *act;
    struct cmetrics *metrics; /* may be NULL */
    struct pvmemo *pv_memo;   /* may be NULL: every PV read is a GET (pvmemo.h) */
    struct clock clock;
    struct sync_opts opts;
};

/* upstream: syncSnapshotByKey.  A key not in env->snapshots is done. */
int snapshot_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);
/* upstream: syncContentByKey. */
int content_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);

/* The informer saw a VolumeSnapshot disappear (upstream: deleteSnapshot):
 * drops it from the store, ends the DeleteSnapshot metric and enqueues its
 * bound content, and its PVC on the claim queue when pvc_pin_wanted().  vs is the last known view
 * (borrowed). */
void snapshot_deleted(const struct sync_env *env, const struct cvs *vs);
/* The informer saw a content disappear (upstream: deleteContent). */
void content_deleted(const struct sync_env *env, const struct cvsc *c);

/* ---- pieces exposed for unit tests ---- */

/* upstream: GetSecretReference with the snapshotter secret parameters.
 * On success *has_ref tells whether a secret is configured and name/ns
 * (cap bytes each) hold the resolved values.  Errors carry upstream's
 * message. */
int sync_secret_ref(const struct cclass *cls, const char *content_name, const char *vs_ns,
                    const char *vs_name, bool *has_ref, char *name, char *ns, size_t cap,
                    struct sc_err *err);

/* Does a Node (JSON object) match a PV nodeAffinity.required node selector
 * (terms ORed, expressions ANDed)? */
bool sync_node_matches(const json_t *selector, const json_t *node);

#endif
