/* controller/sync.h -- upstream's common snapshot controller decisions for
 * VolumeSnapshot and VolumeSnapshotContent, behind a narrow interface.
 *
 * The sync functions read compact views (controller/cview.h) from the
 * stores in struct sync_env and act only through struct sync_actions: live
 * reads (GET PV, LIST nodes) and writes (create content, patches, delete,
 * events, enqueues).  They never touch a clock or a random source except
 * env->clock, so unit tests replay recorded objects with a fake clock and a
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

enum sync_patch {
    SYNC_PATCH_JSON = 0,  /* RFC 6902 */
    SYNC_PATCH_MERGE = 1, /* RFC 7386 */
};

enum sync_kind { SYNC_VS = 0, SYNC_VSC = 1, SYNC_PVC = 2 };

/* The object an event or write is about (strings borrowed for the call). */
struct sync_obj {
    enum sync_kind kind;
    const char *ns; /* NULL for VSC */
    const char *name;
    const char *uid;
    const char *rv;
};

struct sync_actions {
    void *ctx;
    /* GET /api/v1/persistentvolumes/<name>: *out is a new view. */
    int (*get_pv)(void *ctx, const char *name, struct cpv **out, struct sc_err *err);
    /* LIST nodes (only with --enable-distributed-snapshotting): *out is a new
     * reference to a JSON array of Node objects. */
    int (*list_nodes)(void *ctx, json_t **out, struct sc_err *err);
    /* POST a VolumeSnapshotContent (body borrowed).  SC_EEXIST passes through. */
    int (*create_content)(void *ctx, const json_t *body, struct sc_err *err);
    /* PATCH an object (status: the /status subresource); patch borrowed.
     * The implementation stores the response in the matching store. */
    int (*patch)(void *ctx, const struct sync_obj *obj, bool status, enum sync_patch type,
                 const json_t *patch, struct sc_err *err);
    /* DELETE a VolumeSnapshotContent. */
    int (*delete_content)(void *ctx, const char *name, struct sc_err *err);
    /* Record an Event on obj; type "Normal"/"Warning". */
    void (*event)(void *ctx, const struct sync_obj *obj, const char *type, const char *reason,
                  const char *message);
    /* Add a key to the snapshot queue ("ns/name") or content queue ("name"). */
    void (*enqueue_snapshot)(void *ctx, const char *key);
    void (*enqueue_content)(void *ctx, const char *key);
};

struct sync_opts {
    bool prevent_volume_mode_conversion; /* default true */
    bool distributed_snapshotting;       /* default false */
};

struct sync_env {
    struct cstore *snapshots; /* struct cvs, "ns/name" */
    struct cstore *contents;  /* struct cvsc, "name" */
    struct cstore *classes;   /* struct cclass, "name" */
    struct cstore *claims;    /* struct cpvc, "ns/name" */
    /* Group snapshot stores (controller/gview.h), NULL when groups are off:
     * a parent group is then treated as absent (docs/compat.md). */
    struct cstore *groups;         /* struct gvgs, "ns/name" */
    struct cstore *group_contents; /* struct gvgsc, "name" */
    const struct sync_actions *act;
    struct cmetrics *metrics; /* may be NULL */
    struct clock clock;
    struct sync_opts opts;
};

/* upstream: syncSnapshotByKey.  A key not in env->snapshots is done. */
int snapshot_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);
/* upstream: syncContentByKey. */
int content_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);

/* The informer saw a VolumeSnapshot disappear (upstream: deleteSnapshot):
 * drops it from the store, ends the DeleteSnapshot metric and enqueues its
 * bound content.  vs is the last known view (borrowed). */
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
