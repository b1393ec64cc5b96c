#!/usr/bin/env bash
# tests/e2e/image.sh -- the container images, run from their own root
# filesystems against the real control plane.
#
# Builds the images (`make image`: bin/'s plain binaries, not $SC_BIN's ASan
# ones) unless IMAGE_DIR names a directory of built images, unpacks each with
# umoci and runs its entrypoint with tests/lib/image-run.sh: read-only root,
# the image's user (must be 65532), no capabilities, no_new_privs, nothing
# from the host but the mounted volumes.  Like a pod: the ServiceAccount token
# of deploy/'s account, the cluster CA and the namespace are mounted at
# /var/run/secrets/kubernetes.io/serviceaccount, and KUBERNETES_SERVICE_HOST/
# PORT point at the API server (in-cluster config).
#
#   - each image's config: user, entrypoint, OCI labels, the state volume;
#   - the root filesystem: no shell, the CA bundle the libcurl in it uses;
#   - the controller becomes ready, leads, makes a snapshot ready and writes
#     its state database into the mounted --state-dir volume;
#   - the webhook serves TLS from a Secret-volume layout and the API server
#     calls it (a second default class is denied).
# A library missing from an image keeps its program from starting, and a
# missing or empty CA bundle fails the root filesystem test.
#
# Runs inside `make test` (cluster and CSI peers up) or standalone, when it
# starts and stops its own cluster.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/e2e.sh
e2e_cluster e2e-image imge2e image-e2e
. tests/lib/image.sh
CPID= WPID=
cleanup() {
	img_stop "$CPID"
	img_stop "$WPID"
	k delete validatingwebhookconfiguration snapshot-webhook-classes snapshot-webhook-pvc --ignore-not-found >/dev/null 2>&1
	k delete ns image-e2e --ignore-not-found --wait=false >/dev/null 2>&1
	rm -rf "$W/controller" "$W/webhook"
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

img_prepare
case $? in
0) ;;
2) [ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1; trap - EXIT; exit 0 ;;
*) echo "$T_SUITE: 0 passed, 1 failed"; exit 1 ;;
esac
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
img_unpack snapshot-controller "$W/controller" || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
img_unpack snapshot-webhook "$W/webhook" || { echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

# ---- the image configs and root filesystems ------------------------------------
image_config() { # NAME: the config blob of NAME's image, as JSON
	python3 - "$IMAGE_DIR/$1.oci" "$IMAGE_VERSION" <<'PY'
import json, sys
lay, ver = sys.argv[1], sys.argv[2]
blob = lambda d: json.load(open(lay + "/blobs/sha256/" + d.split(":")[1]))
idx = json.load(open(lay + "/index.json"))
m = [d for d in idx["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ver][0]
print(json.dumps(blob(blob(m["digest"])["config"]["digest"])))
PY
}
test_config() {
	local n cfg
	for n in snapshot-controller snapshot-webhook; do
		cfg=$(image_config $n) || return 1
		t_eq "$(jq -r .config.User <<<"$cfg")" 65532:65532 "$n user" || return 1
		t_eq "$(jq -c .config.Entrypoint <<<"$cfg")" "[\"/usr/bin/$n\"]" "$n entrypoint" || return 1
		t_eq "$(jq -r '.config.Labels["org.opencontainers.image.version"]' <<<"$cfg")" "$IMAGE_VERSION" "$n version label" || return 1
		t_eq "$(jq -r '.config.Labels["org.opencontainers.image.title"]' <<<"$cfg")" "$n" "$n title label" || return 1
		t_eq "$(jq -r '.config.Labels["org.opencontainers.image.revision"] | length > 6' <<<"$cfg")" true "$n revision label" || return 1
		t_eq "$(jq -r '.os + "/" + .architecture' <<<"$cfg")" linux/amd64 "$n platform" || return 1
	done
	t_eq "$(image_config snapshot-controller | jq -c '.config.Volumes | keys')" '["/var/lib/snapshot-controller"]' "controller volume" || return 1
	t_eq "$(image_config snapshot-controller | jq -c '.config.Env')" '["PATH=/usr/bin"]' "controller env" || return 1
	t_eq "$(image_config snapshot-webhook | jq -c '.config.Env')" '["PATH=/usr/bin"]' "webhook env"
}
t_run image_config test_config

test_rootfs() {
	local n r ca curlca bundled p v lib e sym syms
	bundled=$(make -s --no-print-directory print-bundled)
	for n in controller webhook; do
		r=$W/$n/rootfs
		for f in bin/sh usr/bin/sh bin/bash usr/bin/apt-get usr/bin/dpkg; do
			[ ! -e "$r/$f" ] || t_fail "$n image has /$f" || return 1
		done
		# The CA bundle libcurl falls back on (a kubeconfig without a CA):
		# libcurl is built into the program (scripts/curl-build.sh), or, with
		# CURL=system, Debian's shared one.
		ca=$r/etc/ssl/certs/ca-certificates.crt
		lib=$r/usr/lib/x86_64-linux-gnu/libcurl.so.4
		[ -e "$lib" ] || lib=
		curlca=$(strings "$r/usr/bin/snapshot-$n" ${lib:+"$lib"} | grep -m1 '^/etc/ssl/certs/ca-certificates.crt$')
		t_eq "$curlca" /etc/ssl/certs/ca-certificates.crt "libcurl's default CA file" || return 1
		[ -s "$ca" ] || t_fail "$n image has no $ca" || return 1
		local certs
		certs=$(openssl storeutl -noout -certs "$ca" 2>/dev/null | sed -n 's/^Total found: //p')
		[ "${certs:-0}" -ge 100 ] || t_fail "$n CA bundle holds ${certs:-no} certificates" || return 1
		[ -e "$r/usr/share/doc/libc6/copyright" ] || t_fail "$n image lacks the copyright files" || return 1
		# Our libcurl and libmicrohttpd: not Debian's shared ones (nor
		# libcurl's LDAP, RTMP, SSH and Kerberos libraries) in the image, and
		# each package whose source a binary holds recorded for scanners,
		# with its copyright file; a package it does not hold, not.
		for p in libcurl.so.4 libmicrohttpd.so.12 libldap-2.5.so.0 librtmp.so.1 libssh2.so.1 libgssapi_krb5.so.2; do
			[ -z "$bundled" ] || [ ! -e "$r/usr/lib/x86_64-linux-gnu/$p" ] || t_fail "$n image has $p" || return 1
		done
		syms=$(nm --defined-only "bin/snapshot-$n" | awk '{print $3}')
		for e in $bundled; do
			p=${e%%=*} v=${e#*=} sym=${e##*@}
			v=${v%@*}
			if grep -qx "$sym" <<<"$syms"; then
				t_eq "$(sed -n 's/^Version: //p' "$r/var/lib/dpkg/status.d/$p" 2>/dev/null)" "$v" "$n: $p in status.d" || return 1
				[ -s "$r/usr/share/doc/$p/copyright" ] || t_fail "$n image lacks $p's copyright file" || return 1
			else
				[ ! -e "$r/var/lib/dpkg/status.d/$p" ] || t_fail "$n image records $p, which it does not hold" || return 1
			fi
		done
	done
	# The webhook holds both; the controller no libmicrohttpd.
	[ -z "$bundled" ] || [ -e "$W/webhook/rootfs/var/lib/dpkg/status.d/libmicrohttpd12" ] ||
		t_fail "webhook image does not record libmicrohttpd12" || return 1
	# With our libcurl the controller needs no GnuTLS at all; the webhook's
	# TLS is GnuTLS (libmicrohttpd).
	[ -z "$bundled" ] || [ ! -e "$W/controller/rootfs/usr/lib/x86_64-linux-gnu/libgnutls.so.30" ] ||
		t_fail "controller image has GnuTLS"
}
t_run rootfs test_rootfs

# ---- the controller, in-cluster, with deploy/controller's ServiceAccount -----
k apply -f deploy/controller/serviceaccount.yaml -f deploy/controller/rbac.yaml \
	-f deploy/controller/leader-election.yaml >/dev/null
mkdir -p "$W/c-sa" "$W/c-state"
chown 65532:65532 "$W/c-state" && chmod 0700 "$W/c-state"
img_sa_dir kube-system snapshot-controller "$W/c-sa"
CPORT=$(free_port)
# shellcheck disable=SC2046
img_start CPID "$W/controller.log" "$W/controller" \
	-v "$W/c-sa:/var/run/secrets/kubernetes.io/serviceaccount:ro" \
	-v "$W/c-state:/var/lib/snapshot-controller" -t /tmp \
	$(img_api_env) -e POD_NAMESPACE=kube-system -e TMPDIR=/tmp -- \
	--leader-election=true --http-endpoint="127.0.0.1:$CPORT" \
	--state-dir=/var/lib/snapshot-controller --v=2

test_controller_sandbox() {
	local p
	p=$(t_wait 20 img_prog_pid "$CPID" snapshot-controller) || return 1
	t_eq "$(awk '/^Uid:/ {print $2 ":" $3}' "/proc/$p/status")" 65532:65532 "uid" || return 1
	t_eq "$(awk '/^Gid:/ {print $2}' "/proc/$p/status")" 65532 "gid" || return 1
	t_eq "$(awk '/^CapEff:/ {print $2}' "/proc/$p/status")" 0000000000000000 "effective capabilities" || return 1
	t_eq "$(awk '/^NoNewPrivs:/ {print $2}' "/proc/$p/status")" 1 "no_new_privs" || return 1
	# The root mount as the program sees it: read-only.
	t_eq "$(awk '$5 == "/" {print ($6 ~ /(^|,)ro(,|$)/) ? "ro" : "rw"}' "/proc/$p/mountinfo")" ro "root mount" || return 1
	# Its root directory is the image's root filesystem, nothing else.
	t_eq "$(readlink "/proc/$p/root")" "$W/controller/rootfs" "the program's root" || return 1
}
test_controller_ready() {
	t_wait 60 curl -sf "http://127.0.0.1:$CPORT/readyz" >/dev/null || { tail -20 "$W/controller.log" >&2; return 1; }
	# It leads: a Lease in its namespace names a holder.
	t_wait 30 bash -c "'$TOOLS_BIN/kubectl' -n kube-system get lease -o jsonpath='{.items[*].spec.holderIdentity}' | grep -q ." >/dev/null
}
test_controller_snapshot() {
	e2e_snapshot_ready image-e2e "$W/controller.log" || return 1
	local content
	content=$(k -n image-e2e get volumesnapshot snap -o jsonpath='{.status.boundVolumeSnapshotContentName}')
	[ -n "$content" ] || t_fail "no bound content" || return 1
	# The state database went into the mounted volume, owned by the image user.
	[ -n "$(find "$W/c-state" -type f -user 65532 | head -1)" ] || t_fail "nothing written to the state volume: $(ls -la "$W/c-state")"
}
t_run controller_sandbox test_controller_sandbox
t_run controller_ready test_controller_ready
t_run controller_snapshot test_controller_snapshot

# ---- the webhook: TLS from a Secret-volume layout, called by the API server ---
mk_tls() { # DIR: CA + leaf for 127.0.0.1, as a kubelet Secret volume lays it out
	local d=$1
	mkdir -p "$d/..gen1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=image-e2e-ca" \
		-keyout "$d.ca.key" -out "$d.ca.crt" 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=snapshot-webhook" \
		-keyout "$d/..gen1/tls.key" -out "$d.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:snapshot-webhook.kube-system.svc\n' >"$d.ext"
	openssl x509 -req -in "$d.csr" -CA "$d.ca.crt" -CAkey "$d.ca.key" -CAcreateserial -days 2 \
		-extfile "$d.ext" -out "$d/..gen1/tls.crt" 2>/dev/null || return 1
	cp "$d.ca.crt" "$d/..gen1/ca.crt"
	chmod 0644 "$d/..gen1"/*
	ln -s ..gen1 "$d/..data"
	ln -s ..data/tls.crt "$d/tls.crt"
	ln -s ..data/tls.key "$d/tls.key"
	ln -s ..data/ca.crt "$d/ca.crt"
}
k apply -f deploy/webhook/serviceaccount.yaml -f deploy/webhook/rbac.yaml >/dev/null
mk_tls "$W/w-tls"
img_sa_dir kube-system snapshot-webhook "$W/w-sa"
WPORT=$(free_port)
# shellcheck disable=SC2046
img_start WPID "$W/webhook.log" "$W/webhook" \
	-v "$W/w-sa:/var/run/secrets/kubernetes.io/serviceaccount:ro" \
	-v "$W/w-tls:/etc/snapshot-webhook/tls:ro" \
	$(img_api_env) -- \
	--tls-cert-file=/etc/snapshot-webhook/tls/tls.crt --tls-private-key-file=/etc/snapshot-webhook/tls/tls.key \
	--port="$WPORT" --bind-address=127.0.0.1

# deploy/webhook's configurations, pointed at the loopback url.
webhook_configs() {
	e2e_vwc_loopback "https://127.0.0.1:$WPORT" "$(base64 -w0 <"$W/w-tls.ca.crt")" "$W"
}
test_webhook_tls() {
	local p
	p=$(t_wait 20 img_prog_pid "$WPID" snapshot-webhook) || return 1
	t_eq "$(awk '/^Uid:/ {print $2}' "/proc/$p/status")" 65532 "uid" || return 1
	t_wait 60 curl -sf --cacert "$W/w-tls.ca.crt" "https://127.0.0.1:$WPORT/readyz" >/dev/null ||
		{ tail -20 "$W/webhook.log" >&2; return 1; }
	# The certificate served is the mounted one.
	local served
	served=$(openssl s_client -connect "127.0.0.1:$WPORT" -servername snapshot-webhook.kube-system.svc </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256)
	t_eq "$served" "$(openssl x509 -noout -fingerprint -sha256 -in "$W/w-tls/tls.crt")" "served certificate"
}
second_default_denied() {
	local out
	out=$(k apply --dry-run=server -f - 2>&1 <<-Y
	apiVersion: snapshot.storage.k8s.io/v1
	kind: VolumeSnapshotClass
	metadata:
	  name: image-e2e-second-default
	  annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}
	driver: $CSI_DRIVER
	deletionPolicy: Delete
	Y
	) && { echo "admitted: $out"; return 1; }
	case "$out" in *'denied the request'*) echo "$out"; return 0 ;; esac
	echo "$out"
	return 1
}
test_webhook_called() {
	webhook_configs >"$W/vwc.json" || return 1
	k apply -f "$W/vwc.json" >/dev/null || return 1
	# The webhook's caches lag the API server by a moment after it turns
	# ready: wait for the denial, then look at what the API server said.
	local out
	out=$(t_wait 30 second_default_denied) || return 1
	out=$(second_default_denied) || return 1
	t_contains "$out" 'admission webhook "' "API server's answer" || return 1
	case "$out" in *'failed calling webhook'*) t_fail "the API server could not call the webhook: $out" ;; esac
}
t_run webhook_tls test_webhook_tls
t_run webhook_called_by_apiserver test_webhook_called

# ---- both stop cleanly on SIGTERM, as on a pod deletion ------------------------
test_sigterm() {
	local p c
	for p in "$CPID" "$WPID"; do
		c=$(img_prog_pid "$p") || t_fail "not running" || return 1
		kill -TERM "$c"
		t_wait 15 bash -c "! kill -0 $p 2>/dev/null" || return 1
	done
	! grep -H 'error while loading shared libraries' "$W/controller.log" "$W/webhook.log" >&2 ||
		t_fail "loader errors in the logs"
}
t_run sigterm test_sigterm
echo "images: $(du -b "$IMAGE_DIR"/snapshot-controller-"$IMAGE_VERSION".oci.tar "$IMAGE_DIR"/snapshot-webhook-"$IMAGE_VERSION".oci.tar 2>/dev/null | awk '{printf "%s%s=%d", s, $2, $1; s=" "}')"
t_done
