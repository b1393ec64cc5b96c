#!/usr/bin/env bash
# scripts/tidy.sh -- `make tidy`: clang-tidy (.clang-tidy: analyzer, bugprone,
# function size and complexity) over every source of the five components, one
# file a test, two at a time.  Prints "tidy: N passed, N failed".
# Usage: scripts/tidy.sh [file.c ...] -- <compile flags>
#        (no files: every tracked component source; the Makefile passes CFLAGS)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
files=() flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
[ $# -gt 0 ] && shift
flags=("$@")
if [ ${#files[@]} -eq 0 ]; then
	mapfile -t files < <(git ls-files 'common/*.c' 'kube/*.c' 'state/*.c' 'controller/*.c' 'webhook/*.c')
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
for f in "${files[@]}"; do
	i=$((i + 1))
	while [ "$(jobs -rp | wc -l)" -ge "${TIDY_JOBS:-2}" ]; do wait -n; done
	(clang-tidy --quiet "$f" -- "${flags[@]}" >"$tmp/$i.out" 2>&1; echo $? >"$tmp/$i.rc") &
done
wait
passed=0 failed=0 i=0
for f in "${files[@]}"; do
	i=$((i + 1))
	if [ "$(cat "$tmp/$i.rc" 2>/dev/null || echo 1)" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL tidy $f"
		grep -E '(warning|error):' "$tmp/$i.out" | sed 's/^/    /'
	fi
done
echo "tidy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
