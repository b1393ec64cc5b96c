#!/usr/bin/env bash
# tests/e2e/helm.sh -- charts/snapshot-controller against the real API server,
# with helm v4 built from the Go module proxy (tests/tools/helm, .cache/bin).
#
#   - the chart's copies of crds/ and deploy/'s RBAC equal their sources
#     (scripts/chart-sync.sh --check), and the rendered RBAC rules equal
#     deploy/'s;
#   - helm lint, with the defaults and with each value set below;
#   - helm template with four value sets, each `kubectl apply --dry-run=server`
#     (stand-in CRDs for cert-manager's and prometheus-operator's kinds, which
#     this cluster lacks); the warnings ValidatingWebhookConfiguration carries
#     the set's CA wiring, and the PrometheusRule's spec equals
#     deploy/monitoring's and passes `promtool check rules`;
#   - helm install into kube-system over the CRDs the cluster already has
#     (--take-ownership, as over an upstream install): CRDs established and
#     owned by the release, RBAC and webhook configurations present with the
#     chart's CA; then the controller and the webhook run from the images
#     (tests/lib/image-run.sh) with tokens of the chart's ServiceAccounts and
#     the chart's TLS Secret: a snapshot gets ready, the webhook serves the
#     certificate the webhook configurations trust, and `kubectl create` of a
#     snapshot naming a missing class prints the webhook's "Warning:" line
#     through the chart's snapshot-webhook-warnings configuration (its Service
#     made an ExternalName of localhost for that, then put back: see there);
#   - helm upgrade changes what it should (a PDB goes, args change, the
#     self-signed certificate stays);
#   - helm uninstall leaves no object of the release but the CRDs.
# The install runs with webhook.conversion=false: this cluster has no nodes
# and no service proxy, so the API server cannot reach a Service, and the
# group CRDs' conversion through one would fail every v1 read.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
. tests/lib/e2e.sh
e2e_cluster e2e-helm helme2e
. tests/lib/image.sh
HELM=${HELM:-$top/.cache/bin/helm}
if [ ! -x "$HELM" ]; then
	tests/tools/build.sh helm >&2 || { echo "$T_SUITE: 0 passed, 1 failed (no helm)"; exit 1; }
fi
CHART=$top/charts/snapshot-controller
h() { "$HELM" --kubeconfig "$KUBECONFIG" "$@"; }
W=$CLUSTER_DIR/helm-e2e
rm -rf "$W" # no pids, ports or Secret layout of an earlier run
mkdir -p "$W"
REL=snapshot
CPID= WPID=
cleanup() {
	img_stop "$CPID"
	img_stop "$WPID"
	h uninstall "$REL" -n kube-system >/dev/null 2>&1
	k delete crd certificates.cert-manager.io issuers.cert-manager.io servicemonitors.monitoring.coreos.com \
		prometheusrules.monitoring.coreos.com \
		--ignore-not-found >/dev/null 2>&1
	k delete ns helm-e2e snap-other --ignore-not-found --wait=false >/dev/null 2>&1
	rm -rf "$W/controller" "$W/webhook"
	[ "$own_cluster" = 1 ] && tests/cluster/down "$CLUSTER_DIR" >/dev/null 2>&1
}
trap cleanup EXIT

# ---- value sets ------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=user-ca" \
	-keyout "$W/user-ca.key" -out "$W/user-ca.crt" 2>/dev/null
cat >"$W/v1-defaults.yaml" <<'Y'
{}
Y
cat >"$W/v2-certmanager.yaml" <<'Y'
crds: {groupSnapshot: false}
controller:
  replicas: 3
  args: {v: 5, kubeApiQps: 50, kubeApiBurst: 100, loggingFormat: json}
  serviceMonitor: {enabled: true, labels: {release: prometheus}}
prometheusRule: {enabled: true, labels: {release: prometheus}}
webhook:
  tls:
    mode: certManager
    certManager: {issuerRef: {kind: ClusterIssuer, name: my-ca}}
Y
{
	cat <<'Y'
imagePullSecrets: [{name: regcred}]
controller:
  image: {repository: registry.example/snapshot-controller, digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}
  priorityClassName: ""
  nodeSelector: {node-role.kubernetes.io/control-plane: ""}
  tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/os, operator: In, values: [linux]}]}]
  topologySpreadConstraints:
  - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app.kubernetes.io/name: snapshot-controller}}}
  resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 1Gi}}
  podAnnotations: {example.com/scrape: "false"}
