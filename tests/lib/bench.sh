# tests/lib/bench.sh -- pieces shared by the benchmark scripts (tests/bench/).
# Source with bash; figures only, nothing here asserts.
#
#   bench_post_lua OUT BODY  writes a wrk script to OUT that POSTs the JSON
#                            file BODY
#   bench_wrk FIELD TEXT     a figure of wrk --latency's output TEXT: rps,
#                            requests, or a percentile (50%, 90%, 99%)
#   bench_stop_pid PID       SIGTERM, 10 s to exit, then SIGKILL; reaps it
#                            (no PID: nothing)
#   bench_source_pvc NS      namespace NS with the bound 1Gi PVC "src" the
#                            snapshots are taken of (kubectl: $K); exits the
#                            script when it is not bound within 60 s
#   ticks PID, kib PID FIELD CPU ticks used; VmRSS/VmHWM in KiB
#   settle PID [TICKS]       waits until PID is idle (under TICKS, default 3,
#                            ticks a second, 3 seconds in a row; gives up
#                            after 300 s)

bench_post_lua() {
	cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local f = io.open("$2", "rb")
wrk.body = f:read("*a")
f:close()
LUA
}

bench_wrk() {
	case $1 in
	rps) awk '/^Requests\/sec:/ {print $2}' <<<"$2" ;;
	requests) awk '/requests in/ {print $1}' <<<"$2" ;;
	*) awk -v p="$1" '$1 == p {print $2}' <<<"$2" ;;
	esac
}

bench_source_pvc() {
	"$K" create ns "$1" >/dev/null
	"$K" -n "$1" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: src}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
YAML
	for _ in $(seq 1 120); do
		[ "$("$K" -n "$1" get pvc src -o jsonpath='{.status.phase}')" = Bound ] && return 0
		sleep 0.5
	done
	echo "source PVC not bound" >&2
	exit 1
}

bench_stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }             # PID -> utime+stime (clock ticks)
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; } # PID VmRSS|VmHWM -> KiB
# settle PID [TICKS]: waits until PID has used under TICKS (3) ticks in each of 3 consecutive seconds
settle() {
	local quiet=0 a b max=${2:-3}
	for _ in $(seq 1 300); do
		a=$(ticks "$1") || return 1
		sleep 1
		b=$(ticks "$1") || return 1
		if [ $((b - a)) -lt "$max" ]; then quiet=$((quiet + 1)); else quiet=0; fi
		[ $quiet -ge 3 ] && return 0
	done
}
