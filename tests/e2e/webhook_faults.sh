#!/usr/bin/env bash
# tests/e2e/webhook_faults.sh -- snapshot-webhook under faults, against a REAL
# kube-apiserver that calls it over TLS (ValidatingWebhookConfiguration of
# deploy/webhook/, rewritten to url + caBundle):
#   - kube-apiserver killed (-9) and restarted, then etcd, while reviews flow
#     straight to the webhook: every review is answered from the cached rules,
#     /readyz stays 200 (the caches synced and nothing could change meanwhile),
#     and after the restart the watches resume (a class created afterwards is
#     seen);
#   - the certificate rotated every second for a minute while reviews flow
#     both through the API server (server-side dry runs) and straight to the
#     webhook on keep-alive and fresh connections: 0 failed reviews;
#   - a client holding every connection slot with unfinished headers while the
#     API server sends reviews: every one answered;
#   - the ReferenceGrant CRD deleted and the API server down: /readyz stays
#     200, also for a webhook started after the deletion.
# Runs in `make test` with a fresh cluster (KUBECONFIG, CLUSTER_DIR, TOOLS_BIN,
# SC_BIN set), or standalone (starts and stops its own).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/e2e.sh
e2e_cluster e2e-webhook-faults whfault webhook-faults
. tests/soak/lib.sh
mkdir -p "$W/tls"
PORT=$(e2e_port)
URL=https://127.0.0.1:$PORT
WHPID= LOADPIDS=

cleanup() {
	for p in $LOADPIDS; do kill "$p" 2>/dev/null; done
	[ -n "$WHPID" ] && kill "$WHPID" 2>/dev/null && wait "$WHPID" 2>/dev/null
	k delete validatingwebhookconfiguration snapshot-webhook-classes snapshot-webhook-pvc \
		--ignore-not-found >/dev/null 2>&1
	[ "$T_FAILED" -gt 0 ] && touch "$CLUSTER_DIR/failed" # keep the logs of a failed run
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

# Certificates in a Secret-volume layout, swapped with one rename.
new_leaf() { # new_leaf GEN
	e2e_leaf "$W/tls/..$1" "$W" IP:127.0.0.1
	e2e_publish "$W/tls" "$1"
}
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=faults-ca" \
	-keyout "$W/ca.key" -out "$W/ca.crt" 2>/dev/null
new_leaf gen0
ln -sfn ..data/tls.crt "$W/tls/tls.crt"
ln -sfn ..data/tls.key "$W/tls/tls.key"
CABUNDLE=$(base64 -w0 <"$W/ca.crt")

"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls/tls.crt" --tls-private-key-file="$W/tls/tls.key" \
	--port="$PORT" --bind-address=127.0.0.1 --kubeconfig="$KUBECONFIG" \
	--cert-reload-interval=200ms --max-connections=200 >"$W/webhook.log" 2>&1 &
WHPID=$!

wh() { curl -sS --cacert "$W/ca.crt" "$@"; }
metric() { wh "$URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
vsclass() { # vsclass NAME DRIVER DEFAULT
	printf 'apiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshotClass\nmetadata:\n  name: %s\n  annotations: {snapshot.storage.kubernetes.io/is-default-class: "%s"}\ndriver: %s\ndeletionPolicy: Delete\n' "$1" "$3" "$2"
}

# Reviews through the API server: server-side dry runs of a plain class
# (allowed) and a second default (denied by the webhook, with its message).
apiserver_load() { # apiserver_load SECONDS OUTFILE
	local end=$((SECONDS + $1)) ok=0 bad=0 out
	: >"$2.fail"
	while [ $SECONDS -lt $end ]; do
		if out=$(vsclass "load-$RANDOM$RANDOM" "$DRIVER" false | k create --dry-run=server -f - 2>&1); then
			ok=$((ok + 1))
		else bad=$((bad + 1)); echo "$out" >>"$2.fail"; fi
		out=$(vsclass "load-d-$RANDOM$RANDOM" "$DRIVER" true | k create --dry-run=server -f - 2>&1)
		case "$out" in
		*"default snapshot class: csi-test-snapclass already exists"*) ok=$((ok + 1)) ;;
		*) bad=$((bad + 1)); echo "$out" >>"$2.fail" ;;
		esac
	done
	echo "$ok $bad" >"$2"
}
direct_load() { # direct_load SECONDS OUTFILE [fresh]
	python3 tests/soak/review_load.py "$URL" "$W/ca.crt" "$1" "$2" "$DRIVER" csi-test-snapclass ${3:-}
}
# alive: fail, with the last lines of its log, when the webhook has exited
alive() {
	kill -0 "$WHPID" 2>/dev/null && return 0
	t_fail "the webhook exited; its last lines: $(tail -n 8 "$W/webhook.log" | tr '\n' '|')"
}
# report NAME FILE: print "ok bad" figures; fail when bad > 0 or ok == 0
report() {
	local ok bad
	read -r ok bad <"$2" || { t_fail "$1: no result"; return 1; }
	echo "    $1: $ok reviews answered as expected, $bad not" >&2
	if [ "$bad" != 0 ]; then
		alive || true
		t_fail "$1: $bad failed reviews: $(head -c 800 "$2.fail")"
		return 1
	fi
	[ "$ok" -gt 0 ] || { t_fail "$1: no review answered"; return 1; }
}

