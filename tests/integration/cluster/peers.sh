#!/usr/bin/env bash
# The CSI peers work against the real control plane before our controller
# exists: a PVC provisions and binds through the real csi-provisioner and the
# PV binder, and a VolumeSnapshotContent made by hand for that volume's handle
# is cut by the real csi-snapshotter and becomes readyToUse.
# Needs: KUBECONFIG, TOOLS_BIN, CLUSTER_DIR, CSI_DRIVER (tests/cluster/up + csi-up).
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib/t.sh"
T_SUITE=cluster-peers
k() { "$TOOLS_BIN/kubectl" "$@"; }
ns=peers-$$
uid=$(cat /proc/sys/kernel/random/uuid)

test_namespace_and_configmap() {
	k create namespace "$ns" >/dev/null || return 1
	k -n "$ns" create configmap c1 --from-literal=a=b >/dev/null || return 1
	t_eq "$(k -n "$ns" get configmap c1 -o jsonpath='{.data.a}')" b "configmap data"
}

test_pvc_binds() {
	k -n "$ns" apply -f - >/dev/null <<YAML || return 1
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: csi-test
  resources: {requests: {storage: 2Gi}}
YAML
	t_wait 60 bash -c "[ \"\$('$TOOLS_BIN/kubectl' -n $ns get pvc data -o jsonpath='{.status.phase}')\" = Bound ]" >/dev/null || return 1
	local pv
	pv=$(k -n "$ns" get pvc data -o jsonpath='{.spec.volumeName}')
	t_eq "$(k get pv "$pv" -o jsonpath='{.spec.csi.driver}')" "$CSI_DRIVER" "PV driver"
}

test_manual_content_ready() {
	local pv handle
	pv=$(k -n "$ns" get pvc data -o jsonpath='{.spec.volumeName}')
	handle=$(k get pv "$pv" -o jsonpath='{.spec.csi.volumeHandle}')
	[ -n "$handle" ] || t_fail "no volume handle on $pv" || return 1
	k apply -f - >/dev/null <<YAML || return 1
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: $ns-content}
spec:
  deletionPolicy: Delete
  driver: $CSI_DRIVER
  volumeSnapshotClassName: csi-test-snapclass
  source: {volumeHandle: "$handle"}
  volumeSnapshotRef: {name: never-created, namespace: $ns, uid: $uid}
YAML
	t_wait 60 bash -c "[ \"\$('$TOOLS_BIN/kubectl' get volumesnapshotcontent $ns-content -o jsonpath='{.status.readyToUse}')\" = true ]" >/dev/null || return 1
	t_eq "$(k get volumesnapshotcontent "$ns-content" -o jsonpath='{.status.restoreSize}')" 2147483648 "restoreSize" || return 1
	grep -q "CreateSnapshot name=snapshot-$uid " "$CLUSTER_DIR/csi-testdriver.log" ||
		t_fail "the driver never saw CreateSnapshot for snapshot-$uid"
}

cleanup() {
	k delete volumesnapshotcontent "$ns-content" --wait=false >/dev/null 2>&1
	k delete namespace "$ns" --wait=false >/dev/null 2>&1
}

t_run namespace_and_configmap test_namespace_and_configmap
t_run pvc_binds test_pvc_binds
t_run manual_content_ready test_manual_content_ready
cleanup
t_done
