# tests/bench/controller/lib.sh -- shell helpers shared by the controller
# benchmarks (sourced).  The caller sets cpid (the controller's pid) and PORT
# (its --http-endpoint port).  tests/lib/bench.sh comes with it (ticks, kib,
# settle).
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/bench.sh" # bench_stop_pid
stop_controller() { # TERM, then KILL after 10 s; clears cpid
	bench_stop_pid "$cpid"
	cpid=
}
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# use_cluster NAME: the cluster in CLUSTER_DIR/KUBECONFIG when both are set,
# else a new one (tests/cluster/up NAME + csi-up) whose directory goes in
# $started for the caller's trap to stop.  Returns 1 if it cannot start.
use_cluster() {
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
	started=
	if [ -z "${CLUSTER_DIR:-}" ] || [ -z "${KUBECONFIG:-}" ]; then
		eval "$("$top/tests/cluster/up" "$1")" || return 1
		started=$CLUSTER_DIR
		"$top/tests/cluster/csi-up" "$CLUSTER_DIR" >&2 || { "$top/tests/cluster/down" "$CLUSTER_DIR"; return 1; }
	fi
}
# start_controller BIN STATE_DIR LOG: BIN at the benchmarks' settings
# (--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10, no leader
# election, metrics on $PORT), waited for until /readyz answers and it is
# quiet; sets cpid.  Returns 1 if it dies first.
start_controller() {
	rm -rf "$2"
	"$1" --kubeconfig="$KUBECONFIG" --state-dir="$2" --http-endpoint=127.0.0.1:$PORT \
		--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10 --leader-election=false >"$3" 2>&1 &
	cpid=$!
	for _ in $(seq 1 600); do
		curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
		kill -0 "$cpid" 2>/dev/null || { echo "$1 died (log: $3)" >&2; return 1; }
		sleep 0.1
	done
	settle "$cpid"
}
# fast_snapshotter LOG: the cluster's csi-snapshotter ($CLUSTER_DIR/pids)
# restarted at the benchmarks' settings (--kube-api-qps=1000
# --kube-api-burst=1000 --worker-threads=50), so that it is not what bounds
# the controller's rate; its output in LOG.
fast_snapshotter() {
	local old
	old=$(awk '$1 == "csi-snapshotter" {print $2}' "$CLUSTER_DIR/pids" | tail -1)
	[ -n "$old" ] && kill "$old" 2>/dev/null
	sleep 1
	"$TOOLS_BIN/csi-snapshotter" --csi-address="$CLUSTER_DIR/csi.sock" --kubeconfig="$KUBECONFIG" \
		--leader-election=false --kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=50 --timeout=30s \
		>"$1" 2>&1 &
	echo "csi-snapshotter $!" >>"$CLUSTER_DIR/pids"
}
