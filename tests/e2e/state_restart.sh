#!/usr/bin/env bash
# tests/e2e/state_restart.sh -- the controller's state/ cache across a kill -9,
# on the real control plane (issue 5):
#   - a snapshot that keeps failing (its PVC does not exist) builds up
#     backoff; after kill -9 and a restart with the same --state-dir, the next
#     attempt waits for the persisted backoff instead of running at once;
#     with an empty --state-dir (control) it runs at once;
#   - the restart creates no second Event for the same warning;
#   - SIGTERM with a long queue at the default QPS ends within 30 s.
# Needs KUBECONFIG, TOOLS_BIN (tests/cluster/up).  Env: CONTROLLER.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
T_SUITE=e2e.state-restart
. "$top/tests/lib/t.sh"
CONTROLLER=${CONTROLLER:-${SC_BIN:-$top/bin}/snapshot-controller}
[ -x "$CONTROLLER" ] || { echo "no controller binary at $CONTROLLER"; exit 1; }
K="$TOOLS_BIN/kubectl"
W=$(mktemp -d /tmp/e2e-state-XXXX)
NS=e2e-state-$$

# Tests run in subshells (t_run), so the controllers' pids live in a file.
start_ctrl() { # state-dir log
	"$CONTROLLER" --kubeconfig="$KUBECONFIG" --leader-election=false -v=3 \
		--http-endpoint=127.0.0.1:0 --retry-interval-start=1s --retry-interval-max=5m \
		--state-dir="$1" >"$2" 2>&1 &
	echo $! >>"$W/pids"
}
stop_ctrl() { # kill -9 every controller this script started
	local p
	[ -f "$W/pids" ] || return 0
	for p in $(cat "$W/pids"); do kill -9 "$p" 2>/dev/null; done
	for p in $(cat "$W/pids"); do
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	: >"$W/pids"
}
cleanup() {
	stop_ctrl
	"$K" delete ns "$NS" --wait=false >/dev/null 2>&1
	echo "logs: $W" >&2
}
trap cleanup EXIT

retries() { grep -c "snapshot '$NS/$1': .*(will retry)" "$2" 2>/dev/null; }
ms_now() { date +%s%3N; }
# ms from the start of log $1's "caches synced" line to the first retry of snapshot $2
first_retry_after_sync() {
	python3 - "$1" "$NS/$2" <<'PY'
import sys, datetime
def ts(line):
    return datetime.datetime.strptime(line.split()[0][:26], "%Y-%m-%dT%H:%M:%S.%f")
synced = retry = None
for line in open(sys.argv[1]):
    if synced is None and "caches synced" in line:
        synced = ts(line)
    elif synced is not None and ("snapshot '%s':" % sys.argv[2]) in line and "(will retry)" in line:
        retry = ts(line); break
print(-1 if retry is None else int((retry - synced).total_seconds() * 1000))
PY
}

# restart_until_retry STATE-DIR LOG: a controller on STATE-DIR logging to
# LOG until it retries snapshot "failing"; prints the ms from its caches
# synced to that retry.
restart_until_retry() {
	start_ctrl "$1" "$2"
	t_wait 40 bash -c "grep -q \"snapshot '$NS/failing': .*(will retry)\" '$2'" >/dev/null || return 1
	first_retry_after_sync "$2" failing
}

"$K" create namespace "$NS" >/dev/null || exit 1
mk_vs() {
	"$K" -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: $1}
spec:
  volumeSnapshotClassName: csi-test-snapclass
  source: {persistentVolumeClaimName: no-such-pvc}
YAML
}

test_backoff_resumes() {
	start_ctrl "$W/state" "$W/run1.log"
	mk_vs failing || return 1
	# 4 failures: attempts at about 0, 1, 3 and 7 s; the next would be 8 s later.
	t_wait 60 bash -c "[ \$(grep -c \"snapshot '$NS/failing': .*(will retry)\" '$W/run1.log') -ge 4 ]" >/dev/null || return 1
	sleep 0.5
	stop_ctrl
	local before
	before=$(retries failing "$W/run1.log")
	local wait_ms
	wait_ms=$(restart_until_retry "$W/state" "$W/run2.log") || return 1
	echo "    $before failures before kill -9; first retry ${wait_ms} ms after the restart's caches synced"
	[ "$wait_ms" -ge 2000 ] || t_fail "retried after ${wait_ms} ms: persisted backoff (>= 8 s minus the time to restart) was not honoured"
}

test_no_duplicate_event() {
	# Upstream deduplicates by the status message, so the retries themselves
	# emit no new Event; what a restart must not do is create a second one.
	# (The recorder's count aggregation across restarts is tested with
	# repeated sends in tests/integration/state/restart.sh.)
	local n
	n=$("$K" -n "$NS" get events --field-selector involvedObject.name=failing -o name | wc -l)
	t_eq "$n" 1 "Event objects for the failing snapshot after the restart" || "$K" -n "$NS" get events >&2
}

test_control_empty_state_retries_at_once() {
	stop_ctrl
	local wait_ms
	wait_ms=$(restart_until_retry "$W/state-empty" "$W/run3.log") || return 1
	echo "    without state: first retry ${wait_ms} ms after caches synced"
	[ "$wait_ms" -lt 2000 ] || t_fail "control: expected an immediate retry, got ${wait_ms} ms"
}

# SIGTERM with hundreds of keys waiting at the default --kube-api-qps (5):
# the controller finishes the passes it runs, flushes events for at most
# 5 s and exits 0 by itself within the pod's 30 s grace period. Before, its
# workers drained every key and its recorder every queued event at 5
# requests a second (197 s measured with 200 snapshots being cut).
test_sigterm_with_backlog_ends() {
	stop_ctrl
	local i t0 rc
	for i in $(seq 150); do
		printf -- '---\napiVersion: snapshot.storage.k8s.io/v1\nkind: VolumeSnapshot\nmetadata: {name: backlog-%d}\nspec: {volumeSnapshotClassName: csi-test-snapclass, source: {persistentVolumeClaimName: no-such-pvc}}\n' "$i"
	done | "$K" -n "$NS" apply -f - >/dev/null || return 1
	"$CONTROLLER" --kubeconfig="$KUBECONFIG" --leader-election=false --http-endpoint=127.0.0.1:0 \
		--state-dir="$W/state-backlog" >"$W/run4.log" 2>&1 &
	local pid=$!
	t_wait 60 grep -q "caches synced" "$W/run4.log" >/dev/null || { kill -9 $pid; return 1; }
	sleep 3 # passes under way, most keys still waiting for the bucket
	t0=$SECONDS
	kill -TERM $pid
	for i in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid
		t_fail "still running $((SECONDS - t0)) s after SIGTERM (the pod's grace period is 30 s)"
		return 1
	fi
	wait $pid
	rc=$?
	echo "    exited $rc about $((SECONDS - t0)) s after SIGTERM; $(grep -o '[0-9]* queued events not sent' "$W/run4.log" || echo 'no event') left"
	t_eq "$rc" 0 "exit status after SIGTERM"
}

t_run backoff_resumes test_backoff_resumes
t_run no_duplicate_event_after_restart test_no_duplicate_event
t_run control_empty_state_retries_at_once test_control_empty_state_retries_at_once
t_run sigterm_with_backlog_ends test_sigterm_with_backlog_ends
t_done
