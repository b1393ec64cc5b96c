#!/usr/bin/env bash
# tests/soak/soak.sh -- controller chaos: `make soak` (the full run) and
# tests/e2e/soak_short.sh (about 2 minutes, in make test).
#
# Two replicas of CONTROLLER with leader election (distinct hostnames through
# a private UTS namespace), talking to kube-apiserver through
# tests/soak/faultproxy.py.  SNAPSHOTS VolumeSnapshots are created in waves of
# WAVE over PVCS PVCs; each wave must become ready, then it is deleted while
# the next one is created.  Meanwhile a chaos loop, one action every
# CHAOS_INTERVAL seconds: KILLS kill -9 of the current leader (the replica is
# started again at once), and, spread among them, APISERVER_RESTARTS kill -9 +
# restart of kube-apiserver, ETCD_RESTARTS of etcd, GONE forced watch expiries
# (every watch cut, every re-watch answered 410) and FAIL_WINDOWS windows of
# FAIL_SECONDS in which every write through the proxy gets 429 or 500.
#
# End-state checks (each one a test in the summary line):
#   every snapshot reached readyToUse before its deletion; none lost (each
#   wave complete when it was deleted); no VolumeSnapshot bound to two
#   contents and no content left without its snapshot; 0 stuck finalizers
#   (every VolumeSnapshot, VolumeSnapshotContent and PVC of the run gone
#   within 600 s of the last deletion); 0 orphaned driver snapshots (each CreateSnapshot id the driver
#   logged during the run has its DeleteSnapshot); no sanitizer report.
#
# Environment: CONTROLLER (any snapshot-controller binary: ours or upstream's
# Go one: only upstream's flags are passed, plus --state-dir when the binary
# has it), SNAPSHOTS (1000), WAVE (50), PVCS (10), KILLS (50), CHAOS_INTERVAL
# (12 s: with a 4 s lease, a leader killed every 4 s never gets anything
# done), APISERVER_RESTARTS (1), ETCD_RESTARTS (1), GONE (1), FAIL_WINDOWS (1),
# FAIL_SECONDS (4), WAVE_TIMEOUT (300 s for a wave to become ready),
# SOAK_NAME (suite name).  Uses the cluster in $CLUSTER_DIR (with CSI peers),
# else starts one and stops it.  To end a run early (a deadline), touch
# $CLUSTER_DIR/soak-<pid>/finish: no new wave and no new chaos action start,
# the end checks run over what was done, and the result line says partial=1
# with the snapshots actually created (chaos_schedule_done then fails if the
# schedule was not complete).  Prints a result line:
#   soak-result controller=... snapshots=N kills=N apiserver_restarts=N
#   etcd_restarts=N gone=N fail_windows=N lost=N duplicates=N stuck=N orphans=N
#   not_ready=N seconds=N
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/t.sh
T_SUITE=${SOAK_NAME:-soak}
SNAPSHOTS=${SNAPSHOTS:-1000} WAVE=${WAVE:-50} PVCS=${PVCS:-10} KILLS=${KILLS:-50}
CHAOS_INTERVAL=${CHAOS_INTERVAL:-12} APISERVER_RESTARTS=${APISERVER_RESTARTS:-1}
ETCD_RESTARTS=${ETCD_RESTARTS:-1} GONE=${GONE:-1} FAIL_WINDOWS=${FAIL_WINDOWS:-1}
FAIL_SECONDS=${FAIL_SECONDS:-4} WAVE_TIMEOUT=${WAVE_TIMEOUT:-300}
SC_BIN=${SC_BIN:-$top/bin}
CONTROLLER=${CONTROLLER:-$SC_BIN/snapshot-controller}
[ -x "$CONTROLLER" ] || { echo "no controller binary at $CONTROLLER"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

own_cluster=0
if [ -z "${CLUSTER_DIR:-}" ]; then
	eval "$(tests/cluster/up soak)" || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
	tests/cluster/csi-up "$CLUSTER_DIR" >&2 || { tests/cluster/down "$CLUSTER_DIR"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
	own_cluster=1
fi
. tests/soak/lib.sh
K="$TOOLS_BIN/kubectl"
k() { "$K" "$@"; }
S=$CLUSTER_DIR/soak-$$
mkdir -p "$S"
NS=soak-$$
LE_NS=soak-le-$$
T0=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:log_path=$S/sanitizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$S/sanitizer

cleanup() {
	local p
	touch "$S/stop"
	[ -f "$S/chaos.pid" ] && kill "$(cat "$S/chaos.pid")" 2>/dev/null
	[ -f "$S/supervisor.pid" ] && kill "$(cat "$S/supervisor.pid")" 2>/dev/null
	[ -f "$S/proxy.pid" ] && kill "$(cat "$S/proxy.pid")" 2>/dev/null
	soak_stop_replicas 10
	k delete ns "$NS" "$LE_NS" --wait=false >/dev/null 2>&1
	# the logs stay (the figures of a long run are read afterwards); etcd's data goes
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" --keep >/dev/null 2>&1 && rm -rf "$CLUSTER_DIR/etcd-data"
	echo "soak logs: $S" >&2
}
trap cleanup EXIT

# ---- the fault proxy ---------------------------------------------------------------
fault_proxy_start "$S"
t_wait 20 k --kubeconfig="$S/kubeconfig" get ns default >/dev/null || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

# ---- the two replicas ----------------------------------------------------------------
k create ns "$NS" >/dev/null
k create ns "$LE_NS" >/dev/null
start_replica() { soak_replica "$1" "soak-$1" "$S/kubeconfig" "$LE_NS"; }
start_replica r1
start_replica r2
leader() { k -n "$LE_NS" get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
t_wait 60 bash -c "$(declare -f leader k); K=$K LE_NS=$LE_NS; leader | grep -q soak-r" >/dev/null ||
	{ tail -5 "$S/r1.log" "$S/r2.log" >&2; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

# ---- PVCs --------------------------------------------------------------------------------
for i in $(seq 1 "$PVCS"); do
	printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: src%d, namespace: %s}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: csi-test\n  resources: {requests: {storage: 1Mi}}\n---\n' "$i" "$NS"
done | k apply -f - >/dev/null
t_wait 120 bash -c "[ \$($K -n $NS get pvc -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Bound) = $PVCS ]" >/dev/null ||
	{ echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
DRIVER_LOG=$CLUSTER_DIR/csi-testdriver.log
DRIVER_LINE0=$(wc -l <"$DRIVER_LOG")

# ---- chaos -------------------------------------------------------------------------------
# One action per CHAOS_INTERVAL; the special faults are placed among the
# kills at fixed fractions of the schedule.  Counts go to $S/chaos.counts.
# (The 429/500 windows are opened by the wave loop right after a wave is
# created, when the controllers are sure to be writing.)
injected() { # injected CODE: faults of that code the proxy injected so far
	awk -v k="injected_$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$S/proxy.stats"
}
chaos() {
	local kills=0 api=0 etcd=0 gone=0 n=0 total l pid r g0
	total=$((KILLS + APISERVER_RESTARTS + ETCD_RESTARTS + GONE))
	while [ "$n" -lt "$total" ] && [ ! -f "$S/stop" ] && [ ! -f "$S/finish" ]; do
		sleep "$CHAOS_INTERVAL"
		[ -f "$S/finish" ] && break
		n=$((n + 1))
		if [ "$api" -lt "$APISERVER_RESTARTS" ] && [ "$n" -ge $(((api + 1) * total / (APISERVER_RESTARTS + 1))) ]; then
			fault_restart kube-apiserver KILL 2 && api=$((api + 1))
			fault_wait_api 120
		elif [ "$etcd" -lt "$ETCD_RESTARTS" ] && [ "$n" -ge $(((etcd + 1) * total / (ETCD_RESTARTS + 1) + 1)) ]; then
			fault_restart etcd KILL 2 && etcd=$((etcd + 1))
			fault_wait_api 120
		elif [ "$gone" -lt "$GONE" ] && [ "$n" -ge $(((gone + 1) * total / (GONE + 1) + 2)) ]; then
			# Every watch is cut; keep answering 410 until re-watches have
			# arrived (the clients back off after a cut), at most 30 s.
			g0=$(injected 410)
			echo gone >"$S/proxy.mode"
			for _ in $(seq 1 60); do [ "$(injected 410)" -gt "$g0" ] && break; sleep 0.5; done
			sleep 2
			echo ok >"$S/proxy.mode"; gone=$((gone + 1))
			echo "chaos: forced watch expiry: $(($(injected 410) - g0)) watches answered 410" >&2
		elif [ "$kills" -lt "$KILLS" ]; then
			if pid=$(soak_leader_pid "$LE_NS" soak); then
				kill -9 "$pid"
				kills=$((kills + 1))
				echo "chaos: kill -9 of the leader (pid $pid), kill $kills" >&2
				# the supervisor starts it again, as the kubelet would
			else
				n=$((n - 1)) # no leader right now: try again
			fi
		fi
		echo "$kills $api $etcd $gone" >"$S/chaos.counts"
	done
	echo "$kills $api $etcd $gone" >"$S/chaos.counts"
}
# The kubelet's part: a replica that exits (killed, or on lost leadership,
# as upstream's controller does) is started again after 1 s.  Every start
# after the first is counted in $S/restarts.
: >"$S/restarts"
soak_supervise start_replica 2>>"$S/supervisor.log" &
echo $! >"$S/supervisor.pid"
echo "0 0 0 0" >"$S/chaos.counts"
chaos 2>>"$S/chaos.log" &
echo $! >"$S/chaos.pid"

# ---- waves -------------------------------------------------------------------------------
vs_yaml() { # vs_yaml FIRST LAST
	local i
	for i in $(seq "$1" "$2"); do
		printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: s%d, namespace: %s}\nspec:\n  source: {persistentVolumeClaimName: src%d}\n---\n' \
			"$i" "$NS" $((i % PVCS + 1))
	done
}
ready_count() { # ready_count FIRST LAST
	k -n "$NS" get vs -o jsonpath='{range .items[*]}{.metadata.name} {.status.readyToUse}{"\n"}{end}' 2>/dev/null |
		awk -v a="$1" -v b="$2" '{n = substr($1, 2) + 0} n >= a && n <= b && $2 == "true" {c++} END {print c + 0}'
}
apply_retry() { # kubectl through the restarts: retry until it works (60 s)
	local end=$((SECONDS + 60))
	until "$@" >/dev/null 2>"$S/apply.err"; do
		[ $SECONDS -lt $end ] || { cat "$S/apply.err" >&2; return 1; }
		sleep 1
	done
}
not_ready=0 lost=0 created=0 prev= fail=0 wave=0
waves=$(((SNAPSHOTS + WAVE - 1) / WAVE))
while [ "$created" -lt "$SNAPSHOTS" ] && [ ! -f "$S/finish" ]; do
	first=$((created + 1)) last=$((created + WAVE))
	[ "$last" -gt "$SNAPSHOTS" ] && last=$SNAPSHOTS
	vs_yaml "$first" "$last" >"$S/wave.yaml"
	apply_retry k apply -f "$S/wave.yaml" || { not_ready=$((not_ready + last - first + 1)); break; }
	created=$last
	wave=$((wave + 1))
	if [ "$fail" -lt "$FAIL_WINDOWS" ] && [ "$wave" -ge $(((fail + 1) * waves / (FAIL_WINDOWS + 1))) ]; then
		echo fail >"$S/proxy.mode"; sleep "$FAIL_SECONDS"; echo ok >"$S/proxy.mode"; fail=$((fail + 1))
		echo "wave $wave: ${FAIL_SECONDS}s of 429/500 on every write through the proxy" >&2
	fi
	want=$((last - first + 1))
	end=$((SECONDS + WAVE_TIMEOUT))
	while :; do
		got=$(ready_count "$first" "$last")
		[ "$got" = "$want" ] && break
		[ $SECONDS -lt $end ] || break
		sleep 1
	done
	echo "wave $first-$last: $got of $want ready after $((SECONDS - end + WAVE_TIMEOUT))s (chaos so far: $(cat "$S/chaos.counts"))" >&2
	if [ "$got" != "$want" ]; then
		not_ready=$((not_ready + want - got))
		k -n "$NS" get vs -o wide >>"$S/not-ready.txt" 2>&1
	fi
	# Lost: a snapshot of the wave that no longer exists before we delete it.
	have=$(k -n "$NS" get vs -o name 2>/dev/null | awk -F/ -v a="$first" -v b="$last" '{n = substr($2, 2) + 0} n >= a && n <= b' | wc -l)
	lost=$((lost + want - have))
	# The previous wave goes while this one is made ready: deletions overlap.
	[ -n "$prev" ] && apply_retry k -n "$NS" delete vs $prev --wait=false --ignore-not-found
	prev=$(seq -f 's%.0f' "$first" "$last" | tr '\n' ' ')
done
[ -n "$prev" ] && apply_retry k -n "$NS" delete vs $prev --wait=false --ignore-not-found
# Chaos runs its full schedule even if the waves finished first.
while kill -0 "$(cat "$S/chaos.pid")" 2>/dev/null; do sleep 1; done
read -r kills api etcd gone <"$S/chaos.counts"

# ---- end state ---------------------------------------------------------------------------------
vsc_of_ns() {
	k get vsc -o jsonpath='{range .items[*]}{.spec.volumeSnapshotRef.namespace} {.spec.volumeSnapshotRef.name} {.spec.volumeSnapshotRef.uid} {.metadata.name}{"\n"}{end}' 2>/dev/null |
		awk -v ns="$NS" '$1 == ns'
}
dups=0
check_ready() {
	t_eq "$not_ready" 0 "snapshots that did not become ready within WAVE_TIMEOUT (see $S/not-ready.txt)"
}
check_lost() {
	t_eq "$lost" 0 "snapshots lost before their deletion"
}
check_no_duplicates() {
	# Taken before the deletions finish would miss nothing: a duplicate
	# content would have to outlive its snapshot (checked by check_stuck).
	vsc_of_ns >"$S/vsc.end"
	dups=$(awk '{print $3}' "$S/vsc.end" | sort | uniq -d | wc -l)
	t_eq "$dups" 0 "snapshots with two contents"
}
stuck=0
check_stuck() {
	apply_retry k -n "$NS" delete pvc --all --wait=false
	local end=$((SECONDS + 600)) vs vsc pvc
	while :; do
		vs=$(k -n "$NS" get vs -o name 2>/dev/null | wc -l)
		vsc=$(vsc_of_ns | wc -l)
		pvc=$(k -n "$NS" get pvc -o name 2>/dev/null | wc -l)
		[ $((vs + vsc + pvc)) = 0 ] && break
		[ $SECONDS -lt $end ] || break
		sleep 2
	done
	stuck=$((vs + vsc + pvc))
	if [ "$stuck" != 0 ]; then
		k -n "$NS" get vs,pvc -o yaml >"$S/stuck.yaml" 2>&1
		vsc_of_ns >>"$S/stuck.yaml"
	fi
	t_eq "$stuck" 0 "objects left after 600 s ($vs VolumeSnapshots, $vsc contents, $pvc PVCs; see $S/stuck.yaml)"
}
orphans=0
check_orphans() {
	tail -n +"$((DRIVER_LINE0 + 1))" "$DRIVER_LOG" >"$S/driver.log"
	grep -o 'CreateSnapshot name=[^ ]* id=[^ ]*' "$S/driver.log" | sed 's/.* id=//' | sort -u >"$S/created.ids"
	grep -o 'DeleteSnapshot id=[^ ]*' "$S/driver.log" | sed 's/.*id=//' | sort -u >"$S/deleted.ids"
	orphans=$(comm -23 "$S/created.ids" "$S/deleted.ids" | wc -l)
	echo "    driver: $(wc -l <"$S/created.ids") snapshots created, $(wc -l <"$S/deleted.ids") deleted" >&2
	t_eq "$orphans" 0 "driver snapshots never deleted ($(comm -23 "$S/created.ids" "$S/deleted.ids" | head -3 | tr '\n' ' '))"
}
check_chaos_ran() {
	t_eq "$kills $api $etcd $gone $fail" "$KILLS $APISERVER_RESTARTS $ETCD_RESTARTS $GONE $FAIL_WINDOWS" \
		"chaos actions done (kills api etcd gone fail)" || return 1
	# The injected faults reached the controllers.
	local st
	st=$(cat "$S/proxy.stats")
	if [ "$FAIL_WINDOWS" -gt 0 ]; then
		case "$st" in *"injected_429 0 injected_500 0 "*) t_fail "no write hit a 429/500 window: $st"; return 1 ;; esac
	fi
	if [ "$GONE" -gt 0 ]; then
		case "$st" in *"injected_410 0 "*) t_fail "no watch got a 410: $st"; return 1 ;; esac
	fi
	return 0
}
t_run every_snapshot_ready check_ready
t_run none_lost check_lost
t_run no_duplicate_contents check_no_duplicates
t_run no_stuck_finalizers check_stuck
t_run no_orphaned_driver_snapshots check_orphans
t_run chaos_schedule_done check_chaos_ran
# read back the figures the subshells computed
stuck=$( (k -n "$NS" get vs -o name; vsc_of_ns; k -n "$NS" get pvc -o name) 2>/dev/null | wc -l)
orphans=$(comm -23 "$S/created.ids" "$S/deleted.ids" 2>/dev/null | wc -l)
dups=$(awk '{print $3}' "$S/vsc.end" 2>/dev/null | sort | uniq -d | wc -l)
touch "$S/stop"
kill "$(cat "$S/supervisor.pid")" 2>/dev/null
wait "$(cat "$S/supervisor.pid")" 2>/dev/null
restarts=$(wc -l <"$S/restarts")
soak_stop_replicas 15
t_run no_sanitizer_report soak_check_sanitizer
partial=0
[ -f "$S/finish" ] && partial=1
echo "soak-result controller=$(basename "$CONTROLLER")@$CONTROLLER snapshots=$created partial=$partial kills=$kills apiserver_restarts=$api etcd_restarts=$etcd gone=$gone fail_windows=$fail lost=$lost duplicates=$dups stuck=$stuck orphans=$orphans not_ready=$not_ready replica_restarts=$restarts seconds=$((SECONDS - T0)) proxy: $(cat "$S/proxy.stats" 2>/dev/null)"
t_done
