#!/usr/bin/env bash
# tests/fuzz/run.sh -- build every libFuzzer target tests/fuzz/<component>_*_fuzz.c
# with clang (-fsanitize=fuzzer,address,undefined) against its component's
# sources (and those it depends on; a binary newer than all of them is kept),
# then run each for FUZZ_SECONDS (default 30) from its seed corpus
# tests/fuzz/corpus/<target>/ if there is one.
# A crash, leak or sanitizer report fails the target.  Prints
# "fuzz: N passed, N failed".
# FUZZ_ONLY=<substring> runs matching targets only.  FUZZ_KEEP_CORPUS=1
# (make fuzz-long) merges what a run found back into tests/fuzz/corpus/<target>/
# (libFuzzer -merge=1: only inputs that add coverage are kept).
# FUZZ_RUNS=<n> (make fuzz-long FUZZ_RUNS=10000000) defines a run by
# executions instead (libFuzzer -runs=n); FUZZ_SECONDS then caps it only if it
# is set (unset: no time limit).  Each line reports runs, seconds and the
# corpus size before and after.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${FUZZ_SECONDS:-30}
limit=(-max_total_time="$secs")
if [ -n "${FUZZ_RUNS:-}" ]; then
	secs=${FUZZ_SECONDS:-0}
	limit=(-runs="$FUZZ_RUNS" -max_total_time="$secs")
fi
out=${FUZZ_BUILD:-$top/build-fuzz}
mkdir -p "$out"
# the libraries' flags as the Makefile has them (our libcurl and libmicrohttpd
# builds, or CURL=system / MHD=system)
lib_cflags=$(make -s --no-print-directory print-lib-cflags) || { echo "fuzz: make print-lib-cflags failed"; exit 1; }
lib_ldlibs=$(make -s --no-print-directory print-lib-ldlibs) || { echo "fuzz: make print-lib-ldlibs failed"; exit 1; }
passed=0 failed=0
deps_of() {
	case "$1" in
	kube) echo kube common ;;
	state) echo state common ;;
	webhook) echo webhook kube common ;;
	controller) echo controller state kube common ;;
	*) echo common ;;
	esac
}
for t in tests/fuzz/*_fuzz.c; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .c)
	case "$name" in *"${FUZZ_ONLY:-}"*) ;; *) continue ;; esac
	comp=${name%%_*}
	srcs=()
	for c in $(deps_of "$comp"); do
		for f in "$c"/*.c; do
			[ "$f" = "$c/main.c" ] || srcs+=("$f")
		done
	done
	hdrs=()
	for c in $(deps_of "$comp"); do hdrs+=("$c"/*.h); done
	hdrs+=(tests/fuzz/*.h)
	# a binary newer than every source and header it is built from is kept
	if [ -x "$out/$name" ] && [ -z "$(find "$t" "${srcs[@]}" "${hdrs[@]}" -newer "$out/$name" | head -n 1)" ]; then
		:
	# shellcheck disable=SC2086
	elif ! clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE \
		-DSC_VERSION='"fuzz"' -I. -pthread $lib_cflags -o "$out/$name.new" "$t" \
		"${srcs[@]}" $lib_ldlibs >"$out/$name.build.log" 2>&1 ||
		! mv "$out/$name.new" "$out/$name"; then
		echo "FAIL $name: does not build"; tail -n 15 "$out/$name.build.log" | sed 's/^/    /'
		failed=$((failed + 1)); continue
	fi
	corpus=$out/$name.corpus
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
	before=$(find "tests/fuzz/corpus/$name" -type f 2>/dev/null | wc -l)
	start=$SECONDS
	if (cd "$out" && "./$name" "${limit[@]}" -rss_limit_mb=2048 -print_final_stats=1 "$corpus" \
		>"$name.log" 2>&1); then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
		echo "ok   fuzz.$name (${runs:-?} runs in $((SECONDS - start))s)"
		passed=$((passed + 1))
		if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
			mkdir -p "tests/fuzz/corpus/$name"
			"$out/$name" -merge=1 "tests/fuzz/corpus/$name" "$corpus" >"$out/$name.merge.log" 2>&1 ||
				echo "    corpus merge failed: see $out/$name.merge.log"
			echo "    corpus: $before inputs before, $(find "tests/fuzz/corpus/$name" -type f | wc -l) after," \
				"in tests/fuzz/corpus/$name"
		fi
	else
		echo "FAIL fuzz.$name; see $out/$name.log"
		grep -m5 -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
