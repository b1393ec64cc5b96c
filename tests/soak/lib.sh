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
#
#   fault_proxy_start DIR
#       start tests/soak/faultproxy.py in front of the API server with a
#       certificate the cluster CA signed: mode file DIR/proxy.mode ("ok"),
#       stats DIR/proxy.stats, log DIR/proxy.log, pid DIR/proxy.pid, and a
#       kubeconfig through it, DIR/kubeconfig (the proxy authenticates as
#       admin upstream).  Sets PPORT.
#
# Replicas of $CONTROLLER, for the soak scripts (they set S, the run's
# directory, and K, kubectl):
#   soak_replica NAME HOST KUBECONFIG LE_NAMESPACE [ARG...]
#       start replica NAME (again) in its own UTS namespace with hostname
#       HOST (distinct lease identities), leader election with a 4 s lease,
#       --state-dir=$S/state-NAME when the binary has that flag; pid in
#       $S/NAME.pid, output appended to $S/NAME.log.
#   soak_supervise START_FN
#       the kubelet's part: every second, a replica r1/r2 that exited is
#       started again with `START_FN rN`; one line per restart in
#       $S/restarts.  Runs until $S/stop exists.
#   soak_leader_pid LE_NAMESPACE HOST_PREFIX
#       pid of the live replica holding the lease, or fails.
#   soak_stop_replicas [SECONDS]
#       SIGTERM to every replica, SIGKILL to those alive after SECONDS (10).
#   soak_check_sanitizer
#       fails (t_fail) if a sanitizer wrote a report under $S.

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

fault_proxy_start() {
	local d=$1 pki=$CLUSTER_DIR/pki
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=faultproxy \
		-keyout "$d/proxy.key" -out "$d/proxy.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/proxy.ext"
	openssl x509 -req -in "$d/proxy.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/proxy.ext" -out "$d/proxy.crt" 2>/dev/null
	PPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	echo ok >"$d/proxy.mode"
	python3 tests/soak/faultproxy.py "$PPORT" "$d/proxy.crt" "$d/proxy.key" "$API_SERVER" "$pki/ca.crt" \
		"$pki/admin.crt" "$pki/admin.key" "$d/proxy.mode" "$d/proxy.stats" >"$d/proxy.log" 2>&1 &
	echo $! >"$d/proxy.pid"
	cat >"$d/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster: {server: "https://127.0.0.1:$PPORT", certificate-authority: "$pki/ca.crt"}
users:
- name: any
  user: {token: fault-proxy-ignores-this}
contexts:
- name: proxy
  context: {cluster: proxy, user: any}
current-context: proxy
KC
}

soak_replica() {
	local name=$1 host=$2 kc=$3 le=$4 extra=()
	shift 4
	[ -n "${SOAK_STATE_FLAG:-}" ] || SOAK_STATE_FLAG=$("$CONTROLLER" --help 2>&1 | grep -c -- '-state-dir')
	[ "$SOAK_STATE_FLAG" != 0 ] && extra=(--state-dir="$S/state-$name")
	unshare -u sh -c 'hostname "$0" && exec "$@"' "$host" "$CONTROLLER" --kubeconfig="$kc" \
		--leader-election=true --leader-election-namespace="$le" \
		--leader-election-lease-duration=4s --leader-election-renew-deadline=3s \
		--leader-election-retry-period=1s --retry-interval-max=5s --v=2 "${extra[@]}" "$@" \
		>>"$S/$name.log" 2>&1 &
	echo $! >"$S/$name.pid"
}

soak_supervise() {
	local r pid
	: >>"$S/restarts"
	while [ ! -f "$S/stop" ]; do
		sleep 1
		for r in r1 r2; do
			pid=$(cat "$S/$r.pid")
			kill -0 "$pid" 2>/dev/null && continue
			wait "$pid" 2>/dev/null
			echo "supervisor: $r (pid $pid) exited: $(tail -1 "$S/$r.log" | cut -c1-200)" >&2
			"$1" "$r"
			echo x >>"$S/restarts"
		done
	done
}

soak_leader_pid() {
	local l r pid
	l=$("$K" -n "$1" get lease snapshot-controller-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)
	r=${l#"$2"-}
	r=${r%%_*}
	pid=$(cat "$S/$r.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

soak_stop_replicas() {
	local p
	for p in "$S"/r?.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	for p in "$S"/r?.pid; do
		[ -f "$p" ] || continue
		for _ in $(seq 1 $((${1:-10} * 2))); do kill -0 "$(cat "$p")" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$(cat "$p")" 2>/dev/null
	done
	return 0
}

soak_check_sanitizer() {
	local f
	f=$(ls "$S"/sanitizer* 2>/dev/null | head -1)
	[ -z "$f" ] || { head -30 "$f" >&2; t_fail "sanitizer report $f"; }
}
