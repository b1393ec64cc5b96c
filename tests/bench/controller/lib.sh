# tests/bench/controller/lib.sh -- shell helpers shared by the controller
# benchmarks (sourced).  The caller sets cpid (the controller's pid) and PORT
# (its --http-endpoint port).  tests/lib/bench.sh comes with it (ticks, kib,
# settle).
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/bench.sh" # bench_stop_pid
stop_controller() { # TERM, then KILL after 10 s; clears cpid
	bench_stop_pid "$cpid"
	cpid=
}
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
