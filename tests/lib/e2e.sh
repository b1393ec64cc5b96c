# tests/lib/e2e.sh -- setup shared by the e2e scripts (tests/e2e/*.sh).
# Source from the repository root ($top set); it sources tests/lib/t.sh.
#
#   k ARGS...               kubectl of TOOLS_BIN
#   e2e_cluster SUITE NAME [WORK]   names the suite (T_SUITE) and uses the
#                           cluster of the environment (KUBECONFIG and
#                           CLUSTER_DIR set, as `make test` does) or starts one
#                           named NAME with the CSI peers; own_cluster=1 then
#                           (the caller's cleanup takes it down).  Exits the
#                           script with a failed count when that fails.  Then
#                           sources $CLUSTER_DIR/env (as `make test` does) and
#                           sets K (TOOLS_BIN's kubectl), SC_BIN (default
#                           $top/bin), DRIVER (the CSI test driver) and, with
#                           WORK, the directory
#                           W=$CLUSTER_DIR/WORK (made).
#   e2e_port                prints a free loopback TCP port
#   e2e_webhook_kubeconfig OUT   applies deploy/webhook's ServiceAccount and
#                           RBAC and writes a kubeconfig with its token to OUT
#   e2e_vwc_loopback URL CABUNDLE DIR   prints deploy/webhook's
#                           ValidatingWebhookConfigurations as one JSON List,
#                           each webhook pointed at URL<its Service path> with
#                           CABUNDLE (DIR holds the intermediate vwc.in.json)
#   e2e_leaf DIR CADIR SAN  DIR/tls.key and DIR/tls.crt: a P-256 key and a
#                           certificate for CN snapshot-webhook with the
#                           subjectAltName SAN, signed by CADIR/ca.{crt,key}
#   e2e_publish TLSDIR GEN  points TLSDIR/..data at ..GEN with one rename, as
#                           the kubelet swaps a Secret volume
#   e2e_snapshot_ready NS LOG   creates namespace NS with a PVC src and a
#                           VolumeSnapshot snap of it and waits (90 s) until
#                           snap is readyToUse; the tail of LOG on a timeout
#   e2e_controller_bin      CONTROLLER (default $top/bin/snapshot-controller),
#                           or exits the script when it is not there
#   e2e_controller_sa       the ServiceAccount snapshot-controller with
#                           deploy/controller's RBAC in namespace $SA_NS and
#                           its token kubeconfig $SA_KC
#                           (tests/integration/deploy/sa-kubeconfig.sh); exits
#                           the script when that fails
#   e2e_controller_teardown the end of the controller scripts' cleanup:
#                           namespaces $NS and $SA_NS and the ServiceAccount's
#                           RBAC go, the cluster too when the script started it
#                           (KEEP=1 keeps it after a failure); names $WORK
#   e2e_stop_webhook PIDVAR LOG REGEX   stops the webhook whose pid is in
#                           $PIDVAR (then empties it) and prints the first
#                           lines of LOG matching REGEX to stderr

. "$top/tests/lib/t.sh"

k() { "$TOOLS_BIN/kubectl" "$@"; }

e2e_cluster() {
	T_SUITE=$1
	own_cluster=0
	if [ -z "${KUBECONFIG:-}" ] || [ -z "${CLUSTER_DIR:-}" ]; then
		eval "$("$top/tests/cluster/up" "$2")" || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
		[ -n "${CLUSTER_DIR:-}" ] || { echo "$T_SUITE: 0 passed, 1 failed (no cluster)"; exit 1; }
		"$top/tests/cluster/csi-up" "$CLUSTER_DIR" >&2 ||
			{ "$top/tests/cluster/down" "$CLUSTER_DIR"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
		own_cluster=1
	fi
	. "$CLUSTER_DIR/env"
	K=$TOOLS_BIN/kubectl
	SC_BIN=${SC_BIN:-$top/bin}
	DRIVER=testdriver.csi.k8s.io
	if [ -n "${3:-}" ]; then
		W=$CLUSTER_DIR/$3
		mkdir -p "$W"
	fi
}

e2e_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

e2e_webhook_kubeconfig() {
	local token
	k apply -f deploy/webhook/serviceaccount.yaml -f deploy/webhook/rbac.yaml >/dev/null
	token=$(k -n kube-system create token snapshot-webhook --duration=2h)
	cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "$API_SERVER", certificate-authority: "$CLUSTER_DIR/pki/ca.crt"}
users:
- name: snapshot-webhook
  user: {token: "$token"}
contexts:
- name: c
  context: {cluster: c, user: snapshot-webhook}
current-context: c
KC
}

