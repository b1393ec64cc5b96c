/* webhook/wh_dataref.h -- the ReferenceGrant rule for PVC data sources.
 *
 * On PersistentVolumeClaim CREATE, a spec.dataSourceRef whose namespace is
 * set and differs from the PVC's namespace is allowed only if one
 * ReferenceGrant in the source namespace has
 *   - a from[] entry {group: "", kind: PersistentVolumeClaim, namespace: <pvc ns>}, and
 *   - a to[] entry with group == dataSourceRef.apiGroup ("" when unset),
 *     kind == dataSourceRef.kind and name unset, empty or == dataSourceRef.name,
 * which is external-provisioner's IsGranted rule (exact, case-sensitive).
 * Any other operation, and same-namespace or namespace-less references, pass.
 */
#ifndef SC_WH_DATAREF_H
#define SC_WH_DATAREF_H

#include <stdbool.h>

#include "webhook/review.h"
#include "webhook/whlookup.h"

/* The data source a PVC points at across namespaces. */
struct wh_dataref {
    const char *pvc_ns;
    const char *pvc_name;
    const char *group; /* "" when apiGroup is unset */
    const char *kind;
    const char *name;
    const char *ns; /* the source namespace */
};

/* True when grant g alone permits ref (the IsGranted test for one grant). */
bool wh_dataref_grant_allows(const struct wh_grant *g, const struct wh_dataref *ref);

/* Build a compact, self-contained copy of a ReferenceGrant object (one
 * allocation: free() it).  Entries with missing fields get "" (an absent
 * to[].name stays NULL).  SC_EINVALID when the shape is wrong. */
int wh_dataref_grant_parse(const json_t *obj, struct wh_grant **out, struct sc_err *err);

/* Fill d for the request r (endpoint /validate-pvc).  Never fails. */
void wh_dataref_review(const struct review_admission *r, const struct wh_lookup *lk,
                       struct wh_decision *d);

#endif
