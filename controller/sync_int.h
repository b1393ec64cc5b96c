/* controller/sync_int.h -- helpers shared by snapshot_sync.c,
 * content_sync.c and the group sync files (not part of the public sync interface). */
#ifndef SC_SYNC_INT_H
#define SC_SYNC_INT_H

#include "controller/sync.h"

/* Fill a sync_obj for a view. */
void sync_obj_vs(const struct cvs *vs, struct sync_obj *o);
void sync_obj_vsc(const struct cvsc *c, struct sync_obj *o);
void sync_obj_pvc(const struct cpvc *p, struct sync_obj *o);

/* JSON patch adding finalizer fin to an object with meta m (guarded by a
 * resourceVersion test when the list is created). NULL on ENOMEM. */
json_t *sync_patch_add_finalizers(const struct cmeta *m, const char *const *fins, size_t n);
/* JSON patch removing the finalizers in bits (test + remove by index). */
json_t *sync_patch_remove_finalizers(const struct cmeta *m, unsigned bits);

/* upstream: IsSnapshotDeletionCandidate. */
bool sync_vs_deletion_candidate(const struct cvs *vs);
/* upstream: IsVolumeSnapshotRefSet (name, namespace and uid match). */
bool sync_vs_ref_set(const struct cvs *vs, const struct cvsc *c);

/* Set the being-deleted annotation on the content if absent
 * (upstream: setAnnVolumeSnapshotBeingDeleted).  0 or the write error. */
int sync_set_being_deleted(const struct sync_env *env, const struct cvsc *c, struct sc_err *err);

/* The default-class search shared by snapshot and group classes
 * (upstream: SetDefaultSnapshotClass / SetDefaultGroupSnapshotClass): feed
 * every class; n counts those marked default for driver, and first keeps the
 * smallest such name (upstream takes lister order; ours stays deterministic). */
struct sync_default_scan {
    const char *driver;
    char first[256];
    int n;
};
void sync_default_scan_add(struct sync_default_scan *s, const char *name, const char *driver,
                           bool is_default);

/* A secret-parameter template's placeholder and its value (NULL: not available). */
struct tmpl_param {
    const char *key;
    const char *value;
};

/* upstream: resolveTemplate + the DNS-label (namespace) or DNS-subdomain (name)
 * check of GetSecretReference, with upstream's error texts.  out gets the
 * expansion (cap bytes).  Shared by the snapshot and group secret rules. */
int sync_resolve_secret_template(const char *tmpl, const struct tmpl_param *params, size_t n,
                                 bool is_ns, char *out, size_t cap, struct sc_err *err);

#endif
