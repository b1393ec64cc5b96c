/* controller/pvmemo.h -- the PV a snapshot's last pass read, for its next.
 *
 * A dynamic snapshot without a class reads its source PV twice, in two
 * passes a moment apart: once to pick the default class for the PV's CSI
 * driver (upstream: SetDefaultSnapshotClass), once to build the content
 * (createSnapshotContent); upstream GETs the PV live both times.  The first
 * pass leaves the view here; the next pass of the same snapshot (by uid), for
 * the same PV name, within PVMEMO_TTL_MS, takes it instead of a second GET.
 * A view is taken at most once, so every other read stays a live GET, and
 * what is kept (driver, handle, volume mode: immutable on a PV; its claimRef,
 * checked again against the PVC as every time) is at most PVMEMO_TTL_MS old
 * (usually milliseconds: the next pass follows the first one's write).
 *
 * At most PVMEMO_MAX snapshots are remembered (a put past it is dropped);
 * entries older than the TTL are swept every PVMEMO_SWEEP puts.  Snapshots
 * of one PV share one view while its resourceVersion is the same.
 * Ownership: pvmemo_put() takes its own reference; pvmemo_take() hands one to
 * the caller.  Threading: any thread.
 */
#ifndef SC_PVMEMO_H
#define SC_PVMEMO_H

#include <stdint.h>

#include "common/clock.h"
#include "controller/cview.h"

#define PVMEMO_MAX    4096
#define PVMEMO_TTL_MS 30000
#define PVMEMO_SWEEP  256

struct pvmemo;

struct pvmemo *pvmemo_new(struct clock clock); /* NULL when out of memory */
void pvmemo_free(struct pvmemo *pm);

/* Keep pv as read for the snapshot with uid vs_uid. */
void pvmemo_put(struct pvmemo *pm, const char *vs_uid, struct cpv *pv);
/* The view kept for vs_uid and a PV named pv_name, removed (a new reference
 * for the caller), or NULL when none, another PV, or older than the TTL. */
struct cpv *pvmemo_take(struct pvmemo *pm, const char *vs_uid, const char *pv_name);

#endif
