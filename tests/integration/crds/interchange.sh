#!/usr/bin/env bash
# tests/integration/crds/interchange.sh -- crds/ is interchangeable with
# upstream external-snapshotter v8.6.0's CRDs (and is what crds/hack/gen.sh
# writes).
#
#   - shape: with descriptions dropped and each CEL rule reduced to its
#     message, every CRD in crds/ equals upstream's (versions, served/storage,
#     deprecation, names, scope, columns, schemas, enums, required fields,
#     int-or-string, atomic maps, subresources, rule placement and order).
#     The rules' behaviour is covered by cel.sh, which also passes with
#     CRDS_DIR pointing at upstream's CRDs.
#   - switch: on a REAL API server, objects of every kind written under
#     upstream's CRDs read back unchanged after `kubectl apply -k crds`, can be
#     updated, and read back unchanged after switching back to upstream's:
#     no storage migration, no object rejected.
#
# Upstream's CRDs are read (never copied into the repo) from UPSTREAM_CRDS or
# from the Go module cache that tests/tools/build.sh fills
# (github.com/kubernetes-csi/external-snapshotter/client/v8@v8.6.0/config/crd).
# Without them the tests are reported as skipped.  Needs KUBECONFIG and
# TOOLS_BIN.  Leaves crds/ applied; works in its own namespace.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib/it.sh"
it_setup crds.interchange
modcache=$(GOTOOLCHAIN=local go env GOMODCACHE 2>/dev/null || echo "$HOME/go/pkg/mod")
U=${UPSTREAM_CRDS:-$modcache/github.com/kubernetes-csi/external-snapshotter/client/v8@v8.6.0/config/crd}
# crds/*.yaml must be exactly what crds/hack/gen.sh writes.
test_generated_in_sync() {
	local d
	d=$(mktemp -d)
	"$top/crds/hack/gen.sh" "$d" || { rm -rf "$d"; t_fail "crds/hack/gen.sh failed"; return 1; }
	if ! diff -r -x kustomization.yaml -x hack "$d" "$top/crds" >"$d.diff" 2>&1; then
		t_fail "crds/ differs from crds/hack/gen.sh's output (edit the script and rerun it):"$'\n'"$(head -30 "$d.diff")"
		rm -rf "$d" "$d.diff"
		return 1
	fi
	rm -rf "$d" "$d.diff"
}
if [ ! -f "$U/kustomization.yaml" ]; then
	t_run generated_in_sync test_generated_in_sync
	echo "SKIP $T_SUITE: upstream CRDs not found at $U (set UPSTREAM_CRDS); shape and switch not checked"
	t_done
	exit
