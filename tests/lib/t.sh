# tests/lib/t.sh -- a small harness for shell tests.  Source it, call
# `t_run name function` for each test, then `t_done`, which prints
# "<suite>: N passed, N failed" and returns non-zero on failure.
# Inside a test, `t_fail "why"` fails it (and returns 1); use `|| return 1`
# after commands that must succeed.  `t_wait SECONDS cmd...` polls until cmd
# succeeds (every 0.5 s) and fails the test with the last output on timeout.
T_PASSED=0
T_FAILED=0
T_SUITE=${T_SUITE:-$(basename "${0%.sh}")}

t_fail() {
	echo "    FAIL: $*" >&2
	return 1
}

t_run() {
	local name=$1; shift
	local t0=$SECONDS
	if ( set -o pipefail; "$@" ); then
		T_PASSED=$((T_PASSED + 1))
		echo "ok   $T_SUITE.$name ($((SECONDS - t0))s)"
	else
		T_FAILED=$((T_FAILED + 1))
		echo "FAIL $T_SUITE.$name ($((SECONDS - t0))s)"
	fi
}

t_wait() {
	local secs=$1; shift
	local deadline=$((SECONDS + secs)) out
	while :; do
		if out=$("$@" 2>&1); then
			printf '%s' "$out"
			return 0
		fi
		if [ $SECONDS -ge $deadline ]; then
			echo "    timed out after ${secs}s waiting for: $*" >&2
			printf '    last output: %s\n' "$out" >&2
			return 1
		fi
		sleep 0.5
	done
}

# t_eq ACTUAL EXPECTED [what]
t_eq() {
	[ "$1" = "$2" ] && return 0
	t_fail "${3:-value}: got '$1', want '$2'"
}

# t_contains HAYSTACK NEEDLE [what]
t_contains() {
	case "$1" in *"$2"*) return 0 ;; esac
	t_fail "${3:-output} does not contain '$2': $1"
}

# t_summary TEXT: the last "<name>: N passed, N failed[, N skipped]" line of
# TEXT (a test binary's or suite's output) into S_PASSED, S_FAILED and
# S_SKIPPED; returns 1 when TEXT has none.
t_summary() {
	local line
	line=$(printf '%s\n' "$1" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' | tail -1)
	[ -n "$line" ] || return 1
	S_PASSED=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	S_FAILED=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	S_SKIPPED=0
	[[ $line == *skipped ]] && S_SKIPPED=$(sed -E 's/.* ([0-9]+) skipped$/\1/' <<<"$line")
	return 0
}

t_done() {
	echo "$T_SUITE: $T_PASSED passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}
