#!/usr/bin/env bash
# tests/e2e/webhook.sh -- snapshot-webhook against a REAL kube-apiserver that
# calls it over TLS: the ValidatingWebhookConfigurations of deploy/webhook/
# (clientConfig rewritten from the in-cluster Service to url + caBundle) and
# the conversion stanza of deploy/crd-conversion/ on the three group CRDs.
# The webhook runs with the token of deploy/webhook's ServiceAccount, so only
# that RBAC is available to it.
#
# Runs inside `make test` (cluster and CSI peers already up: KUBECONFIG,
# CLUSTER_DIR, TOOLS_BIN, SC_BIN set) or standalone, when it starts and stops
# its own cluster.  The CSI peers provide the default classes
# csi-test-snapclass / csi-test-groupclass for testdriver.csi.k8s.io.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/e2e.sh
e2e_cluster e2e-webhook whe2e webhook
PORT=$(e2e_port)
URL=https://127.0.0.1:$PORT
WHPID=

cleanup() {
	[ -n "$WHPID" ] && kill "$WHPID" 2>/dev/null && wait "$WHPID" 2>/dev/null
	[ -n "${LOADPID:-}" ] && kill "$LOADPID" 2>/dev/null
	[ -n "${CTRLPID:-}" ] && kill "$CTRLPID" 2>/dev/null && wait "$CTRLPID" 2>/dev/null
	k delete validatingwebhookconfiguration snapshot-webhook-classes snapshot-webhook-pvc \
		--ignore-not-found >/dev/null 2>&1
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

# ---- certificates: a CA and leaves it signs, in a Secret-volume layout -------
# $W/tls/{tls.crt,tls.key} -> ..data/... -> ..<generation>/..., swapped with
# one rename like the kubelet does.
new_leaf() { # new_leaf GEN [KEY_OF_OTHER_GEN]: make generation GEN and publish it
	e2e_leaf "$W/tls/..$1" "$W" IP:127.0.0.1,DNS:snapshot-webhook.kube-system.svc
	if [ -n "${2:-}" ]; then cp "$W/tls/..$2/tls.key" "$W/tls/..$1/tls.key"; fi
	e2e_publish "$W/tls" "$1"
}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=webhook-e2e-ca" \
	-keyout "$W/ca.key" -out "$W/ca.crt" 2>/dev/null
mkdir -p "$W/tls"
new_leaf gen1
ln -sfn ..data/tls.crt "$W/tls/tls.crt"
ln -sfn ..data/tls.key "$W/tls/tls.key"
CABUNDLE=$(base64 -w0 <"$W/ca.crt")

# ---- the ServiceAccount of deploy/webhook and its token -------------------------
e2e_webhook_kubeconfig "$W/kubeconfig"

"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls/tls.crt" --tls-private-key-file="$W/tls/tls.key" \
	--port="$PORT" --bind-address=127.0.0.1 --kubeconfig="$W/kubeconfig" \
	--cert-reload-interval=200ms -v=2 >"$W/webhook.log" 2>&1 &
WHPID=$!

wh() { curl -sS --cacert "$W/ca.crt" "$@"; }
metric() { wh "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

# ---- admission and conversion configuration from deploy/ ------------------------
e2e_vwc_loopback "$URL" "$CABUNDLE" "$W" >"$W/vwc.yaml"
conversion_patch() {
	printf '{"spec":{"conversion":{"strategy":"Webhook","webhook":{"conversionReviewVersions":["v1"],"clientConfig":{"url":"%s/convert","caBundle":"%s"}}}}}' "$URL" "$CABUNDLE"
}

restore_pvc() { # restore_pvc NS NAME SRC_NS SNAPSHOT
	cat <<Y
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $2, namespace: $1}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: csi-test
  resources: {requests: {storage: 1Mi}}
  dataSourceRef: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: $4, namespace: $3}
Y
}

