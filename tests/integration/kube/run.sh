#!/usr/bin/env bash
# tests/integration/kube/run.sh -- run the kube/ integration tests against a
# real control plane: starts one with tests/cluster/up (unless KUBECONFIG and
# ETCD_URL already point at one), installs the test CRD, runs every
# tests/integration/kube/*_it binary, stops the cluster it started.
#   BUILD=build-kube tests/integration/kube/run.sh          # normal build
#   BUILD=build-kube-asan ASAN=1 tests/integration/kube/run.sh
# Prints "kube-it: N passed, N failed" and exits non-zero on any failure.
set -u
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
. tests/lib/t.sh
build=${BUILD:-build}
if [ "${ASAN:-0}" = 1 ]; then
	opt="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	make --no-print-directory BUILD="$build" OPT="$opt" $(ls tests/integration/kube/*_it.c | sed "s|^|$build/|; s|\.c$||") >/dev/null || exit 1
else
	make --no-print-directory BUILD="$build" $(ls tests/integration/kube/*_it.c | sed "s|^|$build/|; s|\.c$||") >/dev/null || exit 1
fi
started=
if [ -z "${KUBECONFIG:-}" ] || [ -z "${ETCD_URL:-}" ]; then
	env=$(tests/cluster/up kube-it) || { echo "kube-it: cannot start the cluster"; exit 1; }
	eval "$env"
	started=$CLUSTER_DIR
fi
trap '[ -n "$started" ] && tests/cluster/down "$started" >/dev/null 2>&1' EXIT
"$TOOLS_BIN/kubectl" apply -f tests/data/kube/widgets-crd.yaml >/dev/null &&
	"$TOOLS_BIN/kubectl" wait --for condition=established --timeout=60s \
		crd/widgets.kubetest.example.com >/dev/null || { echo "kube-it: CRD not established"; exit 1; }
passed=0 failed=0
for t in tests/integration/kube/*_it.c; do
	bin=$build/${t%.c}
	out=$("$bin" 2>&1)
	printf '%s\n' "$out" | grep -v '^ok \|^  informer error' || true
	if ! t_summary "$out"; then
		echo "FAIL $bin: no summary line"
		failed=$((failed + 1))
		continue
	fi
	passed=$((passed + S_PASSED)) failed=$((failed + S_FAILED))
done
echo "kube-it: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
