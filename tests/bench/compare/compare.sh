#!/usr/bin/env bash
# tests/bench/compare/compare.sh -- `make bench-compare`: our controller and
# webhook against upstream's, side by side, on one cluster in one run.
#
# Upstream binaries come from tests/tools/build.sh upstream (.cache/bin/
# upstream-*).  Both controllers run at --kube-api-qps=1000
# --kube-api-burst=1000, 10 workers, no leader election, one at a time, with
# the same csi-snapshotter (restarted at qps 1000, 50 workers) and driver.
# Every phase runs both controllers; the order alternates from phase to phase.
#
# Phases:
#   webhook  wrk against ours and upstream's validation webhook (same
#            AdmissionReview) and conversion webhook (same ConversionReview)
#   idle     RSS and its split (smaps_rollup) on an empty cluster
#   ready    for each n in CURVE: n dynamic snapshots of one PVC created at once,
#            then all deleted; time to all ready / all gone, controller CPU
#            (/proc), peak RSS, API server write deltas (apiserver_request_total);
#            where the machine's CPU went while the load ran (/proc/stat and
#            the API server, etcd, the sidecar and the controller) and a
#            speed probe before and after each controller's run
#   cached   RSS after a restart with 0..N_CACHED ready VS + VSC existing
#   perf     (PERF=1) ours once more under `perf record` for create and delete
# Results go to $WORK/results (one "key value" line each); compare.py turns
# them into the ratio table (stdout) and docs/performance.md with charts.
#
# Env: N (2000) the main size; CURVE ("500 1000 $N"); N_CACHED (2000);
# CACHED_STEPS ("0 1000 $N_CACHED"); FIRST (upstream|ours, default upstream);
# PHASES ("webhook idle ready cached perf"); PERF (1); WRK_SECS (10);
# DOC (docs/performance.md; empty = no doc); OURS_ENV (environment for our
# controller, e.g. MALLOC_ARENA_MAX=1; empty = none); BETWEEN
# (restart|clean|keep, default restart: before each controller's ready run,
# the Events earlier runs left are deleted and etcd is compacted and
# defragmented, then the API server (SIGTERM, SIGKILL after 10 s) and the
# csi-snapshotter are started again with their own command lines, so that a
# run pays neither for its predecessor's objects nor for the heap they grew;
# clean: without the restarts; keep: nothing).  Asserts nothing about speed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
cd "$top"
N=${N:-2000}
CURVE=${CURVE:-"500 1000 $N"}
N_CACHED=${N_CACHED:-2000}
CACHED_STEPS=${CACHED_STEPS:-"0 1000 $N_CACHED"}
FIRST=${FIRST:-upstream}
PHASES=${PHASES:-"webhook idle ready cached perf"}
PERF=${PERF:-1}
BETWEEN=${BETWEEN:-restart}
case $BETWEEN in clean | restart | keep) ;; *) echo "BETWEEN: clean, restart or keep, not $BETWEEN" >&2; exit 2 ;; esac
WRK_SECS=${WRK_SECS:-10}
DOC=${DOC-docs/performance.md}
UB=${UPSTREAM_BIN:-$top/.cache/bin}
OURS_CTRL=${OURS_CTRL:-$top/bin/snapshot-controller}
# The environment our controller image sets (scripts/image-build.sh); upstream's image sets none.
OURS_ENV=${OURS_ENV-}
OURS_WH=${OURS_WH:-$top/bin/snapshot-webhook}
for b in "$UB/upstream-snapshot-controller" "$UB/upstream-snapshot-validation-webhook" "$OURS_CTRL" "$OURS_WH"; do
	[ -x "$b" ] || { echo "missing $b (make all; tests/tools/build.sh upstream)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/bench-compare-XXXX)
R=$WORK/results
: >"$R"
res() { echo "$*" >>"$R"; }
res n "$N"
res curve "$CURVE"
res cached_steps "$CACHED_STEPS"
res between "$BETWEEN"
res load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
res nproc "$(nproc)"

eval "$(tests/cluster/up bench-cmp)" || exit 1
cpid= whpid= spid=
cleanup() {
	stop_pid "$cpid"
	stop_pid "$whpid"
	stop_pid "$spid"
	cp "$CLUSTER_DIR"/csi-*.log "$WORK"/ 2>/dev/null
	tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
	echo "bench-compare: logs and raw results in $WORK" >&2
}
trap cleanup EXIT
tests/cluster/csi-up "$CLUSTER_DIR" >&2 || exit 1
. "$CLUSTER_DIR/env" # CSI_SOCKET
K="$TOOLS_BIN/kubectl"
. "$top/tests/lib/bench.sh"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

stop_pid() { bench_stop_pid "$@"; }
pid_of() { awk -v n="$1" '$1 == n {print $2}' "$CLUSTER_DIR/pids" | tail -1; } # the cluster's process NAME
# CPU seconds (user + system) a process has used so far
cpu_s() { awk '{printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }

# ---- the same csi-snapshotter for both, at high QPS -------------------------
start_sidecar() {
	"$TOOLS_BIN/csi-snapshotter" --csi-address="$CSI_SOCKET" --kubeconfig="$KUBECONFIG" \
		--leader-election=false --kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=50 --timeout=30s \
		>>"$WORK/csi-snapshotter.log" 2>&1 &
	spid=$!
	echo "csi-snapshotter $spid" >>"$CLUSTER_DIR/pids"
}
kill "$(pid_of csi-snapshotter)" 2>/dev/null
sleep 1
start_sidecar

order() { # phase index -> the two sides in this phase's order
	if [ $(($1 % 2)) -eq 0 ]; then
		[ "$FIRST" = ours ] && echo "ours upstream" || echo "upstream ours"
	else
		[ "$FIRST" = ours ] && echo "upstream ours" || echo "ours upstream"
	fi
}
start_ctrl() { # side log-name
	local side=$1 name=$2
	rm -rf "$WORK/state"
	if [ "$side" = ours ]; then
		# shellcheck disable=SC2086
		env $OURS_ENV "$OURS_CTRL" --kubeconfig="$KUBECONFIG" --state-dir="$WORK/state" --http-endpoint=127.0.0.1:$PORT \
			--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10 --leader-election=false \
			>"$WORK/$name.log" 2>&1 &
	else
		"$UB/upstream-snapshot-controller" --kubeconfig="$KUBECONFIG" --http-endpoint=127.0.0.1:$PORT \
			--kube-api-qps=1000 --kube-api-burst=1000 --worker-threads=10 --leader-election=false \
			>"$WORK/$name.log" 2>&1 &
	fi
	cpid=$!
	for _ in $(seq 1 600); do
		curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null && break
		kill -0 "$cpid" 2>/dev/null || { echo "$side controller died: $(tail -3 "$WORK/$name.log")" >&2; exit 1; }
		sleep 0.1
	done
	settle "$cpid"
}
stop_ctrl() { stop_pid "$cpid"; cpid=; }
# What earlier runs left behind, recorded before each ready run under key $1:
# Events in the namespace, etcd's database size and the API server's RSS.
leftovers() {
	local ev st
	ev=$("$K" get --raw "/api/v1/namespaces/bench-ready/events?limit=1" |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]) + d["metadata"].get("remainingItemCount", 0))')
	st=$(curl -sf "$ETCD_URL/v3/maintenance/status" -d '{}')
	res "${1}_events_before $ev"
	res "${1}_etcd_db_before $(python3 -c 'import json,sys; print(json.load(sys.stdin).get("dbSize", 0))' <<<"$st")"
	res "${1}_apiserver_rss_before $(kib "$(pid_of kube-apiserver)" VmRSS)"
}
# BETWEEN=clean: delete the Events earlier runs left in the namespace (the
# API server keeps them an hour), then compact etcd to its current revision
# and defragment it; waits until the API server is quiet again (under a
# tenth of a CPU for 3 s: idle, it answers probes and lease renewals).
clean_between() {
	local rev
	# one DELETE of the collection: `kubectl delete events --all` sends one
	# per Event, minutes for the 3,400 an upstream run of 2,000 leaves
	"$K" delete --raw /api/v1/namespaces/bench-ready/events >/dev/null || return 1
	rev=$(curl -sf "$ETCD_URL/v3/kv/range" -d '{"key":"AA=="}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])') || return 1
	curl -sf "$ETCD_URL/v3/kv/compaction" -d "{\"revision\": \"$rev\", \"physical\": true}" >/dev/null || return 1
	curl -sf "$ETCD_URL/v3/maintenance/defragment" -d '{}' >/dev/null || return 1
	settle "$(pid_of kube-apiserver)" 10
}
# BETWEEN=restart: after clean_between, the API server stops and starts again
# with the command line it has (its clients reconnect), and the sidecar is
# started afresh; waits for /readyz and a quiet API server.
restart_between() {
	local apid args=()
	clean_between || return 1
	apid=$(pid_of kube-apiserver)
	mapfile -d '' args <"/proc/$apid/cmdline" || return 1
	stop_pid "$spid"
	# SIGTERM, then SIGKILL after 10 s: with its clients' watches open it does
	# not finish shutting down in a minute.  Not this shell's child, so it is
	# not reaped here: wait until it is gone before its port is bound again.
	stop_pid "$apid"
	for _ in $(seq 1 50); do kill -0 "$apid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$apid" 2>/dev/null && return 1
	setsid "${args[@]}" >>"$CLUSTER_DIR/kube-apiserver.log" 2>&1 </dev/null &
	echo "kube-apiserver $!" >>"$CLUSTER_DIR/pids"
	disown "$!" # tests/cluster/down stops it (SIGKILL after 5 s), not this shell
	for _ in $(seq 1 300); do
		curl -fsS --cacert "$CLUSTER_DIR/pki/ca.crt" "$API_SERVER/readyz" >/dev/null 2>&1 && break
		sleep 0.3
	done
	curl -fsS --cacert "$CLUSTER_DIR/pki/ca.crt" "$API_SERVER/readyz" >/dev/null 2>&1 || return 1
	start_sidecar
	settle "$(pid_of kube-apiserver)" 10
}
api_metrics() { "$K" get --raw /metrics | grep '^apiserver_request_total{' >"$1"; }
api_cpu() { cpu_s "$(pid_of kube-apiserver)"; }
etcd_cpu() { cpu_s "$(pid_of etcd)"; }
# The sidecar's CPU seconds so far ($spid: start_sidecar's, restarted with the
# API server), or nothing when it is gone.
sidecar_cpu() { [ -r "/proc/$spid/stat" ] && cpu_s "$spid"; }
# The machine's CPU seconds so far, all CPUs together (/proc/stat):
# "busy idle steal", busy = user + nice + system + irq + softirq, idle =
# idle + iowait.
machine_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" {
		printf "%.2f %.2f %.2f", ($2 + $3 + $4 + $7 + $8) / hz, ($5 + $6) / hz, $9 / hz; exit }' /proc/stat
}
# speed_probe: the CPU seconds a fixed single-threaded loop takes, the best
# of 7 after one round not counted (Python's process_time around the loop
# alone; on a quiet machine the best of 7 agreed within about 10 %).  Taken
# while the machine is quiet, before and after each controller's ready run:
# the same work costs more CPU when the host gives this machine slower CPUs,
# which moves every process's CPU figures alike.  It does not see a slowdown
# that lasts only while the load runs.
speed_probe() {
	python3 -c '
import time
best = None
for r in range(8):
    t = time.process_time()
    s = 0
    for i in range(1000000):
        s += i * i
    d = time.process_time() - t
    if r > 0:
        best = d if best is None else min(best, d)
print(f"{best:.3f}")'
}
# window K W: where the machine's CPU went between window_start and now, as
# K_W_{machine_busy,machine_idle,machine_steal,apiserver,etcd,sidecar,controller}_s
# (W: "ready", the create until all are ready; "gone", the delete until all
# are gone).  The controller's, the API server's and etcd's figures above run
# until quiet; these stop with the load.
window_start() { w_m=$(machine_cpu) w_a=$(api_cpu) w_e=$(etcd_cpu) w_s=$(sidecar_cpu) w_c=$(cpu_s "$cpid"); }
window() {
	local m0 m1 s1 i names=(busy idle steal)
	read -r -a m0 <<<"$w_m"
	read -r -a m1 <<<"$(machine_cpu)"
	for i in 0 1 2; do
		res "${1}_${2}_machine_${names[$i]}_s $(minus "${m1[$i]}" "${m0[$i]}")"
	done
	res "${1}_${2}_apiserver_s $(minus "$(api_cpu)" "$w_a")"
	res "${1}_${2}_etcd_s $(minus "$(etcd_cpu)" "$w_e")"
	s1=$(sidecar_cpu)
	[ -n "$s1" ] && [ -n "$w_s" ] && res "${1}_${2}_sidecar_s $(minus "$s1" "$w_s")"
	res "${1}_${2}_controller_s $(minus "$(cpu_s "$cpid")" "$w_c")"
}

