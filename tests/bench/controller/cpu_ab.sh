#!/usr/bin/env bash
# tests/bench/controller/cpu_ab.sh -- controller CPU per snapshot, created
# to ready and deleted, for several controller binaries on one cluster in
# one run, alternating the binaries round by round (a change measured
# against its parent on the same machine at the same time).
#   cpu_ab.sh BIN [BIN...]
# Uses the cluster in CLUSTER_DIR/KUBECONFIG when set (csi-up already run),
# else starts one (tests/cluster/up + csi-up).  The csi-snapshotter is
# restarted at --kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=50,
# as in make bench-compare.  Each start: fresh --state-dir,
# --kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10
# --leader-election=false; then N (200) dynamic VolumeSnapshots of one PVC
# are created at once (apiload.py ready) and deleted (apiload.py delete).
# Prints one line per start: CPU seconds of each phase (utime + stime from
# /proc, from quiet to quiet), ms per snapshot, the time to all ready, and
# the CPU the API server and etcd used during the create phase (the
# bottleneck on a small machine: a cheaper client for them is throughput),
# and the API server's requests per snapshot by verb, resource and code
# in each phase, from all clients (reqdelta.py).
# ROUNDS (3) rounds.  Asserts nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BIN [BIN...]" >&2; exit 2; }
ROUNDS=${ROUNDS:-3}
N=${N:-200}
WORK=$(mktemp -d /tmp/cpu-ab-XXXX)
PORT=$((30000 + $$ % 10000))
cpid=
. "$here/lib.sh" # use_cluster, fast_snapshotter, start_controller, stop_controller, kib, settle, ticks, bench_source_pvc
started=
trap 'stop_controller; [ -n "$started" ] && "$top/tests/cluster/down" "$started" >/dev/null 2>&1; echo "logs: $WORK" >&2' EXIT
use_cluster cpu-ab || exit 1
. "$CLUSTER_DIR/env"
hz=$(getconf CLK_TCK)
pid_of() { awk -v n="$1" '$1 == n {print $2}' "$CLUSTER_DIR/pids" | tail -1; }
apid=$(pid_of kube-apiserver) epid=$(pid_of etcd)

fast_snapshotter "$WORK/csi-snapshotter.log"
K=$TOOLS_BIN/kubectl
bench_source_pvc cpu-ab >&2 || exit 1

echo "cpu-ab: N=$N, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for r in $(seq 1 "$ROUNDS"); do
	for bin in "$@"; do
		start_controller "$bin" "$WORK/state" "$WORK/run-$r-$(basename "$(dirname "$(dirname "$bin")")").log" || exit 1
		"$K" get --raw /metrics >"$WORK/m0" 2>/dev/null
		t0=$(ticks "$cpid") s0=$(date +%s.%N) a0=$(ticks "$apid") e0=$(ticks "$epid")
		python3 "$here/apiload.py" ready cpu-ab "$N" src >"$WORK/ready-$r.out" 2>&1 ||
			{ echo "apiload ready failed: $(tail -3 "$WORK/ready-$r.out")" >&2; exit 1; }
		s1=$(date +%s.%N)
		settle "$cpid"
		t1=$(ticks "$cpid") a1=$(ticks "$apid") e1=$(ticks "$epid")
		"$K" get --raw /metrics >"$WORK/m1" 2>/dev/null
		python3 "$here/apiload.py" delete cpu-ab >"$WORK/delete-$r.out" 2>&1 ||
			{ echo "apiload delete failed: $(tail -3 "$WORK/delete-$r.out")" >&2; exit 1; }
		settle "$cpid"
		t2=$(ticks "$cpid")
		"$K" get --raw /metrics >"$WORK/m2" 2>/dev/null
		awk -v r="$r" -v b="$bin" -v hz="$hz" -v n="$N" -v c="$((t1 - t0))" -v d="$((t2 - t1))" \
			-v s="$(awk -v a="$s0" -v b="$s1" 'BEGIN {print b - a}')" -v rss="$(kib "$cpid" VmRSS)" \
			-v a="$((a1 - a0))" -v e="$((e1 - e0))" \
			'BEGIN {printf "cpu-ab: round %d %s: create %.2f s CPU (%.2f ms/snapshot), delete %.2f s (%.2f ms), all ready after %.1f s, VmRSS %d KiB; create: kube-apiserver %.2f s, etcd %.2f s\n",
				r, b, c / hz, 1000 * c / hz / n, d / hz, 1000 * d / hz / n, s, rss, a / hz, e / hz}'
		echo "  requests per snapshot, create: $(python3 "$here/reqdelta.py" "$WORK/m0" "$WORK/m1" "$N")"
		echo "  requests per snapshot, delete: $(python3 "$here/reqdelta.py" "$WORK/m1" "$WORK/m2" "$N")"
		stop_controller
	done
done
echo "cpu-ab: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
