#!/usr/bin/env bash
# chart-sync.sh -- copy the chart's shared files from their one source:
# crds/*.yaml -> charts/snapshot-controller/files/crds/, and deploy/'s RBAC
# (controller/rbac.yaml, controller/leader-election.yaml, webhook/rbac.yaml)
# -> files/rbac/, and deploy/monitoring/prometheusrule.yaml (the alerts) ->
# files/monitoring/.  Helm reads nothing outside the chart directory, so the
# chart carries copies; its templates take the rules from them, and
# tests/e2e/helm.sh fails when a copy differs from its source.
#   chart-sync.sh          copy
#   chart-sync.sh --check  exit 1 and list the copies that differ
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
c=$top/charts/snapshot-controller/files
pairs=()
for f in "$top"/crds/*.yaml; do
	[ "$(basename "$f")" = kustomization.yaml ] && continue
	pairs+=("$f:$c/crds/$(basename "$f")")
done
pairs+=("$top/deploy/controller/rbac.yaml:$c/rbac/controller.yaml"
	"$top/deploy/controller/leader-election.yaml:$c/rbac/leader-election.yaml"
	"$top/deploy/webhook/rbac.yaml:$c/rbac/webhook.yaml"
	"$top/deploy/monitoring/prometheusrule.yaml:$c/monitoring/prometheusrule.yaml")
rc=0
for p in "${pairs[@]}"; do
	src=${p%%:*} dst=${p#*:}
	if [ "${1:-}" = --check ]; then
		cmp -s "$src" "$dst" || { echo "differs: ${dst#"$top"/} (from ${src#"$top"/}; run scripts/chart-sync.sh)"; rc=1; }
	else
		mkdir -p "$(dirname "$dst")"
		cp "$src" "$dst"
	fi
done
if [ "${1:-}" = --check ]; then
	extra=$(cd "$c/crds" && ls | while read -r f; do [ -f "$top/crds/$f" ] || echo "$f"; done)
	[ -z "$extra" ] || { echo "files/crds has files crds/ lacks: $extra"; rc=1; }
fi
exit $rc
