#!/usr/bin/env bash
# tests/e2e/groups.sh -- VolumeGroupSnapshot end to end: our snapshot-controller
# against a REAL control plane (tests/cluster/up) with the REAL csi-snapshotter
# (CSIVolumeGroupSnapshot=true), csi-provisioner and the CSI test driver, which
# implements the CSI group controller service (tests/cluster/csi-up).  The
# default VolumeGroupSnapshotClass csi-test-groupclass (driver
# testdriver.csi.k8s.io, Delete) comes with csi-up.
#
# The controller runs as a ServiceAccount with exactly deploy/controller's RBAC
# (tests/integration/deploy/sa-kubeconfig.sh), with leader election on.
#
# Usage: tests/e2e/groups.sh            (starts and stops its own cluster)
#        KUBECONFIG=.. CLUSTER_DIR=.. TOOLS_BIN=.. tests/e2e/groups.sh   (reuse one)
# Env: CONTROLLER (binary; default bin/snapshot-controller), KEEP=1 keeps the
# cluster of a failed run.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/e2e.sh"
e2e_controller_bin
e2e_cluster e2e.groups e2e-groups
WORK=$(mktemp -d /tmp/e2e-groups-XXXX)
NS=e2e-groups-$$
DRIVER=testdriver.csi.k8s.io
GAPI=groupsnapshot.storage.k8s.io/v1

stop_controller() { # name
	local p=$WORK/$1.pid
	[ -f "$p" ] || return 0
	kill "$(cat "$p")" 2>/dev/null
	for _ in $(seq 1 30); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.5; done
	kill -9 "$(cat "$p")" 2>/dev/null
	rm -f "$p"
}

