/* controller/ctrl.h -- the running snapshot-controller: owns the API
 * clients, informers, stores, work queues, recorder, metrics, state cache,
 * leader election and the HTTP server, and wires them to the sync logic
 * (controller/sync.h).  main() builds one struct ctrl and nothing else is
 * process-wide.
 *
 * Lifecycle: ctrl_new() (clients, state, metrics) -> ctrl_wait_crds() ->
 * ctrl_start() (HTTP server, then leader election or the controller
 * directly) -> ctrl_stop() -> ctrl_free().  Informers and workers start
 * only on the leader.  Losing the lease exits the process with status 1,
 * as upstream does.
 */
#ifndef SC_CTRL_H
#define SC_CTRL_H

#include <stdbool.h>

#include "common/sc_err.h"
#include "controller/copts.h"

struct ctrl;

/* o is borrowed and must outlive the ctrl.  Errors: bad kubeconfig or
 * client setup (main exits 1). */
struct ctrl *ctrl_new(const struct copts *o, struct sc_err *err);
/* upstream's CRD presence check: LIST limit=1 of volumesnapshots,
 * volumesnapshotclasses and volumesnapshotcontents, retried with backoff
 * (100 ms x 1.5) until --retry-crd-interval-max; SC_ETIMEOUT if they never
 * appear. */
int ctrl_wait_crds(struct ctrl *c, struct sc_err *err);
/* Start the HTTP server (if --http-endpoint) and the controller (directly,
 * or once this replica leads).  Listen failure: SC_EIO (main exits 255). */
int ctrl_start(struct ctrl *c, struct sc_err *err);
/* Stop workers, informers, leader election (releasing the lease when
 * release is true).  ctrl_free() then flushes events (at most 5 s: the rest
 * is dropped, so a SIGTERM ends within the pod's grace period) and state. */
void ctrl_stop(struct ctrl *c, bool release);
void ctrl_free(struct ctrl *c);

#endif