webhook:
  failurePolicy: {classes: Ignore, pvc: Ignore}
  timeoutSeconds: 10
  pvcExcludedNamespaces: [kube-system, kube-node-lease]
  warnings: {timeoutSeconds: 3, excludedNamespaces: [kube-system, kube-node-lease]}
  tls:
    mode: secret
    secretName: my-webhook-tls
    caBundle: |
Y
	sed 's/^/      /' "$W/user-ca.crt"
} >"$W/v3-secret-scheduling.yaml"
cat >"$W/v4-controller-only.yaml" <<'Y'
webhook: {enabled: false}
controller:
  replicas: 1
  leaderElection: {enabled: false}
  pdb: {enabled: false}
  extraArgs: ["--retry-interval-max=10m"]
Y
SETS="v1-defaults:kube-system v2-certmanager:kube-system v3-secret-scheduling:kube-system v4-controller-only:snap-other"

# ---- the chart's copies, and its RBAC against deploy/'s --------------------------
test_copies() {
	scripts/chart-sync.sh --check >&2
}
t_run copies_equal_sources test_copies

rules_json() { # FILE...: {"Kind/name": rules} of every (Cluster)Role in the YAML files
	python3 - "$@" <<'PY'
import json, sys, yaml
out = {}
for f in sys.argv[1:]:
    docs = []
    for d in yaml.safe_load_all(open(f)):
        docs += d.get("items", []) if d and d.get("kind") == "List" else [d]
    for d in docs:
        if d and d.get("kind") in ("ClusterRole", "Role"):
            out[d["kind"] + "/" + d["metadata"]["name"]] = d.get("rules")
print(json.dumps(out, sort_keys=True))
PY
}
test_rbac_equals_deploy() {
	h template "$REL" "$CHART" -n kube-system >"$W/default.yaml" || return 1
	local got want
	got=$(rules_json "$W/default.yaml") || return 1
	want=$(rules_json deploy/controller/rbac.yaml deploy/controller/leader-election.yaml deploy/webhook/rbac.yaml) || return 1
	t_eq "$(jq -r 'keys | join(",")' <<<"$got")" "ClusterRole/snapshot-controller-runner,ClusterRole/snapshot-webhook-runner,Role/snapshot-controller-leaderelection" "rendered roles" || return 1
	t_eq "$got" "$want" "rendered RBAC rules"
}
t_run rbac_equals_deploy test_rbac_equals_deploy

# ---- lint and the server-side dry runs -----------------------------------------
lint_all() {
	local s n=0
	local out
	out=$(h lint --strict "$CHART" 2>&1) || { echo "$out" >&2; return 1; }
	for s in $SETS; do
		out=$(h lint --strict "$CHART" -n "${s#*:}" -f "$W/${s%%:*}.yaml" 2>&1) ||
			{ echo "$out" >&2; echo "lint failed with ${s%%:*}" >&2; return 1; }
		n=$((n + 1))
	done
	echo "    helm lint: defaults + $n value sets" >&2
}
t_run lint lint_all

standin_crds() { # cert-manager's and prometheus-operator's kinds, schema-less
	local g kind plural scope
	for x in cert-manager.io:Certificate:certificates:Namespaced cert-manager.io:Issuer:issuers:Namespaced \
		monitoring.coreos.com:ServiceMonitor:servicemonitors:Namespaced \
		monitoring.coreos.com:PrometheusRule:prometheusrules:Namespaced; do
		IFS=: read -r g kind plural scope <<<"$x"
		cat <<Y
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: $plural.$g}
spec:
  group: $g
  scope: $scope
  names: {kind: $kind, plural: $plural, singular: $(tr 'A-Z' 'a-z' <<<"$kind")}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
Y
	done
}
standin_crds | k apply -f - >/dev/null
k wait --for=condition=Established --timeout=60s crd/certificates.cert-manager.io crd/issuers.cert-manager.io \
	crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null
k create ns snap-other >/dev/null

dry_run() { # SET NAMESPACE
	local out
	h template "$REL" "$CHART" -n "$2" -f "$W/$1.yaml" >"$W/$1.rendered.yaml" || return 1
	out=$(k apply --dry-run=server -f "$W/$1.rendered.yaml" 2>&1) || { echo "$out" >&2; return 1; }
	echo "    $1: $(grep -c 'created\|configured\|unchanged' <<<"$out") objects accepted by the API server (dry run)" >&2
}
for s in $SETS; do
	t_run "dry_run_server_${s%%:*}" dry_run "${s%%:*}" "${s#*:}"
