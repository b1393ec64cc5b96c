# tests/bench/controller/lib.sh -- shell helpers shared by the controller
# benchmarks (sourced).  The caller sets cpid (the controller's pid) and PORT
# (its --http-endpoint port).
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/bench.sh" # bench_stop_pid
stop_controller() { # TERM, then KILL after 10 s; clears cpid
	bench_stop_pid "$cpid"
	cpid=
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }                  # pid -> utime+stime
kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }      # pid VmRSS|VmHWM
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# Wait until pid used under 3 clock ticks in each of 3 consecutive seconds.
settle() {
	local quiet=0 a b
	for _ in $(seq 1 300); do
		a=$(ticks "$1") || return 1
		sleep 1
		b=$(ticks "$1") || return 1
		if [ $((b - a)) -lt 3 ]; then quiet=$((quiet + 1)); else quiet=0; fi
		[ $quiet -ge 3 ] && return 0
	done
}
