#!/usr/bin/env bash
# tests/e2e/warnings.sh -- the admission warnings of snapshot-webhook
# (/warn-snapshot) through a REAL kube-apiserver: `kubectl create` of a
# VolumeSnapshot or VolumeGroupSnapshot prints "Warning: <text>" for each
# problem, one case per warning, and the object is still created.  The
# ValidatingWebhookConfiguration is deploy/webhook/warnings-webhook.yaml with
# its Service reference rewritten to a loopback url + caBundle, and the
# webhook runs with the token of deploy/webhook's ServiceAccount (its RBAC
# only).
#
# The webhook answers from watch caches, which see an object created a moment
# ago a few milliseconds later.  So before each real create, a server-side
# dry run of the same object is repeated until the webhook's answer reflects
# the objects the case set up (bounded by t_wait); the real create is then
# what is asserted.
#
# Runs inside `make test` (cluster and CSI peers up) or standalone.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/e2e.sh
e2e_cluster e2e-warnings wre2e warnings
NS=wt
PORT=$(e2e_port)
URL=https://127.0.0.1:$PORT
WHPID=

cleanup() {
	[ -n "$WHPID" ] && kill "$WHPID" 2>/dev/null && wait "$WHPID" 2>/dev/null
	k delete validatingwebhookconfiguration snapshot-webhook-warnings --ignore-not-found >/dev/null 2>&1
	k -n "$NS" patch pvc held --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null 2>&1
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

# ---- a CA, a serving certificate, the ServiceAccount's token -------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=warnings-e2e-ca" \
	-keyout "$W/ca.key" -out "$W/ca.crt" 2>/dev/null
e2e_leaf "$W" "$W" IP:127.0.0.1
CABUNDLE=$(base64 -w0 <"$W/ca.crt")
e2e_webhook_kubeconfig "$W/kubeconfig"
"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls.crt" --tls-private-key-file="$W/tls.key" \
	--port="$PORT" --bind-address=127.0.0.1 --kubeconfig="$W/kubeconfig" -v=2 >"$W/webhook.log" 2>&1 &
WHPID=$!
wh() { curl -sS --cacert "$W/ca.crt" "$@"; }

# ---- objects ---------------------------------------------------------------------
pvc() { # pvc NAME STORAGECLASS [LABELS-FLOW-MAP]
	cat <<Y
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1, namespace: $NS, labels: ${3:-{\}}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: $2
  resources: {requests: {storage: 1Mi}}
Y
}
sc() { # sc NAME PROVISIONER [BINDING-MODE]
	printf 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: %s}\nprovisioner: %s\n' "$1" "$2"
	[ -z "${3:-}" ] || printf 'volumeBindingMode: %s\n' "$3"
}
vsclass() { # vsclass NAME DRIVER [default]
	local ann=
	[ -z "${3:-}" ] || ann=', annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}'
	printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata: {name: %s%s}\n' "$1" "$ann"
	printf 'driver: %s\ndeletionPolicy: Delete\n' "$2"
}
vs() { # vs NS NAME CLASS|- PVC|- [CONTENT]
	local cls=${3#-} src
	if [ -n "${5:-}" ]; then src="volumeSnapshotContentName: $5"; else src="persistentVolumeClaimName: $4"; fi
	cat <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: $2, namespace: $1}
spec:
  ${cls:+volumeSnapshotClassName: $cls}
  source: {$src}
Y
}
vgs() { # vgs NAME SELECTOR-FLOW-MAP
	cat <<Y
apiVersion: groupsnapshot.storage.k8s.io/v1beta2
kind: VolumeGroupSnapshot
metadata: {name: $1, namespace: $NS}
spec:
  source: {selector: {matchLabels: $2}}
Y
}
# dry_has WANT GENERATOR ARGS...: a server-side dry run of the generated
# object prints WANT (a "Warning: ..." text).
dry_has() {
	local want=$1 out
	shift
	out=$("$@" | k create --dry-run=server -f - 2>&1)
	case $out in *"$want"*) return 0 ;; esac
	printf '%s' "$out"
	return 1
}
# dry_clean GENERATOR ARGS...: a dry run prints no warning.
dry_clean() {
	local out
	out=$("$@" | k create --dry-run=server -f - 2>&1) || { printf '%s' "$out"; return 1; }
	case $out in *Warning*) printf '%s' "$out"; return 1 ;; esac
}
# warn_case WANT GENERATOR ARGS...: wait until the webhook's caches give
# WANT, then `kubectl create` the object for real: it is created, and
# kubectl prints "Warning: WANT".
warn_case() {
	local want=$1 out
	shift
	t_wait 30 dry_has "$want" "$@" >/dev/null || return 1
	out=$("$@" | k create -f - 2>&1) || { t_fail "create failed: $out"; return 1; }
	printf '%s\n' "$out" >>"$W/warnings.txt"
	t_contains "$out" "Warning: $want" "kubectl create output" || return 1
	t_contains "$out" "created" "kubectl create output"
}

