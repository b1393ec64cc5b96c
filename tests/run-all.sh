#!/usr/bin/env bash
# tests/run-all.sh -- `make test`: every test, from a fresh machine.
#
#  1. install Debian packages (scripts/deps.sh) and build the upstream Go
#     tools (tests/tools/build.sh; cached in .cache/bin, rebuilt when pins change);
#  2. build our binaries twice: optimised (bin/) and with ASan/UBSan (build-asan/bin);
#  3. source rules (scripts/checksrc.sh, make tidy); unit tests, plain, under ASan/UBSan and (threaded ones) TSan;
#     fuzz targets for a few seconds each;
#  4. integration: one shared real control plane with the CSI peers
#     (tests/cluster/up + csi-up), then every tests/integration/*/*.sh and
#     tests/integration/*/*_it binary against it, each in its own namespace;
#  5. e2e: every tests/e2e/*.sh gets a fresh control plane with CSI peers, and
#     our binaries built with ASan/UBSan (SC_BIN); any sanitizer report fails it;
#  6. the cluster harness's own tests (they start their own clusters).
# Every suite prints "<suite>: N passed, N failed"; the last line of this
# script sums them: "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=${TEST_LOGS:-$top/build/test-logs}
rm -rf "$logs"
mkdir -p "$logs"
passed=0 failed=0 skipped=0 skipped_tests=0 failures=()
export CLUSTER_ROOT=${CLUSTER_ROOT:-/tmp/sc-clusters}

# suite NAME CMD...: run one suite, echo its output, add its counts.
suite() {
	local name=$1; shift
	local log="$logs/$name.log" rc line p f
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	# failures, with the harness's reasons: "file:line: check failed",
	# got/want, t.sh's "FAIL:" and "timed out ... waiting for" (at most 40
	# lines, so that a CI summary shows why without the log)
	grep -E '^(ok|FAIL) |passed, [0-9]+ failed|^    [^ ]+:[0-9]+: |^      (got|want): |^    (FAIL: |timed out |killed by )' "$log" |
		grep -v '^ok ' | head -n 40 || true
	line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -z "$line" ] && [ "$rc" -eq 0 ] && grep -q '^SKIP ' "$log"; then
		grep '^SKIP ' "$log"
		skipped=$((skipped + 1)); return
	fi
	if [ -z "$line" ]; then
		echo "FAIL $name: no summary line (exit $rc); last lines of $log:"
		tail -n 20 "$log" | sed 's/^/    /'
		failed=$((failed + 1)); failures+=("$name"); return
	fi
	p=$(sed -E 's/.*(^|[^0-9])([0-9]+) passed.*/\2/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	passed=$((passed + p)) failed=$((failed + f))
	[[ $line =~ ([0-9]+)\ skipped ]] && skipped_tests=$((skipped_tests + BASH_REMATCH[1]))
	if [ "$f" -gt 0 ]; then
		failures+=("$name")
		echo "   (log: $log)"
	elif [ "$rc" -ne 0 ]; then
		echo "FAIL $name: exit $rc with no failed test"; failed=$((failed + 1)); failures+=("$name")
	fi
}

