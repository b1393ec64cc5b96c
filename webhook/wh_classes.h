/* webhook/wh_classes.h -- the default-class admission rule.
 *
 * Exactly the semantics of upstream's removed validation webhook (v8.1):
 * only CREATE and UPDATE are checked; a class whose is-default-class
 * annotation is not exactly "true" passes; on UPDATE an object that was
 * already default for the same driver passes (the ratchet); otherwise every
 * cached class of the same kind is visited and the first default one with
 * the same driver denies the request with
 *   "default snapshot class: <name> already exists for driver: <driver>"
 * ("default group snapshot class: ..." for VolumeGroupSnapshotClass).
 * A lookup error is a denial carrying the error.
 */
#ifndef SC_WH_CLASSES_H
#define SC_WH_CLASSES_H

#include "webhook/review.h"
#include "webhook/whlookup.h"

#define WH_ANN_DEFAULT_CLASS       "snapshot.storage.kubernetes.io/is-default-class"
#define WH_ANN_DEFAULT_GROUP_CLASS "groupsnapshot.storage.kubernetes.io/is-default-class"

/* Fill d for the request r (endpoint /validate-class).  Never fails: every
 * problem becomes a denial with a message. */
void wh_classes_review(const struct review_admission *r, const struct wh_lookup *lk,
                       struct wh_decision *d);

/* Read the driver and the default flag of a class object.  Returns SC_OK or
 * SC_EINVALID (wrong types) with a message in err.  *driver borrows from obj
 * ("" when absent). */
int wh_classes_parse(const json_t *obj, enum wh_class_kind kind, const char **driver,
                     bool *is_default, struct sc_err *err);

#endif
