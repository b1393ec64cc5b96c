/* controller/sync_int.h -- helpers shared by snapshot_sync.c,
 * content_sync.c and the group sync files (not part of the public sync
 * interface).  Bodies in controller/sync_util.c; patch bodies come from
 * controller/cpatch.h. */
#ifndef SC_SYNC_INT_H
#define SC_SYNC_INT_H

#include "controller/cpatch.h"
#include "controller/sync.h"

/* PATCH the object (kind, m) through env->act.  patch is stolen; NULL
 * (the builder ran out of memory) is SC_ENOMEM and nothing is sent. */
int sync_patch(const struct sync_env *env, enum kind kind, const struct cmeta *m, bool status,
               enum sync_patch type, json_t *patch, struct sc_err *err);
/* Record an Event on the object (kind, m) through env->act. */
void sync_event(const struct sync_env *env, enum kind kind, const struct cmeta *m, const char *type,
                const char *reason, const char *msg);

/* GET the PersistentVolume name through env->act: *out a new view. */
int sync_get_pv(const struct sync_env *env, const char *name, struct cpv **out, struct sc_err *err);

/* err = prefix + Go %q of inner (upstream's fmt "%s%q"), with code. */
int sync_err_quoted(struct sc_err *err, int code, const char *prefix, const char *inner);

/* upstream: update{Group,}SnapshotErrorStatusWithEvent for a VS or VGS
 * (kind, m) whose status error message is cur (NULL: none).  The same
 * message is neither rewritten nor re-evented; otherwise status.error
 * {message, time now} (and readyToUse false when set_ready_false) is
 * written and a Warning event reason/msg recorded.  0 or the write error
 * (logged; the event is recorded anyway). */
int sync_error_status(const struct sync_env *env, enum kind kind, const struct cmeta *m,
                      const char *cur, bool set_ready_false, const char *reason, const char *msg);

/* status.error of a (group) snapshot's status merge patch *p from its
 * content's error (has, msg, time): copied when it differs from the
 * current one (has_cur, cur_msg, cur_time; value comparison, see
 * docs/compat.md), cleared (null) when the content has none. */
void sync_status_error(json_t **p, bool has_cur, const char *cur_msg, const char *cur_time,
                       bool has, const char *msg, const char *time);

/* The metrics snapshot type of a (group) snapshot with or without a
 * pre-provisioned content. */
const char *sync_snap_type(bool has_content);
/* The driver a metric of a (group) snapshot names: its content's when
 * pre-provisioned (has_content), else its class's.  group selects the
 * group stores.  "" when unknown. */
void sync_metrics_driver(const struct sync_env *env, bool group, bool has_content,
                         const char *content, const char *class_name, char *out, size_t cap);

/* upstream: isVolumeBeingCreatedFromSnapshot -- a Pending claim in ns
 * restores from the VolumeSnapshot vs_name. */
bool sync_vs_restoring(const struct sync_env *env, const char *ns, const char *vs_name);

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
