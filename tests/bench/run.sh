#!/usr/bin/env bash
# tests/bench/run.sh -- `make bench`: every benchmark, printing figures only
# (no assertion on their size; see docs/*.md for recorded numbers).
#   - compiled benchmarks (tests/bench/<component>/*_bench.c, built by make);
#     those that talk to an API server get a cluster of their own;
#   - script benchmarks (tests/bench/<component>/*_bench.sh) start what they need.
# BENCH_ONLY=<substring> runs only matching benchmarks.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=${BUILD:-build}
only=${BENCH_ONLY:-}
for src in tests/bench/*/*_bench.c tests/bench/*/*_bench.sh; do
	[ -f "$src" ] || continue
	case "$src" in *"$only"*) ;; *) continue ;; esac
	echo "== $src"
	case "$src" in
	*.sh) "$src" ;;
	*.c)
		bin=$build/${src%.c}
		if grep -q KUBECONFIG "$src"; then
			(eval "$(tests/cluster/up bench)" && "$bin"; rc=$?; tests/cluster/down "$CLUSTER_DIR"; exit $rc)
		else
			"$bin"
		fi
		;;
	esac
	echo
done
