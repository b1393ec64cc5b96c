#!/usr/bin/env bash
# tests/bench/webhook/warn_cache_rss.sh [N] -- snapshot-webhook's RSS with N
# PVCs (default 10000) in the caches of the admission warnings.  Starts its
# own control plane, prints the RSS with no PVC, after N PVCs arrived through
# the watch, and after a restart that builds the cache from one LIST; the
# count the webhook reports (snapshot_webhook_cached_objects) is checked
# before each figure.  Creates the PVCs in batches of 500 in namespace
# rss-bench, deletes them, and stops the cluster.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
N=${1:-10000}
SC_BIN=${SC_BIN:-$top/bin}
eval "$(tests/cluster/up whrss)" || exit 1
k() { "$TOOLS_BIN/kubectl" "$@"; }
W=$CLUSTER_DIR/rss
mkdir -p "$W"
WH=
finish() {
	[ -n "$WH" ] && kill "$WH" 2>/dev/null && wait "$WH" 2>/dev/null
	tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap finish EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=rss \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$W/tls.key" -out "$W/tls.crt" 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() {
	"$SC_BIN/snapshot-webhook" --tls-cert-file="$W/tls.crt" --tls-private-key-file="$W/tls.key" \
		--port="$PORT" --bind-address=127.0.0.1 >>"$W/webhook.log" 2>&1 &
	WH=$!
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$WH/status"; }
cached() {
	curl -sk "https://127.0.0.1:$PORT/metrics" |
		awk '$1 == "snapshot_webhook_cached_objects{kind=\"PersistentVolumeClaim\"}" {print $2}'
}
wait_cached() { # wait_cached COUNT: until the webhook reports COUNT PVCs (up to 120 s)
	local i
	for i in $(seq 1 240); do
		[ "$(cached)" = "$1" ] && return 0
		sleep 0.5
	done
	echo "the webhook never cached $1 PVCs (last: $(cached))" >&2
	exit 1
}
start
wait_cached 0
echo "webhook RSS, 0 PVCs cached: $(rss_kb) kB"
k create namespace rss-bench >/dev/null
for ((b = 0; b * 500 < N; b++)); do
	python3 - "$b" "$N" <<'PY' | k create -f - >/dev/null || { echo "batch $b failed" >&2; exit 1; }
import json, sys
b, n = int(sys.argv[1]), int(sys.argv[2])
items = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
          "metadata": {"name": "pvc-%05d" % i, "namespace": "rss-bench",
                       "labels": {"app": "rss-bench", "shard": str(i % 10)}},
          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "rss-bench",
                   "resources": {"requests": {"storage": "1Gi"}}}}
         for i in range(b * 500, min(n, b * 500 + 500))]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
PY
done
wait_cached "$N"
echo "webhook RSS, $N PVCs cached (arrived through the watch): $(rss_kb) kB"
kill "$WH" && wait "$WH" 2>/dev/null
start
wait_cached "$N"
echo "webhook RSS, $N PVCs cached (one LIST after a restart): $(rss_kb) kB"
k delete namespace rss-bench --wait=true --timeout=600s >/dev/null || echo "namespace rss-bench not deleted" >&2
