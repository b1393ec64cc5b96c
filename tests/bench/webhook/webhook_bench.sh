#!/usr/bin/env bash
# tests/bench/webhook/webhook_bench.sh -- admission and conversion throughput
# of snapshot-webhook over TLS with keep-alive on loopback, measured with wrk
# (Debian package) and a Lua script that POSTs a recorded review.
#
# Usage: tests/bench/webhook/webhook_bench.sh [SECONDS] [CONNECTIONS] [WRK_THREADS]
# Uses the cluster in $KUBECONFIG/$CLUSTER_DIR if set (the webhook's caches
# must sync against a real API server), else starts one and stops it after.
# Binary: $SC_BIN/snapshot-webhook (default bin/).  Prints one line per
# scenario: requests/s, p50, p99 (wrk --latency), and the webhook's own
# server-side histogram count.  Figures only: nothing is asserted.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
. tests/lib/bench.sh
secs=${1:-10} conns=${2:-16} wthreads=${3:-2}
SC_BIN=${SC_BIN:-$top/bin}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
own=0
if [ -z "${KUBECONFIG:-}" ] || [ -z "${CLUSTER_DIR:-}" ]; then
	eval "$(tests/cluster/up whbench)" || exit 1
	tests/cluster/crds >&2 || exit 1
	own=1
fi
k() { "$TOOLS_BIN/kubectl" "$@"; }
W=$(mktemp -d /tmp/whbench.XXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
WHPID=
cleanup() {
	[ -n "$WHPID" ] && kill "$WHPID" 2>/dev/null && wait "$WHPID" 2>/dev/null
	rm -rf "$W"
	[ "$own" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

# Secret-volume layout (tls.crt -> ..data/tls.crt) so the pair can be rotated
# under load at the end.
gen_pair() {
	mkdir -p "$W/..$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$W/..$1/tls.key" -out "$W/..$1/tls.crt" 2>/dev/null
	ln -sfn "..$1" "$W/..tmp" && mv -T "$W/..tmp" "$W/..data"
}
gen_pair g0
ln -s ..data/tls.crt "$W/tls.crt"
ln -s ..data/tls.key "$W/tls.key"
cp "$W/..g0/tls.crt" "$W/ca0.crt"
# A default class for the bench driver, so the denial path walks a real cache.
k apply -f - >/dev/null <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: bench-default, annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}}
driver: bench.csi.example.com
deletionPolicy: Delete
---
apiVersion: v1
kind: Namespace
metadata: {name: bench-src}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: bench, namespace: bench-src}
spec:
  from: [{group: "", kind: PersistentVolumeClaim, namespace: prod}]
  to: [{group: snapshot.storage.k8s.io, kind: VolumeSnapshot}]
Y
"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls.crt" --tls-private-key-file="$W/tls.key" \
	--bind-address=127.0.0.1 --port="$PORT" --kubeconfig="$KUBECONFIG" --threads="${WH_THREADS:-4}" --cert-reload-interval=200ms \
	>"$W/webhook.log" 2>&1 &
WHPID=$!
for _ in $(seq 1 120); do
	curl -sf --cacert "$W/ca0.crt" "https://127.0.0.1:$PORT/readyz" >/dev/null && break
	sleep 0.5
done
curl -sf --cacert "$W/ca0.crt" "https://127.0.0.1:$PORT/readyz" >/dev/null || { echo "webhook not ready"; tail "$W/webhook.log"; exit 1; }

d=tests/data/webhook
python3 - "$d" "$W" <<'PY'
import json, sys
d, w = sys.argv[1], sys.argv[2]
cls = json.load(open(f"{d}/admission/vsclass-create.json"))
cls["request"]["object"]["driver"] = "bench.csi.example.com"
json.dump(cls, open(f"{w}/deny.json", "w"))
allow = json.loads(json.dumps(cls))
allow["request"]["object"]["metadata"]["annotations"] = {}
json.dump(allow, open(f"{w}/allow.json", "w"))
pvc = json.load(open(f"{d}/admission/pvc-create-cross-ns.json"))
pvc["request"]["object"]["spec"]["dataSourceRef"]["namespace"] = "bench-src"
json.dump(pvc, open(f"{w}/pvc.json", "w"))
obj = json.load(open(f"{d}/convert/vgsc-v1beta2.json"))
json.dump({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
           "request": {"uid": "bench", "desiredAPIVersion": "groupsnapshot.storage.k8s.io/v1beta1",
                       "objects": [obj]}}, open(f"{w}/convert.json", "w"))
