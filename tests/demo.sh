#!/usr/bin/env bash
# tests/demo.sh -- `make demo`: the whole flow on a local control plane.
#   1. start a real control plane, the CSI peers (real csi-provisioner and
#      csi-snapshotter) and our snapshot-controller;
#   2. create a PVC and show it Bound;
#   3. snapshot it with the default VolumeSnapshotClass and show it ReadyToUse;
#   4. restore a PVC from the snapshot and show it Bound;
#   5. snapshot two labelled PVCs at once with a VolumeGroupSnapshot;
#   6. delete everything and show it gone.
# Set KEEP=1 to leave the cluster running at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "setup: Debian packages, upstream Go tools (cached), our binaries"
scripts/deps.sh
tests/tools/build.sh all
make -s -j2 all

say "1. control plane, CSI peers and snapshot-controller"
eval "$(tests/cluster/up demo)"
cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "cluster left running: . $CLUSTER_DIR/env; stop with tests/cluster/down $CLUSTER_DIR"
	else
		tests/cluster/down "$CLUSTER_DIR"
	fi
}
trap cleanup EXIT
tests/cluster/csi-up "$CLUSTER_DIR"
. "$CLUSTER_DIR/env"
k() { "$TOOLS_BIN/kubectl" "$@"; }
setsid bin/snapshot-controller --kubeconfig="$KUBECONFIG" --leader-election=false \
	--http-endpoint=127.0.0.1:0 --state-dir="$CLUSTER_DIR/state" >"$CLUSTER_DIR/snapshot-controller.log" 2>&1 &
echo "snapshot-controller $!" >>"$CLUSTER_DIR/pids"
sleep 1
kill -0 "$!" 2>/dev/null || { echo "snapshot-controller exited:"; tail "$CLUSTER_DIR/snapshot-controller.log"; exit 1; }
run k get storageclass,volumesnapshotclass

# wait_for SECONDS DESCRIPTION CMD...: poll until CMD succeeds.
wait_for() {
	local secs=$1 what=$2; shift 2
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			echo "timed out after ${secs}s waiting for $what; controller log:"
			tail -n 20 "$CLUSTER_DIR/snapshot-controller.log"
			exit 1
		fi
		sleep 0.5
	done
}
is() { [ "$(k "${@:2}")" = "$1" ]; }

say "2. a PVC, provisioned by the real csi-provisioner"
k create namespace demo >/dev/null
run k -n demo apply -f - <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, labels: {app: db}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML
wait_for 60 "PVC Bound" is Bound -n demo get pvc data -o 'jsonpath={.status.phase}'
run k -n demo get pvc data

say "3. a VolumeSnapshot with the default class"
run k -n demo apply -f - <<'YAML'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap1}
spec:
  source: {persistentVolumeClaimName: data}
YAML
wait_for 60 "VolumeSnapshot ready" is true -n demo get volumesnapshot snap1 -o 'jsonpath={.status.readyToUse}'
run k -n demo get volumesnapshot snap1
run k get volumesnapshotcontent

say "4. restore a PVC from the snapshot"
run k -n demo apply -f - <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: restored}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap1}
YAML
wait_for 60 "restored PVC Bound" is Bound -n demo get pvc restored -o 'jsonpath={.status.phase}'
run k -n demo get pvc

say "5. a VolumeGroupSnapshot of the PVCs labelled app=db"
run k -n demo apply -f - <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: logs, labels: {app: db}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: groupsnapshot.storage.k8s.io/v1beta2
kind: VolumeGroupSnapshot
metadata: {name: db-group}
spec:
  source: {selector: {matchLabels: {app: db}}}
YAML
wait_for 90 "group snapshot ready" is true -n demo get volumegroupsnapshot db-group -o 'jsonpath={.status.readyToUse}'
run k -n demo get volumegroupsnapshot,volumesnapshot

say "6. delete everything"
run k -n demo delete volumegroupsnapshot --all --wait=true --timeout=60s
run k -n demo delete pvc restored --wait=true --timeout=60s
run k -n demo delete volumesnapshot --all --wait=true --timeout=60s
run k -n demo delete pvc --all --wait=true --timeout=60s
wait_for 60 "contents deleted" is "" get volumesnapshotcontent -o 'jsonpath={.items[*].metadata.name}'
run k get volumesnapshotcontent,pv
say "demo complete"
