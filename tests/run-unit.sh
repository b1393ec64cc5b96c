#!/usr/bin/env bash
# Runs unit-test binaries and prints one summary line: "unit: N passed, N failed".
set -u
# glibc writes fatal errors (heap corruption) to /dev/tty unless told otherwise.
export LIBC_FATAL_STDERR_=1
passed=0 failed=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^ok ' || true
	line=$(printf '%s\n' "$out" | grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $t: no summary line (rc=$rc)"
		failed=$((failed + 1))
		continue
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
	passed=$((passed + p)) failed=$((failed + f))
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { echo "FAIL $t: exit $rc"; failed=$((failed + 1)); }
done
echo "unit: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