test_ready_and_installed() {
	t_wait 60 wh -f "$URL/readyz" >/dev/null || { tail -20 "$W/webhook.log" >&2; return 1; }
	e2e_vwc_loopback "$URL" "$CABUNDLE" "$W" >"$W/vwc.json" || return 1
	k apply -f "$W/vwc.json" >/dev/null || return 1
	# The configuration is live once a second default is refused by the webhook.
	t_wait 60 bash -c "$(declare -f vsclass); vsclass probe-d $DRIVER true | $TOOLS_BIN/kubectl create --dry-run=server -f - 2>&1 | grep -q 'already exists for driver'"
}

readyz_sample() { # "CODE BODY" of one /readyz
	local body code
	body=$(wh -w '\n%{http_code}' "$URL/readyz" 2>&1)
	code=${body##*$'\n'}
	echo "$code ${body%$'\n'*}" | tr '\n' ' '
	echo
}

# kube-apiserver and then etcd killed and restarted while reviews flow.
test_control_plane_restart_while_reviews_flow() {
	local codes=$W/readyz.codes res
	: >"$codes"
	direct_load 40 "$W/restart" &
	LOADPIDS=$!
	sleep 3
	fault_restart kube-apiserver KILL 4 || return 1
	# While the API server is down (it takes seconds to come back): /readyz.
	for _ in 1 2 3 4 5; do readyz_sample >>"$codes"; sleep 0.5; done
	fault_wait_api 90 || return 1
	sleep 3
	fault_restart etcd KILL 2 || return 1
	for _ in 1 2 3; do readyz_sample >>"$codes"; sleep 0.5; done
	fault_wait_api 90 || return 1
	wait "$LOADPIDS"; LOADPIDS=
	report "reviews during the restarts" "$W/restart" || return 1
	res=$(awk '{print $1}' "$codes" | sort -u | tr '\n' ' ')
	grep -v '^200 ' "$codes" | head -3 >&2
	echo "    /readyz during the outages: $res" >&2
	t_eq "$res" "200 " "/readyz while the API server was down (caches synced, rules answering)" || return 1
	# The watches resumed: a default class created now, for another driver,
	# is in the cache (a second default for it is refused).
	vsclass faults-default faults.example.com true | k create -f - >/dev/null || return 1
	t_wait 90 bash -c "$(declare -f vsclass); vsclass faults-d2 faults.example.com true | $TOOLS_BIN/kubectl create --dry-run=server -f - 2>&1 | grep -q 'default snapshot class: faults-default already exists'" >/dev/null || return 1
	alive
}

# A new certificate every second for a minute, under load from three clients.
test_rotation_every_second_under_load() {
	local before after served last
	before=$(metric 'snapshot_webhook_cert_reloads_total{result="success"}')
	apiserver_load 64 "$W/rot-api" &
	LOADPIDS=$!
	direct_load 64 "$W/rot-keep" &
	LOADPIDS="$LOADPIDS $!"
	direct_load 64 "$W/rot-fresh" fresh &
	LOADPIDS="$LOADPIDS $!"
	sleep 2
	for i in $(seq 1 60); do
		new_leaf "rot$i"
		sleep 1
	done
	last=rot60
	for p in $LOADPIDS; do wait "$p"; done
	LOADPIDS=
	after=$(metric 'snapshot_webhook_cert_reloads_total{result="success"}')
	echo "    $((after - before)) certificate reloads in about 60 s" >&2
	report "through the API server" "$W/rot-api" || return 1
	report "direct, keep-alive" "$W/rot-keep" || return 1
	report "direct, fresh connections" "$W/rot-fresh" || return 1
	[ "$((after - before))" -ge 50 ] || { t_fail "only $((after - before)) of 60 rotations loaded"; return 1; }
	served=$(echo | openssl s_client -connect "127.0.0.1:$PORT" 2>/dev/null | openssl x509 -noout -fingerprint -sha256)
	t_eq "$served" "$(openssl x509 -in "$W/tls/..$last/tls.crt" -noout -fingerprint -sha256)" "served certificate"
}

# A client holds every slot (--max-connections=200) with unfinished headers,
# and keeps reopening them, while reviews arrive through the API server.
test_slot_holder_while_apiserver_reviews() {
	python3 - "$PORT" 30 >"$W/holder.out" 2>&1 <<'PY' &
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03])
socks, opened, end = [], 0, time.monotonic() + secs
while time.monotonic() < end:
    # keep 200 open: drop what the server closed, open new ones
    live = []
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                s.close()
                continue
        except BlockingIOError:
            pass
        except OSError:
            s.close()
            continue
        live.append(s)
    socks = live
    while len(socks) < 200:
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(hello)
        socks.append(s)
        opened += 1
    time.sleep(0.05)