cleanup() {
	local p
	for p in "$WORK"/*.pid; do [ -f "$p" ] && stop_controller "$(basename "$p" .pid)"; done
	"$K" delete volumegroupsnapshotclass "retain-$NS" "second-default-$NS" --ignore-not-found >/dev/null 2>&1
	e2e_controller_teardown
}
trap cleanup EXIT

SA_NS=e2e-groups-sa-$$
SA_KC=$WORK/sa.kubeconfig
e2e_controller_sa

PORT=$((21000 + $$ % 9000))
start_controller() { # name
	POD_NAMESPACE=$SA_NS "$CONTROLLER" --kubeconfig="$SA_KC" --leader-election=true \
		--leader-election-lease-duration=4s --leader-election-renew-deadline=3s \
		--leader-election-retry-period=1s --http-endpoint=127.0.0.1:"$PORT" \
		--feature-gates=CSIVolumeGroupSnapshot=true \
		--state-dir="$WORK/state" --retry-interval-max=5s -v=4 \
		>>"$WORK/$1.log" 2>&1 &
	echo $! >"$WORK/$1.pid"
	t_wait 60 curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null
}
start_controller c1 || { cat "$WORK/c1.log"; exit 1; }
"$K" create ns "$NS" >/dev/null

kns() { "$K" -n "$NS" "$@"; }
jp() { kns get "$1" "$2" -o "jsonpath=$3" 2>/dev/null; }
gone() { ! "$@" >/dev/null 2>&1; }
bound() { [ "$(jp pvc "$1" '{.status.phase}')" = Bound ]; }
vs_ready() { [ "$(jp volumesnapshot "$1" '{.status.readyToUse}')" = true ]; }
vgs_ready() { [ "$(jp volumegroupsnapshot "$1" '{.status.readyToUse}')" = true ]; }

make_pvc() { # name [labels-yaml] [extra spec yaml]
	kns apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: PersistentVolumeClaim
	metadata:
	  name: $1
	  labels: {${2:-}}
	spec:
	  accessModes: [ReadWriteOnce]
	  resources: {requests: {storage: 1Gi}}
	${3:-}
	YAML
}
make_vgs() { # name selector-yaml [class]
	local cls=""
	[ -n "${3:-}" ] && cls="volumeGroupSnapshotClassName: $3"
	kns apply -f - >/dev/null <<-YAML
	apiVersion: $GAPI
	kind: VolumeGroupSnapshot
	metadata: {name: $1}
	spec:
	  $cls
	  source:
	    selector: $2
	YAML
}
make_gclass() { # name policy [default]
	local ann=""
	[ "${3:-}" = default ] && ann='annotations: {groupsnapshot.storage.kubernetes.io/is-default-class: "true"}'
	"$K" apply -f - >/dev/null <<-YAML
	apiVersion: $GAPI
	kind: VolumeGroupSnapshotClass
	metadata:
	  name: $1
	  $ann
	driver: $DRIVER
	deletionPolicy: $2
	YAML
}
# members VGS: names of the VolumeSnapshots owned by group VGS (v1 ownerRef)
members() {
	kns get volumesnapshot -o json | jq -r --arg g "$1" \
		'.items[] | select(any(.metadata.ownerReferences[]?; .kind == "VolumeGroupSnapshot" and .name == $g and .apiVersion == "groupsnapshot.storage.k8s.io/v1")) | .metadata.name' | sort
}
n_members() { members "$1" | grep -c .; }
# member contents of a group: VSCs carrying the group's handle annotation
member_contents() { # group-handle
	"$K" get volumesnapshotcontent -o json | jq -r --arg h "$1" \
		'.items[] | select(.metadata.annotations["groupsnapshot.storage.k8s.io/volumeGroupSnapshotHandle"] == $h) | .metadata.name' | sort
}
has_members() { [ "$(n_members "$1")" = "$2" ]; }
has_member_contents() { [ -n "$(member_contents "$1")" ]; }
vgsc_ready() { [ "$("$K" get volumegroupsnapshotcontent "$1" -o jsonpath='{.status.readyToUse}' 2>/dev/null)" = true ]; }
vgs_error_is() { [ "$(jp volumegroupsnapshot "$1" '{.status.error.message}')" = "$2" ]; }
group_content() { jp volumegroupsnapshot "$1" '{.status.boundVolumeGroupSnapshotContentName}'; }
group_handle() { "$K" get volumegroupsnapshotcontent "$(group_content "$1")" -o jsonpath='{.status.volumeGroupSnapshotHandle}' 2>/dev/null; }
have_event() { # object reason [message-substring]
	kns get events --field-selector "involvedObject.name=$1,reason=$2" -o jsonpath='{range .items[*]}{.message}{"\n"}{end}' 2>/dev/null |
		grep -qF -- "${3:-}"
}

# check_group NAME: ready, exactly two members, each ready and bound to a
# content that points back, each from one of db1/db2
check_group() {
	local g=$1 m vsc pvcs=""
	t_wait 120 vgs_ready "$g" >/dev/null || { t_fail "group $g not ready: $(kns get volumegroupsnapshot "$g" -o jsonpath='{.status}')"; return 1; }
	t_wait 30 has_members "$g" 2 >/dev/null ||
		{ t_fail "group $g has $(n_members "$g") members"; return 1; }
	for m in $(members "$g"); do
		t_wait 60 vs_ready "$m" >/dev/null || { t_fail "member $m not ready"; return 1; }
		vsc=$(jp volumesnapshot "$m" '{.status.boundVolumeSnapshotContentName}')
		t_eq "$("$K" get vsc "$vsc" -o jsonpath='{.spec.volumeSnapshotRef.uid}')" "$(jp volumesnapshot "$m" '{.metadata.uid}')" "member content ref" || return 1
		t_eq "$("$K" get vsc "$vsc" -o jsonpath='{.metadata.annotations.groupsnapshot\.storage\.k8s\.io/volumeGroupSnapshotHandle}')" "$(group_handle "$g")" "handle annotation" || return 1
		t_eq "$("$K" get vsc "$vsc" -o jsonpath='{.spec.sourceVolumeMode}')" Filesystem "sourceVolumeMode" || return 1
		t_contains "$(jp volumesnapshot "$m" '{.metadata.finalizers}')" volumesnapshot-in-group-protection || return 1
		t_eq "$(jp volumesnapshot "$m" '{.status.volumeGroupSnapshotName}')" "$g" "volumeGroupSnapshotName" || return 1
		case "$m" in snapshot-????????????????????????????????????????????????????????????????) ;;
		*) t_fail "member name $m is not snapshot-<sha256>"; return 1 ;; esac
		pvcs="$pvcs $(jp volumesnapshot "$m" '{.spec.source.persistentVolumeClaimName}')"
	done
	t_eq "$(echo $pvcs | tr ' ' '\n' | sort | tr '\n' ' ')" "db1 db2 " "member PVCs" || return 1
	t_eq "$(member_contents "$(group_handle "$g")" | grep -c .)" 2 "member contents" || return 1
	t_contains "$(jp volumegroupsnapshot "$g" '{.metadata.finalizers}')" volumegroupsnapshot-bound-protection || return 1
	t_contains "$("$K" get volumegroupsnapshotcontent "$(group_content "$g")" -o jsonpath='{.metadata.finalizers}')" volumegroupsnapshotcontent-bound-protection
}

test_pvcs_bound() {
	make_pvc db1 "app: db" || return 1
	make_pvc db2 "app: db" || return 1
	make_pvc other "" || return 1
	local p
	for p in db1 db2 other; do t_wait 60 bound "$p" >/dev/null || return 1; done
}

test_match_labels_two_members() {
	make_vgs g1 "{matchLabels: {app: db}}" || return 1
	check_group g1 || return 1
	# the default group class was picked
	t_eq "$(jp volumegroupsnapshot g1 '{.spec.volumeGroupSnapshotClassName}')" csi-test-groupclass "default class" || return 1
	t_eq "$("$K" get volumegroupsnapshotcontent "$(group_content g1)" -o jsonpath='{.spec.source.volumeHandles}' | jq length)" 2 "content volumes" || return 1
	t_wait 10 have_event g1 GroupSnapshotReady "GroupSnapshot $NS/g1 is ready to use." >/dev/null || return 1
	t_wait 10 have_event g1 CreatingGroupSnapshot "Waiting for a group snapshot $NS/g1 to be created by the CSI driver." >/dev/null || return 1
	local m
	m=$(curl -s "http://127.0.0.1:$PORT/metrics")
	t_contains "$m" 'operation_name="CreateGroupSnapshotAndReady"' "metrics" || return 1
	t_contains "$m" 'operation_name="CreateGroupSnapshot"' "metrics"
}

test_restore_from_each_member() {
	local m i=0
	for m in $(members g1); do
		i=$((i + 1))
		make_pvc "restored$i" "" "  dataSource: {kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io, name: $m}" || return 1
	done
	t_eq "$i" 2 "members restored" || return 1
	t_wait 90 bound restored1 >/dev/null || return 1
	t_wait 90 bound restored2 >/dev/null
}

test_match_expressions_two_members() {
	make_vgs g2 "{matchExpressions: [{key: app, operator: In, values: [db]}]}" || return 1
	check_group g2 || return 1
	# upstream would have taken every PVC of the namespace (5 here)
	t_eq "$("$K" get volumegroupsnapshotcontent "$(group_content g2)" -o jsonpath='{.spec.source.volumeHandles}' | jq length)" 2 "content volumes"
}

test_member_delete_refused() {
	local m
	m=$(members g2 | head -1)
	[ -n "$m" ] || return 1
	kns delete volumesnapshot "$m" --wait=false >/dev/null || return 1
	t_wait 30 have_event "$m" SnapshotDeletePending "deletion of the individual volume snapshot $NS/$m is not allowed as it belongs to group snapshot $NS/g2. Deleting the group snapshot will trigger the deletion of all the individual volume snapshots that are part of the group." >/dev/null || return 1
	sleep 3
	kns get volumesnapshot "$m" >/dev/null 2>&1 || { t_fail "member $m went while its group exists"; return 1; }
	vs_ready "$m" || { t_fail "member $m lost readiness"; return 1; }
}

test_delete_policy_delete() {
	local c h vscs m
	c=$(group_content g2)
	h=$(group_handle g2)
	vscs=$(member_contents "$h")
	[ -n "$vscs" ] || return 1
	kns delete volumegroupsnapshot g2 --wait=false >/dev/null || return 1
	t_wait 90 gone kns get volumegroupsnapshot g2 || { t_fail "group stays: $(kns get volumegroupsnapshot g2 -o json | jq -c '.metadata')"; return 1; }
	t_wait 90 gone "$K" get volumegroupsnapshotcontent "$c" || return 1
	t_wait 90 has_members g2 0 >/dev/null ||
		{ t_fail "members left: $(members g2)"; return 1; }
	for m in $vscs; do t_wait 90 gone "$K" get volumesnapshotcontent "$m" || { t_fail "member content $m left"; return 1; }; done
}

test_delete_policy_retain() {
	local c h vscs m
	make_gclass "retain-$NS" Retain || return 1
	make_vgs g3 "{matchLabels: {app: db}}" "retain-$NS" || return 1
	check_group g3 || return 1
	c=$(group_content g3)
	h=$(group_handle g3)
	vscs=$(member_contents "$h")
	kns delete volumegroupsnapshot g3 --wait=false >/dev/null || return 1
	t_wait 90 gone kns get volumegroupsnapshot g3 || return 1
	t_wait 90 has_members g3 0 >/dev/null || return 1
	sleep 3
	"$K" get volumegroupsnapshotcontent "$c" >/dev/null 2>&1 || { t_fail "retained group content $c is gone"; return 1; }
	t_eq "$("$K" get volumegroupsnapshotcontent "$c" -o jsonpath='{.metadata.annotations.groupsnapshot\.storage\.kubernetes\.io/volumegroupsnapshot-being-deleted}')" yes "being-deleted" || return 1
	for m in $vscs; do "$K" get volumesnapshotcontent "$m" >/dev/null 2>&1 || { t_fail "retained member content $m is gone"; return 1; }; done
	t_eq "$(echo "$vscs" | grep -c .)" 2 "retained member contents" || return 1
	"$K" delete volumegroupsnapshotcontent "$c" --wait=false >/dev/null 2>&1
	for m in $vscs; do "$K" delete volumesnapshotcontent "$m" --wait=false >/dev/null 2>&1; done
	return 0
}

test_two_default_group_classes() {
	make_gclass "second-default-$NS" Delete default || return 1
	make_vgs g4 "{matchLabels: {app: db}}" || return 1
	local want="Failed to set default group snapshot class with error 2 default snapshot classes were found"
	t_wait 30 vgs_error_is g4 "$want" >/dev/null ||
		{ t_fail "status: $(jp volumegroupsnapshot g4 '{.status}')"; return 1; }
	t_wait 10 have_event g4 SetDefaultGroupSnapshotClassFailed "$want" >/dev/null || return 1
	"$K" delete volumegroupsnapshotclass "second-default-$NS" >/dev/null || return 1
	check_group g4
}

# The controller stops after the driver made the group snapshot but before any
# member exists; once it is back, the group ends with exactly two members.
test_restart_between_ready_and_members() {
	local uid h n
	stop_controller c1
	make_vgs g5 "{matchLabels: {app: db}}" csi-test-groupclass || return 1
	uid=$(jp volumegroupsnapshot g5 '{.metadata.uid}')
	# what the controller would have created before it stopped
	"$K" apply -f - >/dev/null <<-YAML || return 1
	apiVersion: $GAPI
	kind: VolumeGroupSnapshotContent
	metadata: {name: groupsnapcontent-$uid}
	spec:
	  deletionPolicy: Delete
	  driver: $DRIVER
	  volumeGroupSnapshotClassName: csi-test-groupclass
	  source: {volumeHandles: ["$("$K" get pv "$(jp pvc db1 '{.spec.volumeName}')" -o jsonpath='{.spec.csi.volumeHandle}')", "$("$K" get pv "$(jp pvc db2 '{.spec.volumeName}')" -o jsonpath='{.spec.csi.volumeHandle}')"]}
	  volumeGroupSnapshotRef: {apiVersion: $GAPI, kind: VolumeGroupSnapshot, name: g5, namespace: $NS, uid: $uid}
	YAML
	# the sidecar makes the group snapshot while no controller runs
	t_wait 60 vgsc_ready "groupsnapcontent-$uid" >/dev/null || return 1
	h=$("$K" get volumegroupsnapshotcontent "groupsnapcontent-$uid" -o jsonpath='{.status.volumeGroupSnapshotHandle}')
	t_eq "$(n_members g5)" 0 "members while stopped" || return 1
	start_controller c2 || return 1
	# kill -9 as soon as the first member appears, then start again
	t_wait 60 has_member_contents "$h" >/dev/null || return 1
	kill -9 "$(cat "$WORK/c2.pid")"
	rm -f "$WORK/c2.pid"
	start_controller c3 || return 1
	check_group g5 || return 1
	n=$(member_contents "$h" | grep -c .)
	t_eq "$n" 2 "member contents after restarts" || return 1
	# no orphans: every member content is bound to a member snapshot of g5
	local vsc ref
	for vsc in $(member_contents "$h"); do
		ref=$("$K" get vsc "$vsc" -o jsonpath='{.spec.volumeSnapshotRef.name}')
		members g5 | grep -qx "$ref" || { t_fail "member content $vsc refers to $ref, not a member"; return 1; }
	done
}

# Without the group CRDs the controller warns and runs the snapshot side
# (only on a cluster of our own: the CRDs are deleted).
test_no_group_crds() {
	local o
	stop_controller c3
	# no controller runs: let go of the group objects by hand, then the CRDs
	for o in $("$K" get volumegroupsnapshot -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}'); do
		"$K" -n "${o%%/*}" patch volumegroupsnapshot "${o#*/}" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
	done
	for o in $("$K" get volumegroupsnapshotcontent -o name); do
		"$K" patch "$o" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
	done
	timeout 120 "$K" delete crd volumegroupsnapshots.groupsnapshot.storage.k8s.io \
		volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io \
		volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io >/dev/null || return 1
	start_controller c4 || { t_fail "not ready without group CRDs: $(tail -5 "$WORK/c4.log")"; return 1; }
	t_wait 60 grep -Eq " W .*group snapshot (CRDs|support)" "$WORK/c4.log" >/dev/null || return 1
	kns apply -f - >/dev/null <<-YAML || return 1
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshot
	metadata: {name: plain1}
	spec:
	  source: {persistentVolumeClaimName: db1}
	YAML
	t_wait 60 vs_ready plain1 >/dev/null
}

t_run pvcs_bound test_pvcs_bound
t_run match_labels_two_members test_match_labels_two_members
t_run restore_from_each_member test_restore_from_each_member
t_run match_expressions_two_members test_match_expressions_two_members
t_run member_delete_refused test_member_delete_refused
t_run delete_policy_delete test_delete_policy_delete
t_run delete_policy_retain test_delete_policy_retain
t_run two_default_group_classes test_two_default_group_classes
t_run restart_between_ready_and_members test_restart_between_ready_and_members
[ "$own_cluster" = 1 ] && t_run no_group_crds test_no_group_crds
t_done
