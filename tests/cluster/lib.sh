# tests/cluster/lib.sh -- helpers shared by up, csi-up and down.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOLS_BIN=${TOOLS_BIN:-$top/.cache/bin}
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

msg() { echo "cluster: $*" >&2; }

# die MESSAGE [LOGFILE]: print the message and the tail of the log, clean up
# what this run started, and exit 1.
die() {
	msg "error: $1"
	if [ -n "${2:-}" ] && [ -f "$2" ]; then
		echo "---- last lines of $2 ----" >&2
		tail -n 25 "$2" >&2
		echo "----" >&2
	fi
	if [ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR" ] && [ -z "${KEEP_ON_FAILURE:-}" ]; then
		touch "$CLUSTER_DIR/failed"
		"$top/tests/cluster/down" "$CLUSTER_DIR" >&2 || true
	fi
	exit 1
}

need_bin() {
	local b
	for b in "$@"; do
		[ -x "$TOOLS_BIN/$b" ] || die "missing binary $TOOLS_BIN/$b (run 'make tools' or tests/tools/build.sh)"
	done
}

# free_port: ask the kernel for a free loopback port.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

port_in_use() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

# start NAME LOGFILE CMD...: start a process in its own session, record its pid.
start() {
	local name=$1 log=$2; shift 2
	setsid "$@" >"$log" 2>&1 </dev/null &
	local pid=$!
	echo "$name $pid" >>"$CLUSTER_DIR/pids"
	echo "$pid"
}

# wait_for SECONDS PID LOGFILE WHAT CMD...: poll CMD until it succeeds; fail early
# if PID dies, and after SECONDS.
wait_for() {
	local secs=$1 pid=$2 log=$3 what=$4; shift 4
	local deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		kill -0 "$pid" 2>/dev/null || die "$what exited during startup" "$log"
		[ $SECONDS -lt $deadline ] || die "$what not ready after ${secs}s" "$log"
		sleep 0.3
	done
}
