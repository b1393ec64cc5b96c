#!/usr/bin/env bash
# Runs unit-test binaries and prints one summary line:
# "unit: N passed, N failed" (", N skipped" when a harness skipped some).
#   UNIT_WRAPPER  command each binary runs under (e.g. valgrind ...)
#   UNIT_JOBS     binaries run at once (default 1); output stays in order
#   UNIT_NAME     the summary's first word (default "unit")
set -u
. "$(dirname "$0")/lib/t.sh"
# glibc writes fatal errors (heap corruption) to /dev/tty unless told otherwise.
export LIBC_FATAL_STDERR_=1
jobs=${UNIT_JOBS:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for t in "$@"; do
	i=$((i + 1))
	printf '%s\0%s\0' "$t" "$tmp/$i"
done | xargs -0 -n2 -P "$jobs" sh -c '${UNIT_WRAPPER:-} "$0" >"$1.out" 2>&1; echo $? >"$1.rc"'
passed=0 failed=0 skipped=0 i=0
for t in "$@"; do
	i=$((i + 1))
	out=$(cat "$tmp/$i.out" 2>/dev/null)
	rc=$(cat "$tmp/$i.rc" 2>/dev/null || echo 127)
	printf '%s\n' "$out" | grep -v '^ok ' || true
	if ! t_summary "$out"; then
		echo "FAIL $t: no summary line (rc=$rc)"
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + S_PASSED)) failed=$((failed + S_FAILED)) skipped=$((skipped + S_SKIPPED))
	[ "$rc" -ne 0 ] && [ "$S_FAILED" -eq 0 ] && { echo "FAIL $t: exit $rc"; failed=$((failed + 1)); }
done
if [ "$skipped" -gt 0 ]; then
	echo "${UNIT_NAME:-unit}: $passed passed, $failed failed, $skipped skipped"
else
	echo "${UNIT_NAME:-unit}: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