done
crd_names() {
	python3 - "$1" <<'PY'
import sys, yaml
print(" ".join(sorted(d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[1]))
                      if d and d.get("kind") == "CustomResourceDefinition")))
PY
}
test_value_effects() { # the value sets changed what they should
	local f=$W/v2-certmanager.rendered.yaml
	grep -q 'kind: ServiceMonitor' "$f" || t_fail "v2: no ServiceMonitor" || return 1
	t_eq "$(crd_names "$f")" "volumesnapshotclasses.snapshot.storage.k8s.io volumesnapshotcontents.snapshot.storage.k8s.io volumesnapshots.snapshot.storage.k8s.io" "v2: CRDs" || return 1
	t_eq "$(crd_names "$W/v1-defaults.rendered.yaml" | wc -w)" 6 "v1: CRDs" || return 1
	grep -q 'cert-manager.io/inject-ca-from: kube-system/snapshot-webhook' "$f" || t_fail "v2: no CA injection" || return 1
	grep -q 'kind: ClusterIssuer' "$f" || t_fail "v2: issuerRef not used" || return 1
	grep -q -- '--logging-format=json' "$f" || t_fail "v2: args" || return 1
	f=$W/v3-secret-scheduling.rendered.yaml
	grep -q 'failurePolicy: Ignore' "$f" || t_fail "v3: failurePolicy" || return 1
	grep -q "caBundle: $(base64 -w0 <"$W/user-ca.crt")" "$f" || t_fail "v3: user caBundle" || return 1
	grep -q 'secretName: my-webhook-tls' "$f" || t_fail "v3: secret name" || return 1
	grep -q '^kind: Secret' "$f" && t_fail "v3: a Secret was rendered for mode secret" && return 1
	grep -q 'registry.example/snapshot-controller@sha256:' "$f" || t_fail "v3: image digest" || return 1
	grep -q 'name: regcred' "$f" || t_fail "v3: pull secret" || return 1
	f=$W/v4-controller-only.rendered.yaml
	grep -q 'snapshot-webhook' "$f" && t_fail "v4: webhook objects rendered" && return 1
	grep -q 'strategy: Webhook' "$f" && t_fail "v4: conversion without a webhook" && return 1
	grep -q -- '--leader-election=false' "$f" || t_fail "v4: leader election" || return 1
	grep -q 'namespace: snap-other' "$f" || t_fail "v4: namespace" || return 1
	# Bad values are refused with a message, not rendered.
	local out
	out=$(h template "$REL" "$CHART" --set webhook.tls.mode=bogus 2>&1) && t_fail "mode=bogus rendered" && return 1
	t_contains "$out" "webhook.tls.mode must be" || return 1
	out=$(h template "$REL" "$CHART" --set webhook.tls.mode=secret 2>&1) && t_fail "mode=secret without caBundle rendered" && return 1
	t_contains "$out" "caBundle is required"
}
t_run value_effects test_value_effects