bench_source_pvc bench-ready

phase=0
for ph in $PHASES; do
	case $ph in
	webhook) . "$here/webhook.sh" ;;
	idle)
		echo "== idle" >&2
		for side in $(order $phase); do
			start_ctrl "$side" "idle-$side"
			sleep 2
			awk '/^(Rss|Pss|Anonymous|Shared_Clean|Private_Clean|Shared_Dirty|Private_Dirty):/ {print "idle_'"$side"'_" $1, $2}' \
				"/proc/$cpid/smaps_rollup" | tr -d : >>"$R"
			res "idle_${side}_threads $(kib "$cpid" Threads)"
			res "idle_${side}_hwm $(kib "$cpid" VmHWM)"
			python3 "$here/smaps.py" "/proc/$cpid/smaps" >"$WORK/smaps-$side.txt"
			stop_ctrl
		done
		;;
	ready)
		i=0
		for n in $CURVE; do
			for side in $(order $((phase + i))); do
				echo "== ready n=$n $side" >&2
				k="ready_${side}_${n}"
				case $BETWEEN in
				clean) clean_between || { echo "could not clean up between runs" >&2; exit 1; } ;;
				restart) restart_between || { echo "could not restart the API server between runs" >&2; exit 1; } ;;
				esac
				leftovers "$k"
				start_ctrl "$side" "ready-$n-$side"
				res "${k}_probe_before_s $(speed_probe)"
				c0=$(cpu_s "$cpid") a0=$(api_cpu) e0=$(etcd_cpu)
				api_metrics "$WORK/$k-m0"
				window_start
				out=$(python3 tests/bench/controller/apiload.py ready bench-ready "$n" src) || { echo "$out" >&2; exit 1; }
				window "$k" ready
				echo "  $out" >&2
				res "${k}_all_ready_s $(sed -n 's/.*all_ready_in=\([0-9.]*\)s.*/\1/p' <<<"$out")"
				res "${k}_p50_s $(sed -n 's/.*latency_p50=\([0-9.]*\)s.*/\1/p' <<<"$out")"
				res "${k}_p99_s $(sed -n 's/.* p99=\([0-9.]*\)s.*/\1/p' <<<"$out")"
				c1=$(cpu_s "$cpid")
				settle "$cpid"
				c1s=$(cpu_s "$cpid")
				api_metrics "$WORK/$k-m1"
				if [ "$side" = ours ]; then # what our recorder did with the events (upstream counts none)
					curl -sf "http://127.0.0.1:$PORT/metrics" |
						sed -n 's/^snapshot_controller_events_total{result="\([a-z_]*\)"} \([0-9]*\)$/\1 \2/p' |
						while read -r r v; do res "${k}_events_$r $v"; done
				fi
				res "${k}_cpu_create_s $(minus "$c1s" "$c0")"
				res "${k}_cpu_create_to_ready_s $(minus "$c1" "$c0")"
				res "${k}_apiserver_cpu_create_s $(minus "$(api_cpu)" "$a0")"
				res "${k}_etcd_cpu_create_s $(minus "$(etcd_cpu)" "$e0")"
				res "${k}_rss_after_create $(kib "$cpid" VmRSS)"
				c2=$(cpu_s "$cpid") a0=$(api_cpu) e0=$(etcd_cpu)
				window_start
				out=$(python3 tests/bench/controller/apiload.py delete bench-ready) || { echo "$out" >&2; exit 1; }
				window "$k" gone
				echo "  $out" >&2
				res "${k}_all_gone_s $(sed -n 's/.*all_gone_in=\([0-9.]*\)s.*/\1/p' <<<"$out")"
				settle "$cpid"
				api_metrics "$WORK/$k-m2"
				res "${k}_cpu_delete_s $(minus "$(cpu_s "$cpid")" "$c2")"
				res "${k}_apiserver_cpu_delete_s $(minus "$(api_cpu)" "$a0")"
				res "${k}_etcd_cpu_delete_s $(minus "$(etcd_cpu)" "$e0")"
				res "${k}_probe_after_s $(speed_probe)"
				res "${k}_hwm $(kib "$cpid" VmHWM)"
				res "${k}_rss_end $(kib "$cpid" VmRSS)"
				stop_ctrl
			done
			i=$((i + 1))
		done
		;;
	cached)
		"$K" create ns bench-cache >/dev/null
		have=0 i=0
		for c in $CACHED_STEPS; do
			if [ "$c" -gt "$have" ]; then
				python3 tests/bench/controller/apiload.py cached bench-cache "$((c - have))" "$have" >&2 || exit 1
				have=$c
			fi
			for side in $(order $((phase + i))); do
				echo "== cached $c $side" >&2
				start_ctrl "$side" "cached-$c-$side"
				sleep 2
				res "cached_${side}_${c}_rss $(kib "$cpid" VmRSS)"
				res "cached_${side}_${c}_hwm $(kib "$cpid" VmHWM)"
				res "cached_${side}_${c}_anon $(awk '$1 == "Anonymous:" {print $2}' "/proc/$cpid/smaps_rollup")"
				stop_ctrl
			done
			i=$((i + 1))
		done
		;;
	perf)
		[ "$PERF" = 1 ] || continue
		command -v perf >/dev/null || { echo "perf is not installed (scripts/deps.sh: linux-perf)" >&2; continue; }
		echo "== perf: ours, n=${PERF_N:-$N}" >&2
		start_ctrl ours "perf-ours"
		n=${PERF_N:-$N}
		perf record -F 999 -g -o "$WORK/perf-create.data" -p "$cpid" >/dev/null 2>"$WORK/perf-create.err" &
		ppid=$!
		python3 tests/bench/controller/apiload.py ready bench-ready "$n" src >&2 || exit 1
		settle "$cpid"
		kill -INT "$ppid"; wait "$ppid"
		perf record -F 999 -g -o "$WORK/perf-delete.data" -p "$cpid" >/dev/null 2>"$WORK/perf-delete.err" &
		ppid=$!
		python3 tests/bench/controller/apiload.py delete bench-ready >&2 || exit 1
		settle "$cpid"
		kill -INT "$ppid"; wait "$ppid"
		stop_ctrl
		for p in create delete; do
			perf report -i "$WORK/perf-$p.data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^#' | grep . | head -25 >"$WORK/perf-$p-dso.txt"
			perf report -i "$WORK/perf-$p.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null | grep -v '^#' | grep . | head -60 >"$WORK/perf-$p-sym.txt"
			perf report -i "$WORK/perf-$p.data" --stdio --children --sort symbol -g none 2>/dev/null | grep -v '^#' | grep . | head -80 >"$WORK/perf-$p-children.txt"
		done
		;;
	*) echo "unknown phase $ph" >&2; exit 2 ;;
	esac
	phase=$((phase + 1))
done
res load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$here/compare.py" "$WORK" "$DOC"
