#!/usr/bin/env bash
# tests/bench/controller/controller_bench.sh -- figures for docs/controller.md,
# measured on a real control plane (tests/cluster/up + csi-up):
#   1. controller RSS with 0, 1,000 and 10,000 VolumeSnapshots (and as many
#      contents) cached: ready, steady-state objects made by apiload.py, so
#      the controller caches them and makes no writes;
#   2. time from creation to readyToUse for 1,000 dynamic snapshots of one
#      PVC created at once, controller at --kube-api-qps=1000
#      --kube-api-burst=1000 (the csi-snapshotter is restarted with the same
#      QPS so the sidecar's default 5 QPS is not what gets measured).
# Prints figures; asserts nothing about their size.
# Env: CONTROLLER (default bin/snapshot-controller), N_SMALL (1000),
# N_LARGE (10000), N_READY (1000), SKIP_CACHE=1 (only the creation-to-ready
# run), READY_FLAGS (extra controller flags for it, e.g. -v=3).
# The controller logs stay in the printed work directory.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
CONTROLLER=${CONTROLLER:-$top/bin/snapshot-controller}
N_SMALL=${N_SMALL:-1000}
N_LARGE=${N_LARGE:-10000}
N_READY=${N_READY:-1000}
eval "$("$top/tests/cluster/up" bench-ctrl)" || exit 1
"$top/tests/cluster/csi-up" "$CLUSTER_DIR" >&2 || { "$top/tests/cluster/down" "$CLUSTER_DIR"; exit 1; }
. "$CLUSTER_DIR/env" # CSI_SOCKET
K="$TOOLS_BIN/kubectl"
. "$top/tests/lib/bench.sh"
WORK=$(mktemp -d /tmp/bench-ctrl-XXXX)
PORT=$((30000 + $$ % 10000))
cpid=
. "$here/lib.sh" # stop_controller, metric
trap 'stop_controller; cp "$CLUSTER_DIR"/csi-*.log "$WORK"/ 2>/dev/null; "$top/tests/cluster/down" "$CLUSTER_DIR" >/dev/null 2>&1; echo "logs: $WORK" >&2' EXIT

start_controller() { # log-name [flags]
	local name=$1
	shift
	"$CONTROLLER" --kubeconfig="$KUBECONFIG" --state-dir="$WORK/state" \
		--http-endpoint=127.0.0.1:$PORT "$@" >"$WORK/$name.log" 2>&1 &
	cpid=$!
	for _ in $(seq 1 600); do
		curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && return 0
		sleep 0.1
	done
	echo "controller not ready" >&2
	return 1
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$cpid/status"; }
hwm_kib() { awk '/^VmHWM/ {print $2}' "/proc/$cpid/status"; }

measure() { # label
	start_controller "cache-$1" || exit 1
	sleep 5 # let the post-sync resync of every key settle
	local syncs writes
	syncs=$(metric 'snapshot_controller_syncs_total{queue="snapshot-controller-snapshot"}')
	echo "rss: $1 snapshots cached: VmRSS $(rss_kib) KiB, VmHWM $(hwm_kib) KiB" \
		"(cached VS $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshot"}')," \
		"VSC $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshotContent"}'), snapshot syncs $syncs)"
	stop_controller
}

if [ "${SKIP_CACHE:-0}" != 1 ]; then
	"$K" create ns bench-cache >/dev/null
	measure 0
	python3 "$here/apiload.py" cached bench-cache "$N_SMALL" 0 || exit 1
	measure "$N_SMALL"
	python3 "$here/apiload.py" cached bench-cache "$((N_LARGE - N_SMALL))" "$N_SMALL" || exit 1
	measure "$N_LARGE"
fi

# ---- creation to ready ------------------------------------------------------
# the sidecar at the same QPS as the controller
spid=$(awk '$1 == "csi-snapshotter" {print $2}' "$CLUSTER_DIR/pids" | tail -1)
kill "$spid" 2>/dev/null
sleep 1
"$TOOLS_BIN/csi-snapshotter" --csi-address="$CSI_SOCKET" --kubeconfig="$KUBECONFIG" \
	--leader-election=false --kube-api-qps=1000 --kube-api-burst=1000 --timeout=30s \
	>"$WORK/csi-snapshotter.log" 2>&1 &
echo "csi-snapshotter $!" >>"$CLUSTER_DIR/pids"
bench_source_pvc bench-ready
start_controller ready --kube-api-qps=1000 --kube-api-burst=1000 ${READY_FLAGS:-} || exit 1
# let the initial sync of what is already cached drain first
for _ in $(seq 1 600); do
	[ "$(metric 'snapshot_controller_queue_depth{queue="snapshot-controller-snapshot"}')" = 0 ] && break
	sleep 0.5
done
echo "ready: controller at --kube-api-qps=1000, $(metric 'snapshot_controller_cached_objects{kind="VolumeSnapshot"}') other snapshots cached"
python3 "$here/apiload.py" ready bench-ready "$N_READY" src
echo "ready: controller VmRSS $(rss_kib) KiB, VmHWM $(hwm_kib) KiB after the run;" \
	"retries $(metric 'snapshot_controller_queue_retries_total{queue="snapshot-controller-snapshot"}')," \
	"snapshot syncs $(metric 'snapshot_controller_syncs_total{queue="snapshot-controller-snapshot"}')"