obj_json() { # FILE KIND NAME: that object of the YAML file as JSON, null when absent
	python3 - "$@" <<'PY'
import json, sys, yaml
f, kind, name = sys.argv[1:]
o = [d for d in yaml.safe_load_all(open(f))
     if d and d.get("kind") == kind and d["metadata"]["name"] == name]
print(json.dumps(o[0] if o else None, sort_keys=True))
PY
}
test_warnings_values() { # the warnings configuration in each value set
	local f=$W/v1-defaults.rendered.yaml got want classes
	got=$(obj_json "$f" ValidatingWebhookConfiguration snapshot-webhook-warnings) || return 1
	[ "$got" != null ] || t_fail "v1: no snapshot-webhook-warnings" || return 1
	# With the defaults, the webhook is deploy/'s plus the chart's caBundle
	# (the same as the other configurations').
	want=$(obj_json deploy/webhook/warnings-webhook.yaml ValidatingWebhookConfiguration snapshot-webhook-warnings) || return 1
	t_eq "$(jq -c 'del(.webhooks[0].clientConfig.caBundle) | .webhooks' <<<"$got")" "$(jq -c .webhooks <<<"$want")" "v1: warnings webhook vs deploy/'s" || return 1
	classes=$(obj_json "$f" ValidatingWebhookConfiguration snapshot-webhook-classes) || return 1
	[ "$(jq -r '.webhooks[0].clientConfig.caBundle' <<<"$got")" != null ] || t_fail "v1: no caBundle" || return 1
	t_eq "$(jq -r '.webhooks[0].clientConfig.caBundle' <<<"$got")" "$(jq -r '.webhooks[0].clientConfig.caBundle' <<<"$classes")" "v1: warnings caBundle" || return 1
	# cert-manager: the CA is injected, none rendered.
	got=$(obj_json "$W/v2-certmanager.rendered.yaml" ValidatingWebhookConfiguration snapshot-webhook-warnings) || return 1
	t_eq "$(jq -r '.metadata.annotations["cert-manager.io/inject-ca-from"]' <<<"$got")/$(jq -r '.webhooks[0].clientConfig.caBundle' <<<"$got")" \
		"kube-system/snapshot-webhook/null" "v2: warnings CA injection" || return 1
	# A user CA, and the set's timeout and excluded namespaces.
	got=$(obj_json "$W/v3-secret-scheduling.rendered.yaml" ValidatingWebhookConfiguration snapshot-webhook-warnings) || return 1
	t_eq "$(jq -r '.webhooks[0].clientConfig.caBundle' <<<"$got")" "$(base64 -w0 <"$W/user-ca.crt")" "v3: warnings caBundle" || return 1
	t_eq "$(jq -c '[.webhooks[0].failurePolicy, .webhooks[0].timeoutSeconds, .webhooks[0].namespaceSelector.matchExpressions[0].values]' <<<"$got")" \
		'["Ignore",3,["kube-system","kube-node-lease"]]' "v3: warnings policy, timeout, exclusions" || return 1
	# Off: the other configurations stay.
	h template "$REL" "$CHART" -n kube-system --set webhook.warnings.enabled=false >"$W/nowarn.yaml" || return 1
	t_eq "$(obj_json "$W/nowarn.yaml" ValidatingWebhookConfiguration snapshot-webhook-warnings)" null "warnings.enabled=false" || return 1
	[ "$(obj_json "$W/nowarn.yaml" ValidatingWebhookConfiguration snapshot-webhook-classes)" != null ] ||
		t_fail "warnings.enabled=false dropped the class webhooks" || return 1
	# Another namespace: the Service and the controller's user follow it.
	h template "$REL" "$CHART" -n snap-other >"$W/other-ns.yaml" || return 1
	got=$(obj_json "$W/other-ns.yaml" ValidatingWebhookConfiguration snapshot-webhook-warnings) || return 1
	t_eq "$(jq -r '.webhooks[0].clientConfig.service.namespace' <<<"$got")" snap-other "service namespace" || return 1
	t_contains "$(jq -r '.webhooks[0].matchConditions[1].expression' <<<"$got")" "'system:serviceaccount:snap-other:snapshot-controller'" "controller's user"
}
t_run warnings_values test_warnings_values

test_prometheus_rule() { # off by default; on, deploy/monitoring's rules, which promtool accepts
	local got want n out
	t_eq "$(obj_json "$W/v1-defaults.rendered.yaml" PrometheusRule volume-snapshot-alerts)" null "v1: PrometheusRule" || return 1
	got=$(obj_json "$W/v2-certmanager.rendered.yaml" PrometheusRule volume-snapshot-alerts) || return 1
	[ "$got" != null ] || t_fail "v2: no PrometheusRule" || return 1
	want=$(obj_json deploy/monitoring/prometheusrule.yaml PrometheusRule volume-snapshot-alerts) || return 1
	t_eq "$(jq -c .spec <<<"$got")" "$(jq -c .spec <<<"$want")" "rendered rules vs deploy/monitoring's" || return 1
	t_eq "$(jq -r '.metadata.namespace + "/" + .metadata.labels.release' <<<"$got")" "kube-system/prometheus" "v2: namespace/label" || return 1
	command -v promtool >/dev/null || t_fail "promtool not found (scripts/deps.sh installs prometheus)" || return 1
	# The PrometheusRule's spec is a Prometheus rule file (JSON is YAML).
	jq .spec <<<"$got" >"$W/chart-rules.json" || return 1
	n=$(jq '[.spec.groups[].rules[]] | length' <<<"$want")
	[ "$n" -gt 0 ] || t_fail "no rules in deploy/monitoring" || return 1
	out=$(promtool check rules "$W/chart-rules.json" 2>&1) || { t_fail "$out"; return 1; }
	t_contains "$out" "SUCCESS: $n rules found"
}
t_run prometheus_rule test_prometheus_rule

