# tests/bench/controller/lib.sh -- shell helpers shared by the controller
# benchmarks (sourced).  The caller sets cpid (the controller's pid) and PORT
# (its --http-endpoint port).
stop_controller() { # TERM, then KILL after 10 s; clears cpid
	[ -n "$cpid" ] || return 0
	kill "$cpid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
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
