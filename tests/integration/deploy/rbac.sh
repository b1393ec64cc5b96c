#!/usr/bin/env bash
# tests/integration/deploy/rbac.sh -- deploy/'s RBAC, as the API server
# enforces it, through tests/integration/deploy/sa-kubeconfig.sh.
#
# For snapshot-controller and snapshot-webhook: every verb the component uses
# is allowed, a set of verbs it must not have is denied, and a few real calls
# made with the ServiceAccount token succeed or get 403 as expected.
#
# Needs KUBECONFIG and TOOLS_BIN (and CLUSTER_DIR, or a KUBECONFIG inside a
# tests/cluster/up directory).  Works in its own namespaces and removes them.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/lib/it.sh"
it_setup deploy.rbac
NS=rbac-$RUN
OTHER=rbac-other-$RUN
TMP=$(mktemp -d)
CKC=$TMP/controller.kubeconfig
WKC=$TMP/webhook.kubeconfig
t_start=$SECONDS

cleanup() {
	"$here/sa-kubeconfig.sh" --delete "$CLUSTER_DIR" "$NS" snapshot-controller >/dev/null 2>&1
	"$here/sa-kubeconfig.sh" --delete "$CLUSTER_DIR" "$NS" snapshot-webhook >/dev/null 2>&1
	"$K" delete vsc "rbac-$RUN" --ignore-not-found --wait=false >/dev/null 2>&1
	"$K" delete namespace "$NS" "$OTHER" --ignore-not-found --wait=false >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
"$K" apply -k "$top/crds" >/dev/null || exit 1
"$K" wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=volume-snapshot >/dev/null || exit 1
"$K" create namespace "$OTHER" >/dev/null || exit 1

# can KUBECONFIG VERB RESOURCE [ns] -> yes/no
can() {
	local ns=${4:---all-namespaces}
	[ "$ns" != --all-namespaces ] && ns="-n $ns"
	# shellcheck disable=SC2086
	KUBECONFIG=$1 "$K" auth can-i "$2" "$3" $ns 2>/dev/null
}
expect() { # kubeconfig yes|no verbs resource [ns]
	local kc=$1 want=$2 verbs=$3 res=$4 ns=${5:-} v got
	for v in ${verbs//,/ }; do
		got=$(can "$kc" "$v" "$res" "$ns")
		[ "$got" = "$want" ] || { t_fail "$v $res ${ns:-(all namespaces)}: can-i says '$got', want '$want'"; return 1; }
	done
}

test_sa_kubeconfig() {
	"$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-controller "$CKC" 2>/dev/null || { t_fail "sa-kubeconfig.sh controller failed"; return 1; }
	"$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-webhook "$WKC" 2>/dev/null || { t_fail "sa-kubeconfig.sh webhook failed"; return 1; }
	t_eq "$(KUBECONFIG=$CKC "$K" auth whoami -o jsonpath='{.status.userInfo.username}')" "system:serviceaccount:$NS:snapshot-controller" whoami || return 1
	t_eq "$(KUBECONFIG=$WKC "$K" auth whoami -o jsonpath='{.status.userInfo.username}')" "system:serviceaccount:$NS:snapshot-webhook" whoami || return 1
	# Running it again is harmless (apply), and the binding names the new namespace.
	"$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-controller "$CKC" 2>/dev/null || return 1
	t_eq "$("$K" get clusterrolebinding "snapshot-controller-role-$NS-snapshot-controller" -o jsonpath='{.subjects[0].namespace}/{.subjects[0].name} {.roleRef.name}')" \
		"$NS/snapshot-controller snapshot-controller-runner" binding
}

test_controller_allowed() {
	[ -f "$CKC" ] || "$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-controller "$CKC" 2>/dev/null || return 1
	expect "$CKC" yes get,list,watch persistentvolumes || return 1
	expect "$CKC" yes get,list,watch,patch persistentvolumeclaims || return 1
	expect "$CKC" yes create,patch events "$OTHER" || return 1
	expect "$CKC" yes get,list,watch volumesnapshotclasses.snapshot.storage.k8s.io || return 1
	expect "$CKC" yes create,get,list,watch,patch,delete volumesnapshots.snapshot.storage.k8s.io || return 1
	expect "$CKC" yes patch volumesnapshots.snapshot.storage.k8s.io/status || return 1
	expect "$CKC" yes create,get,list,watch,patch,delete volumesnapshotcontents.snapshot.storage.k8s.io || return 1
	expect "$CKC" yes patch volumesnapshotcontents.snapshot.storage.k8s.io/status || return 1
	expect "$CKC" yes get,list,watch volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io || return 1
	expect "$CKC" yes get,list,watch,patch volumegroupsnapshots.groupsnapshot.storage.k8s.io || return 1
	expect "$CKC" yes patch volumegroupsnapshots.groupsnapshot.storage.k8s.io/status || return 1
	expect "$CKC" yes create,get,list,watch,patch,delete volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io || return 1
	expect "$CKC" yes patch volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io/status || return 1
	expect "$CKC" yes get,create,update leases.coordination.k8s.io "$NS"
}

test_controller_denied() {
	[ -f "$CKC" ] || "$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-controller "$CKC" 2>/dev/null || return 1
	expect "$CKC" no create,update,delete persistentvolumeclaims || return 1
	expect "$CKC" no create,update,patch,delete persistentvolumes || return 1
	expect "$CKC" no list,watch,update,delete events || return 1
	# Every write is a PATCH: no UPDATE on any snapshot object or status.
	expect "$CKC" no update volumesnapshots.snapshot.storage.k8s.io || return 1
	expect "$CKC" no update volumesnapshots.snapshot.storage.k8s.io/status || return 1
	expect "$CKC" no update volumesnapshotcontents.snapshot.storage.k8s.io || return 1
	expect "$CKC" no update volumesnapshotcontents.snapshot.storage.k8s.io/status || return 1
	expect "$CKC" no update,create,delete volumegroupsnapshots.groupsnapshot.storage.k8s.io || return 1
	expect "$CKC" no update volumegroupsnapshots.groupsnapshot.storage.k8s.io/status || return 1
	expect "$CKC" no update volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io || return 1
	expect "$CKC" no create,update,patch,delete volumesnapshotclasses.snapshot.storage.k8s.io || return 1
	expect "$CKC" no create,update,patch,delete volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io || return 1
	expect "$CKC" no get,list secrets || return 1
	expect "$CKC" no get,list nodes || return 1
	expect "$CKC" no get,list storageclasses.storage.k8s.io || return 1
	expect "$CKC" no get,list customresourcedefinitions.apiextensions.k8s.io || return 1
	expect "$CKC" no list,watch,delete leases.coordination.k8s.io "$NS" || return 1
	# The Lease permission holds only in the controller's own namespace.
	expect "$CKC" no get,create,update leases.coordination.k8s.io "$OTHER"
}

# raw KUBECONFIG METHOD PATH CONTENT-TYPE BODY: one request with the kubeconfig's
# token, the way our kube/ client makes it (no GET first, unlike kubectl patch).
raw() {
	local kc=$1 server token ca=$TMP/ca.crt
	server=$(KUBECONFIG=$kc "$K" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
	token=$(KUBECONFIG=$kc "$K" config view --raw --minify -o jsonpath='{.users[0].user.token}')
	KUBECONFIG=$kc "$K" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$ca"
	curl -sS --cacert "$ca" -H "Authorization: Bearer $token" -X "$2" -H "Content-Type: $4" --data-binary "$5" \
		-o "$TMP/raw.out" -w '%{http_code}' "$server$3"
}
test_controller_real_calls() {
	[ -f "$CKC" ] || "$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-controller "$CKC" 2>/dev/null || return 1
	local kc=(env KUBECONFIG="$CKC" "$K") out json code
	out=$("${kc[@]}" get volumesnapshots -A --chunk-size=1 2>&1) || { t_fail "list VS: $out"; return 1; }
	json='{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent","metadata":{"name":"rbac-'$RUN'"},"spec":{"deletionPolicy":"Delete","driver":"d.example.com","source":{"volumeHandle":"v"},"volumeSnapshotRef":{"name":"s","namespace":"'$NS'"}}}'
	out=$("${kc[@]}" create -f - <<<"$json" 2>&1) || { t_fail "create VSC: $out"; return 1; }
	code=$(raw "$CKC" PATCH "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/rbac-$RUN/status" \
		application/merge-patch+json '{"status":{"readyToUse":false}}')
	t_eq "$code" 200 "PATCH VSC status ($(head -c 300 "$TMP/raw.out"))" || return 1
	code=$(raw "$CKC" PATCH "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/rbac-$RUN" \
		application/json-patch+json '[{"op":"add","path":"/metadata/finalizers","value":["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"]}]')
	t_eq "$code" 200 "JSON-patch VSC finalizers ($(head -c 300 "$TMP/raw.out"))" || return 1
	code=$(raw "$CKC" PATCH "/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/rbac-$RUN" \
		application/json-patch+json '[{"op":"remove","path":"/metadata/finalizers"}]')
	t_eq "$code" 200 "JSON-patch VSC finalizers away" || return 1
	json='{"apiVersion":"v1","kind":"Event","metadata":{"name":"rbac-'$RUN'.1","namespace":"'$OTHER'"},"involvedObject":{"kind":"VolumeSnapshot","name":"s","namespace":"'$OTHER'"},"reason":"Test","message":"m","type":"Normal","count":1}'
	out=$("${kc[@]}" create -f - <<<"$json" 2>&1) || { t_fail "create event: $out"; return 1; }
	code=$(raw "$CKC" PATCH "/api/v1/namespaces/$OTHER/events/rbac-$RUN.1" application/merge-patch+json '{"count":2}')
	t_eq "$code" 200 "merge-patch event" || return 1
	json='{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"snapshot-controller-leader","namespace":"'$NS'"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15}}'
	out=$("${kc[@]}" create -f - <<<"$json" 2>&1) || { t_fail "create lease: $out"; return 1; }
	out=$("${kc[@]}" -n "$NS" get lease snapshot-controller-leader -o json | jq -c '.spec.holderIdentity = "b"' | "${kc[@]}" replace -f - 2>&1) ||
		{ t_fail "lease update: $out"; return 1; }
	code=$(raw "$CKC" PATCH "/apis/coordination.k8s.io/v1/namespaces/$NS/leases/snapshot-controller-leader" application/merge-patch+json '{"spec":{"holderIdentity":"c"}}')
	t_eq "$code" 403 "lease PATCH (the Role has update, not patch)" || return 1
	out=$("${kc[@]}" -n "$OTHER" get secrets 2>&1) && { t_fail "secrets should be forbidden"; return 1; }
	t_contains "$out" "forbidden" || return 1
	# An UPDATE (PUT) of a snapshot object is refused: the controller only patches.
	out=$("${kc[@]}" get vsc "rbac-$RUN" -o json | jq -c '.metadata.labels = {"x":"y"}' | "${kc[@]}" replace -f - 2>&1) &&
		{ t_fail "UPDATE of a VolumeSnapshotContent should be forbidden"; return 1; }
	t_contains "$out" "forbidden"
}

test_webhook_rbac() {
	[ -f "$WKC" ] || "$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-webhook "$WKC" 2>/dev/null || return 1
	expect "$WKC" yes get,list,watch volumesnapshotclasses.snapshot.storage.k8s.io || return 1
	expect "$WKC" yes get,list,watch volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io || return 1
	expect "$WKC" yes get,list,watch referencegrants.gateway.networking.k8s.io || return 1
	expect "$WKC" no create,update,patch,delete volumesnapshotclasses.snapshot.storage.k8s.io || return 1
	expect "$WKC" no create,update,delete referencegrants.gateway.networking.k8s.io || return 1
	# The admission warnings read PVCs, PVs, StorageClasses and contents
	# from watch caches: read-only, never a write.
	expect "$WKC" yes get,list,watch persistentvolumeclaims || return 1
	expect "$WKC" yes get,list,watch persistentvolumes || return 1
	expect "$WKC" yes get,list,watch storageclasses.storage.k8s.io || return 1
	expect "$WKC" yes get,list,watch volumesnapshotcontents.snapshot.storage.k8s.io || return 1
	expect "$WKC" no create,update,patch,delete persistentvolumeclaims || return 1
	expect "$WKC" no create,update,patch,delete volumesnapshotcontents.snapshot.storage.k8s.io || return 1
	expect "$WKC" no get,list secrets || return 1
	expect "$WKC" no list volumesnapshots.snapshot.storage.k8s.io || return 1
	local out
	out=$(KUBECONFIG=$WKC "$K" get volumesnapshotclasses,volumegroupsnapshotclasses 2>&1) || { t_fail "list classes: $out"; return 1; }
	if "$K" get crd referencegrants.gateway.networking.k8s.io >/dev/null 2>&1; then
		out=$(KUBECONFIG=$WKC "$K" get referencegrants.v1beta1.gateway.networking.k8s.io -A 2>&1) || { t_fail "list grants: $out"; return 1; }
	fi
}

t_run sa_kubeconfig test_sa_kubeconfig
t_run controller_allowed test_controller_allowed
t_run controller_denied test_controller_denied
t_run controller_real_calls test_controller_real_calls
t_run webhook_rbac test_webhook_rbac
echo "deploy.rbac: $((SECONDS - t_start))s"
t_done
