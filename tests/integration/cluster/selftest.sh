#!/usr/bin/env bash
# The test cluster's own tests: `down` leaves no process behind, and `up`
# fails within a bounded time, with a clear message and the failing
# component's log, when a port is taken, a binary is missing, a certificate
# cannot be made, or the API server never becomes ready.  Each case starts
# its own cluster (needs no KUBECONFIG).
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib/t.sh"
T_SUITE=cluster-selftest
export CLUSTER_ROOT=${CLUSTER_ROOT:-/tmp/sc-clusters}/selftest
mkdir -p "$CLUSTER_ROOT"

test_down_leaves_nothing() {
	local out dir pids p
	out=$("$top/tests/cluster/up" st-down 2>/dev/null) || return 1
	dir=$(sed -n 's/^export CLUSTER_DIR=//p' <<<"$out")
	pids=$(awk '{print $2}' "$dir/pids")
	[ "$(wc -w <<<"$pids")" -ge 3 ] || t_fail "expected 3 pids, got: $pids" || return 1
	"$top/tests/cluster/down" "$dir" 2>/dev/null || t_fail "down failed" || return 1
	for p in $pids; do
		kill -0 "$p" 2>/dev/null && { t_fail "pid $p still alive after down"; return 1; }
	done
	[ ! -d "$dir" ] || t_fail "$dir not removed"
}

# expect_up_fails SECONDS PATTERN [env assignments...]: up must fail within
# SECONDS, print PATTERN, and leave no process and no running cluster.
expect_up_fails() {
	local secs=$1 pattern=$2; shift 2
	local t0=$SECONDS out rc
	out=$(env "$@" "$top/tests/cluster/up" st-bad 2>&1 >/dev/null)
	rc=$?
	[ $rc -ne 0 ] || t_fail "up succeeded, want failure" || return 1
	[ $((SECONDS - t0)) -le "$secs" ] || t_fail "took $((SECONDS - t0))s, limit ${secs}s" || return 1
	t_contains "$out" "$pattern" "up's message" || return 1
	local d
	for d in "$CLUSTER_ROOT"/st-bad-*; do
		[ -f "$d/pids" ] || continue
		for p in $(awk '{print $2}' "$d/pids"); do
			kill -0 "$p" 2>/dev/null && { t_fail "pid $p left running after failed up"; return 1; }
		done
		rm -rf "$d"
	done
	return 0
}

test_port_taken() {
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	python3 -c 'import socket,time,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(30)' "$port" &
	local holder=$!
	sleep 0.5
	expect_up_fails 20 "port $port on 127.0.0.1 is already in use" API_PORT="$port"
	local rc=$?
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	return $rc
}

test_binary_missing() {
	expect_up_fails 10 "missing binary /nonexistent/etcd" TOOLS_BIN=/nonexistent
}

test_certificate_cannot_be_made() {
	expect_up_fails 20 "cannot make certificates" OPENSSL=/bin/false
}

test_apiserver_never_ready() {
	# An etcd address nobody listens on: the API server starts but never gets ready.
	expect_up_fails 60 "kube-apiserver" UP_TIMEOUT=15 \
		APISERVER_ETCD_SERVERS=http://127.0.0.1:1
}

t_run down_leaves_nothing test_down_leaves_nothing
t_run port_taken test_port_taken
t_run binary_missing test_binary_missing
t_run certificate_cannot_be_made test_certificate_cannot_be_made
t_run apiserver_never_ready test_apiserver_never_ready
t_done