test_setup() {
	t_wait 60 wh -f "$URL/readyz" >/dev/null || { tail -20 "$W/webhook.log" >&2; return 1; }
	k create namespace "$NS" >/dev/null || return 1
	{ sc wt-wffc "$DRIVER" WaitForFirstConsumer; echo ---; sc wt-other other.csi.example; echo ---
	  sc wt-two two.csi.example; echo ---; vsclass wt-other-class other.csi.example; echo ---
	  vsclass two-a two.csi.example default; echo ---; vsclass two-b two.csi.example default
	  cat <<Y
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata: {name: wt-taken}
spec:
  deletionPolicy: Retain
  driver: $DRIVER
  source: {snapshotHandle: wt-handle}
  volumeSnapshotRef: {namespace: $NS, name: owner}
Y
	} | k apply -f - >/dev/null || return 1
	{ pvc data csi-test "{group: mixed, app: db}"; echo ---; pvc held csi-test; echo ---
	  pvc pending wt-wffc; echo ---; pvc other-pvc wt-other "{group: mixed}"; echo ---
	  pvc two-pvc wt-two; } | k apply -f - >/dev/null || return 1
	t_wait 60 bash -c "[ \"\$($TOOLS_BIN/kubectl -n $NS get pvc data held -o jsonpath='{.items[*].status.phase}')\" = 'Bound Bound' ]" || return 1
	k -n "$NS" patch pvc held --type=merge -p '{"metadata":{"finalizers":["example.com/hold","kubernetes.io/pvc-protection"]}}' >/dev/null || return 1
	k -n "$NS" delete pvc held --wait=false >/dev/null || return 1
	# The configuration from deploy/, pointed at the loopback webhook.
	k create --dry-run=client -o json -f deploy/webhook/warnings-webhook.yaml |
		jq --arg url "$URL/warn-snapshot" --arg ca "$CABUNDLE" \
			'.webhooks[].clientConfig = {url: $url, caBundle: $ca}' >"$W/vwc.json" || return 1
	k apply -f "$W/vwc.json" >/dev/null || return 1
	# The API server picks the configuration up asynchronously.
	t_wait 30 dry_has "Warning: VolumeSnapshotClass \"probe\" does not exist" vs "$NS" probe probe data >/dev/null
}

test_clean_snapshot_no_warning() {
	local out
	t_wait 30 dry_clean vs "$NS" clean - data >/dev/null || return 1
	out=$(vs "$NS" clean - data | k create -f - 2>&1) || { t_fail "$out"; return 1; }
	case $out in *Warning*) t_fail "warned: $out"; return 1 ;; esac
}

test_class_missing() {
	warn_case 'VolumeSnapshotClass "no-such-class" does not exist: this object stays unready until it does; create it or set spec.volumeSnapshotClassName to an existing class' \
		vs "$NS" s-class no-such-class data
}

test_no_default_class() {
	warn_case 'no default VolumeSnapshotClass for driver other.csi.example (PVC wt/other-pvc): it will fail; set spec.volumeSnapshotClassName, or mark one VolumeSnapshotClass of that driver default' \
		vs "$NS" s-nodefault - other-pvc
}

test_many_default_classes() {
	warn_case '2 default VolumeSnapshotClasses for driver two.csi.example (two-' vs "$NS" s-many - two-pvc || return 1
	t_contains "$(tail -3 "$W/warnings.txt")" "): it will fail; set spec.volumeSnapshotClassName, or keep one default"
}

test_driver_mismatch() {
	local pv
	pv=$(k -n "$NS" get pvc data -o jsonpath='{.spec.volumeName}')
	warn_case "VolumeSnapshotClass \"wt-other-class\" is for driver other.csi.example, but PVC wt/data is on $DRIVER (PersistentVolume $pv): it will fail; set spec.volumeSnapshotClassName to a class of driver $DRIVER" \
		vs "$NS" s-mismatch wt-other-class data
}