finish() {
	echo
	[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
	[ "$skipped" -gt 0 ] && echo "skipped suites: $skipped (see the SKIP lines above)"
	if [ "$skipped_tests" -gt 0 ]; then
		echo "$passed passed, $failed failed, $skipped_tests skipped"
	else
		echo "$passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
	exit
}

step() { # a setup step that must succeed, counted as one test
	local name=$1; shift
	local t0=$SECONDS
	echo "== $name"
	if "$@" >"$logs/$name.log" 2>&1; then
		echo "   done in $((SECONDS - t0))s"
		return 0
	fi
	echo "FAIL $name; last lines of $logs/$name.log:"
	tail -n 30 "$logs/$name.log" | sed 's/^/    /'
	failed=$((failed + 1)); failures+=("$name")
	return 1
}

step deps scripts/deps.sh || finish
step go-tools tests/tools/build.sh all || finish
grep -h '^tools:' "$logs/go-tools.log" | sed 's/^/   /'
step build make -j2 all unit-bins it-bins bench-bins || finish
step build-asan make -j2 BUILD=build-asan BIN=build-asan/bin \
	OPT="$(make -s --no-print-directory print-asan-flags)" all unit-bins it-bins || finish

suite checksrc scripts/checksrc.sh
suite tidy make -s --no-print-directory tidy
suite unit-tsan make -s --no-print-directory tsan
unit_bins=$(make -s --no-print-directory print-unit-bins)
suite unit tests/run-unit.sh $unit_bins
# shellcheck disable=SC2046
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	suite unit-asan tests/run-unit.sh $(sed 's#\(^\| \)build/#\1build-asan/#g' <<<"$unit_bins")
# memcheck on the plain build: reads of uninitialised memory that neither
# ASan nor a lucky stack shows.  Wall-clock tests are skipped (TEST_TIMED).
# shellcheck disable=SC2086
SC_TEST_NO_TIMING=1 UNIT_JOBS=2 UNIT_NAME=unit-valgrind \
	UNIT_WRAPPER="$(make -s --no-print-directory print-valgrind)" suite unit-valgrind tests/run-unit.sh $unit_bins
[ -x tests/fuzz/run.sh ] && FUZZ_SECONDS=${FUZZ_SECONDS:-10} suite fuzz tests/fuzz/run.sh
# The PrometheusRule of deploy/monitoring under promtool (recorded series).
suite alerts tests/alerts/run.sh

export SC_BIN=${SC_BIN:-$top/build-asan/bin}
export CONTROLLER=${CONTROLLER:-$SC_BIN/snapshot-controller}
export SC_BUILD=${SC_BUILD:-$top/build-asan}

# sanitizer_clean DIR: any ASan/UBSan report file left by our binaries fails the suite.
sanitizer_clean() {
	local reports
	reports=$(ls "$1"/sanitizer.* 2>/dev/null)
	[ -z "$reports" ] && return 0
	echo "FAIL sanitizer reports in $1:"
	head -n 40 $reports | sed 's/^/    /'
	failed=$((failed + 1)); failures+=("sanitizer")
}

# ---- integration: one shared cluster --------------------------------------
if step cluster-up bash -c "tests/cluster/up it >'$logs/it.env' && . '$logs/it.env' && tests/cluster/csi-up \"\$CLUSTER_DIR\""; then
	# shellcheck disable=SC1090
	. "$logs/it.env"
	. "$CLUSTER_DIR/env"
	export ASAN_OPTIONS="detect_leaks=1:log_path=$CLUSTER_DIR/sanitizer" UBSAN_OPTIONS="print_stacktrace=1:log_path=$CLUSTER_DIR/sanitizer"
	for t in tests/integration/*/*.sh; do
		[ "$t" = tests/integration/cluster/selftest.sh ] && continue
		case "$t" in */lib*.sh|*/sa-kubeconfig.sh) continue ;; esac
		# BUILD/ASAN: tests/integration/kube/run.sh runs the *_it binaries of the ASan build.
		BUILD=$SC_BUILD ASAN=1 suite "it-$(basename "$(dirname "$t")")-$(basename "$t" .sh)" "$t"
	done
	sanitizer_clean "$CLUSTER_DIR"
	unset ASAN_OPTIONS UBSAN_OPTIONS
	[ "$failed" -gt 0 ] && touch "$CLUSTER_DIR/failed"
	tests/cluster/down "$CLUSTER_DIR" 2>/dev/null
	unset KUBECONFIG CLUSTER_DIR
fi

# ---- e2e: a fresh cluster each ----------------------------------------------
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	name=e2e-$(basename "$t" .sh)
	if step "$name-cluster" bash -c "tests/cluster/up e2e >'$logs/$name.env' && . '$logs/$name.env' && tests/cluster/csi-up \"\$CLUSTER_DIR\""; then
		(
			. "$logs/$name.env"
			. "$CLUSTER_DIR/env"
			export ASAN_OPTIONS="detect_leaks=1:log_path=$CLUSTER_DIR/sanitizer" UBSAN_OPTIONS="print_stacktrace=1:log_path=$CLUSTER_DIR/sanitizer"
			echo "$CLUSTER_DIR" >"$logs/$name.dir"
			"$t"
		) >"$logs/$name.out" 2>&1
		suite "$name" cat "$logs/$name.out"
		dir=$(cat "$logs/$name.dir")
		sanitizer_clean "$dir"
		grep -Eq '(^|: )[0-9]+ passed, 0 failed$' "$logs/$name.out" || touch "$dir/failed"
		tests/cluster/down "$dir" 2>/dev/null
	fi
done

suite cluster-selftest tests/integration/cluster/selftest.sh
finish
