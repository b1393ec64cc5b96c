#!/usr/bin/env bash
# Runs unit-test binaries and prints one summary line:
# "unit: N passed, N failed" (", N skipped" when a harness skipped some).
#   UNIT_WRAPPER  command each binary runs under (e.g. valgrind ...)
#   UNIT_JOBS     binaries run at once (default 1); output stays in order
#   UNIT_NAME     the summary's first word (default "unit")
set -u
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
	line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $t: no summary line (rc=$rc)"
		failed=$((failed + 1))
		continue
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	s=0
	[[ $line == *skipped ]] && s=$(sed -E 's/.* ([0-9]+) skipped$/\1/' <<<"$line")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { echo "FAIL $t: exit $rc"; failed=$((failed + 1)); }
done
if [ "$skipped" -gt 0 ]; then
	echo "${UNIT_NAME:-unit}: $passed passed, $failed failed, $skipped skipped"
else
	echo "${UNIT_NAME:-unit}: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
