#!/usr/bin/env bash
# tests/bench/controller/restart_peak.sh -- steady RSS and startup peak
# (VmHWM) of controller binaries restarted against the same cached objects,
# in one run, alternating the binaries round by round.
#   restart_peak.sh BIN [BIN...]
# Uses the cluster in CLUSTER_DIR/KUBECONFIG when set (objects already
# there), else starts one (tests/cluster/up + csi-up) and creates N_CACHED
# (2000) ready VolumeSnapshots + contents with apiload.py cached (no
# controller running).  Each start: fresh --state-dir, --kube-api-qps=1000
# --kube-api-burst=1000 --worker-threads=10 --leader-election=false, measured
# once quiet (under 3 clock ticks in each of 3 consecutive seconds).
# Prints one line per start; ROUNDS (3) rounds.  Asserts nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BIN [BIN...]" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
N_CACHED=${N_CACHED:-2000}
WORK=$(mktemp -d /tmp/restart-peak-XXXX)
PORT=$((30000 + $$ % 10000))
cpid=
. "$here/lib.sh" # use_cluster, start_controller, stop_controller, kib, metric
started=
trap 'stop_controller; [ -n "$started" ] && "$top/tests/cluster/down" "$started" >/dev/null 2>&1; echo "logs: $WORK" >&2' EXIT
use_cluster restart-peak || exit 1
[ -n "$started" ] && { python3 "$here/apiload.py" cached bench-cache "$N_CACHED" 0 || exit 1; }

echo "restart-peak: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for r in $(seq 1 "$ROUNDS"); do
	for bin in "$@"; do
		start_controller "$bin" "$WORK/state" "$WORK/run-$r-$(basename "$bin").log" || exit 1
		rss=$(kib "$cpid" VmRSS) hwm=$(kib "$cpid" VmHWM)
		echo "restart-peak: round $r $bin: VmRSS $rss KiB, VmHWM $hwm KiB," \
			"peak/steady $(awk -v a="$hwm" -v b="$rss" 'BEGIN {printf "%.2f", a / b}')" \
			"(cached VS $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshot"}')," \
			"VSC $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshotContent"}'))"
		stop_controller
	done
done
echo "restart-peak: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
