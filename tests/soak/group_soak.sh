#!/usr/bin/env bash
# tests/soak/group_soak.sh -- VolumeGroupSnapshots under leader kills:
# `make soak-groups` (not in make test).
#
# Two replicas of CONTROLLER (ours or upstream's; --feature-gates=
# CSIVolumeGroupSnapshot=true) with leader election and distinct hostnames,
# a supervisor that starts a killed replica again after 1 s, the real
# csi-snapshotter (group feature gate on) and the CSI test driver's
# GroupController (tests/cluster/csi-up).
#
# NGROUPS VolumeGroupSnapshots, each selecting 3 PVCs by label: SETS sets of 3
# PVCs (label set=N), group gI selects set I % SETS.  Groups are made in
# waves of GWAVE.  Each wave:
#   1. the groups are created.  A watch on VolumeGroupSnapshotContents kills
#      the leader (kill -9) the moment a content turns readyToUse, i.e. after
#      the driver made the group snapshot and before (or while) the
#      controller creates the member VolumeSnapshots and contents.  At most
#      one such kill per KILL_GAP seconds (a new leader needs the 4 s lease
#      to expire).  Right after the kill the member contents of that group
#      are counted: fewer than 3 means the kill landed in the window.
#   2. every group must be ready within WAVE_TIMEOUT with exactly 3 members:
#      3 VolumeSnapshots owned by it, each ready, each bound to a content
#      that carries the group's handle and points back; exactly 3 such
#      contents; the member PVCs are exactly the 3 of its set.
#   3. the wave's groups are deleted; during the deletion the leader is
#      killed DELETE_KILLS times at random 0.2-3 s delays (KILL_GAP apart);
#      a kill landed if the wave still had objects (groups, group contents,
#      members) right after it.  Everything of the wave must be gone within
#      WAVE_TIMEOUT.
# End checks: every group had exactly its members; every wave went
# completely; nothing left in the namespace and no contents of it (stuck
# finalizers; the PVCs are deleted too); the driver made exactly one group
# snapshot per group (duplicates) and every snapshot id and group id it
# created was deleted (orphans, from $CLUSTER_DIR/csi-testdriver.log).
#
# Environment: CONTROLLER (default bin/snapshot-controller), NGROUPS (100),
# GWAVE (10), SETS (10), KILL_GAP (8), DELETE_KILLS (2 per wave),
# READY_KILLS (max kills in the ready window, default 40), WAVE_TIMEOUT (600).
# Uses the cluster in $CLUSTER_DIR (with CSI peers), else starts its own.
# To end a run early, touch $CLUSTER_DIR/group-soak-<pid>/finish: no new
# wave starts, the end checks run over the groups made, and the result line
# says partial=1.  Prints a result line:
#   group-soak-result controller=... groups=N ready_kills=N ready_landed=N
#   delete_kills=N delete_landed=N wrong_members=N not_ready=N not_gone=N
#   stuck=N duplicates=N orphans=N group_orphans=N seconds=N
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/t.sh
T_SUITE=${SOAK_NAME:-soak-groups}
NGROUPS=${NGROUPS:-100} GWAVE=${GWAVE:-10} SETS=${SETS:-10} KILL_GAP=${KILL_GAP:-8}
DELETE_KILLS=${DELETE_KILLS:-2} READY_KILLS=${READY_KILLS:-40} WAVE_TIMEOUT=${WAVE_TIMEOUT:-600}
CONTROLLER=${CONTROLLER:-$top/bin/snapshot-controller}
[ -x "$CONTROLLER" ] || { echo "no controller binary at $CONTROLLER"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

own_cluster=0
if [ -z "${CLUSTER_DIR:-}" ]; then
	eval "$(tests/cluster/up soak-groups)" || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
	tests/cluster/csi-up "$CLUSTER_DIR" >&2 || { tests/cluster/down "$CLUSTER_DIR"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
	own_cluster=1
fi
. "$CLUSTER_DIR/env"
. tests/soak/lib.sh
K="$TOOLS_BIN/kubectl"
k() { "$K" "$@"; }
S=$CLUSTER_DIR/group-soak-$$
mkdir -p "$S"
NS=gsoak-$$
LE_NS=gsoak-le-$$
GAPI=groupsnapshot.storage.k8s.io/v1
HANDLE_ANN=groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle
T0=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:log_path=$S/sanitizer
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}:log_path=$S/sanitizer

cleanup() {
	local p
	touch "$S/stop"
	for p in "$S/watch.pid" "$S/watch-kubectl.pid" "$S/supervisor.pid"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	soak_stop_replicas 10
	k delete ns "$NS" "$LE_NS" --wait=false >/dev/null 2>&1
	# the logs stay (the figures of a long run are read afterwards); etcd's data goes
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" --keep >/dev/null 2>&1 && rm -rf "$CLUSTER_DIR/etcd-data"
	echo "group soak logs: $S" >&2
}
trap cleanup EXIT

# ---- the two replicas ----------------------------------------------------------------
k create ns "$NS" >/dev/null
k create ns "$LE_NS" >/dev/null
replica() { soak_replica "$1" "gsoak-$1" "$KUBECONFIG" "$LE_NS" --feature-gates=CSIVolumeGroupSnapshot=true; }
replica r1
replica r2
holder() { k -n "$LE_NS" get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
t_wait 60 bash -c "$(declare -f holder k); K=$K LE_NS=$LE_NS; holder | grep -q gsoak-r" >/dev/null ||
	{ tail -5 "$S/r1.log" "$S/r2.log" >&2; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
: >"$S/restarts"
soak_supervise replica 2>>"$S/supervisor.log" &
echo $! >"$S/supervisor.pid"
# kill_leader WHY: kill -9 of the lease holder; fails when there is none
# alive.  The time of the kill goes to $S/last-kill.
kill_leader() {
	local pid
	pid=$(soak_leader_pid "$LE_NS" gsoak) && kill -9 "$pid" || return 1
	date +%s >"$S/last-kill"
	echo "$(date +%T) kill -9 of the leader (pid $pid): $1" >>"$S/kills.log"
}
since_kill() { echo $(($(date +%s) - $(cat "$S/last-kill" 2>/dev/null || echo 0))); }

# ---- PVCs: SETS sets of 3 ------------------------------------------------------------------
for s in $(seq 1 "$SETS"); do
	for m in a b c; do
		printf 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: set%d-%s, namespace: %s, labels: {set: "%d"}}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: csi-test\n  resources: {requests: {storage: 1Mi}}\n---\n' \
			"$s" "$m" "$NS" "$s"
	done
done | k apply -f - >/dev/null
t_wait 180 bash -c "[ \$($K -n $NS get pvc -o jsonpath='{range .items[*]}{.status.phase}{\"\\n\"}{end}' | grep -c Bound) = $((SETS * 3)) ]" >/dev/null ||
	{ echo "PVCs not bound" >&2; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
DRIVER_LOG=$CLUSTER_DIR/csi-testdriver.log
DRIVER_LINE0=$(wc -l <"$DRIVER_LOG")

# ---- the ready-window killer ------------------------------------------------------------------
# Every group content that turns readyToUse (seen once) may trigger a kill.
# Landed: the group had fewer than 3 member contents right after the kill
# (the new leader needs the lease to expire first, about 4 s).
member_contents() { # member_contents HANDLE: names of contents carrying it
	k get vsc -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations.groupsnapshot\.storage\.k8s\.io/volumeGroupSnapshotHandle}{"\n"}{end}' 2>/dev/null |
		awk -v h="$1" '$2 == h {print $1}'
}
ready_killer() {
	local name ready handle n=0 got
	while [ ! -f "$S/stop" ]; do
		k get volumegroupsnapshotcontent -w -o jsonpath='{.metadata.name} {.status.readyToUse} {.status.volumeGroupSnapshotHandle}{"\n"}' \
			>"$S/watch.fifo" 2>>"$S/watch.err" &
		echo $! >"$S/watch-kubectl.pid"
		while read -r name ready handle; do
			[ "$ready" = true ] && [ -n "$handle" ] || continue
			grep -qx "$name" "$S/seen-ready" 2>/dev/null && continue
			echo "$name" >>"$S/seen-ready"
			[ "$n" -lt "$READY_KILLS" ] && [ "$(since_kill)" -ge "$KILL_GAP" ] || continue
			kill_leader "group content $name ready" || continue
			n=$((n + 1))
			got=$(member_contents "$handle" | wc -l)
			echo "$name $handle $got" >>"$S/ready-kills"
			echo "    ready-window kill $n: $name had $got of 3 member contents right after the kill" >>"$S/kills.log"
		done <"$S/watch.fifo"
		sleep 1
	done
}
: >"$S/ready-kills"
: >"$S/seen-ready"
mkfifo "$S/watch.fifo"
ready_killer &
echo $! >"$S/watch.pid"

# ---- waves ---------------------------------------------------------------------------------------
members_of() { # members_of GROUP: member VolumeSnapshots (owner reference), "name ready content pvc"
	k -n "$NS" get vs -o json 2>/dev/null | jq -r --arg g "$1" '.items[] |
		select(any(.metadata.ownerReferences[]?; .kind == "VolumeGroupSnapshot" and .name == $g)) |
		"\(.metadata.name) \(.status.readyToUse) \(.status.boundVolumeSnapshotContentName) \(.spec.source.persistentVolumeClaimName)"'
}
group_ready() { [ "$(k -n "$NS" get volumegroupsnapshot "$1" -o jsonpath='{.status.readyToUse}' 2>/dev/null)" = true ]; }
# check_members GROUP SET: exactly its 3 members, all ready, each content
# bound back and carrying the group's handle; exactly 3 contents with it.
check_members() {
	local g=$1 set=$2 c h m ready vsc pvc uid n=0 pvcs=
	c=$(k -n "$NS" get volumegroupsnapshot "$g" -o jsonpath='{.status.boundVolumeGroupSnapshotContentName}')
	h=$(k get volumegroupsnapshotcontent "$c" -o jsonpath='{.status.volumeGroupSnapshotHandle}')
	echo "$g $c $h" >>"$S/handles"
	while read -r m ready vsc pvc; do
		[ -n "$m" ] || continue
		n=$((n + 1))
		[ "$ready" = true ] || { echo "$g: member $m not ready"; return 1; }
		uid=$(k -n "$NS" get vs "$m" -o jsonpath='{.metadata.uid}')
		[ "$(k get vsc "$vsc" -o jsonpath='{.spec.volumeSnapshotRef.uid}')" = "$uid" ] ||
			{ echo "$g: member $m content $vsc does not point back"; return 1; }
		pvcs="$pvcs $pvc"
	done < <(members_of "$g")
	[ "$n" = 3 ] || { echo "$g: $n member snapshots"; return 1; }
	[ "$(echo $pvcs | tr ' ' '\n' | sort | tr '\n' ' ')" = "set$set-a set$set-b set$set-c " ] ||
		{ echo "$g: member PVCs$pvcs"; return 1; }
	n=$(member_contents "$h" | wc -l)
	[ "$n" = 3 ] || { echo "$g: $n member contents with handle $h"; return 1; }
}
# wave_left FIRST LAST: objects of the wave still there: groups, their
# contents, member snapshots, member contents (by the handles recorded)
wave_left() {
	seq -f 'g%.0f' "$1" "$2" >"$S/wave.names"
	awk 'NR == FNR {w[$1] = 1; next} ($1 in w) {print $3}' "$S/wave.names" "$S/handles" >"$S/wave.handles"
	{
		k -n "$NS" get volumegroupsnapshot -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'
		k -n "$NS" get vs -o json | jq -r '.items[].metadata.ownerReferences[]? | select(.kind == "VolumeGroupSnapshot") | .name'
		k get volumegroupsnapshotcontent -o jsonpath='{range .items[*]}{.spec.volumeGroupSnapshotRef.namespace} {.spec.volumeGroupSnapshotRef.name}{"\n"}{end}' |
			awk -v ns="$NS" '$1 == ns {print $2}'
	} 2>/dev/null | awk 'NR == FNR {w[$1] = 1; next} ($1 in w)' "$S/wave.names" - | wc -l >"$S/wave.left"
	k get vsc -o jsonpath='{range .items[*]}{.metadata.annotations.groupsnapshot\.storage\.k8s\.io/volumeGroupSnapshotHandle}{"\n"}{end}' 2>/dev/null |
		awk 'NR == FNR {h[$1] = 1; next} ($1 in h)' "$S/wave.handles" - | wc -l >>"$S/wave.left"
	awk '{n += $1} END {print n + 0}' "$S/wave.left"
}
: >"$S/handles"
: >"$S/delete-kills"
not_ready=0 wrong=0 not_gone=0 made=0
while [ "$made" -lt "$NGROUPS" ] && [ ! -f "$S/finish" ]; do
	first=$((made + 1)) last=$((made + GWAVE))
	[ "$last" -gt "$NGROUPS" ] && last=$NGROUPS
	for i in $(seq "$first" "$last"); do
		printf 'apiVersion: %s\nkind: VolumeGroupSnapshot\nmetadata: {name: g%d, namespace: %s}\nspec:\n  source:\n    selector: {matchLabels: {set: "%d"}}\n---\n' \
			"$GAPI" "$i" "$NS" $((i % SETS + 1))
	done >"$S/wave.yaml"
	k apply -f "$S/wave.yaml" >/dev/null || { echo "cannot create wave $first-$last" >&2; not_ready=$((not_ready + last - first + 1)); break; }
	made=$last
	t1=$SECONDS
	for i in $(seq "$first" "$last"); do
		until group_ready "g$i" && [ "$(members_of "g$i" | awk '$2 == "true"' | wc -l)" -ge 3 ]; do
			[ $((SECONDS - t1)) -lt "$WAVE_TIMEOUT" ] || break
			sleep 1
		done
		if ! group_ready "g$i"; then
			not_ready=$((not_ready + 1))
			k -n "$NS" get volumegroupsnapshot "g$i" -o yaml >>"$S/not-ready.txt" 2>&1
			continue
		fi
		# members may still be settling: give a wrong count 10 s to heal
		why=
		for _ in $(seq 1 10); do why=$(check_members "g$i" $((i % SETS + 1))) && break; sleep 1; done
		[ -z "$why" ] || { wrong=$((wrong + 1)); echo "wrong members: $why" >>"$S/wrong.txt"; }
	done
	echo "wave g$first-g$last: ready after $((SECONDS - t1))s; not ready so far $not_ready, wrong $wrong; kills in ready window so far $(wc -l <"$S/ready-kills")" >&2
	# deletion, with kills at random short delays
	k -n "$NS" delete volumegroupsnapshot $(seq -f 'g%.0f' "$first" "$last") --wait=false >/dev/null
	t1=$SECONDS
	for _ in $(seq 1 "$DELETE_KILLS"); do
		while [ "$(since_kill)" -lt "$KILL_GAP" ]; do sleep 0.5; done
		sleep "$((RANDOM % 28 / 10 + 0)).$((RANDOM % 10))"
		kill_leader "during deletion of g$first-g$last" || continue
		left=$(wave_left "$first" "$last")
		echo "g$first-g$last $left" >>"$S/delete-kills"
		echo "    deletion kill: $left objects of the wave left right after it" >>"$S/kills.log"
	done
	until [ "$(wave_left "$first" "$last")" = 0 ]; do
		[ $((SECONDS - t1)) -lt "$WAVE_TIMEOUT" ] || break
		sleep 2
	done
	left=$(wave_left "$first" "$last")
	[ "$left" = 0 ] || { not_gone=$((not_gone + left)); k -n "$NS" get volumegroupsnapshot,vs -o yaml >>"$S/not-gone.txt" 2>&1; }
	echo "wave g$first-g$last: deleted after $((SECONDS - t1))s, $left objects left" >&2
done
touch "$S/stop"
kill "$(cat "$S/watch-kubectl.pid")" "$(cat "$S/watch.pid")" 2>/dev/null

# ---- end state -------------------------------------------------------------------------------------
ns_contents() { # contents of this run's namespace: snapshot and group ones
	k get vsc -o jsonpath='{range .items[*]}{.spec.volumeSnapshotRef.namespace} {.metadata.name}{"\n"}{end}' 2>/dev/null | awk -v ns="$NS" '$1 == ns'
	k get volumegroupsnapshotcontent -o jsonpath='{range .items[*]}{.spec.volumeGroupSnapshotRef.namespace} {.metadata.name}{"\n"}{end}' 2>/dev/null | awk -v ns="$NS" '$1 == ns'
}
check_ready() { t_eq "$not_ready" 0 "groups not ready within WAVE_TIMEOUT (see $S/not-ready.txt)"; }
check_members_ok() { t_eq "$wrong" 0 "groups without exactly their 3 members (see $S/wrong.txt)"; }
check_gone() { t_eq "$not_gone" 0 "objects of deleted groups left after WAVE_TIMEOUT (see $S/not-gone.txt)"; }
check_stuck() {
	k -n "$NS" delete pvc --all --wait=false >/dev/null 2>&1
	local end=$((SECONDS + 600)) n
	while :; do
		n=$( (k -n "$NS" get volumegroupsnapshot,vs,pvc -o name; ns_contents) 2>/dev/null | wc -l)
		[ "$n" = 0 ] && break
		[ $SECONDS -lt $end ] || break
		sleep 2
	done
	echo "$n" >"$S/stuck"
	[ "$n" = 0 ] || { k -n "$NS" get volumegroupsnapshot,vs,pvc -o yaml >"$S/stuck.yaml" 2>&1; ns_contents >>"$S/stuck.yaml"; }
	t_eq "$n" 0 "objects left after 600 s (see $S/stuck.yaml)"
}
driver_ids() { # driver_ids CALL: sorted unique ids of the CALL lines that succeeded
	grep -oE "$1 (name=[^ ]* )?id=[^ ]*" "$S/driver.log" | sed 's/.* id=//' | sort -u
}
check_driver() {
	tail -n +"$((DRIVER_LINE0 + 1))" "$DRIVER_LOG" >"$S/driver.log"
	driver_ids CreateSnapshot >"$S/snap.created"
	driver_ids DeleteSnapshot >"$S/snap.deleted"
	driver_ids CreateVolumeGroupSnapshot >"$S/group.created"
	driver_ids DeleteVolumeGroupSnapshot >"$S/group.deleted"
	comm -23 "$S/snap.created" "$S/snap.deleted" >"$S/snap.orphans"
	comm -23 "$S/group.created" "$S/group.deleted" >"$S/group.orphans"
	echo "    driver: $(wc -l <"$S/group.created") group snapshots created, $(wc -l <"$S/group.deleted") deleted; $(wc -l <"$S/snap.created") snapshots created, $(wc -l <"$S/snap.deleted") deleted" >&2
	t_eq "$(wc -l <"$S/group.created")" "$made" "group snapshots the driver made (one per group)" || return 1
	t_eq "$(wc -l <"$S/snap.orphans") $(wc -l <"$S/group.orphans")" "0 0" "driver snapshots / group snapshots never deleted (see $S/snap.orphans, $S/group.orphans)"
}
check_kills_landed() {
	# the run must have tested what it claims: kills in both windows
	[ "$(awk '$3 < 3' "$S/ready-kills" | wc -l)" -gt 0 ] || { t_fail "no kill landed between group-ready and member creation"; return 1; }
	[ "$(awk '$2 > 0' "$S/delete-kills" | wc -l)" -gt 0 ] || { t_fail "no kill landed during a deletion"; return 1; }
}
t_run every_group_ready check_ready
t_run exactly_three_members check_members_ok
t_run deleted_groups_gone_completely check_gone
t_run no_stuck_finalizers check_stuck
t_run driver_one_group_snapshot_each_none_orphaned check_driver
t_run kills_landed_in_both_windows check_kills_landed
touch "$S/stop"
kill "$(cat "$S/supervisor.pid")" 2>/dev/null
wait "$(cat "$S/supervisor.pid")" 2>/dev/null
soak_stop_replicas 15
t_run no_sanitizer_report soak_check_sanitizer
echo "group-soak-result controller=$(basename "$CONTROLLER")@$CONTROLLER groups=$made partial=$([ -f "$S/finish" ] && echo 1 || echo 0) ready_kills=$(wc -l <"$S/ready-kills") ready_landed=$(awk '$3 < 3' "$S/ready-kills" | wc -l) delete_kills=$(wc -l <"$S/delete-kills") delete_landed=$(awk '$2 > 0' "$S/delete-kills" | wc -l) wrong_members=$wrong not_ready=$not_ready not_gone=$not_gone stuck=$(cat "$S/stuck" 2>/dev/null) duplicates=$(($(wc -l <"$S/group.created" 2>/dev/null || echo 0) - made)) orphans=$(wc -l <"$S/snap.orphans" 2>/dev/null) group_orphans=$(wc -l <"$S/group.orphans" 2>/dev/null) replica_restarts=$(wc -l <"$S/restarts") seconds=$((SECONDS - T0))"
t_done