# ---- install -------------------------------------------------------------------
# The warnings' 2 s timeout is raised: with failurePolicy Ignore, a call slowed
# by a loaded machine would drop the Warning line the test asserts.
INSTALL_SET=(--set webhook.conversion=false --set controller.replicas=1 --set webhook.replicas=1
	--set webhook.warnings.timeoutSeconds=10)
test_install() {
	h install "$REL" "$CHART" -n kube-system --take-ownership "${INSTALL_SET[@]}" >"$W/install.out" 2>&1 ||
		{ cat "$W/install.out" >&2; return 1; }
	t_eq "$(h status "$REL" -n kube-system -o json | jq -r .info.status)" deployed "release status" || return 1
	local crds
	crds=$(k get crd -o name | grep -c 'snapshot.storage.k8s.io')
	t_eq "$crds" 6 "snapshot CRDs" || return 1
	k wait --for=condition=Established --timeout=60s $(k get crd -o name | grep 'snapshot.storage.k8s.io') >/dev/null || return 1
	t_eq "$(k get crd volumesnapshots.snapshot.storage.k8s.io -o jsonpath='{.metadata.annotations.meta\.helm\.sh/release-name}')" "$REL" "CRD owner" || return 1
	k -n kube-system get sa snapshot-controller snapshot-webhook >/dev/null || return 1
	k -n kube-system get deploy snapshot-controller snapshot-webhook >/dev/null || return 1
	k -n kube-system get pdb snapshot-controller snapshot-webhook >/dev/null || return 1
	k get validatingwebhookconfiguration snapshot-webhook-classes snapshot-webhook-pvc snapshot-webhook-warnings >/dev/null || return 1
	t_eq "$(k get validatingwebhookconfiguration snapshot-webhook-warnings -o jsonpath='{.webhooks[0].failurePolicy}/{.webhooks[0].clientConfig.service.path}')" \
		"Ignore//warn-snapshot" "warnings configuration" || return 1
	# The live RBAC equals deploy/'s.
	{ k get clusterrole snapshot-controller-runner snapshot-webhook-runner -o yaml && echo --- &&
		k -n kube-system get role snapshot-controller-leaderelection -o yaml; } >"$W/live-rbac.yaml" || return 1
	t_eq "$(rules_json "$W/live-rbac.yaml")" \
		"$(rules_json deploy/controller/rbac.yaml deploy/controller/leader-election.yaml deploy/webhook/rbac.yaml)" "live RBAC rules" || return 1
	# Every webhook's caBundle is the CA in the chart's Secret.
	local ca
	ca=$(k -n kube-system get secret snapshot-webhook-tls -o jsonpath='{.data.ca\.crt}')
	[ -n "$ca" ] || t_fail "no ca.crt in the Secret" || return 1
	t_eq "$(k get validatingwebhookconfiguration snapshot-webhook-classes snapshot-webhook-pvc snapshot-webhook-warnings \
		-o jsonpath='{range .items[*].webhooks[*]}{.clientConfig.caBundle}{"\n"}{end}' | sort -u)" "$ca" "caBundles" || return 1
	t_eq "$(k get validatingwebhookconfiguration snapshot-webhook-classes snapshot-webhook-pvc snapshot-webhook-warnings \
		-o jsonpath='{range .items[*].webhooks[*]}{.clientConfig.caBundle}{"\n"}{end}' | grep -c .)" 4 "webhooks with a caBundle" || return 1
	k -n kube-system get secret snapshot-webhook-tls -o jsonpath='{.data.tls\.crt}' >"$W/tls-before" || return 1
	t_eq "$(k get deploy -n kube-system snapshot-controller -o jsonpath='{.spec.template.spec.securityContext.runAsUser}/{.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem}/{.spec.template.spec.priorityClassName}')" \
		"65532/true/system-cluster-critical" "controller pod security and priority"
}
t_run install test_install

