# tests/bench/compare/webhook.sh -- sourced by compare.sh (phase "webhook"):
# wrk (TLS keep-alive, 2 threads, 16 connections) against our snapshot-webhook
# and upstream's snapshot-validation-webhook on the same AdmissionReview (a
# second default VolumeSnapshotClass for a driver that has one: denied), and
# against our /convert and upstream's snapshot-conversion-webhook (if built)
# on the same ConversionReview.  CPU per review = the webhook's CPU (/proc)
# during the wrk run / requests served.
echo "== webhook" >&2
WH=$WORK/wh
mkdir -p "$WH"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WH/tls.key" -out "$WH/tls.crt" 2>/dev/null
"$K" apply -f - >/dev/null <<Y
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: bench-default, annotations: {snapshot.storage.kubernetes.io/is-default-class: "true"}}
driver: bench.csi.example.com
deletionPolicy: Delete
Y
python3 - tests/data/webhook "$WH" <<'PY'
import json, sys
d, w = sys.argv[1], sys.argv[2]
cls = json.load(open(f"{d}/admission/vsclass-create.json"))
cls["request"]["object"]["driver"] = "bench.csi.example.com"
json.dump(cls, open(f"{w}/deny.json", "w"))
obj = json.load(open(f"{d}/convert/vgsc-v1beta2.json"))
json.dump({"apiVersion": "apiextensions.k8s.io/v1", "kind": "ConversionReview",
           "request": {"uid": "bench", "desiredAPIVersion": "groupsnapshot.storage.k8s.io/v1beta1",
                       "objects": [obj]}}, open(f"{w}/convert.json", "w"))
PY
wh_start() { # side kind(validate|convert)
	if [ "$1" = ours ]; then
		"$OURS_WH" --tls-cert-file="$WH/tls.crt" --tls-private-key-file="$WH/tls.key" \
			--bind-address=127.0.0.1 --port="$PORT" --kubeconfig="$KUBECONFIG" >"$WORK/wh-$1-$2.log" 2>&1 &
	elif [ "$2" = validate ]; then
		"$UB/upstream-snapshot-validation-webhook" --tls-cert-file="$WH/tls.crt" --tls-private-key-file="$WH/tls.key" \
			--port="$PORT" --kubeconfig="$KUBECONFIG" >"$WORK/wh-$1-$2.log" 2>&1 &
	else
		"$UB/upstream-snapshot-conversion-webhook" --tls-cert-file="$WH/tls.crt" --tls-private-key-file="$WH/tls.key" \
			--port="$PORT" >"$WORK/wh-$1-$2.log" 2>&1 &
	fi
	whpid=$!
	for _ in $(seq 1 120); do
		curl -sf --cacert "$WH/tls.crt" "https://127.0.0.1:$PORT/readyz" >/dev/null && break
		sleep 0.5
	done
	sleep 2 # informer sync (upstream's /readyz does not wait for it)
}
wh_run() { # side kind path body expected
	local side=$1 kind=$2 path=$3 body=$4 want=$5 out c0 c1 reqs
	wh_start "$side" "$kind"
	if ! curl -sS --cacert "$WH/tls.crt" -H 'Content-Type: application/json' -H 'Accept: application/json' --data-binary @"$WH/$body" \
		"https://127.0.0.1:$PORT$path" | tee "$WORK/wh-$side-$kind.answer" | grep -q "$want"; then
		echo "webhook $side $kind: unexpected answer: $(head -c 300 "$WORK/wh-$side-$kind.answer")" >&2
		stop_pid "$whpid"; whpid=
		return 1
	fi
	bench_post_lua "$WH/post.lua" "$WH/$body"
	c0=$(ticks "$whpid")
	out=$(wrk -t2 -c16 -d"${WRK_SECS}s" --latency -s "$WH/post.lua" "https://127.0.0.1:$PORT$path" 2>&1)
	c1=$(ticks "$whpid")
	echo "$out" >"$WORK/wrk-$side-$kind.txt"
	reqs=$(bench_wrk requests "$out")
	res "wh_${side}_${kind}_rps $(bench_wrk rps "$out")"
	res "wh_${side}_${kind}_p50 $(bench_wrk 50% "$out")"
	res "wh_${side}_${kind}_p99 $(bench_wrk 99% "$out")"
	res "wh_${side}_${kind}_requests $reqs"
	res "wh_${side}_${kind}_errors $(grep -cE 'Non-2xx|Socket errors' <<<"$out")"
	res "wh_${side}_${kind}_cpu_us $(awk -v t=$((c1 - c0)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz / r * 1e6}')"
	res "wh_${side}_${kind}_rss $(kib "$whpid" VmRSS)"
	stop_pid "$whpid"
	whpid=
}
for side in $(order $phase); do
	wh_run "$side" validate "$([ "$side" = ours ] && echo /validate-class || echo /volumesnapshot)" deny.json '"allowed":false'
done
if [ -x "$UB/upstream-snapshot-conversion-webhook" ]; then
	for side in $(order $((phase + 1))); do
		wh_run "$side" convert /convert convert.json '"status":"Success"'
	done
fi
"$K" delete volumesnapshotclass bench-default >/dev/null
