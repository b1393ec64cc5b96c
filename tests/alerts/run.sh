#!/usr/bin/env bash
# tests/alerts/run.sh -- the PrometheusRule of deploy/monitoring, checked and
# tested with promtool (Debian package prometheus) on recorded series:
#   1. the rule groups are cut out of the PrometheusRule (everything under
#      "spec:") and `promtool check rules` must accept them;
#   2. every alert name in the rule file has at least one test that expects
#      it to fire (so a new alert cannot ship untested);
#   3. `promtool test rules` runs each *.test.yaml here; each test file
#      counts as one test;
#   4. the component renders: `kubectl kustomize` of tests/alerts/overlay (deploy/webhook plus
#      the deploy/monitoring component) holds the PrometheusRule with the same groups.
# Prints "alerts: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/t.sh
T_SUITE=alerts
command -v promtool >/dev/null || { echo "promtool not found (scripts/deps.sh installs prometheus)" >&2; echo "$T_SUITE: 0 passed, 1 failed"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The rule file the tests name (rule_files: [rules.yaml]) lives next to them.
sed -n '/^spec:$/,$p' deploy/monitoring/prometheusrule.yaml | tail -n +2 | sed 's/^  //' >"$tmp/rules.yaml"

test_check_rules() {
	local out
	out=$(promtool check rules "$tmp/rules.yaml" 2>&1) || { t_fail "$out"; return 1; }
	t_contains "$out" "SUCCESS: 6 rules found"
}

test_every_alert_tested() {
	local a
	for a in $(awk '$1 == "-" && $2 == "alert:" {print $3}' "$tmp/rules.yaml"); do
		grep -q "alertname: $a\$" tests/alerts/*.test.yaml || { t_fail "alert $a has no test"; return 1; }
	done
}

promtool_test() { # promtool_test FILE
	cp "$1" "$tmp/"
	local out
	out=$(cd "$tmp" && promtool test rules "$(basename "$1")" 2>&1) || { t_fail "$out"; return 1; }
	t_contains "$out" "SUCCESS"
}

test_component_renders() {
	local k=${TOOLS_BIN:-$top/.cache/bin}/kubectl out
	[ -x "$k" ] || { t_fail "no kubectl in ${TOOLS_BIN:-$top/.cache/bin} (make tools)"; return 1; }
	out=$("$k" kustomize tests/alerts/overlay 2>&1) || { t_fail "$out"; return 1; }
	t_contains "$out" "kind: PrometheusRule" || return 1
	t_contains "$out" "name: volume-snapshot-alerts" || return 1
	t_eq "$(grep -c '^    - alert: ' <<<"$out")" "$(grep -c '^  - alert: ' "$tmp/rules.yaml")" "alerts rendered"
}

t_run check_rules test_check_rules
t_run component_renders test_component_renders
t_run every_alert_tested test_every_alert_tested
for f in tests/alerts/*.test.yaml; do
	t_run "$(basename "$f" .test.yaml)" promtool_test "$f"
done
t_done
