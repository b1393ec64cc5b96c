/* webhook/whlookup.h -- what the admission rules may ask about the cluster.
 *
 * The rules in wh_classes.c and wh_dataref.c are pure functions of the
 * AdmissionReview and of this small lookup interface.  In the server the
 * interface is backed by whwatch.c (kube/ informers); unit tests back it
 * with recorded JSON.
 *
 * Visitors receive borrowed values that are valid only during the call; a
 * visitor returns non-zero to stop the iteration early.
 */
#ifndef SC_WHLOOKUP_H
#define SC_WHLOOKUP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sc_err.h"

enum wh_class_kind {
    WH_CLASS_SNAPSHOT = 0, /* snapshot.storage.k8s.io VolumeSnapshotClass */
    WH_CLASS_GROUP = 1,    /* groupsnapshot.storage.k8s.io VolumeGroupSnapshotClass */
};

/* One ReferenceGrant spec.from[] entry. */
struct wh_grant_from {
    const char *group;
    const char *kind;
    const char *ns;
};

/* One ReferenceGrant spec.to[] entry; name is NULL or "" when unset. */
struct wh_grant_to {
    const char *group;
    const char *kind;
    const char *name;
};

/* A ReferenceGrant as the rule sees it (all strings borrowed). */
struct wh_grant {
    const char *ns;
    const char *name;
    const struct wh_grant_from *from;
    size_t n_from;
    const struct wh_grant_to *to;
    size_t n_to;
};

typedef int wh_class_visit_fn(void *arg, const char *name, const char *driver, bool is_default);
typedef int wh_grant_visit_fn(void *arg, const struct wh_grant *grant);

struct wh_lookup {
    /* Visit every cached class of the kind.  Returns SC_OK, or an error
     * (e.g. SC_ESHUTDOWN, SC_EIO when the cache is not synced). */
    int (*classes)(void *ctx, enum wh_class_kind kind, wh_class_visit_fn *fn, void *arg,
                   struct sc_err *err);
    /* Visit every cached ReferenceGrant in namespace ns.  Returns
     * SC_ENOTFOUND when the ReferenceGrant CRD is not installed (no served
     * version), another error when the cache cannot answer. */
    int (*grants)(void *ctx, const char *ns, wh_grant_visit_fn *fn, void *arg, struct sc_err *err);
    void *ctx;
};

/* The outcome of one admission rule. */
#define WH_MSG_LEN 1024
struct wh_decision {
    bool allowed;
    int code;             /* HTTP-style status code for a denial (0 when allowed) */
    const char *rule;     /* static metric label: "default-class", "reference-grant", ... */
    char msg[WH_MSG_LEN]; /* "" when allowed without comment */
};

#endif
