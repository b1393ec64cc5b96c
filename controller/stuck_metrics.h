/* controller/stuck_metrics.h -- stuck states as gauges (issue 16).
 *
 * Computed at scrape time from the controller's caches (no bookkeeping on
 * the sync path), for VolumeSnapshot, VolumeSnapshotContent,
 * VolumeGroupSnapshot and VolumeGroupSnapshotContent:
 *
 *   snapshot_controller_objects{kind, state}                      gauge
 *   snapshot_controller_oldest_object_age_seconds{kind, state}    gauge
 *       state: pending | ready | error | deleting
 *       deleting: metadata.deletionTimestamp is set;
 *       error:    not deleting, status.error set and not readyToUse;
 *       ready:    not deleting, readyToUse true;
 *       pending:  everything else.
 *       The age is from metadata.creationTimestamp, or for "deleting" from
 *       metadata.deletionTimestamp; 0 when no object is in the state.
 *   snapshot_controller_stuck_deletions{kind, finalizer}          gauge
 *       objects whose deletion has waited at least threshold_ms (the
 *       controller's --stuck-deletion-threshold, default 5m), by each
 *       finalizer they still carry (a known one by name, else "other");
 *       PersistentVolumeClaims are counted here too (the
 *       pvc-as-source-protection finalizer is the controller's).
 *
 * Every series is always present (fixed label sets), so alerts see 0, not
 * absence.  The caller renders this only while the caches are synced (on the
 * leader); a replica that does not lead exposes none of these families.
 */
#ifndef SC_STUCK_METRICS_H
#define SC_STUCK_METRICS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "controller/cstore.h"

#define STUCK_DELETION_THRESHOLD_MS 300000 /* default of --stuck-deletion-threshold */

struct stuck_src {
    struct cstore *snapshots, *contents, *pvcs; /* borrowed; may be NULL */
    struct cstore *groups, *group_contents;     /* NULL when groups are off */
    int64_t now_ms;                             /* wall clock */
    int64_t threshold_ms;                       /* stuck deletion threshold */
};

SC_MUST_CHECK int stuck_metrics_render(const struct stuck_src *s, struct buf *out);

#endif
