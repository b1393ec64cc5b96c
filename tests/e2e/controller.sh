#!/usr/bin/env bash
# tests/e2e/controller.sh -- the snapshot-controller against a REAL control
# plane (tests/cluster/up) with the REAL csi-provisioner, csi-snapshotter and
# the CSI test driver (tests/cluster/csi-up).
#
# The controller runs as a ServiceAccount with exactly deploy/controller's RBAC
# (tests/integration/deploy/sa-kubeconfig.sh: a token kubeconfig), with leader
# election on, like the Deployment; each replica has its own hostname.
#
# Usage: tests/e2e/controller.sh            (starts and stops its own cluster)
#        KUBECONFIG=.. CLUSTER_DIR=.. TOOLS_BIN=.. tests/e2e/controller.sh   (reuse one)
# Env: CONTROLLER (binary; default bin/snapshot-controller), KEEP=1 keeps the
# cluster of a failed run.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/lib/e2e.sh"
e2e_controller_bin
e2e_cluster e2e.controller e2e-ctrl
ADMIN_KC=$KUBECONFIG
WORK=$(mktemp -d /tmp/e2e-ctrl-XXXX)
NS=e2e-ctrl-$$
DRIVER=testdriver.csi.k8s.io

cleanup() {
	local p
	for p in "$WORK"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	for p in "$WORK"/*.pid; do # a graceful exit flushes queued events: give it 15 s
		[ -f "$p" ] || continue
		for _ in $(seq 1 30); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$(cat "$p")" 2>/dev/null
	done
	e2e_controller_teardown
}
trap cleanup EXIT

# ---- the controller, as the deploy/ ServiceAccount ---------------------------
# tests/integration/deploy/sa-kubeconfig.sh applies deploy/controller's RBAC
# with the ServiceAccount in its own namespace and writes a token kubeconfig.
SA_NS=e2e-ctrl-sa-$$
SA_KC=$WORK/sa.kubeconfig
e2e_controller_sa

# Each replica gets its own hostname (its leader-election identity, as in a
# pod) from a private UTS namespace when we may make one.
UTS=0
unshare -u true 2>/dev/null && UTS=1

# start_controller NAME PORT [extra flags...]: runs in the background, pid in $WORK/NAME.pid
start_controller() {
	local name=$1 port=$2 pre=()
	shift 2
	[ "$UTS" = 1 ] && pre=(unshare -u sh -c 'hostname "$0" && exec "$@"' "replica-$name")
	POD_NAMESPACE=$SA_NS "${pre[@]}" "$CONTROLLER" --kubeconfig="$SA_KC" --leader-election=true \
		--leader-election-lease-duration=4s --leader-election-renew-deadline=3s \
		--leader-election-retry-period=1s --http-endpoint=127.0.0.1:"$port" \
		--state-dir="$WORK/state-$name" --retry-interval-max=5s -v=4 "$@" \
		>"$WORK/$name.log" 2>&1 &
	echo $! >"$WORK/$name.pid"
}
PORT1=$((20000 + $$ % 10000))
PORT2=$((PORT1 + 1))
start_controller c1 "$PORT1"
t_wait 60 curl -sf "http://127.0.0.1:$PORT1/readyz" >/dev/null || { cat "$WORK/c1.log"; exit 1; }
"$K" create ns "$NS" >/dev/null

kns() { "$K" -n "$NS" "$@"; }
jp() { kns get "$1" "$2" -o "jsonpath=$3" 2>/dev/null; }

make_pvc() { # name [extra spec yaml]
	kns apply -f - >/dev/null <<-YAML
	apiVersion: v1
	kind: PersistentVolumeClaim
	metadata: {name: $1}
	spec:
	  accessModes: [ReadWriteOnce]
	  resources: {requests: {storage: 1Gi}}
	${2:-}
	YAML
}
make_vs() { # name pvc [class]
	local cls=""
	[ -n "${3:-}" ] && cls="volumeSnapshotClassName: $3"
	kns apply -f - >/dev/null <<-YAML
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshot
	metadata: {name: $1}
	spec:
	  $cls
	  source: {persistentVolumeClaimName: $2}
	YAML
}
make_class() { # name policy [default] [driver]
	local ann=""
	[ "${3:-}" = default ] && ann='annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}'
	"$K" apply -f - >/dev/null <<-YAML
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshotClass
	metadata:
	  name: $1
	  $ann
	driver: ${4:-$DRIVER}
	deletionPolicy: $2
	YAML
}
ready() { [ "$(jp volumesnapshot "$1" '{.status.readyToUse}')" = true ]; }
bound() { [ "$(jp pvc "$1" '{.status.phase}')" = Bound ]; }
gone() { ! "$@" >/dev/null 2>&1; }

test_dynamic_default_class_ready() {
	make_pvc src1 || return 1
	t_wait 60 bound src1 >/dev/null || return 1
	make_vs snap1 src1 || return 1
	t_wait 60 ready snap1 >/dev/null || return 1
	t_eq "$(jp volumesnapshot snap1 '{.spec.volumeSnapshotClassName}')" csi-test-snapclass "default class" || return 1
	t_eq "$(jp volumesnapshot snap1 '{.status.restoreSize}')" 1Gi "restoreSize" || return 1
	local c
	c=$(jp volumesnapshot snap1 '{.status.boundVolumeSnapshotContentName}')
	t_eq "$c" "snapcontent-$(jp volumesnapshot snap1 '{.metadata.uid}')" "content name" || return 1
	t_contains "$("$K" get vsc "$c" -o jsonpath='{.metadata.finalizers}')" volumesnapshotcontent-bound-protection || return 1
	t_contains "$(jp volumesnapshot snap1 '{.metadata.finalizers}')" volumesnapshot-as-source-protection || return 1
	t_contains "$(jp volumesnapshot snap1 '{.metadata.finalizers}')" volumesnapshot-bound-protection || return 1
	t_eq "$("$K" get vsc "$c" -o jsonpath='{.spec.sourceVolumeMode}')" Filesystem "sourceVolumeMode" || return 1
	t_wait 10 sh -c "'$K' -n '$NS' get events --field-selector involvedObject.name=snap1 | grep -q SnapshotReady" >/dev/null || return 1
	# the PVC finalizer went away once the snapshot was ready
	t_wait 20 sh -c "! '$K' -n '$NS' get pvc src1 -o jsonpath='{.metadata.finalizers}' | grep -q pvc-as-source" >/dev/null
}

test_restore_binds() {
	make_pvc restored1 "  dataSource: {kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io, name: snap1}" || return 1
	t_wait 60 bound restored1 >/dev/null
}

test_preprovisioned_binds() {
	local h
	h=$("$K" get vsc "$(jp volumesnapshot snap1 '{.status.boundVolumeSnapshotContentName}')" -o jsonpath='{.status.snapshotHandle}')
	[ -n "$h" ] || return 1
	"$K" apply -f - >/dev/null <<-YAML || return 1
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshotContent
	metadata: {name: pre-$NS}
	spec:
	  deletionPolicy: Retain
	  driver: $DRIVER
	  source: {snapshotHandle: "$h"}
	  volumeSnapshotRef: {name: pre1, namespace: $NS}
	YAML
	kns apply -f - >/dev/null <<-YAML || return 1
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshot
	metadata: {name: pre1}
	spec:
	  source: {volumeSnapshotContentName: pre-$NS}
	YAML
	t_wait 60 ready pre1 >/dev/null || return 1
	t_eq "$("$K" get vsc "pre-$NS" -o jsonpath='{.spec.volumeSnapshotRef.uid}')" "$(jp volumesnapshot pre1 '{.metadata.uid}')" "bound uid"
}

test_two_default_classes_error() {
	make_class second-default-$NS Delete default || return 1
	make_vs snap2 src1 || return 1
	local want="Failed to set default snapshot class with error 2 default snapshot classes were found"
	t_wait 30 sh -c "'$K' -n '$NS' get vs snap2 -o jsonpath='{.status.error.message}' | grep -qx '$want'" >/dev/null || return 1
	t_wait 10 sh -c "'$K' -n '$NS' get events --field-selector involvedObject.name=snap2,reason=SetDefaultSnapshotClassFailed -o name | grep -q ." >/dev/null || return 1
	"$K" delete volumesnapshotclass second-default-$NS >/dev/null || return 1
	# the retry picks the single default once the second one is gone
	t_wait 60 ready snap2 >/dev/null
}

test_delete_policy_delete() {
	local c h
	c=$(jp volumesnapshot snap2 '{.status.boundVolumeSnapshotContentName}')
	h=$("$K" get vsc "$c" -o jsonpath='{.status.snapshotHandle}')
	kns delete vs snap2 --wait=false >/dev/null || return 1
	t_wait 60 gone "$K" get vsc "$c" || return 1
	t_wait 60 gone kns get vs snap2 || return 1
	t_wait 10 grep -q "DeleteSnapshot id=$h\\b" "$CLUSTER_DIR/csi-testdriver.log" >/dev/null || {
		t_fail "the driver did not delete snapshot $h"; return 1; }
}

test_delete_policy_retain() {
	make_class retain-$NS Retain || return 1
	make_vs snap3 src1 "retain-$NS" || return 1
	t_wait 60 ready snap3 >/dev/null || return 1
	local c h
	c=$(jp volumesnapshot snap3 '{.status.boundVolumeSnapshotContentName}')
	h=$("$K" get vsc "$c" -o jsonpath='{.status.snapshotHandle}')
	kns delete vs snap3 >/dev/null || return 1
	t_wait 30 gone kns get vs snap3 || return 1
	sleep 2
	"$K" get vsc "$c" >/dev/null 2>&1 || { t_fail "Retain content $c was deleted"; return 1; }
	t_eq "$("$K" get vsc "$c" -o jsonpath='{.metadata.annotations.snapshot\.storage\.kubernetes\.io/volumesnapshot-being-deleted}')" yes "being-deleted" || return 1
	! grep -q "DeleteSnapshot id=$h\\b" "$CLUSTER_DIR/csi-testdriver.log" || { t_fail "physical snapshot $h deleted"; return 1; }
	"$K" delete vsc "$c" --wait=false >/dev/null
}

# A class of a driver nobody serves keeps the snapshot unready: the PVC's
# deletion waits on pvc-as-source-protection until the snapshot goes.
test_pvc_deletion_waits_for_unready() {
	make_class nobody-$NS Delete "" nobody.csi.example.com || return 1
	make_pvc src2 || return 1
	t_wait 60 bound src2 >/dev/null || return 1
	make_vs stuck src2 "nobody-$NS" || return 1
	t_wait 30 sh -c "'$K' -n '$NS' get pvc src2 -o jsonpath='{.metadata.finalizers}' | grep -q pvc-as-source-protection" >/dev/null || return 1
	kns delete pvc src2 --wait=false >/dev/null || return 1
	sleep 3
	[ -n "$(jp pvc src2 '{.metadata.deletionTimestamp}')" ] || { t_fail "PVC was not kept"; return 1; }
	local c
	c=$(jp volumesnapshot stuck '{.status.boundVolumeSnapshotContentName}')
	kns delete vs stuck --wait=false >/dev/null || return 1
	t_wait 60 gone kns get pvc src2 || return 1
	# nobody serves that driver: release its content by hand
	[ -z "$c" ] || "$K" patch vsc "$c" --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null 2>&1
	t_wait 30 gone kns get vs stuck
}

# Bad input: upstream's status errors and events, retried with backoff,
# without blocking anything else.
test_bad_input() {
	make_vs bad-pvc no-such-claim csi-test-snapclass || return 1
	local want="Failed to create snapshot content with error snapshot controller failed to update bad-pvc on API server: cannot get claim from snapshot"
	t_wait 30 sh -c "'$K' -n '$NS' get vs bad-pvc -o jsonpath='{.status.error.message}' | grep -qxF '$want'" >/dev/null || return 1
	t_eq "$(jp volumesnapshot bad-pvc '{.status.readyToUse}')" false "readyToUse" || return 1
	make_vs bad-class src1 no-such-class || return 1
	want='Failed to get snapshot class with error volumesnapshotclass.snapshot.storage.k8s.io "no-such-class" not found'
	t_wait 30 sh -c "'$K' -n '$NS' get vs bad-class -o jsonpath='{.status.error.message}' | grep -qxF '$want'" >/dev/null || return 1
	# a non-CSI volume, bound by the PV controller
	"$K" apply -f - >/dev/null <<-YAML || return 1
	apiVersion: v1
	kind: PersistentVolume
	metadata: {name: hostpath-$NS}
	spec:
	  capacity: {storage: 1Gi}
	  accessModes: [ReadWriteOnce]
	  storageClassName: ""
	  hostPath: {path: /tmp/nowhere}
	  claimRef: {namespace: $NS, name: legacy}
	YAML
	make_pvc legacy "  storageClassName: \"\"
  volumeName: hostpath-$NS" || return 1
	t_wait 60 bound legacy >/dev/null || return 1
	make_vs bad-legacy legacy || return 1
	want="Failed to set default snapshot class with error snapshotting non-CSI volumes is not supported, snapshot:$NS/bad-legacy"
	t_wait 30 sh -c "'$K' -n '$NS' get vs bad-legacy -o jsonpath='{.status.error.message}' | grep -qxF '$want'" >/dev/null || return 1
	t_wait 10 sh -c "'$K' -n '$NS' get events --field-selector involvedObject.name=bad-legacy,reason=SetDefaultSnapshotClassFailed -o name | grep -q ." >/dev/null || return 1
	# the failures are retried with backoff, and other snapshots still work
	local r
	r=$(curl -s "http://127.0.0.1:$PORT1/metrics" | awk '$1 == "snapshot_controller_queue_retries_total{queue=\"snapshot-controller-snapshot\"}" {print $2}')
	[ "${r:-0}" -gt 0 ] || { t_fail "no retries counted"; return 1; }
	make_vs good-after-bad src1 || return 1
	t_wait 60 ready good-after-bad >/dev/null || return 1
	kns delete vs bad-pvc bad-class bad-legacy good-after-bad --wait=false >/dev/null
	t_wait 60 gone kns get vs bad-legacy || return 1
	kns delete pvc legacy --wait=false >/dev/null
	"$K" delete pv "hostpath-$NS" --wait=false >/dev/null
}

test_metrics_and_health() {
	local m
	m=$(curl -sf "http://127.0.0.1:$PORT1/metrics") || return 1
	t_contains "$m" 'snapshot_controller_operation_total_seconds_count{driver_name="testdriver.csi.k8s.io",operation_name="CreateSnapshotAndReady",operation_status="success",snapshot_type="dynamic"}' || return 1
	t_contains "$m" 'snapshot_controller_queue_depth{queue="snapshot-controller-snapshot"}' || return 1
	# the snapshots made so far had events (SnapshotCreated, SnapshotReady): created, none dropped
	local created dropped
	created=$(awk '$1 == "snapshot_controller_events_total{result=\"created\"}" {print $2}' <<<"$m")
	dropped=$(awk '$1 == "snapshot_controller_events_total{result=\"dropped_queue_full\"}" {print $2}' <<<"$m")
	[ "${created:-0}" -gt 0 ] || { t_fail "events created: '$created'"; return 1; }
	t_eq "$dropped" 0 "events dropped for a full queue" || return 1
	t_eq "$(curl -s "http://127.0.0.1:$PORT1/healthz/leader-election")" ok || return 1
	t_eq "$(curl -s "http://127.0.0.1:$PORT1/healthz")" ok
}

# Two replicas; kill -9 the leader while 10 snapshots are being made: all
# become ready, each has exactly one content, and the survivor takes over.
test_leader_failover() {
	[ "$UTS" = 1 ] || { t_fail "cannot give the replicas distinct hostnames (unshare -u)"; return 1; }
	start_controller c2 "$PORT2"
	t_wait 30 curl -sf "http://127.0.0.1:$PORT2/healthz" >/dev/null || return 1
	t_eq "$("$K" -n "$SA_NS" get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}')" replica-c1 "holder" || return 1
	t_wait 20 grep -q "new leader elected: replica-c1" "$WORK/c2.log" >/dev/null || return 1
	local i
	for i in $(seq 1 10); do make_vs "ha$i" src1 || return 1; done
	sleep 2
	! grep -q "became leader" "$WORK/c2.log" || { t_fail "the standby led while the leader lived"; return 1; }
	t_eq "$(curl -s "http://127.0.0.1:$PORT2/metrics" | grep '^snapshot_controller_leader ')" "snapshot_controller_leader 0" || return 1
	kill -9 "$(cat "$WORK/c1.pid")"
	for i in $(seq 11 20); do make_vs "ha$i" src1 || return 1; done
	for i in $(seq 1 20); do t_wait 90 ready "ha$i" >/dev/null || return 1; done
	t_wait 30 grep -q "became leader" "$WORK/c2.log" >/dev/null || return 1
	t_eq "$("$K" -n "$SA_NS" get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}')" replica-c2 "new holder" || return 1
	local n
	n=$("$K" get vsc -o jsonpath='{range .items[*]}{.spec.volumeSnapshotRef.namespace}/{.spec.volumeSnapshotRef.name}{"\n"}{end}' | grep -c "^$NS/ha")
	t_eq "$n" 20 "contents for 20 snapshots" || return 1
	n=$(grep -c "CreateSnapshot name=snapshot-" "$CLUSTER_DIR/csi-testdriver.log")
	[ "$n" -ge 20 ] || { t_fail "driver saw $n creates"; return 1; }
}

t_run dynamic_default_class_ready test_dynamic_default_class_ready
t_run restore_binds test_restore_binds
t_run preprovisioned_binds test_preprovisioned_binds
t_run two_default_classes_error test_two_default_classes_error
t_run delete_policy_delete test_delete_policy_delete
t_run delete_policy_retain test_delete_policy_retain
t_run pvc_deletion_waits_for_unready test_pvc_deletion_waits_for_unready
t_run bad_input test_bad_input
t_run metrics_and_health test_metrics_and_health
t_run leader_failover test_leader_failover
"$K" delete volumesnapshotclass "retain-$NS" "nobody-$NS" --ignore-not-found >/dev/null 2>&1
t_done
