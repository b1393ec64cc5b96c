#!/usr/bin/env bash
# tests/integration/deploy/sa-kubeconfig.sh -- run a component with exactly the
# RBAC that deploy/ gives it.
#
#   sa-kubeconfig.sh CLUSTER_DIR NAMESPACE SERVICEACCOUNT OUT
#   sa-kubeconfig.sh --delete CLUSTER_DIR NAMESPACE SERVICEACCOUNT
#
# Applies deploy/controller's RBAC (or deploy/webhook's when SERVICEACCOUNT
# contains "webhook"; COMPONENT=controller|webhook overrides) to the test
# cluster in CLUSTER_DIR (tests/cluster/up), with the ServiceAccount renamed
# to SERVICEACCOUNT and everything namespaced moved to NAMESPACE (created if
# missing): the ServiceAccount, the leader-election Role and RoleBinding, and
# the subjects of the ClusterRoleBinding.  The ClusterRoles keep deploy/'s
# names and rules; the ClusterRoleBinding gets a per-(namespace, account) name
# so parallel runs do not steal each other's binding.
#
# Then writes OUT, a self-contained kubeconfig (server, CA data, bearer token
# from `kubectl create token`, 24h) whose default namespace is NAMESPACE.
# A program run with it can do exactly what deploy/ allows: a missing verb
# shows up as a 403 in the e2e that uses it.
#
# --delete removes the ClusterRoleBinding and the namespaced objects again
# (the ClusterRoles are shared and left in place).
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
die() { echo "sa-kubeconfig: $*" >&2; exit 1; }

del=0
if [ "${1:-}" = --delete ]; then
	del=1
	shift
fi
[ $# -eq $((4 - del)) ] || die "usage: $0 CLUSTER_DIR NAMESPACE SERVICEACCOUNT OUT | --delete CLUSTER_DIR NAMESPACE SERVICEACCOUNT"
cluster_dir=$1 ns=$2 sa=$3 out=${4:-}
[ -f "$cluster_dir/env" ] || die "$cluster_dir/env not found (a tests/cluster/up directory?)"
# shellcheck disable=SC1091
. "$cluster_dir/env"
K="$TOOLS_BIN/kubectl"
command -v jq >/dev/null || die "jq is needed"
command -v yq >/dev/null || die "yq is needed"

comp=${COMPONENT:-}
if [ -z "$comp" ]; then
	case $sa in *webhook*) comp=webhook ;; *) comp=controller ;; esac
fi
[ -d "$top/deploy/$comp" ] || die "no deploy/$comp"
orig=snapshot-$comp
crb_label="sc-sa-kubeconfig=$(printf '%s.%s' "$ns" "$sa" | cut -c1-63)"

if [ "$del" = 1 ]; then
	"$K" delete clusterrolebinding -l "$crb_label" --ignore-not-found >/dev/null
	"$K" -n "$ns" delete rolebinding,role,serviceaccount -l "$crb_label" --ignore-not-found >/dev/null
	exit 0
fi

"$K" create namespace "$ns" --dry-run=client -o yaml | "$K" apply -f - >/dev/null
"$K" kustomize "$top/deploy/$comp" |
	yq -c 'select(. != null and (.kind | test("^(ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$")))' |
	jq -c --arg ns "$ns" --arg sa "$sa" --arg orig "$orig" --arg lk "${crb_label%%=*}" --arg lv "${crb_label#*=}" '
		.metadata.labels[$lk] = $lv |
		if .kind == "ServiceAccount" then .metadata.name = $sa | .metadata.namespace = $ns
		elif .kind == "Role" then .metadata.namespace = $ns
		elif .kind == "ClusterRole" then del(.metadata.labels[$lk])
		else
			(if .kind == "RoleBinding" then .metadata.namespace = $ns
			 else .metadata.name = (.metadata.name + "-" + $ns + "-" + $sa) end) |
			.subjects |= map(if .kind == "ServiceAccount" and .name == $orig then .name = $sa | .namespace = $ns else . end)
		end' |
	"$K" apply -f - >/dev/null || die "cannot apply the $comp RBAC"

token=$("$K" -n "$ns" create token "$sa" --duration=24h) || die "cannot create a token for $ns/$sa"
server=$("$K" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca_data=$("$K" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')
if [ -z "$ca_data" ]; then
	ca_file=$("$K" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority}')
	[ -f "$ca_file" ] || die "the admin kubeconfig names no CA"
	ca_data=$(base64 <"$ca_file" | tr -d '\n')
fi
umask 077
cat >"$out" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $server
    certificate-authority-data: $ca_data
users:
- name: $sa
  user:
    token: $token
contexts:
- name: $sa
  context:
    cluster: test
    user: $sa
    namespace: $ns
current-context: $sa
EOF
echo "sa-kubeconfig: $out acts as system:serviceaccount:$ns:$sa with deploy/$comp's RBAC" >&2