test_ready_with_deploy_rbac() {
	t_wait 60 wh -f "$URL/readyz" >/dev/null || { tail -20 "$W/webhook.log" >&2; return 1; }
	t_contains "$(wh "$URL/healthz")" ok
	# The RBAC is read-only: the token can list classes and grants, nothing else.
	t_eq "$(k --kubeconfig="$W/kubeconfig" auth can-i list referencegrants.gateway.networking.k8s.io -A)" yes || return 1
	t_eq "$(k --kubeconfig="$W/kubeconfig" auth can-i create volumesnapshotclasses.snapshot.storage.k8s.io 2>/dev/null)" no
}

test_install_configuration() {
	k apply -f "$W/vwc.yaml" >/dev/null || return 1
	for crd in volumegroupsnapshotcontents volumegroupsnapshots volumegroupsnapshotclasses; do
		k patch crd "$crd.groupsnapshot.storage.k8s.io" --type=merge -p "$(conversion_patch)" >/dev/null || return 1
	done
	# Webhook configuration is picked up asynchronously by the API server:
	# wait until a second default class is refused.
	t_wait 30 bash -c "! $TOOLS_BIN/kubectl create --dry-run=server -f - >/dev/null 2>&1 <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: probe, annotations: {snapshot.storage.kubernetes.io/is-default-class: \"true\"}}
driver: $DRIVER
deletionPolicy: Delete
Y" >/dev/null || return 1
	# ... and the PVC configuration too (a separate object, also picked up
	# asynchronously).
	t_wait 30 bash -c "! $TOOLS_BIN/kubectl create --dry-run=server -f - >/dev/null 2>&1 <<Y
$(restore_pvc default probe wh-probe snap)
Y" >/dev/null
}

vsclass() { # vsclass NAME DRIVER DEFAULT(true|false)
	cat <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: $1
  annotations: {snapshot.storage.kubernetes.io/is-default-class: "$3"}
driver: $2
deletionPolicy: Delete
Y
}
vgsclass() { # vgsclass VERSION NAME DRIVER DEFAULT
	cat <<Y
apiVersion: groupsnapshot.storage.k8s.io/$1
kind: VolumeGroupSnapshotClass
metadata:
  name: $2
  annotations: {groupsnapshot.storage.kubernetes.io/is-default-class: "$4"}
driver: $3
deletionPolicy: Delete
Y
}

# cache_has_default FN ARGS...: the webhook checks against watch caches,
# which see a class created a moment ago a few milliseconds later.  Wait until
# a server-side dry run of a second default (generated by the function and
# arguments given) is denied, so the real request below tests the rule, not
# the watch latency.
cache_has_default() {
	local i
	for i in $(seq 1 40); do
		"$@" | k apply --dry-run=server -f - >/dev/null 2>&1 || return 0
		sleep 0.25
	done
	t_fail "the webhook never denied a dry run of: $*"
}

test_second_default_class_denied() {
	local out
	out=$(vsclass second-default "$DRIVER" true | k apply -f - 2>&1) && { t_fail "applied: $out"; return 1; }
	t_contains "$out" "denied the request: default snapshot class: csi-test-snapclass already exists for driver: $DRIVER" || return 1
	k get volumesnapshotclass second-default >/dev/null 2>&1 && { t_fail "object exists"; return 1; }
	# Not default, or default for another driver: allowed.
	vsclass second-plain "$DRIVER" false | k apply -f - >/dev/null || return 1
	vsclass other-default other.example.com true | k apply -f - >/dev/null || return 1
	cache_has_default vsclass other-default-2 other.example.com true || return 1
	out=$(vsclass other-default-2 other.example.com true | k apply -f - 2>&1) && { t_fail "applied: $out"; return 1; }
	t_contains "$out" "default snapshot class: other-default already exists for driver: other.example.com" || return 1
	# Ratchet: updating the existing default class passes.
	k label volumesnapshotclass csi-test-snapclass e2e=touched >/dev/null || return 1
	# Making the plain one default is an UPDATE that is checked.
	out=$(vsclass second-plain "$DRIVER" true | k apply -f - 2>&1) && { t_fail "applied: $out"; return 1; }
	t_contains "$out" "default snapshot class: csi-test-snapclass already exists"
}

