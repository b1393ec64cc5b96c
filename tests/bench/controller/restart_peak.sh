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
started=
if [ -z "${CLUSTER_DIR:-}" ] || [ -z "${KUBECONFIG:-}" ]; then
	eval "$("$top/tests/cluster/up" restart-peak)" || exit 1
	started=$CLUSTER_DIR
	"$top/tests/cluster/csi-up" "$CLUSTER_DIR" >&2 || { "$top/tests/cluster/down" "$CLUSTER_DIR"; exit 1; }
	python3 "$here/apiload.py" cached bench-cache "$N_CACHED" 0 || exit 1
fi
WORK=$(mktemp -d /tmp/restart-peak-XXXX)
PORT=$((30000 + $$ % 10000))
cpid=
. "$here/lib.sh" # stop_controller, kib, settle, metric
trap 'stop_controller; [ -n "$started" ] && "$top/tests/cluster/down" "$started" >/dev/null 2>&1; echo "logs: $WORK" >&2' EXIT

echo "restart-peak: load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for r in $(seq 1 "$ROUNDS"); do
	for bin in "$@"; do
		rm -rf "$WORK/state"
		"$bin" --kubeconfig="$KUBECONFIG" --state-dir="$WORK/state" --http-endpoint=127.0.0.1:$PORT \
			--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10 --leader-election=false \
			>"$WORK/run-$r-$(basename "$bin").log" 2>&1 &
		cpid=$!
		for _ in $(seq 1 600); do
			curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
			kill -0 "$cpid" 2>/dev/null || { echo "$bin died" >&2; exit 1; }
			sleep 0.1
		done
		settle "$cpid"
		rss=$(kib "$cpid" VmRSS) hwm=$(kib "$cpid" VmHWM)
		echo "restart-peak: round $r $bin: VmRSS $rss KiB, VmHWM $hwm KiB," \
			"peak/steady $(awk -v a="$hwm" -v b="$rss" 'BEGIN {printf "%.2f", a / b}')" \
			"(cached VS $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshot"}')," \
			"VSC $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshotContent"}'))"
		stop_controller
	done
done
echo "restart-peak: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