fi
NS=xchg-$RUN
P=xchg-$RUN
TMP=$(mktemp -d)
cleanup() {
	"$K" apply -k "$top/crds" >/dev/null 2>&1
	"$K" delete vsc,vsclass,vgsc,vgsclass -l "sc-test=$P" --ignore-not-found --wait=false >/dev/null 2>&1
	"$K" delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT

NORM='walk(if type == "object" then del(.description) else . end)
	| del(.metadata.labels, .metadata.annotations["controller-gen.kubebuilder.io/version"], .metadata.creationTimestamp, .status)
	| .spec.versions |= (map(.schema.openAPIV3Schema |= walk(if type == "object" and has("x-kubernetes-validations")
		then .["x-kubernetes-validations"] |= map(.message) else . end)) | sort_by(.name))'
test_shape() {
	local f b n=0
	for f in "$top"/crds/*.yaml; do
		b=$(basename "$f")
		[ "$b" = kustomization.yaml ] && continue
		[ -f "$U/$b" ] || { t_fail "upstream has no $b"; return 1; }
		if ! diff <(yq -S "$NORM" "$U/$b") <(yq -S "$NORM" "$f") >"$TMP/diff"; then
			t_fail "$b differs from upstream's:"$'\n'"$(head -40 "$TMP/diff")"
			return 1
		fi
		n=$((n + 1))
	done
	t_eq "$n" 6 "CRDs compared"
}

wait_established() {
	"$K" wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=volume-snapshot >/dev/null 2>&1 || true
	"$K" wait --for=condition=Established --timeout=60s \
		crd/volumesnapshots.snapshot.storage.k8s.io crd/volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io >/dev/null
}
# snapshot: every test object as "kind/name <spec+status JSON>", sorted.
snapshot() {
	{
		"$K" get -n "$NS" volumesnapshots.v1.snapshot.storage.k8s.io,volumegroupsnapshots.v1.groupsnapshot.storage.k8s.io -o json
		"$K" get volumesnapshotcontents.v1.snapshot.storage.k8s.io,volumesnapshotclasses.v1.snapshot.storage.k8s.io,volumegroupsnapshotcontents.v1.groupsnapshot.storage.k8s.io,volumegroupsnapshotclasses.v1.groupsnapshot.storage.k8s.io -l "sc-test=$P" -o json
	} | jq -c '.items[] | "\(.kind)/\(.metadata.name) \(del(.metadata, .apiVersion) | tojson)"' | sort
}
test_switch() {
	"$K" apply -k "$U" >/dev/null || { t_fail "cannot apply upstream's CRDs"; return 1; }
	wait_established || return 1
	"$K" create namespace "$NS" >/dev/null || return 1
	t_wait 30 "$K" get -n "$NS" volumesnapshots,volumegroupsnapshots >/dev/null || return 1
	cat >"$TMP/objs.yaml" <<E
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: $P-class, labels: {sc-test: $P}, annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}}
driver: d.example.com
deletionPolicy: Delete
parameters: {a: b}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: dyn, namespace: $NS}
spec: {volumeSnapshotClassName: $P-class, source: {persistentVolumeClaimName: pvc1}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: $P-content, labels: {sc-test: $P}}
spec:
  deletionPolicy: Retain
  driver: d.example.com
  sourceVolumeMode: Block
  source: {snapshotHandle: snap-1}
  volumeSnapshotRef: {name: static, namespace: $NS, uid: u-1}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: static, namespace: $NS}
spec: {source: {volumeSnapshotContentName: $P-content}}
---
apiVersion: groupsnapshot.storage.k8s.io/v1beta2
kind: VolumeGroupSnapshotClass
metadata: {name: $P-gclass, labels: {sc-test: $P}}
driver: d.example.com
deletionPolicy: Retain
parameters: {x: "yes"}
---
apiVersion: groupsnapshot.storage.k8s.io/v1beta2
kind: VolumeGroupSnapshot
metadata: {name: grp, namespace: $NS}
spec: {volumeGroupSnapshotClassName: $P-gclass, source: {selector: {matchLabels: {app: db}}}}
---
apiVersion: groupsnapshot.storage.k8s.io/v1beta2
kind: VolumeGroupSnapshotContent
metadata: {name: $P-gcontent, labels: {sc-test: $P}}
spec:
  deletionPolicy: Delete
  driver: d.example.com
  volumeGroupSnapshotClassName: $P-gclass
  source: {volumeHandles: [vol-1, vol-2]}
  volumeGroupSnapshotRef: {name: grp, namespace: $NS}
E
	local out
	out=$("$K" create -f "$TMP/objs.yaml" 2>&1) || { t_fail "create under upstream's CRDs: $out"; return 1; }
	"$K" -n "$NS" patch volumesnapshots.v1.snapshot.storage.k8s.io dyn --subresource=status --type=merge \
		-p '{"status":{"boundVolumeSnapshotContentName":"snapcontent-1","readyToUse":true,"restoreSize":"1Gi","creationTime":"2026-01-02T03:04:05Z"}}' >/dev/null || return 1
	"$K" patch volumesnapshotcontents.v1.snapshot.storage.k8s.io "$P-content" --subresource=status --type=merge \
		-p '{"status":{"snapshotHandle":"snap-1","readyToUse":true,"restoreSize":1073741824,"creationTime":1700000000000000000}}' >/dev/null || return 1
	"$K" -n "$NS" patch volumegroupsnapshots.v1beta2.groupsnapshot.storage.k8s.io grp --subresource=status --type=merge \
		-p '{"status":{"boundVolumeGroupSnapshotContentName":"'"$P"'-gcontent","readyToUse":false}}' >/dev/null || return 1
	"$K" patch volumegroupsnapshotcontents.v1beta2.groupsnapshot.storage.k8s.io "$P-gcontent" --subresource=status --type=merge \
		-p '{"status":{"volumeGroupSnapshotHandle":"g-1","readyToUse":true,"volumeSnapshotInfoList":[{"volumeHandle":"vol-1","snapshotHandle":"s-1","restoreSize":5,"readyToUse":true,"creationTime":1}]}}' >/dev/null || return 1
	snapshot >"$TMP/before" || return 1
	t_eq "$(wc -l <"$TMP/before")" 7 "objects written under upstream's CRDs" || return 1

	# Switch to ours.
	out=$("$K" apply -k "$top/crds" 2>&1) || { t_fail "apply -k crds over upstream's: $out"; return 1; }
	wait_established || return 1
	snapshot >"$TMP/ours" || return 1
	diff "$TMP/before" "$TMP/ours" >"$TMP/d1" || { t_fail "objects changed after switching to crds/:"$'\n'"$(cat "$TMP/d1")"; return 1; }
	# Every object is still writable under ours (an annotation, validated by our rules).
	"$K" annotate -n "$NS" volumesnapshots dyn static sc-test/touched=1 >/dev/null || { t_fail "update VS under ours"; return 1; }
	"$K" annotate -n "$NS" volumegroupsnapshots grp sc-test/touched=1 >/dev/null || { t_fail "update VGS under ours"; return 1; }
	"$K" annotate volumesnapshotcontents "$P-content" sc-test/touched=1 >/dev/null || { t_fail "update VSC under ours"; return 1; }
	"$K" annotate volumegroupsnapshotcontents "$P-gcontent" sc-test/touched=1 >/dev/null || { t_fail "update VGSC under ours"; return 1; }
	"$K" annotate volumesnapshotclasses "$P-class" sc-test/touched=1 >/dev/null || { t_fail "update VSClass under ours"; return 1; }
	"$K" annotate volumegroupsnapshotclasses "$P-gclass" sc-test/touched=1 >/dev/null || { t_fail "update VGSClass under ours"; return 1; }
	t_eq "$("$K" get crd volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io -o jsonpath='{.status.storedVersions}')" '["v1beta2"]' storedVersions || return 1
	snapshot >"$TMP/ours2" || return 1

	# And back to upstream's.
	out=$("$K" apply -k "$U" 2>&1) || { t_fail "apply upstream's over crds/: $out"; return 1; }
	wait_established || return 1
	snapshot >"$TMP/back" || return 1
	diff "$TMP/ours2" "$TMP/back" >"$TMP/d2" || { t_fail "objects changed after switching back:"$'\n'"$(cat "$TMP/d2")"; return 1; }
	out=$("$K" apply -k "$top/crds" 2>&1) || { t_fail "re-apply crds/: $out"; return 1; }
}

t_run generated_in_sync test_generated_in_sync
t_run shape_equals_upstream test_shape
t_run switch_upstream_ours_upstream test_switch
t_done