test_second_default_group_class_denied() {
	local out v
	for v in v1 v1beta2 v1beta1; do
		out=$(vgsclass "$v" "g2-$v" "$DRIVER" true | k apply -f - 2>&1) && { t_fail "applied at $v: $out"; return 1; }
		t_contains "$out" "default group snapshot class: csi-test-groupclass already exists for driver: $DRIVER" || return 1
	done
	vgsclass v1 g-other other.example.com true | k apply -f - >/dev/null || return 1
	cache_has_default vgsclass v1beta2 g-other-2 other.example.com true || return 1
	out=$(vgsclass v1beta2 g-other-2 other.example.com true | k apply -f - 2>&1) && { t_fail "applied: $out"; return 1; }
	t_contains "$out" "default group snapshot class: g-other already exists for driver: other.example.com"
}


test_cross_namespace_pvc_needs_grant() {
	local out
	k create namespace wh-src >/dev/null 2>&1
	k create namespace wh-dst >/dev/null 2>&1
	out=$(restore_pvc wh-dst restored wh-src snap | k apply -f - 2>&1) && { t_fail "applied: $out"; return 1; }
	t_contains "$out" "accessing wh-src/snap of VolumeSnapshot dataSource from wh-dst/restored isn't allowed: no ReferenceGrant in namespace wh-src" || return 1
	# A grant for another namespace, or for another kind, does not help.
	k apply -f - >/dev/null <<Y || return 1
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: wrong, namespace: wh-src}
spec:
  from: [{group: "", kind: PersistentVolumeClaim, namespace: somewhere-else}]
  to: [{group: snapshot.storage.k8s.io, kind: VolumeSnapshot}]
Y
	sleep 1
	restore_pvc wh-dst restored wh-src snap | k apply -f - >/dev/null 2>&1 && { t_fail "admitted with the wrong grant"; return 1; }
	k apply -f - >/dev/null <<Y || return 1
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-wh-dst, namespace: wh-src}
spec:
  from: [{group: "", kind: PersistentVolumeClaim, namespace: wh-dst}]
  to: [{group: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}]
Y
	# The watch delivers the grant within moments; then the same PVC is admitted.
	t_wait 15 bash -c "$TOOLS_BIN/kubectl apply -f - <<'Y'
$(restore_pvc wh-dst restored wh-src snap)
Y" >/dev/null || return 1
	k -n wh-dst get pvc restored >/dev/null || return 1
	# Same-namespace data sources never reach the webhook (matchConditions).
	restore_pvc wh-dst local wh-dst snap | k apply -f - >/dev/null
}

# The admitted restore is provisioned for real: our snapshot-controller makes
# the VolumeSnapshot in wh-src ready (csi-snapshotter cuts it), then
# csi-provisioner (CrossNamespaceVolumeDataSource on) restores it into wh-dst.
test_restored_pvc_provisioned() {
	[ -x "$SC_BIN/snapshot-controller" ] || { t_fail "no $SC_BIN/snapshot-controller"; return 1; }
	k apply -f - >/dev/null <<Y || return 1
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: source, namespace: wh-src}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: csi-test
  resources: {requests: {storage: 1Mi}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap, namespace: wh-src}
spec:
  source: {persistentVolumeClaimName: source}
Y
	t_wait 90 bash -c "[ \"\$($TOOLS_BIN/kubectl -n wh-src get volumesnapshot snap -o jsonpath='{.status.readyToUse}')\" = true ]" >/dev/null ||
		{ tail -5 "$W/controller.log" >&2; return 1; }
	t_wait 120 bash -c "[ \"\$($TOOLS_BIN/kubectl -n wh-dst get pvc restored -o jsonpath='{.status.phase}')\" = Bound ]" >/dev/null ||
		{ k -n wh-dst describe pvc restored | tail -8 >&2; return 1; }
	echo "    wh-dst/restored bound to $(k -n wh-dst get pvc restored -o jsonpath='{.spec.volumeName}')" >&2
}

