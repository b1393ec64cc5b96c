#!/usr/bin/env bash
# tests/integration/controller/lease_slow.sh -- leader election of the real
# snapshot-controller when the API server is slow, through
# tests/soak/faultproxy.py (mode "slowlease MS": every Lease request waits MS
# before it is forwarded; other requests pass):
#
#  - slow_lease_keeps_leadership: lease 15 s, renew deadline 10 s, retry
#    period 2 s, and every Lease request slowed to 2.5 s for 25 s.  A renewal
#    (GET + PUT, 5 s) fits in the renew deadline, so the leader keeps the
#    lease, renews it through the slow proxy and does not exit.  (Before the
#    fix each Lease request was cut at the retry period, 2 s: every renewal
#    failed and the lease was lost after 10 s.  The soak lost ours' lease 124
#    times that way, upstream's 14.)
#  - hung_lease_exits_1: Lease requests slowed to 60 s.  The renew deadline
#    passes, the controller logs "leaderelection lost" and exits with status
#    1 (not a signal: it used to run exit handlers while its workers ran, and
#    crashed in 21 of 124 such exits in the soak).
#
# Needs KUBECONFIG, CLUSTER_DIR, API_SERVER (tests/cluster/up) with the CRDs
# installed (tests/cluster/csi-up).  CONTROLLER: the binary (default
# bin/snapshot-controller).  Asserts no timing of ours: the margins (5 s of
# 10 s) only have to absorb the proxy's own delay.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
. tests/lib/t.sh
T_SUITE=lease-slow
CONTROLLER=${CONTROLLER:-$top/bin/snapshot-controller}
K=${TOOLS_BIN:+$TOOLS_BIN/}kubectl

[ -n "${KUBECONFIG:-}" ] && [ -n "${CLUSTER_DIR:-}" ] ||
	{ echo "KUBECONFIG/CLUSTER_DIR not set (eval \"\$(tests/cluster/up)\")"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
[ -x "$CONTROLLER" ] || { echo "no controller at $CONTROLLER"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
. tests/soak/lib.sh

S=$(mktemp -d /tmp/lease-slow-XXXXXX)
LE_A=lease-slow-a-$$ LE_B=lease-slow-b-$$
cleanup() {
	local p
	for p in "$S"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	"$K" delete ns "$LE_A" "$LE_B" --wait=false >/dev/null 2>&1
	echo "lease-slow logs: $S" >&2
}
trap cleanup EXIT

fault_proxy_start "$S"
t_wait 20 "$K" --kubeconfig="$S/kubeconfig" get ns default >/dev/null ||
	{ cat "$S/proxy.log"; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }

lease() { # lease NS FIELD: a field of the Lease's spec in namespace NS
	"$K" -n "$1" get lease snapshot-controller-leader -o jsonpath="{.spec.$2}" 2>/dev/null
}

# start NAME NS: one replica through the proxy, its lease in namespace NS
# (made here), pid in $S/NAME.pid; returns once the lease has a holder.
start() {
	"$K" create ns "$2" >/dev/null || return 1
	"$CONTROLLER" --kubeconfig="$S/kubeconfig" --leader-election=true \
		--leader-election-namespace="$2" --leader-election-lease-duration=15s \
		--leader-election-renew-deadline=10s --leader-election-retry-period=2s \
		--state-dir="$S/state-$1" -v=4 >"$S/$1.log" 2>&1 &
	echo $! >"$S/$1.pid"
	t_wait 60 bash -c "[ -n \"\$($K -n $2 get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)\" ]" >/dev/null
}

delayed() { awk '{for (i = 1; i < NF; i++) if ($i == "delayed_lease") print $(i + 1)}' "$S/proxy.stats"; }

slow_lease_keeps_leadership() {
	local pid renew0 renew1 n0 n1
	start a "$LE_A" || { tail -20 "$S/a.log"; return 1; }
	pid=$(cat "$S/a.pid")
	renew0=$(lease "$LE_A" renewTime)
	n0=$(delayed)
	echo "slowlease 2500" >"$S/proxy.mode"
	sleep 25
	echo ok >"$S/proxy.mode"
	renew1=$(lease "$LE_A" renewTime)
	n1=$(delayed)
	echo "    renewTime $renew0 -> $renew1; Lease requests delayed 2.5 s: $((n1 - ${n0:-0}))" >&2
	kill -0 "$pid" 2>/dev/null || { tail -20 "$S/a.log"; t_fail "the leader exited under slow Lease requests"; return 1; }
	if grep -q "leaderelection lost" "$S/a.log"; then
		grep -E "lease|leader" "$S/a.log" | tail -10 >&2
		t_fail "leadership lost although every renewal fitted in the renew deadline"
		return 1
	fi
	[ "$((n1 - ${n0:-0}))" -ge 4 ] || t_fail "only $((n1 - ${n0:-0})) Lease requests went through the slow proxy" || return 1
	[ "$renew1" != "$renew0" ] || t_fail "the lease was not renewed during the slow window" || return 1
}

hung_lease_exits_1() {
	local pid rc
	[ -f "$S/a.pid" ] && kill "$(cat "$S/a.pid")" 2>/dev/null # the first test's replica
	start b "$LE_B" || { tail -20 "$S/b.log"; return 1; }
	pid=$(cat "$S/b.pid")
	echo "slowlease 60000" >"$S/proxy.mode"
	for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	echo ok >"$S/proxy.mode"
	kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; t_fail "still running 60 s after its Lease requests hung"; return 1; }
	wait "$pid" 2>/dev/null
	rc=$?
	grep -q "leaderelection lost" "$S/b.log" || { tail -10 "$S/b.log"; t_fail "no 'leaderelection lost' in the log"; return 1; }
	t_eq "$rc" 1 "exit status after the lost lease (128+N is a signal)" || { tail -10 "$S/b.log" >&2; return 1; }
}

t_run slow_lease_keeps_leadership slow_lease_keeps_leadership
t_run hung_lease_exits_1 hung_lease_exits_1
t_done