e2e_vwc_loopback() {
	# YAML -> JSON with kubectl (no PyYAML needed)
	k create --dry-run=client -o json \
		-f deploy/webhook/validatingwebhookconfiguration.yaml >"$3/vwc.in.json" || {
		echo "cannot read deploy/webhook/validatingwebhookconfiguration.yaml" >&2
		return 1
	}
	python3 - "$1" "$2" "$3/vwc.in.json" <<'PY'
import json, sys
url, ca, path = sys.argv[1], sys.argv[2], sys.argv[3]
text, docs, dec, i = open(path).read(), [], json.JSONDecoder(), 0
while i < len(text):  # a List, or JSON documents one after another
    if text[i].isspace():
        i += 1
        continue
    doc, i = dec.raw_decode(text, i)
    docs += doc["items"] if doc.get("kind") == "List" else [doc]
for d in docs:
    for w in d["webhooks"]:
        w["clientConfig"] = {"url": url + w["clientConfig"]["service"]["path"], "caBundle": ca}
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
PY
}

e2e_stop_webhook() {
	local pid=${!1}
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	printf -v "$1" ''
	grep -E "$3" "$2" | head -5 >&2
}

e2e_leaf() {
	mkdir -p "$1"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=snapshot-webhook" \
		-keyout "$1/tls.key" -out "$1/req.csr" 2>/dev/null
	printf 'subjectAltName=%s\n' "$3" >"$1/ext"
	openssl x509 -req -in "$1/req.csr" -CA "$2/ca.crt" -CAkey "$2/ca.key" -CAcreateserial \
		-days 2 -extfile "$1/ext" -out "$1/tls.crt" 2>/dev/null
}

e2e_publish() {
	ln -sfn "..$2" "$1/..data_tmp" && mv -T "$1/..data_tmp" "$1/..data"
}

e2e_snapshot_ready() {
	k create ns "$1" >/dev/null || return 1
	k -n "$1" apply -f - >/dev/null <<-Y || return 1
	apiVersion: v1
	kind: PersistentVolumeClaim
	metadata: {name: src}
	spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
	---
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshot
	metadata: {name: snap}
	spec: {source: {persistentVolumeClaimName: src}}
	Y
	t_wait 90 bash -c "[ \"\$('$TOOLS_BIN/kubectl' -n '$1' get volumesnapshot snap -o jsonpath='{.status.readyToUse}')\" = true ]" >/dev/null ||
		{ tail -20 "$2" >&2; return 1; }
}

e2e_controller_bin() {
	CONTROLLER=${CONTROLLER:-$top/bin/snapshot-controller}
	[ -x "$CONTROLLER" ] || { echo "no controller binary at $CONTROLLER (make first)"; exit 1; }
}

e2e_controller_sa() {
	"$top/tests/integration/deploy/sa-kubeconfig.sh" "$CLUSTER_DIR" "$SA_NS" snapshot-controller "$SA_KC" >&2 ||
		exit 1
}

e2e_controller_teardown() {
	k delete ns "$NS" --wait=false >/dev/null 2>&1
	"$top/tests/integration/deploy/sa-kubeconfig.sh" --delete "$CLUSTER_DIR" "$SA_NS" snapshot-controller >/dev/null 2>&1
	k delete ns "$SA_NS" --wait=false >/dev/null 2>&1
	if [ "$own_cluster" = 1 ] && { [ "${KEEP:-0}" != 1 ] || [ "$T_FAILED" -eq 0 ]; }; then
		"$top/tests/cluster/down" "$CLUSTER_DIR" >/dev/null 2>&1
	fi
	echo "controller logs: $WORK" >&2
}