test_pvc_missing() {
	warn_case 'PersistentVolumeClaim wt/nope does not exist: the snapshot waits until it does; check spec.source.persistentVolumeClaimName' \
		vs "$NS" s-missing - nope
}

test_pvc_unbound() {
	warn_case 'PersistentVolumeClaim wt/pending is not bound yet: the snapshot waits until it is; see kubectl describe pvc -n wt pending if it stays Pending' \
		vs "$NS" s-unbound - pending
}

test_pvc_deleting() {
	warn_case 'PersistentVolumeClaim wt/held is being deleted: the snapshot will not be taken; snapshot a PVC that is not being deleted' \
		vs "$NS" s-deleting - held
}

test_content_taken() {
	warn_case 'VolumeSnapshotContent wt-taken is bound to VolumeSnapshot wt/owner: this snapshot will fail; name a content whose spec.volumeSnapshotRef is wt/thief' \
		vs "$NS" thief - - wt-taken
}

test_group_selector_empty() {
	warn_case 'spec.source.selector matches no PersistentVolumeClaim in namespace wt: the group snapshot cannot be taken until one matches; label the PVCs or fix the selector' \
		vgs g-empty "{app: nothing}"
}

test_group_mixed_drivers() {
	warn_case 'spec.source.selector matches PVCs of different drivers (' vgs g-mixed "{group: mixed}" || return 1
	local last
	last=$(tail -3 "$W/warnings.txt")
	t_contains "$last" "data on $DRIVER" || return 1
	t_contains "$last" "other-pvc on other.csi.example" || return 1
	t_contains "$last" "): a group snapshot needs one driver; narrow the selector"
}

test_not_sent() {
	local out
	# kube-system is excluded; group members (owned by a VolumeGroupSnapshot) are not sent.
	out=$(vs kube-system ks-missing no-such-class data | k create -f - 2>&1) || { t_fail "$out"; return 1; }
	case $out in *Warning*) t_fail "kube-system warned: $out"; return 1 ;; esac
	out=$(vs "$NS" member no-such-class data |
		sed 's#^metadata: {#metadata: {ownerReferences: [{apiVersion: groupsnapshot.storage.k8s.io/v1beta2, kind: VolumeGroupSnapshot, name: g, uid: 00000000-0000-0000-0000-000000000001}], #' |
		k create -f - 2>&1) || { t_fail "$out"; return 1; }
	case $out in *Warning*) t_fail "member warned: $out"; return 1 ;; esac
}

test_metrics() {
	local m kind
	m=$(wh "$URL/metrics")
	for kind in class-missing no-default many-defaults driver-mismatch pvc-missing pvc-unbound \
		pvc-deleting content-taken selector-empty mixed-drivers; do
		awk -v k="snapshot_webhook_admission_warnings_total{warning=\"$kind\"}" '$1 == k && $2 > 0 {f=1} END {exit !f}' <<<"$m" ||
			{ t_fail "no $kind warning counted"; return 1; }
	done
	t_contains "$m" 'snapshot_webhook_admission_decisions_total{rule="snapshot-warnings",result="denied"} 0'
}

test_webhook_down_still_creates() {
	local out
	kill "$WHPID" && wait "$WHPID" 2>/dev/null
	WHPID=
	out=$(vs "$NS" while-down no-such-class data | k create -f - 2>&1) || { t_fail "not created with the webhook down: $out"; return 1; }
	t_contains "$out" "created"
}

t_run setup test_setup
t_run clean_snapshot_no_warning test_clean_snapshot_no_warning
t_run class_missing test_class_missing
t_run no_default_class test_no_default_class
t_run many_default_classes test_many_default_classes
t_run driver_mismatch test_driver_mismatch
t_run pvc_missing test_pvc_missing
t_run pvc_unbound test_pvc_unbound
t_run pvc_deleting test_pvc_deleting
t_run content_taken test_content_taken
t_run group_selector_empty test_group_selector_empty
t_run group_mixed_drivers test_group_mixed_drivers
t_run not_sent test_not_sent
t_run metrics test_metrics
t_run webhook_down_still_creates test_webhook_down_still_creates
[ -s "$W/warnings.txt" ] && sed 's/^/    /' "$W/warnings.txt" >&2
grep -E ' E |ERROR|AddressSanitizer' "$W/webhook.log" | head -5 >&2
t_done
