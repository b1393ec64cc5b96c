#!/usr/bin/env bash
# tests/bench/controller/syscalls.sh -- system calls per snapshot, by call,
# that one controller binary makes while N (200) dynamic VolumeSnapshots of
# one PVC are created to ready and then deleted (strace -c -f attached from
# quiet to quiet).
#   syscalls.sh BIN
# Uses the cluster in CLUSTER_DIR/KUBECONFIG when set (csi-up already run),
# else starts one (tests/cluster/up + csi-up).  The csi-snapshotter is
# restarted as in cpu_ab.sh.  strace slows the controller, so only the
# counts mean anything, not the times.  Asserts nothing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 BIN" >&2; exit 2; }
command -v strace >/dev/null || { echo "syscalls: strace is not installed" >&2; exit 1; }
N=${N:-200}
WORK=$(mktemp -d /tmp/syscalls-XXXX)
PORT=$((30000 + $$ % 10000))
cpid= spid=
. "$here/lib.sh" # use_cluster, fast_snapshotter, start_controller, stop_controller, settle, bench_source_pvc
started=
trap '[ -n "$spid" ] && kill -INT "$spid" 2>/dev/null; stop_controller; [ -n "$started" ] && "$top/tests/cluster/down" "$started" >/dev/null 2>&1; echo "logs: $WORK" >&2' EXIT
use_cluster syscalls || exit 1
. "$CLUSTER_DIR/env"
fast_snapshotter "$WORK/csi-snapshotter.log"
K=$TOOLS_BIN/kubectl
"$K" get ns syscalls >/dev/null 2>&1 || bench_source_pvc syscalls >&2 || exit 1
start_controller "$1" "$WORK/state" "$WORK/controller.log" || exit 1
# phase NAME CMD...: CMD's phase under strace, from quiet to quiet
phase() {
	local name=$1
	shift
	strace -f -c -qq -p "$cpid" -o "$WORK/$name.strace" &
	spid=$!
	sleep 1
	"$@" >"$WORK/$name.out" 2>&1 || { echo "syscalls: $name failed: $(tail -3 "$WORK/$name.out")" >&2; exit 1; }
	settle "$cpid"
	kill -INT "$spid"
	wait "$spid"
	spid=
	echo "syscalls: $name, per snapshot (N=$N):"
	awk -v n="$N" '$0 !~ /^[-%]/ && NF >= 5 && $4 ~ /^[0-9]+$/ {printf "  %-18s %8.2f\n", $NF, $4 / n}' \
		"$WORK/$name.strace" | sort -k2 -nr | head -12
}
echo "syscalls: $1, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
phase create python3 "$here/apiload.py" ready syscalls "$N" src
phase delete python3 "$here/apiload.py" delete syscalls
