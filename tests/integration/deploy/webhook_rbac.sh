#!/usr/bin/env bash
# tests/integration/deploy/webhook_rbac.sh -- the REAL snapshot-webhook with
# deploy/'s pieces:
#   - its certificate comes from deploy/scripts/gen-certs.sh (the Secret's
#     tls.crt/tls.key, as the Deployment mounts them), and the API-server side
#     of TLS verifies it for snapshot-webhook.<ns>.svc against the CA that
#     gen-certs.sh put into the caBundles;
#   - it talks to the API server with a token for a ServiceAccount bound to
#     exactly deploy/webhook's ClusterRole (sa-kubeconfig.sh): its caches sync
#     (/readyz 200), it denies a second default class from its cache, and the
#     log holds no 403.
# Needs KUBECONFIG, TOOLS_BIN and the webhook binary ($SC_BIN, default bin/;
# without it the test reports itself skipped).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
. "$top/tests/lib/it.sh"
it_setup deploy.webhook_rbac snapshot-webhook
NS=whrbac-$RUN
DRIVER=whrbac-$RUN.example.com
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HOST=snapshot-webhook.$NS.svc

cleanup() {
	[ -f "$TMP/pid" ] && kill "$(cat "$TMP/pid")" 2>/dev/null
	"$K" delete vsclass "def-$RUN" --ignore-not-found >/dev/null 2>&1
	"$here/sa-kubeconfig.sh" --delete "$CLUSTER_DIR" "$NS" snapshot-webhook >/dev/null 2>&1
	"$K" delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
	rm -rf "$TMP"
}
trap cleanup EXIT
"$K" apply -k "$top/crds" >/dev/null || exit 1
"$K" wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=volume-snapshot >/dev/null || exit 1

https() { # path [curl args]: prints the HTTP code; body in $TMP/body
	local p=$1
	shift
	curl -sS --cacert "$TMP/ca.crt" --resolve "$HOST:$PORT:127.0.0.1" -o "$TMP/body" -w '%{http_code}' "$@" "https://$HOST:$PORT$p"
}

test_start_with_deploy_pieces() {
	"$here/sa-kubeconfig.sh" "$CLUSTER_DIR" "$NS" snapshot-webhook "$TMP/sa.kubeconfig" 2>/dev/null ||
		{ t_fail "sa-kubeconfig.sh failed"; return 1; }
	local out f
	out=$("$top/deploy/scripts/gen-certs.sh" --kubectl "$K" --namespace "$NS" --webhook-configs "" --crds "" 2>&1) ||
		{ t_fail "gen-certs.sh: $out"; return 1; }
	for f in ca.crt tls.crt tls.key; do
		"$K" -n "$NS" get secret snapshot-webhook-tls -o "jsonpath={.data.${f//./\\.}}" | base64 -d >"$TMP/$f" || return 1
	done
	"$K" apply -f - >/dev/null <<E || return 1
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: def-$RUN
  annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}
driver: $DRIVER
deletionPolicy: Delete
E
	"$SC_BIN/snapshot-webhook" --tls-cert-file="$TMP/tls.crt" --tls-private-key-file="$TMP/tls.key" \
		--port="$PORT" --bind-address=127.0.0.1 --kubeconfig="$TMP/sa.kubeconfig" >"$TMP/webhook.log" 2>&1 &
	echo $! >"$TMP/pid"
	# Ready only once its watch caches synced: that needs list+watch on both class kinds and grants.
	t_wait 60 sh -c "[ \"\$(curl -sS --cacert '$TMP/ca.crt' --resolve '$HOST:$PORT:127.0.0.1' -o /dev/null -w '%{http_code}' 'https://$HOST:$PORT/readyz')\" = 200 ]" >/dev/null ||
		{ t_fail "never ready; log:"$'\n'"$(tail -20 "$TMP/webhook.log")"; return 1; }
	# The name in the certificate is the Service's, as the API server will dial it.
	t_eq "$(https /healthz)" 200 healthz
}

test_denies_from_cache() {
	[ -f "$TMP/pid" ] || { t_fail "needs the start test"; return 1; }
	local review code
	review=$(printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-%s","kind":{"group":"snapshot.storage.k8s.io","version":"v1","kind":"VolumeSnapshotClass"},"resource":{"group":"snapshot.storage.k8s.io","version":"v1","resource":"volumesnapshotclasses"},"name":"second-%s","operation":"CREATE","userInfo":{"username":"admin"},"object":{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass","metadata":{"name":"second-%s","annotations":{"snapshot.storage.kubernetes.io/is-default-class":"true"}},"driver":"%s","deletionPolicy":"Delete"}}}' "$RUN" "$RUN" "$RUN" "$DRIVER")
	code=$(https /validate-class -X POST -H 'Content-Type: application/json' --data-binary "$review") || return 1
	t_eq "$code" 200 "validate-class HTTP" || return 1
	t_eq "$(jq -r '.response.allowed' "$TMP/body")" false allowed || return 1
	t_contains "$(jq -r '.response.status.message // .response.result.message' "$TMP/body")" "default snapshot class: def-$RUN already exists for driver: $DRIVER" || return 1
	local f
	f=$(grep -i -E 'forbidden|\b403\b' "$TMP/webhook.log") && { t_fail "403 in the webhook log: $f"; return 1; }
	kill -0 "$(cat "$TMP/pid")" 2>/dev/null || { t_fail "webhook exited"; return 1; }
}

t_run start_with_deploy_pieces test_start_with_deploy_pieces
t_run denies_from_cache test_denies_from_cache
t_done