test_group_content_conversion() {
	local n=wh-conv b1 b2 v1
	k apply -f - >/dev/null <<Y || return 1
apiVersion: groupsnapshot.storage.k8s.io/v1beta2
kind: VolumeGroupSnapshotContent
metadata: {name: $n}
spec:
  deletionPolicy: Retain
  driver: $DRIVER
  source: {groupSnapshotHandles: {volumeGroupSnapshotHandle: gh-1, volumeSnapshotHandles: [sh-a, sh-b]}}
  volumeGroupSnapshotRef: {name: grp, namespace: default}
Y
	k patch volumegroupsnapshotcontents.v1beta2.groupsnapshot.storage.k8s.io "$n" --subresource=status --type=merge -p \
		'{"status":{"readyToUse":true,"volumeGroupSnapshotHandle":"gh-1","volumeSnapshotInfoList":[{"volumeHandle":"vh-a","snapshotHandle":"sh-a","creationTime":1795398720000000000,"readyToUse":true,"restoreSize":1048576},{"volumeHandle":"vh-b","snapshotHandle":"sh-b","readyToUse":false}]}}' >/dev/null || return 1
	b1=$(k get "volumegroupsnapshotcontents.v1beta1.groupsnapshot.storage.k8s.io/$n" -o json) || return 1
	b2=$(k get "volumegroupsnapshotcontents.v1beta2.groupsnapshot.storage.k8s.io/$n" -o json) || return 1
	v1=$(k get "volumegroupsnapshotcontents.v1.groupsnapshot.storage.k8s.io/$n" -o json) || return 1
	python3 - "$b1" "$b2" "$v1" <<'PY' || return 1
import json, sys
b1, b2, v1 = (json.loads(a) for a in sys.argv[1:4])
assert b1["apiVersion"].endswith("/v1beta1") and b2["apiVersion"].endswith("/v1beta2") and v1["apiVersion"].endswith("/v1"), "apiVersions"
assert b1["spec"] == b2["spec"] == v1["spec"], "spec differs"
info = b2["status"]["volumeSnapshotInfoList"]
assert v1["status"] == b2["status"], "v1 and v1beta2 status differ"
assert len(info) == 2 and info[0]["restoreSize"] == 1048576, info
ann = json.loads(b1["metadata"]["annotations"]["groupsnapshot.storage.kubernetes.io/volume-snapshot-info-list"])
assert ann == info, "annotation does not carry the info list"
pairs = b1["status"]["volumeSnapshotHandlePairList"]
assert pairs == [{"volumeHandle": e["volumeHandle"], "snapshotHandle": e["snapshotHandle"]} for e in info], pairs
assert "volumeSnapshotInfoList" not in b1["status"]
for o in (b2, v1):
    assert "groupsnapshot.storage.kubernetes.io/volume-snapshot-info-list" not in o["metadata"].get("annotations", {})
print("conversion ok")
PY
	# Written at v1beta1 with only the pair list, read back at v1.
	k apply -f - >/dev/null <<Y || return 1
apiVersion: groupsnapshot.storage.k8s.io/v1beta1
kind: VolumeGroupSnapshotContent
metadata: {name: $n-old}
spec:
  deletionPolicy: Retain
  driver: $DRIVER
  source: {volumeHandles: [vh-x]}
  volumeGroupSnapshotRef: {name: grp-old, namespace: default}
Y
	k patch volumegroupsnapshotcontents.v1beta1.groupsnapshot.storage.k8s.io "$n-old" --subresource=status --type=merge -p \
		'{"status":{"readyToUse":true,"volumeSnapshotHandlePairList":[{"volumeHandle":"vh-x","snapshotHandle":"sh-x"}]}}' >/dev/null || return 1
	t_eq "$(k get "volumegroupsnapshotcontents.v1.groupsnapshot.storage.k8s.io/$n-old" -o jsonpath='{.status.volumeSnapshotInfoList[0].snapshotHandle}')" sh-x "v1 info list" || return 1
	t_eq "$(k get "volumegroupsnapshotcontents.v1beta1.groupsnapshot.storage.k8s.io/$n-old" -o jsonpath='{.status.volumeSnapshotHandlePairList[0].snapshotHandle}')" sh-x "v1beta1 pair list"
}

