#!/usr/bin/env bash
# tests/integration/deploy/controller_rbac.sh -- the REAL snapshot-controller,
# running with a token for a ServiceAccount bound to exactly deploy/'s RBAC
# (sa-kubeconfig.sh), drives a snapshot through creation and deletion without
# a single 403.
#
# No CSI driver is needed: a pre-bound PV/PVC pair with a made-up driver name
# is enough for the controller's own steps (nothing else acts on that driver):
#   Lease get/create/update; list/watch of VS, VSC, classes, PVCs, PVs;
#   PATCH of the PVC (pvc-as-source-protection finalizer, added then removed),
#   CREATE of the VolumeSnapshotContent, PATCH of the VS (finalizers) and of
#   VS /status (bound name), Events (create), and on deletion PATCH of the
#   content (being-deleted annotation) and DELETE of the content.
# The content keeps the finalizer the CSI sidecar would remove; the test
# removes it as admin at the end.
#
# Needs KUBECONFIG, TOOLS_BIN and the controller binary ($SC_BIN, default
# bin/; without it the test reports itself skipped).  The controller acts on
# the whole cluster for the ~20 s it runs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/lib/it.sh"
it_setup deploy.controller_rbac snapshot-controller
NS=ctlrbac-$RUN
DRIVER=rbac-$RUN.example.com
TMP=$(mktemp -d)
CPID=

cleanup() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	local c
	for c in $("$K" get vsc -o jsonpath="{range .items[?(@.spec.driver==\"$DRIVER\")]}{.metadata.name}{\" \"}{end}" 2>/dev/null); do
		"$K" patch vsc "$c" --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1
		"$K" delete vsc "$c" --wait=false --ignore-not-found >/dev/null 2>&1
	done
	"$K" -n "$NS" patch vs snap1 --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1
	"$K" -n "$NS" patch pvc pvc1 --type=json -p '[{"op":"remove","path":"/metadata/finalizers/1"}]' >/dev/null 2>&1
	"$K" delete vsclass "cls-$RUN" --ignore-not-found >/dev/null 2>&1
	"$here/sa-kubeconfig.sh" --delete "$CLUSTER_DIR" "$NS" snapshot-controller >/dev/null 2>&1
	"$K" delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
	"$K" delete pv "pv-$RUN" --wait=false --ignore-not-found >/dev/null 2>&1
	[ "${KEEP_LOG:-0}" = 1 ] && cp "$TMP/controller.log" "/tmp/$T_SUITE-$RUN.log"
	rm -rf "$TMP"
}
trap cleanup EXIT
"$K" apply -k "$top/crds" >/dev/null || exit 1
"$K" wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=volume-snapshot >/dev/null || exit 1

# Every 403 but one kind: the controller acts on the whole shared cluster, and
# an object another test left in a namespace being deleted gets its Events
# refused by the API server's NamespaceLifecycle admission ("unable to create
# new content in namespace X because it is being terminated"), which is not RBAC.
forbidden_in_log() {
	grep -i -E 'forbidden|\b403\b' "$TMP/controller.log" | grep -v 'because it is being terminated'
}
vs_field() { "$K" -n "$NS" get vs snap1 -o jsonpath="$1" 2>/dev/null; }

test_create() {
	"$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-controller "$TMP/sa.kubeconfig" 2>/dev/null ||
		{ t_fail "sa-kubeconfig.sh failed"; return 1; }
	"$K" apply -f - >/dev/null <<E || return 1
apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-$RUN}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: ""
  claimRef: {namespace: $NS, name: pvc1}
  csi: {driver: $DRIVER, volumeHandle: vol-1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pvc1, namespace: $NS}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  volumeName: pv-$RUN
  resources: {requests: {storage: 1Gi}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: cls-$RUN}