# ---- the images with the chart's ServiceAccounts and Secret ----------------------
secret_dir() { # SECRET DIR: the Secret's keys as a kubelet Secret volume lays them out
	local d=$2 key
	mkdir -p "$d/..gen1"
	for key in ca.crt tls.crt tls.key; do
		k -n kube-system get secret "$1" -o "jsonpath={.data.${key//./\\.}}" | base64 -d >"$d/..gen1/$key" || return 1
		ln -s "..data/$key" "$d/$key"
	done
	chmod 0644 "$d/..gen1"/*
	ln -s ..gen1 "$d/..data"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
images=0
img_prepare
case $? in
0) images=1
	img_unpack snapshot-controller "$W/controller" && img_unpack snapshot-webhook "$W/webhook" || images=0 ;;
2) images=skip ;; # the SKIP line is printed; only when the Debian tools cannot be installed
esac
test_images_with_chart_accounts() {
	[ "$images" = 1 ] || t_fail "no images" || return 1
	mkdir -p "$W/c-sa" "$W/c-state" "$W/w-sa"
	chown 65532:65532 "$W/c-state"
	img_sa_dir kube-system snapshot-controller "$W/c-sa" || return 1
	img_sa_dir kube-system snapshot-webhook "$W/w-sa" || return 1
	secret_dir snapshot-webhook-tls "$W/w-tls" || return 1
	local cport wport
	cport=$(free_port) wport=$(free_port)
	# shellcheck disable=SC2046
	img_start CPID "$W/controller.log" "$W/controller" \
		-v "$W/c-sa:/var/run/secrets/kubernetes.io/serviceaccount:ro" \
		-v "$W/c-state:/var/lib/snapshot-controller" -t /tmp \
		$(img_api_env) -e POD_NAMESPACE=kube-system -e TMPDIR=/tmp -- \
		--leader-election=true --http-endpoint="127.0.0.1:$cport" --state-dir=/var/lib/snapshot-controller --v=2
	# shellcheck disable=SC2046
	img_start WPID "$W/webhook.log" "$W/webhook" \
		-v "$W/w-sa:/var/run/secrets/kubernetes.io/serviceaccount:ro" \
		-v "$W/w-tls:/etc/snapshot-webhook/tls:ro" $(img_api_env) -- \
		--tls-cert-file=/etc/snapshot-webhook/tls/tls.crt --tls-private-key-file=/etc/snapshot-webhook/tls/tls.key \
		--port="$wport" --bind-address=127.0.0.1
	echo "$CPID $WPID" >"$W/pids"
	echo "$wport" >"$W/wport"
	t_wait 60 curl -sf "http://127.0.0.1:$cport/readyz" >/dev/null || { tail -20 "$W/controller.log" >&2; return 1; }
	# The webhook's certificate verifies against the caBundle the chart gave the
	# API server, for the Service's DNS name.
	k get validatingwebhookconfiguration snapshot-webhook-classes -o jsonpath='{.webhooks[0].clientConfig.caBundle}' |
		base64 -d >"$W/cabundle.pem"
	t_wait 60 curl -sf --cacert "$W/cabundle.pem" --resolve "snapshot-webhook.kube-system.svc:$wport:127.0.0.1" \
		"https://snapshot-webhook.kube-system.svc:$wport/readyz" >/dev/null || { tail -20 "$W/webhook.log" >&2; return 1; }
	e2e_snapshot_ready helm-e2e "$W/controller.log" || return 1
	! grep -H ' 403\|forbidden' "$W/controller.log" "$W/webhook.log" >&2 || t_fail "RBAC denials in the logs"
}
[ "$images" = skip ] || t_run images_with_chart_accounts test_images_with_chart_accounts
# The chart's warnings configuration, served by the webhook from the image.
# The API server reaches a webhook's Service through its ClusterIP, which
# nothing routes on this cluster (no nodes, no service proxy); for an
# ExternalName Service it dials the external name instead, and still checks
# the certificate for snapshot-webhook.kube-system.svc against the
# configuration's caBundle.  So for this test the chart's Service becomes an
# ExternalName of localhost and the configuration names the webhook's loopback
# port; its caBundle, path, rules and matchConditions stay the chart's.  Both
# are put back before the upgrade.
vs_missing_class() {
	printf '%s\n' "apiVersion: snapshot.storage.k8s.io/v1" "kind: VolumeSnapshot" "metadata: {name: $1}" \
		"spec: {volumeSnapshotClassName: no-such-class, source: {persistentVolumeClaimName: src}}"
}
warned_dry_run() { # the API server has seen both changes once a dry run is warned
	vs_missing_class warned | k -n helm-e2e create --dry-run=server -f - 2>&1 | grep '^Warning: '
}
test_warning_through_chart_config() {
	[ -s "$W/wport" ] || t_fail "the webhook from the image did not start" || return 1
	local wport out
	wport=$(cat "$W/wport")
	k -n kube-system patch svc snapshot-webhook --type=merge \
		-p '{"spec":{"type":"ExternalName","externalName":"localhost","clusterIP":null,"clusterIPs":null,"ipFamilies":null,"ipFamilyPolicy":null}}' >/dev/null || return 1
	k patch validatingwebhookconfiguration snapshot-webhook-warnings --type=json \
		-p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/service/port\",\"value\":$wport}]" >/dev/null || return 1
	t_wait 60 warned_dry_run >/dev/null || { t_fail "no warning on a dry run"; tail -20 "$W/webhook.log" >&2; return 1; }
	out=$(vs_missing_class warned | k -n helm-e2e create -f - 2>&1) || { t_fail "$out"; return 1; }
	echo "$out" | sed 's/^/    /' >&2
	t_contains "$out" 'Warning: VolumeSnapshotClass "no-such-class" does not exist: this object stays unready until it does; create it or set spec.volumeSnapshotClassName to an existing class' || return 1
	t_contains "$out" "volumesnapshot.snapshot.storage.k8s.io/warned created" || return 1
	t_eq "$(grep -c '^Warning: ' <<<"$out")" 1 "warning lines" || return 1
	k -n helm-e2e delete volumesnapshot warned --wait=false >/dev/null
}
if [ "$images" = 1 ]; then
	t_run warning_through_chart_config test_warning_through_chart_config
	k -n kube-system patch svc snapshot-webhook --type=merge -p '{"spec":{"type":"ClusterIP","externalName":null}}' >/dev/null
	k patch validatingwebhookconfiguration snapshot-webhook-warnings --type=json \
		-p '[{"op":"replace","path":"/webhooks/0/clientConfig/service/port","value":443}]' >/dev/null
fi
# t_run's subshell started them: stop them through the pids it recorded.
if [ -s "$W/pids" ]; then read -r CPID WPID <"$W/pids"; fi
img_stop "$CPID"; img_stop "$WPID"; CPID= WPID=

# ---- upgrade and uninstall -------------------------------------------------------
test_upgrade() {
	h upgrade "$REL" "$CHART" -n kube-system --reuse-values \
		--set controller.pdb.enabled=false --set controller.args.v=4 >"$W/upgrade.out" 2>&1 ||
		{ cat "$W/upgrade.out" >&2; return 1; }
	t_eq "$(h status "$REL" -n kube-system -o json | jq -r '.version'),$(h status "$REL" -n kube-system -o json | jq -r .info.status)" \
		"2,deployed" "revision,status" || return 1
	k -n kube-system get pdb snapshot-controller >/dev/null 2>&1 && t_fail "the controller PDB survived the upgrade" && return 1
	k -n kube-system get pdb snapshot-webhook >/dev/null || return 1
	t_contains "$(k -n kube-system get deploy snapshot-controller -o jsonpath='{.spec.template.spec.containers[0].args}')" '"--v=4"' "controller args" || return 1
	# The self-signed certificate (and so every caBundle) is kept.
	t_eq "$(k -n kube-system get secret snapshot-webhook-tls -o jsonpath='{.data.tls\.crt}')" "$(cat "$W/tls-before")" "serving certificate after upgrade"
}
t_run upgrade test_upgrade

test_uninstall() {
	h uninstall "$REL" -n kube-system >"$W/uninstall.out" 2>&1 || { cat "$W/uninstall.out" >&2; return 1; }
	local left
	left=$( (k -n kube-system get deploy,svc,sa,secret,pdb,role,rolebinding,configmap -l "app.kubernetes.io/instance=$REL" -o name
		k get clusterrole,clusterrolebinding,validatingwebhookconfiguration -l "app.kubernetes.io/instance=$REL" -o name
		k -n kube-system get secret -l "owner=helm,name=$REL" -o name) 2>&1)
	t_eq "$left" "" "objects left by uninstall" || return 1
	t_eq "$(k get crd -o name | grep -c 'snapshot.storage.k8s.io')" 6 "CRDs kept" || return 1
	t_eq "$(k get crd volumesnapshots.snapshot.storage.k8s.io -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}')" keep "CRD policy"
}
t_run uninstall test_uninstall
t_done
