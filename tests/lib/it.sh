# tests/lib/it.sh -- the start shared by the integration scripts
# (tests/integration/*/*.sh) that run against a cluster started for them
# (tests/run-all.sh, or eval "$(tests/cluster/up)").  Source with $top set
# (the repository root); it sources tests/lib/t.sh.
#
#   it_setup SUITE [BINARY]  names the suite (T_SUITE); KUBECONFIG and
#                            TOOLS_BIN must be set (the script exits
#                            otherwise).  Sets K (TOOLS_BIN's kubectl), RUN (a
#                            tag unique to this run, for names), CLUSTER_DIR
#                            (default: the kubeconfig's folder) and SC_BIN
#                            (default $top/bin).  With BINARY, a missing
#                            $SC_BIN/BINARY ends the script as skipped.
. "$top/tests/lib/t.sh"

it_setup() {
	T_SUITE=$1
	: "${KUBECONFIG:?KUBECONFIG must point at a test cluster}" "${TOOLS_BIN:?TOOLS_BIN must hold kubectl}"
	CLUSTER_DIR=${CLUSTER_DIR:-$(dirname "$KUBECONFIG")}
	SC_BIN=${SC_BIN:-$top/bin}
	K="$TOOLS_BIN/kubectl"
	RUN=$(printf '%x%x' "$(date +%s)" $$)
	if [ -n "${2:-}" ] && [ ! -x "$SC_BIN/$2" ]; then
		echo "SKIP $T_SUITE: no $SC_BIN/$2 (build it, or set SC_BIN); nothing was checked"
		echo "$T_SUITE: 0 passed, 0 failed"
		exit 0
	fi
}
