#!/usr/bin/env bash
# tests/e2e/controller-demo.sh -- the whole story on a local control plane:
#   1. start the control plane, the CSI peers and the snapshot-controller
#   2. create a PVC
#   3. snapshot it with the default class and watch it become ReadyToUse
#   4. restore a PVC from the snapshot and watch it bind
#   5. delete everything cleanly
# Each step prints its `kubectl get` output.  Env: CONTROLLER (binary).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
CONTROLLER=${CONTROLLER:-$top/bin/snapshot-controller}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { echo "\$ kubectl $*"; "$K" "$@"; }
wait_for() { # seconds, command...
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || { echo "timed out: $*" >&2; return 1; }
		sleep 0.5
	done
}

step "1. control plane, CSI driver + csi-provisioner + csi-snapshotter, snapshot-controller"
eval "$("$top/tests/cluster/up" demo)"
"$top/tests/cluster/csi-up" "$CLUSTER_DIR"
K="$TOOLS_BIN/kubectl"
LOG=$CLUSTER_DIR/snapshot-controller.log
"$CONTROLLER" --kubeconfig="$KUBECONFIG" --state-dir="$CLUSTER_DIR/controller-state" \
	--http-endpoint=127.0.0.1:0 >"$LOG" 2>&1 &
cpid=$!
trap 'kill $cpid 2>/dev/null; wait $cpid 2>/dev/null; "$top/tests/cluster/down" "$CLUSTER_DIR" >/dev/null' EXIT
wait_for 30 grep -q "caches synced" "$LOG"
show get volumesnapshotclass

step "2. a PVC"
"$K" apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML
wait_for 60 sh -c "[ \"\$('$K' get pvc data -o jsonpath='{.status.phase}')\" = Bound ]"
show get pvc data

step "3. a VolumeSnapshot with the default class"
"$K" apply -f - <<YAML
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: data-snap}
spec:
  source: {persistentVolumeClaimName: data}
YAML
wait_for 60 sh -c "[ \"\$('$K' get volumesnapshot data-snap -o jsonpath='{.status.readyToUse}')\" = true ]"
show get volumesnapshot data-snap
show get volumesnapshotcontent

step "4. restore a PVC from it"
"$K" apply -f - <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data-restored}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {kind: VolumeSnapshot, apiGroup: snapshot.storage.k8s.io, name: data-snap}
YAML
wait_for 60 sh -c "[ \"\$('$K' get pvc data-restored -o jsonpath='{.status.phase}')\" = Bound ]"
show get pvc

step "5. delete everything"
"$K" delete pvc data-restored
"$K" delete volumesnapshot data-snap
"$K" delete pvc data
wait_for 60 sh -c "[ -z \"\$('$K' get volumesnapshotcontent -o name)\" ]"
wait_for 60 sh -c "[ -z \"\$('$K' get pv -o name)\" ]"
show get volumesnapshot,volumesnapshotcontent,pvc,pv
echo
echo "driver log (one line per CSI call):"
cat "$CLUSTER_DIR/csi-testdriver.log"