driver: $DRIVER
deletionPolicy: Delete
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap1, namespace: $NS}
spec: {volumeSnapshotClassName: cls-$RUN, source: {persistentVolumeClaimName: pvc1}}
E
	mkdir -p "$TMP/state"
	"$SC_BIN/snapshot-controller" --kubeconfig="$TMP/sa.kubeconfig" --leader-election=true \
		--leader-election-namespace="$NS" --state-dir="$TMP/state" --v=4 >"$TMP/controller.log" 2>&1 &
	CPID=$!
	echo "$CPID" >"$TMP/pid"
	local bound
	bound=$(t_wait 60 sh -c "\"$K\" -n \"$NS\" get vs snap1 -o jsonpath='{.status.boundVolumeSnapshotContentName}' | grep ." ) ||
		{ t_fail "the controller never bound the snapshot; log:"$'\n'"$(tail -20 "$TMP/controller.log")"; return 1; }
	local uid
	uid=$(vs_field '{.metadata.uid}')
	t_eq "$bound" "snapcontent-$uid" "content name" || return 1
	t_eq "$("$K" get vsc "$bound" -o jsonpath='{.spec.driver} {.spec.source.volumeHandle} {.spec.volumeSnapshotRef.name}')" "$DRIVER vol-1 snap1" content || return 1
	t_wait 30 sh -c "\"$K\" -n \"$NS\" get vs snap1 -o jsonpath='{.metadata.finalizers}' | grep -q volumesnapshot-as-source-protection" >/dev/null || return 1
	t_wait 30 sh -c "\"$K\" -n \"$NS\" get pvc pvc1 -o jsonpath='{.metadata.finalizers}' | grep -q pvc-as-source-protection" >/dev/null || return 1
	t_wait 30 sh -c "\"$K\" -n \"$NS\" get events -o jsonpath='{.items[*].reason}' | grep -q CreatingSnapshot" >/dev/null || return 1
	t_eq "$("$K" -n "$NS" get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}' | grep -c .)" 1 lease || return 1
	local f
	f=$(forbidden_in_log) && { t_fail "403 in the controller log: $f"; return 1; }
	return 0
}

test_delete() {
	[ -n "$(vs_field '{.status.boundVolumeSnapshotContentName}')" ] || { t_fail "needs the create test"; return 1; }
	local c
	c=$(vs_field '{.status.boundVolumeSnapshotContentName}')
	"$K" -n "$NS" delete vs snap1 --wait=false >/dev/null || return 1
	# being-deleted annotation first, then the content is deleted (it waits on the sidecar's finalizer).
	t_wait 60 sh -c "\"$K\" get vsc \"$c\" -o jsonpath='{.metadata.deletionTimestamp}' | grep ." >/dev/null ||
		{ t_fail "content not deleted; log:"$'\n'"$(tail -20 "$TMP/controller.log")"; return 1; }
	t_eq "$("$K" get vsc "$c" -o jsonpath='{.metadata.annotations.snapshot\.storage\.kubernetes\.io/volumesnapshot-being-deleted}')" yes being-deleted || return 1
	# No unready snapshot names the PVC any more: its finalizer goes.
	t_wait 30 sh -c "! \"$K\" -n \"$NS\" get pvc pvc1 -o jsonpath='{.metadata.finalizers}' | grep -q pvc-as-source-protection" >/dev/null || return 1
	# Play the sidecar: drop the content finalizer; the controller then releases the snapshot.
	"$K" patch vsc "$c" --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null || return 1
	t_wait 60 sh -c "! \"$K\" -n \"$NS\" get vs snap1 >/dev/null 2>&1" >/dev/null ||
		{ t_fail "snapshot not released; log:"$'\n'"$(tail -20 "$TMP/controller.log")"; return 1; }
	local f
	f=$(forbidden_in_log) && { t_fail "403 in the controller log: $f"; return 1; }
	kill -0 "$(cat "$TMP/pid")" 2>/dev/null || { t_fail "the controller exited:"$'\n'"$(tail -20 "$TMP/controller.log")"; return 1; }
}

# Both tests share the controller started by the first; t_run's subshell keeps
# CPID from the parent, so start/stop bookkeeping goes through $TMP/pid.
t_run create_with_deploy_rbac test_create
t_run delete_with_deploy_rbac test_delete
[ -f "$TMP/pid" ] && CPID=$(cat "$TMP/pid")
t_done