# Admission requests through the API server in a tight loop (server-side dry
# run, so nothing is stored): a plain class must be allowed and a second
# default refused with our message; anything else is a failure.
load_loop() { # load_loop SECONDS OUTFILE
	local end=$((SECONDS + $1)) ok=0 bad=0 out
	while [ $SECONDS -lt $end ]; do
		if vsclass "load-$RANDOM" "$DRIVER" false | k create --dry-run=server -f - >/dev/null 2>"$2.err"; then ok=$((ok + 1)); else bad=$((bad + 1)); cat "$2.err" >>"$2.fail"; fi
		out=$(vsclass "load-d-$RANDOM" "$DRIVER" true | k create --dry-run=server -f - 2>&1)
		case "$out" in
		*"default snapshot class: csi-test-snapclass already exists"*) ok=$((ok + 1)) ;;
		*) bad=$((bad + 1)); echo "$out" >>"$2.fail" ;;
		esac
	done
	echo "$ok $bad" >"$2"
}

test_rotation_under_load() {
	local before after res ok bad failed0
	before=$(metric 'snapshot_webhook_cert_reloads_total{result="success"}')
	failed0=$(metric 'snapshot_webhook_cert_reloads_total{result="failure"}')
	: >"$W/load.fail"
	load_loop 24 "$W/load" &
	LOADPID=$!
	sleep 3; new_leaf gen2
	sleep 5; new_leaf gen3
	sleep 5; new_leaf bad gen1 # cert of "bad" with gen1's key: refused, gen3 stays
	sleep 5; new_leaf gen4
	wait "$LOADPID"; LOADPID=
	read -r ok bad <"$W/load"
	echo "    rotation under load: $ok admission round trips answered as expected, $bad not" >&2
	after=$(metric 'snapshot_webhook_cert_reloads_total{result="success"}')
	t_eq "$bad" 0 "failed admissions during rotation ($(head -c 600 "$W/load.fail"))" || return 1
	[ "$ok" -ge 20 ] || { t_fail "only $ok requests in 24s"; return 1; }
	t_eq "$((after - before))" 3 "successful reloads" || return 1
	t_eq "$(metric 'snapshot_webhook_cert_reloads_total{result="failure"}')" "$((failed0 + 1))" "refused reloads" || return 1
	grep -q 'certificate reload failed, still serving the previous pair' "$W/webhook.log" || { t_fail "no log line for the broken pair"; return 1; }
	# The served certificate is gen4's.
	t_eq "$(echo | openssl s_client -connect "127.0.0.1:$PORT" 2>/dev/null | openssl x509 -noout -fingerprint -sha256)" \
		"$(openssl x509 -in "$W/tls/..gen4/tls.crt" -noout -fingerprint -sha256)" "served certificate"
}