print("opened", opened)
PY
	LOADPIDS=$!
	sleep 5
	apiserver_load 20 "$W/slots"
	wait "$LOADPIDS"; LOADPIDS=
	echo "    slot holder: $(cat "$W/holder.out")" >&2
	report "through the API server, every slot held" "$W/slots"
}

# The ReferenceGrant CRD deleted, then a second webhook started (it never saw
# the CRD), then the API server down: both stay ready, since "not served" was
# the API server's last answer and an outage does not change it.
test_no_grant_crd_apiserver_down() {
	local port2 pid2 codes=$W/readyz-nocrd.codes fp res
	k delete crd referencegrants.gateway.networking.k8s.io --wait=true >/dev/null || return 1
	port2=$(e2e_port)
	"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls/tls.crt" --tls-private-key-file="$W/tls/tls.key" \
		--port="$port2" --bind-address=127.0.0.1 --kubeconfig="$KUBECONFIG" >"$W/webhook2.log" 2>&1 &
	pid2=$!
	LOADPIDS="$pid2"
	t_wait 60 wh -f "https://127.0.0.1:$port2/readyz" >/dev/null || { tail -20 "$W/webhook2.log" >&2; return 1; }
	: >"$codes"
	fault_restart kube-apiserver KILL 6 &
	fp=$!
	sleep 2
	for _ in 1 2 3 4; do
		wh -o /dev/null -w '%{http_code}\n' "https://127.0.0.1:$port2/readyz" >>"$codes" 2>&1
		wh -o /dev/null -w '%{http_code}\n' "$URL/readyz" >>"$codes" 2>&1
		sleep 0.5
	done
	wait "$fp" || return 1
	fault_wait_api 90 || return 1
	e2e_stop_webhook pid2 "$W/webhook2.log" 'AddressSanitizer|runtime error'
	LOADPIDS=
	grep -i "ReferenceGrant\|referencegrants" "$W/webhook2.log" | tail -3 >&2
	res=$(sort -u "$codes" | tr '\n' ' ')
	echo "    /readyz of both webhooks while the API server was down: $res" >&2
	t_eq "$res" "200 " "/readyz with no ReferenceGrant CRD while the API server was down"
}

t_run ready_and_installed test_ready_and_installed
t_run control_plane_restart_while_reviews_flow test_control_plane_restart_while_reviews_flow
t_run rotation_every_second_under_load test_rotation_every_second_under_load
t_run slot_holder_while_apiserver_reviews test_slot_holder_while_apiserver_reviews
t_run no_grant_crd_apiserver_down test_no_grant_crd_apiserver_down
e2e_stop_webhook WHPID "$W/webhook.log" 'AddressSanitizer|runtime error'
t_done
