/* controller/pvc_pin.h -- no PVC pinned for nothing (upstream's open ES#1305).
 *
 * The pvc-as-source-protection finalizer keeps a PVC while a snapshot may
 * still read it.  Upstream keeps it while ANY snapshot naming the PVC is not
 * ready, so one snapshot that never got a content and is in error (its class
 * is missing, say) keeps the PVC Terminating forever.  Here a snapshot holds
 * the PVC only while it can still read it:
 *   - it is not ready, and
 *   - it is bound to a content (status.boundVolumeSnapshotContentName: the
 *     snapshot is being cut), or it carries the controller's snapshot
 *     finalizers and has no error (it may still be cut), and
 *   - it is not a deleted snapshot whose controller finalizers are gone (the
 *     deletion pass is done with it; only the watch's DELETED is to come).
 * A snapshot in error without a content, and one the controller never took
 * on (no finalizer: its class is missing, say), do not hold the PVC.  That is
 * the semantics of upstream's proposed fixes ES#1306 / ES#1309 (count only
 * not-ready snapshots that hold finalizers), plus: an error without a content
 * means nothing is being cut.
 *
 * While a PVC's deletion waits, pvc_pin_event() records one Event on the PVC
 * (Normal, WaitingForSnapshots) naming the snapshots it waits for.  The
 * controller registers PVC_PIN_REASON as a replace-mode reason of its event
 * recorder (kube/krecorder.h), so the PVC keeps ONE such Event: a new set of
 * names PATCHes its message (count+1), it never adds a second Event.
 *
 * The claim's own pass (pvc_pin_sync_key, the controller's claim queue) makes
 * the check from the PVC's side: a PVC being deleted that carries the
 * finalizer gets the Event while held, or loses the finalizer once nothing
 * holds it.  It runs when such a PVC is listed or changes, and when one of its
 * snapshots leaves the cache (snapshot_deleted).  Snapshot passes check
 * from their side as upstream does, but each skips only itself and sees the
 * others as cached: two snapshots deleted together each still see the other,
 * and both go without removing the finalizer (upstream's ES#764: the PVC
 * stays Terminating).  The claim's pass after the last one's DELETED removes
 * it, and after any snapshot's DELETED the Event names only those left.
 */
#ifndef SC_PVC_PIN_H
#define SC_PVC_PIN_H

#include <stdbool.h>
#include <stddef.h>

#include "controller/cstore.h"
#include "controller/cview.h"
#include "controller/sync.h"

#define PVC_PIN_REASON    "WaitingForSnapshots"
#define PVC_PIN_MAX_NAMES 10 /* snapshot names listed in the Event; "and N more" beyond */

/* Does snapshot s (which names the PVC) still hold it? */
bool pvc_pin_holds(const struct cvs *s);
/* Does s (any snapshot) take its source from claim ns/pvc and hold it? */
bool pvc_pin_holds_claim(const struct cvs *s, const char *ns, const char *pvc);

/* The snapshots of snapshots that hold PVC ns/pvc (skip: a snapshot name not
 * to count, or NULL), as ", "-separated names in out (capped by cap and
 * PVC_PIN_MAX_NAMES; out may be NULL when cap is 0).  Returns how many hold it. */
size_t pvc_pin_waiters(struct cstore *snapshots, const char *ns, const char *pvc, const char *skip,
                       char *out, size_t cap);

/* Does a snapshot other than skip (a name, or NULL) hold PVC ns/pvc?  With
 * the index below on the store's informer, one lookup; else (a store of its
 * own, or an index that lost entries for want of memory) a walk over the
 * namespace's snapshots, which needs no memory. */
bool pvc_pin_others(struct cstore *snapshots, const char *ns, const char *pvc, const char *skip);

/* Index the snapshots that hold a PVC, by "ns/pvc", on inf, the informer the
 * snapshots' store (of records or views; borrowed, must outlive inf) is
 * attached to.  Before kinformer_start().  0 or SC_E*. */
#define PVC_PIN_INDEX "pvc-pin"
struct kinformer;
int pvc_pin_add_index(struct kinformer *inf, struct cstore *snapshots, struct sc_err *err);

/* If pvc is being deleted, carries the finalizer and is still held, record
 * the Event on it.  Returns how many snapshots hold it (0: no Event). */
size_t pvc_pin_event(const struct sync_env *env, const struct cpvc *pvc, const char *skip);

/* pvc is being deleted and carries the finalizer (NULL: false). */
bool pvc_pin_wanted(const struct cpvc *pvc);

/* The claim queue's pass for key "ns/name": if the PVC is wanted, the Event
 * while a snapshot holds it, else the finalizer's removal (one guarded
 * patch; a conflict returns SC_ECONFLICT and the queue retries). */
int pvc_pin_sync_key(const struct sync_env *env, const char *key, struct sc_err *err);

#endif
