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
 *     finalizers and has no error (it may still be cut).
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
 * names PATCHes its message (count+1), it never adds a second Event.  pvc_pin_enqueue() is for the
 * PVC watch: when a PVC that carries the finalizer is being deleted, every snapshot of its
 * namespace that names it is synced again, so the finalizer is checked at once instead of at the
 * next resync.
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

/* The snapshots of snapshots that hold PVC ns/pvc (skip: a snapshot name not
 * to count, or NULL), as ", "-separated names in out (capped by cap and
 * PVC_PIN_MAX_NAMES).  Returns how many hold it. */
size_t pvc_pin_waiters(struct cstore *snapshots, const char *ns, const char *pvc, const char *skip,
                       char *out, size_t cap);

/* If pvc is being deleted and still held, record the Event on it. */
void pvc_pin_event(const struct sync_env *env, const struct cpvc *pvc, const char *skip);

/* If pvc is being deleted and carries the finalizer, call enqueue(ctx, key)
 * for every snapshot ("ns/name") of its namespace that names it. */
void pvc_pin_enqueue(struct cstore *snapshots, const struct cpvc *pvc,
                     void (*enqueue)(void *ctx, const char *key), void *ctx);

#endif
