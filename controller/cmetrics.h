/* controller/cmetrics.h -- upstream's operation metrics (§7) and the
 * Prometheus text exposition.
 *
 * Families, exactly as upstream registers them:
 *   process_start_time_seconds                       gauge
 *   snapshot_controller_operation_total_seconds      histogram
 *       labels driver_name, operation_name, operation_status, snapshot_type
 *       buckets 0.1 .. 600
 *   snapshot_controller_operations_in_flight         gauge
 * plus our own (cmetrics_render's extra callback adds queue depth and
 * retries).
 *
 * Semantics: an operation is keyed by (name, object uid).  cmetrics_start()
 * keeps the FIRST start time; cmetrics_record() observes the elapsed time
 * once and drops the operation; recording DeleteSnapshot also records a
 * "cancel" sample for pending CreateSnapshot / CreateSnapshotAndReady of the
 * same uid.  The in-flight gauge is the number of pending operations.
 *
 * Thread-safe.  Times come from the clock given to cmetrics_new().
 */
#ifndef SC_CMETRICS_H
#define SC_CMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/compiler.h"

#define OP_CREATE_SNAPSHOT           "CreateSnapshot"
#define OP_CREATE_SNAPSHOT_AND_READY "CreateSnapshotAndReady"
#define OP_DELETE_SNAPSHOT           "DeleteSnapshot"
#define SNAP_TYPE_DYNAMIC            "dynamic"
#define SNAP_TYPE_PREPROVISIONED     "pre-provisioned"
#define OP_STATUS_SUCCESS            "success"
#define OP_STATUS_CANCEL             "cancel"

#define CMETRICS_MAX_OPS    200000 /* pending operations kept (oldest beyond are refused) */
#define CMETRICS_MAX_SERIES 4096   /* distinct label sets */

struct cmetrics;

struct cmetrics *cmetrics_new(struct clock clock);
void cmetrics_free(struct cmetrics *m);

/* upstream: OperationStart.  driver may be NULL or "" (then "unknown"
 * is cached, as upstream's start-time driver). */
void cmetrics_start(struct cmetrics *m, const char *op, const char *uid, const char *driver,
                    const char *snapshot_type);
/* upstream: RecordMetrics.  status is OP_STATUS_*; driver NULL/""/"unknown"
 * means the cached one. */
void cmetrics_record(struct cmetrics *m, const char *op, const char *uid, const char *status,
                     const char *driver);
/* upstream: DropOperation. */
void cmetrics_drop(struct cmetrics *m, const char *op, const char *uid);
size_t cmetrics_in_flight(struct cmetrics *m);

/* Append the exposition text.  extra (may be NULL) appends more families. */
SC_MUST_CHECK int cmetrics_render(struct cmetrics *m, struct buf *out,
                                  int (*extra)(void *ctx, struct buf *out), void *ctx);

/* Go's strconv.FormatFloat(v, 'g', -1, 64), as Prometheus prints values. */
void cmetrics_fmt_float(double v, char *out, size_t cap);

#endif
