# tests/soak/lib.sh -- fault helpers for a cluster started by tests/cluster/up
# (source it after the cluster's env).  Used by tests/soak/soak.sh and the
# fault e2e scripts.
#
#   fault_restart NAME [SIGNAL] [DOWN_SECONDS]
#       stop the cluster component NAME (as recorded in $CLUSTER_DIR/pids:
#       etcd, kube-apiserver, ...) with SIGNAL (default KILL), wait until it
#       is gone, stay down DOWN_SECONDS (default 0), then start it again with
#       the very same command line and environment, in its own session,
#       appending to its log.  The new pid is appended to $CLUSTER_DIR/pids,
#       so tests/cluster/down stops it.  Returns once the process is up again
#       (not necessarily ready: see fault_wait_api).
#   fault_wait_api SECONDS
#       poll the API server's /readyz until it answers ok.

fault_pid() { # fault_pid NAME: the newest live pid recorded for NAME
	local p
	for p in $(awk -v n="$1" '$1 == n {print $2}' "$CLUSTER_DIR/pids" | tac); do
		kill -0 "$p" 2>/dev/null && { echo "$p"; return 0; }
	done
	return 1
}

fault_restart() {
	local name=$1 sig=${2:-KILL} down=${3:-0} pid log cwd
	pid=$(fault_pid "$name") || { echo "fault: no live $name" >&2; return 1; }
	# The command line and environment, NUL-separated, read before the kill.
	local -a argv envv
	mapfile -d '' argv <"/proc/$pid/cmdline"
	mapfile -d '' envv <"/proc/$pid/environ"
	log=$(readlink "/proc/$pid/fd/1")
	cwd=$(readlink "/proc/$pid/cwd")
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; sleep 0.2; }
	[ "$down" != 0 ] && sleep "$down"
	(cd "$cwd" && exec env -i "${envv[@]}" setsid "${argv[@]}" >>"$log" 2>&1 </dev/null) &
	echo "$name $!" >>"$CLUSTER_DIR/pids"
	echo "fault: $name restarted (signal $sig, pid $pid -> $!)" >&2
}

fault_wait_api() {
	local secs=${1:-60} deadline
	deadline=$((SECONDS + secs))
	until curl -fsS --cacert "$CLUSTER_DIR/pki/ca.crt" "$API_SERVER/readyz" >/dev/null 2>&1; do
		[ $SECONDS -lt "$deadline" ] || { echo "fault: API server not ready after ${secs}s" >&2; return 1; }
		sleep 0.3
	done
}