PY
# Sanity: each body gets the intended answer before it is measured.
check() { curl -sS --cacert "$W/ca0.crt" -H 'Content-Type: application/json' --data-binary @"$W/$1" "https://127.0.0.1:$PORT$2" | grep -q "$3" || { echo "unexpected answer for $1"; exit 1; }; }
check deny.json /validate-class '"allowed":false'
check allow.json /validate-class '"allowed":true'
check pvc.json /validate-pvc '"allowed":true'
check convert.json /convert '"status":"Success"'

echo "webhook bench: wrk -t$wthreads -c$conns -d${secs}s, TLS 1.3 keep-alive, loopback, $(nproc) cores, webhook --threads=${WH_THREADS:-4}"
printf '%-34s %10s %9s %9s %9s\n' scenario "req/s" p50 p90 p99
for sc in "deny.json /validate-class second-default-class(denied)" \
	"allow.json /validate-class non-default-class(allowed)" \
	"pvc.json /validate-pvc cross-ns-pvc-with-grant(allowed)" \
	"convert.json /convert vgsc-v1beta2-to-v1beta1"; do
	set -- $sc
	bench_post_lua "$W/post.lua" "$W/$1"
	out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency -s "$W/post.lua" "https://127.0.0.1:$PORT$2" 2>&1)
	errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | tr '\n' ';')
	printf '%-34s %10s %9s %9s %9s %s\n' "$3" "$(bench_wrk rps "$out")" "$(bench_wrk 50% "$out")" \
		"$(bench_wrk 90% "$out")" "$(bench_wrk 99% "$out")" "$errs"
done
echo "server-side (/metrics: time from the first body byte to the queued answer; no TLS, no socket):"
curl -sS --cacert "$W/ca0.crt" "https://127.0.0.1:$PORT/metrics" >"$W/metrics"
grep -E 'decisions_total\{.*\} [1-9]' "$W/metrics" | sed 's/^/  /'
awk '/_seconds_sum\{path="\// {split($1, a, "\""); sum[a[2]] = $2}
     /_seconds_count\{path="\// {split($1, a, "\""); cnt[a[2]] = $2}
     END {for (p in cnt) if (cnt[p] > 0) printf "  %-16s %9d requests, mean %.1f us\n", p, cnt[p], sum[p] / cnt[p] * 1e6}' "$W/metrics"
# Rotation under load: five new self-signed pairs while wrk keeps 16
# keep-alive connections busy; wrk reports any socket error or non-2xx.
bench_post_lua "$W/post.lua" "$W/allow.json"
wrk -t"$wthreads" -c"$conns" -d14s -s "$W/post.lua" "https://127.0.0.1:$PORT/validate-class" >"$W/rot.out" 2>&1 &
wpid=$!
for g in 1 2 3 4 5; do sleep 2; gen_pair "g$g"; done
wait "$wpid"
reloads=$(curl -sS -k "https://127.0.0.1:$PORT/metrics" | awk '$1 == "snapshot_webhook_cert_reloads_total{result=\"success\"}" {print $2}')
echo "rotation under load: $(bench_wrk requests "$(cat "$W/rot.out")") requests in 14s across $reloads certificate reloads;" \
	"errors: $(grep -E 'Socket errors|Non-2xx' "$W/rot.out" | tr -s ' ' | tr '\n' ';' | sed 's/;$//' | grep . || echo none)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "webhook RSS: $(ps -o rss= -p "$WHPID") KiB"