test_bad_input() {
	local code
	code=$(wh -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data 'not json' "$URL/validate-class")
	t_eq "$code" 400 "non-JSON" || return 1
	code=$(wh -o /dev/null -w '%{http_code}' -H 'Content-Type: text/plain' --data '{}' "$URL/validate-pvc")
	t_eq "$code" 415 "wrong content type" || return 1
	code=$(wh -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
		--data '{"apiVersion":"apiextensions.k8s.io/v1beta1","kind":"ConversionReview","request":{"uid":"x"}}' "$URL/convert")
	t_eq "$code" 400 "old ConversionReview" || return 1
	code=$(head -c 4000000 /dev/zero | tr '\0' ' ' | wh -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @- "$URL/validate-class")
	t_eq "$code" 413 "huge body" || return 1
	# TLS 1.2 is accepted, TLS 1.1 is refused.
	echo | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 2>/dev/null | grep -q 'Protocol *: TLSv1.2' ||
		{ t_fail "no TLS 1.2 handshake"; return 1; }
	if echo | openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' 2>/dev/null | grep -q 'BEGIN CERTIFICATE'; then
		{ t_fail "TLS 1.1 handshake succeeded"; return 1; }
	fi
	# A slow client (a body that stops arriving) is dropped after the read
	# timeout (10 s), and the server still answers.
	local held
	held=$(python3 - "$PORT" "$W/ca.crt" <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="127.0.0.1")
t.sendall(b"POST /convert HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
t0 = time.time()
t.settimeout(40)
try:
    t.recv(100)
except Exception:
    pass
print(int(time.time() - t0))
PY
)
	echo "    a stalled body was dropped after ${held}s" >&2
	[ "$held" -le 12 ] || { t_fail "slow client held for ${held}s"; return 1; }
	t_contains "$(wh "$URL/healthz")" ok
}

# /readyz stays 503 while the caches cannot sync (an API server that does not
# answer), and admission never runs against an empty cache meanwhile.
test_not_ready_without_api_server() {
	local port2 pid2 code
	port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	sed "s#server: \"$API_SERVER\"#server: \"https://127.0.0.1:1\"#" "$W/kubeconfig" >"$W/dead.kubeconfig"
	"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls/tls.crt" --tls-private-key-file="$W/tls/tls.key" \
		--port="$port2" --bind-address=127.0.0.1 --kubeconfig="$W/dead.kubeconfig" >"$W/dead.log" 2>&1 &
	pid2=$!
	t_wait 20 wh -fs "https://127.0.0.1:$port2/healthz" >/dev/null || { kill "$pid2"; return 1; }
	code=$(wh -o /dev/null -w '%{http_code}' "https://127.0.0.1:$port2/readyz")
	kill "$pid2"; wait "$pid2" 2>/dev/null
	t_eq "$code" 503 "readyz with an unreachable API server"
}

# Last: without the ReferenceGrant CRD every cross-namespace reference is
# denied, with a message that says why.
test_referencegrant_crd_absent() {
	k delete crd referencegrants.gateway.networking.k8s.io >/dev/null || return 1
	local out
	t_wait 90 bash -c "$TOOLS_BIN/kubectl create --dry-run=server -f - 2>&1 <<'Y' | grep -q 'is not installed'
$(restore_pvc wh-dst restored-2 wh-src snap)
Y" >/dev/null || return 1
	out=$(restore_pvc wh-dst restored-2 wh-src snap | k create --dry-run=server -f - 2>&1)
	t_contains "$out" "accessing wh-src/snap of VolumeSnapshot dataSource from wh-dst/restored-2 isn't allowed: the ReferenceGrant CRD (referencegrants.gateway.networking.k8s.io) is not installed"
}

t_run ready_with_deploy_rbac test_ready_with_deploy_rbac
t_run install_configuration test_install_configuration
t_run second_default_class_denied test_second_default_class_denied
t_run second_default_group_class_denied test_second_default_group_class_denied
t_run cross_namespace_pvc_needs_grant test_cross_namespace_pvc_needs_grant
CTRLPID=
if [ -x "$SC_BIN/snapshot-controller" ]; then
	"$SC_BIN/snapshot-controller" --kubeconfig="$KUBECONFIG" --leader-election=false \
		--http-endpoint=127.0.0.1:0 --state-dir="$W/ctrl-state" -v=2 >"$W/controller.log" 2>&1 &
	CTRLPID=$!
fi
t_run restored_pvc_provisioned test_restored_pvc_provisioned
t_run group_content_conversion test_group_content_conversion
t_run rotation_under_load test_rotation_under_load
t_run bad_input test_bad_input
t_run not_ready_without_api_server test_not_ready_without_api_server
t_run referencegrant_crd_absent test_referencegrant_crd_absent
e2e_stop_webhook WHPID "$W/webhook.log" ' E |ERROR|AddressSanitizer'
t_done
