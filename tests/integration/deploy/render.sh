#!/usr/bin/env bash
# tests/integration/deploy/render.sh -- deploy/ and crds/ against a REAL
# kube-apiserver.
#
#   - `kubectl kustomize` renders every kustomization (crds/, deploy/ and its
#     parts and overlays) with the objects we expect;
#   - `kubectl apply --dry-run=server` of everything rendered succeeds
#     (cert-manager.io objects only when cert-manager's CRDs are installed;
#     otherwise they are checked for their fields client-side);
#   - the Deployments, webhook configurations and conversion stanza carry the
#     settings the issue asks for, and the ClusterRoles hold exactly the
#     reviewed rules;
#   - the PVC webhook's matchConditions and namespaceSelector really narrow
#     what the API server sends (a uniquely named copy pointing at a dead URL:
#     only cross-namespace PVCs outside kube-system hit it), and the class
#     webhooks match both class kinds at every served version;
#   - scripts/gen-certs.sh makes a Secret whose certificate verifies for the
#     Service, writes the CA into every caBundle, and keeps it on a rerun.
#
# Needs KUBECONFIG and TOOLS_BIN.  Works in its own namespaces; cluster-scoped
# objects get unique names and are deleted on exit.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib/it.sh"
it_setup deploy.render
NS=render-$RUN
NS2=render-src-$RUN
OUT=$(mktemp -d)
t_start=$SECONDS

cleanup() {
	"$K" delete validatingwebhookconfiguration -l "sc-test=$RUN" --ignore-not-found >/dev/null 2>&1
	"$K" delete volumesnapshotclasses,volumegroupsnapshotclasses -l "sc-test=$RUN" --ignore-not-found --wait=false >/dev/null 2>&1
	"$K" delete crd -l "sc-test=$RUN" --ignore-not-found --wait=false >/dev/null 2>&1
	"$K" label namespace kube-system "sc-render-$RUN-" >/dev/null 2>&1
	"$K" delete namespace "$NS" "$NS2" --ignore-not-found --wait=false >/dev/null 2>&1
	rm -rf "$OUT"
}
trap cleanup EXIT
"$K" apply -k "$top/crds" >/dev/null || { echo "cannot apply crds/" >&2; exit 1; }
"$K" wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=volume-snapshot >/dev/null || exit 1
"$K" create namespace "$NS" >/dev/null && "$K" create namespace "$NS2" >/dev/null || exit 1

KUSTS="crds deploy deploy/controller deploy/webhook deploy/crd-conversion deploy/overlays/cert-manager deploy/overlays/without-webhook"
render() { "$K" kustomize "$top/$1"; }
# kinds FILE -> sorted "Kind/name" lines
kinds() { yq -r 'select(. != null) | "\(.kind)/\(.metadata.name)"' "$1" | sort; }
# obj KUST KIND NAME -> JSON of one rendered object
obj() {
	yq -c --arg k "$2" --arg n "$3" 'select(. != null and .kind == $k and .metadata.name == $n)' "$OUT/$(echo "$1" | tr / _).yaml"
}
has_cert_manager() { "$K" get crd certificates.cert-manager.io issuers.cert-manager.io >/dev/null 2>&1; }

test_render_all() {
	local d f
	for d in $KUSTS; do
		f=$OUT/$(echo "$d" | tr / _).yaml
		render "$d" >"$f" || { t_fail "kubectl kustomize $d failed"; return 1; }
		[ -s "$f" ] || { t_fail "kubectl kustomize $d rendered nothing"; return 1; }
	done
	local crds="CustomResourceDefinition/volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io
CustomResourceDefinition/volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io
CustomResourceDefinition/volumegroupsnapshots.groupsnapshot.storage.k8s.io
CustomResourceDefinition/volumesnapshotclasses.snapshot.storage.k8s.io
CustomResourceDefinition/volumesnapshotcontents.snapshot.storage.k8s.io
CustomResourceDefinition/volumesnapshots.snapshot.storage.k8s.io"
	local ctrl="ClusterRole/snapshot-controller-runner
ClusterRoleBinding/snapshot-controller-role
Deployment/snapshot-controller
Role/snapshot-controller-leaderelection
RoleBinding/snapshot-controller-leaderelection
ServiceAccount/snapshot-controller"
	local wh="ClusterRole/snapshot-webhook-runner
ClusterRoleBinding/snapshot-webhook-role
Deployment/snapshot-webhook
PodDisruptionBudget/snapshot-webhook
Service/snapshot-webhook
ServiceAccount/snapshot-webhook
ValidatingWebhookConfiguration/snapshot-webhook-classes
ValidatingWebhookConfiguration/snapshot-webhook-pvc
ValidatingWebhookConfiguration/snapshot-webhook-warnings"
	local certs="Certificate/snapshot-webhook
Certificate/snapshot-webhook-ca
Issuer/snapshot-webhook-ca
Issuer/snapshot-webhook-selfsigned"
	t_eq "$(kinds "$OUT/crds.yaml")" "$crds" crds || return 1
	t_eq "$(kinds "$OUT/deploy_crd-conversion.yaml")" "$crds" crd-conversion || return 1
	t_eq "$(kinds "$OUT/deploy_controller.yaml")" "$ctrl" controller || return 1
	t_eq "$(kinds "$OUT/deploy_webhook.yaml")" "$wh" webhook || return 1
	t_eq "$(kinds "$OUT/deploy.yaml")" "$(printf '%s\n%s\n%s\n' "$crds" "$ctrl" "$wh" | sort)" deploy || return 1
	t_eq "$(kinds "$OUT/deploy_overlays_without-webhook.yaml")" "$(printf '%s\n%s\n' "$crds" "$ctrl" | sort)" without-webhook || return 1
	# cert-manager kinds are unknown to a cluster without cert-manager, so list them with yq.
	t_eq "$(yq -r 'select(. != null) | "\(.kind)/\(.metadata.name)"' "$OUT/deploy_overlays_cert-manager.yaml" | sort)" \
		"$(printf '%s\n%s\n%s\n%s\n' "$crds" "$ctrl" "$wh" "$certs" | sort)" cert-manager
	# Both ways of installing crds/ are accepted by kubectl.
	ok_out=$("$K" apply -k "$top/crds" 2>&1) || { t_fail "kubectl apply -k crds: $ok_out"; return 1; }
	ok_out=$(render crds | "$K" apply -f - 2>&1) || { t_fail "kustomize crds | apply -f -: $ok_out"; return 1; }
}

test_dry_run_server() {
	local d f out
	for d in $KUSTS; do
		f=$OUT/$(echo "$d" | tr / _).yaml
		[ -s "$f" ] || f=<(render "$d")
		if ! has_cert_manager && [ "$d" = deploy/overlays/cert-manager ]; then
			# Everything but the cert-manager.io objects goes to the server.
			out=$(yq -y 'select(. != null and (.apiVersion | startswith("cert-manager.io/") | not))' "$f" |
				"$K" apply --dry-run=server -f - 2>&1) || { t_fail "dry-run $d: $out"; return 1; }
			continue
		fi
		out=$("$K" apply --dry-run=server -f "$f" 2>&1) || { t_fail "dry-run $d: $out"; return 1; }
		t_contains "$out" "(server dry run)" "dry-run $d" || return 1
	done
}

test_cert_manager_objects() {
	local f=$OUT/deploy_overlays_cert-manager.yaml
	[ -s "$f" ] || render deploy/overlays/cert-manager >"$f"
	# The serving certificate names the Service and writes the Secret the webhook mounts.
	t_eq "$(yq -r 'select(.kind=="Certificate" and .metadata.name=="snapshot-webhook") | "\(.spec.secretName) \(.spec.issuerRef.name) \(.spec.dnsNames | join(","))"' "$f")" \
		"snapshot-webhook-tls snapshot-webhook-ca snapshot-webhook,snapshot-webhook.kube-system,snapshot-webhook.kube-system.svc,snapshot-webhook.kube-system.svc.cluster.local" || return 1
	t_eq "$(yq -r 'select(.kind=="Certificate" and .metadata.name=="snapshot-webhook-ca") | "\(.spec.isCA) \(.spec.secretName) \(.spec.issuerRef.name)"' "$f")" \
		"true snapshot-webhook-ca snapshot-webhook-selfsigned" || return 1
	t_eq "$(yq -r 'select(.kind=="Issuer") | "\(.metadata.name)=\(.spec | keys | join(","))"' "$f" | sort | tr '\n' ' ')" \
		"snapshot-webhook-ca=ca snapshot-webhook-selfsigned=selfSigned " || return 1
	# CA injection into both webhook configurations and the three group CRDs.
	t_eq "$(yq -r 'select(.metadata.annotations["cert-manager.io/inject-ca-from"] == "kube-system/snapshot-webhook") | .metadata.name' "$f" | sort | tr '\n' ' ')" \
		"snapshot-webhook-classes snapshot-webhook-pvc snapshot-webhook-warnings volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io volumegroupsnapshots.groupsnapshot.storage.k8s.io "
}

test_controller_deployment() {
	local d
	d=$(obj deploy Deployment snapshot-controller)
	[ -n "$d" ] || { t_fail "no snapshot-controller Deployment"; return 1; }
	t_eq "$(jq -r '.metadata.namespace' <<<"$d")" kube-system || return 1
	t_eq "$(jq -r '.spec.replicas' <<<"$d")" 2 replicas || return 1
	t_eq "$(jq -c '.spec.selector' <<<"$d")" '{"matchLabels":{"app.kubernetes.io/name":"snapshot-controller"}}' "selector (upstream's)" || return 1
	local p='.spec.template.spec'
	t_eq "$(jq -r "$p.serviceAccountName, $p.priorityClassName" <<<"$d" | tr '\n' ' ')" "snapshot-controller system-cluster-critical " || return 1
	t_eq "$(jq -r "$p.securityContext | \"\(.runAsNonRoot) \(.seccompProfile.type)\"" <<<"$d")" "true RuntimeDefault" pod-security || return 1
	local c="$p.containers[0]"
	t_eq "$(jq -r "$c.args | join(\" \")" <<<"$d")" "--leader-election=true --http-endpoint=:8080 --state-dir=/var/lib/snapshot-controller --v=2" args || return 1
	t_eq "$(jq -r "$c.ports[0] | \"\(.name) \(.containerPort)\"" <<<"$d")" "http-metrics 8080" port || return 1
	t_eq "$(jq -r "$c | \"\(.livenessProbe.httpGet.path) \(.livenessProbe.httpGet.port) \(.readinessProbe.httpGet.path) \(.readinessProbe.httpGet.port)\"" <<<"$d")" \
		"/healthz http-metrics /readyz http-metrics" probes || return 1
	t_eq "$(jq -r "$c.resources | \"\(.requests.cpu != null) \(.requests.memory != null) \(.limits.cpu)\"" <<<"$d")" "true true null" "requests, no CPU limit" || return 1
	t_eq "$(jq -r "$c.securityContext | \"\(.runAsNonRoot) \(.readOnlyRootFilesystem) \(.allowPrivilegeEscalation) \(.capabilities.drop | join(\",\"))\"" <<<"$d")" \
		"true true false ALL" container-security || return 1
	t_eq "$(jq -r "$c.env[] | select(.name==\"POD_NAMESPACE\") | .valueFrom.fieldRef.fieldPath" <<<"$d")" metadata.namespace POD_NAMESPACE || return 1
	# The state database directory is an emptyDir.
	local vol
	vol=$(jq -r "$c.volumeMounts[] | select(.mountPath==\"/var/lib/snapshot-controller\") | .name" <<<"$d")
	t_eq "$(jq -r "$p.volumes[] | select(.name==\"$vol\") | has(\"emptyDir\")" <<<"$d")" true "state emptyDir"
}

test_webhook_deployment() {
	local d p='.spec.template.spec' c='.spec.template.spec.containers[0]'
	d=$(obj deploy Deployment snapshot-webhook)
	[ -n "$d" ] || { t_fail "no snapshot-webhook Deployment"; return 1; }
	t_eq "$(jq -r '.spec.replicas' <<<"$d")" 3 replicas || return 1
	t_eq "$(jq -r "$p.topologySpreadConstraints[0].topologyKey" <<<"$d")" kubernetes.io/hostname spread || return 1
	t_eq "$(jq -r "$c.args | join(\" \")" <<<"$d")" \
		"--tls-cert-file=/etc/snapshot-webhook/tls/tls.crt --tls-private-key-file=/etc/snapshot-webhook/tls/tls.key --port=8443" args || return 1
	t_eq "$(jq -r "$c.resources.limits.cpu" <<<"$d")" null "no CPU limit" || return 1
	t_eq "$(jq -r "$c.securityContext | \"\(.runAsNonRoot) \(.readOnlyRootFilesystem) \(.allowPrivilegeEscalation) \(.capabilities.drop | join(\",\"))\"" <<<"$d")" \
		"true true false ALL" container-security || return 1
	t_eq "$(jq -r "$p | \"\(.securityContext.seccompProfile.type) \(.priorityClassName) \(.volumes[0].secret.secretName)\"" <<<"$d")" \
		"RuntimeDefault system-cluster-critical snapshot-webhook-tls" || return 1
	t_eq "$(jq -r "$c.readinessProbe.httpGet | \"\(.scheme) \(.path)\"" <<<"$d")" "HTTPS /readyz" readiness || return 1
	t_eq "$(obj deploy Service snapshot-webhook | jq -r '.spec.ports[0] | "\(.port) \(.targetPort)"')" "443 https" service || return 1
	t_eq "$(obj deploy PodDisruptionBudget snapshot-webhook | jq -r '.spec.maxUnavailable')" 1 pdb
}

test_webhook_configurations() {
	local v
	v=$(obj deploy ValidatingWebhookConfiguration snapshot-webhook-classes)
	t_eq "$(jq -r '.webhooks[] | "\(.rules[0].apiGroups[0]) \(.rules[0].resources[0]) \(.rules[0].operations | join(",")) \(.failurePolicy) \(.sideEffects) \(.timeoutSeconds) \(.clientConfig.service.namespace)/\(.clientConfig.service.name)\(.clientConfig.service.path)"' <<<"$v" | tr '\n' '|')" \
		"snapshot.storage.k8s.io volumesnapshotclasses CREATE,UPDATE Fail None 5 kube-system/snapshot-webhook/validate-class|groupsnapshot.storage.k8s.io volumegroupsnapshotclasses CREATE,UPDATE Fail None 5 kube-system/snapshot-webhook/validate-class|" classes || return 1
	v=$(obj deploy ValidatingWebhookConfiguration snapshot-webhook-pvc)
	t_eq "$(jq -r '.webhooks[] | "\(.rules[0].resources[0]) \(.rules[0].operations | join(",")) \(.sideEffects) \(.timeoutSeconds) \(.clientConfig.service.path) \(.namespaceSelector.matchExpressions[0].operator) \(.namespaceSelector.matchExpressions[0].values | join(",")) \(.matchConditions | length)"' <<<"$v")" \
		"persistentvolumeclaims CREATE None 5 /validate-pvc NotIn kube-system 1" pvc || return 1
	# Conversion: the three group CRDs go to the webhook in deploy/, none in crds/.
	local c
	for c in volumegroupsnapshots volumegroupsnapshotcontents volumegroupsnapshotclasses; do
		t_eq "$(obj deploy CustomResourceDefinition "$c.groupsnapshot.storage.k8s.io" | jq -r '.spec.conversion | "\(.strategy) \(.webhook.clientConfig.service.namespace)/\(.webhook.clientConfig.service.name)\(.webhook.clientConfig.service.path) \(.webhook.conversionReviewVersions | join(","))"')" \
			"Webhook kube-system/snapshot-webhook/convert v1" "$c conversion" || return 1
		t_eq "$(obj crds CustomResourceDefinition "$c.groupsnapshot.storage.k8s.io" | jq -r '.spec.conversion')" null "$c in crds/" || return 1
	done
	t_eq "$(obj deploy CustomResourceDefinition volumesnapshots.snapshot.storage.k8s.io | jq -r '.spec.conversion')" null "snapshot CRDs keep None"
}

rules() { # kust ClusterRole name -> "group resource verbs" lines, sorted
	obj "$1" ClusterRole "$2" | jq -r '.rules[] | . as $r | $r.apiGroups[] as $g | $r.resources[] as $res | "\($g)|\($res)|\($r.verbs | sort | join(","))"' | sort
}
test_rbac_reviewed() {
	t_eq "$(rules deploy snapshot-controller-runner)" "$(sort <<'E'
|persistentvolumes|get,list,watch
|persistentvolumeclaims|get,list,patch,watch
|events|create,patch
snapshot.storage.k8s.io|volumesnapshotclasses|get,list,watch
snapshot.storage.k8s.io|volumesnapshots|create,delete,get,list,patch,watch
snapshot.storage.k8s.io|volumesnapshots/status|patch
snapshot.storage.k8s.io|volumesnapshotcontents|create,delete,get,list,patch,watch
snapshot.storage.k8s.io|volumesnapshotcontents/status|patch
groupsnapshot.storage.k8s.io|volumegroupsnapshotclasses|get,list,watch
groupsnapshot.storage.k8s.io|volumegroupsnapshots|get,list,patch,watch
groupsnapshot.storage.k8s.io|volumegroupsnapshots/status|patch
groupsnapshot.storage.k8s.io|volumegroupsnapshotcontents|create,delete,get,list,patch,watch
groupsnapshot.storage.k8s.io|volumegroupsnapshotcontents/status|patch
E
)" controller-rules || return 1
	t_eq "$(obj deploy Role snapshot-controller-leaderelection | jq -r '.rules[] | "\(.apiGroups[0]) \(.resources[0]) \(.verbs | join(","))"')" \
		"coordination.k8s.io leases get,create,update" lease-role || return 1
	t_eq "$(rules deploy snapshot-webhook-runner)" "$(sort <<'E'
snapshot.storage.k8s.io|volumesnapshotclasses|get,list,watch
groupsnapshot.storage.k8s.io|volumegroupsnapshotclasses|get,list,watch
gateway.networking.k8s.io|referencegrants|get,list,watch
|persistentvolumeclaims|get,list,watch
|persistentvolumes|get,list,watch
storage.k8s.io|storageclasses|get,list,watch
snapshot.storage.k8s.io|volumesnapshotcontents|get,list,watch
E
)" webhook-rules || return 1
	t_eq "$(obj deploy ClusterRoleBinding snapshot-controller-role | jq -r '.subjects[0] | "\(.kind) \(.namespace)/\(.name)"')" "ServiceAccount kube-system/snapshot-controller"
}

# A copy of a rendered webhook configuration with a unique name, pointing at a
# URL where nothing listens, so "called" shows up as a failed call.
dead_copy() { # source-name new-name extra-jq
	obj deploy ValidatingWebhookConfiguration "$1" | jq --arg n "$2" --arg run "$RUN" "
		.metadata = {name: \$n, labels: {\"sc-test\": \$run}} |
		.webhooks |= map(.name = \"\(\$run).\" + .name | .clientConfig = {url: \"https://127.0.0.1:1/dead\"} | $3)"
}
# refused JSON: a server-side dry-run create of JSON fails (webhook in effect).
refused() { ! "$K" create --dry-run=server -f - <<<"$1" >/dev/null 2>&1; }
pvc() { # ns name [dataSourceRef-json]
	local ref=${3:+,\"dataSourceRef\":$3}
	printf '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"%s","namespace":"%s"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}%s}}' "$2" "$1" "$ref"
}
test_pvc_webhook_scope() {
	# Only namespaces carrying our label are in scope for the copy, so other
	# tests' PVCs never meet the dead URL.
	dead_copy snapshot-webhook-pvc "render-pvc-$RUN" \
		".namespaceSelector.matchExpressions += [{key: \"sc-render-$RUN\", operator: \"Exists\"}]" |
		"$K" apply -f - >/dev/null || { t_fail "cannot create the webhook copy"; return 1; }
	"$K" label namespace "$NS" "sc-render-$RUN=1" >/dev/null || return 1
	local ref out
	ref="{\"apiGroup\":\"snapshot.storage.k8s.io\",\"kind\":\"VolumeSnapshot\",\"name\":\"snap\",\"namespace\":\"$NS2\"}"
	# Webhook configurations take effect asynchronously: wait until the cross-namespace PVC is refused.
	t_wait 20 refused "$(pvc "$NS" probe "$ref")" >/dev/null || return 1
	out=$("$K" create -f - <<<"$(pvc "$NS" cross "$ref")" 2>&1) && { t_fail "cross-namespace PVC did not reach the webhook"; return 1; }
	t_contains "$out" "failed calling webhook" || return 1
	# Not sent: no dataSourceRef, a same-namespace dataSourceRef, a dataSourceRef without namespace.
	out=$("$K" create -f - <<<"$(pvc "$NS" plain)" 2>&1) || { t_fail "plain PVC: $out"; return 1; }
	out=$("$K" create -f - <<<"$(pvc "$NS" same "{\"apiGroup\":\"snapshot.storage.k8s.io\",\"kind\":\"VolumeSnapshot\",\"name\":\"snap\",\"namespace\":\"$NS\"}")" 2>&1) ||
		{ t_fail "same-namespace PVC: $out"; return 1; }
	out=$("$K" create -f - <<<"$(pvc "$NS" local '{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":"snap"}')" 2>&1) ||
		{ t_fail "local dataSourceRef PVC: $out"; return 1; }
	# kube-system is excluded even when it carries our label (dry-run: nothing is created there).
	"$K" label namespace kube-system "sc-render-$RUN=1" >/dev/null || return 1
	out=$("$K" create --dry-run=server -f - <<<"$(pvc kube-system cross "$ref")" 2>&1)
	local rc=$?
	"$K" label namespace kube-system "sc-render-$RUN-" >/dev/null
	[ $rc -eq 0 ] || { t_fail "kube-system PVC reached the webhook: $out"; return 1; }
	# Only CREATE is intercepted: a PVC update (spec is immutable; a label) is not sent.
	"$K" label -n "$NS" pvc plain x=y >/dev/null || { t_fail "PVC update was intercepted"; return 1; }
}

test_class_webhook_scope() {
	# objectSelector keeps the copy to objects labelled for this run.
	dead_copy snapshot-webhook-classes "render-classes-$RUN" \
		".objectSelector = {matchLabels: {\"sc-render\": \"$RUN\"}}" |
		"$K" apply -f - >/dev/null || { t_fail "cannot create the webhook copy"; return 1; }
	local out v
	cls() { # apiVersion kind name labelled?
		local l=""
		[ "$4" = 1 ] && l=",\"sc-render\":\"$RUN\""
		printf '{"apiVersion":"%s","kind":"%s","metadata":{"name":"%s","labels":{"sc-test":"%s"%s}},"driver":"d.example.com","deletionPolicy":"Delete"}' "$1" "$2" "$3" "$RUN" "$l"
	}
	t_wait 20 refused "$(cls snapshot.storage.k8s.io/v1 VolumeSnapshotClass "probe-$RUN" 1)" >/dev/null || return 1
	out=$("$K" create -f - <<<"$(cls snapshot.storage.k8s.io/v1 VolumeSnapshotClass "render-a-$RUN" 1)" 2>&1) && { t_fail "VolumeSnapshotClass CREATE not sent"; return 1; }
	t_contains "$out" "failed calling webhook" || return 1
	for v in v1 v1beta1 v1beta2; do
		out=$("$K" create -f - <<<"$(cls "groupsnapshot.storage.k8s.io/$v" VolumeGroupSnapshotClass "render-g-$v-$RUN" 1)" 2>&1) &&
			{ t_fail "VolumeGroupSnapshotClass CREATE at $v not sent"; return 1; }
		t_contains "$out" "failed calling webhook" "group class at $v" || return 1
	done
	# UPDATE is sent too: create unlabelled (not selected), then label it.
	out=$("$K" create -f - <<<"$(cls snapshot.storage.k8s.io/v1 VolumeSnapshotClass "render-b-$RUN" 0)" 2>&1) || { t_fail "$out"; return 1; }
	out=$("$K" label volumesnapshotclass "render-b-$RUN" "sc-render=$RUN" 2>&1) && { t_fail "VolumeSnapshotClass UPDATE not sent"; return 1; }
	t_contains "$out" "failed calling webhook"
}

test_gen_certs() {
	# Unique stand-ins for the objects the script patches: a webhook
	# configuration (never matching anything) and a CRD converting by webhook.
	local vwc="render-certs-$RUN" crd="widgets$RUN.render.example.com" out
	dead_copy snapshot-webhook-classes "$vwc" ".objectSelector = {matchLabels: {\"never\": \"$RUN\"}}" |
		"$K" apply -f - >/dev/null || return 1
	"$K" apply -f - >/dev/null <<E || return 1
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: $crd
  labels: {sc-test: "$RUN"}
spec:
  group: render.example.com
  names: {kind: Widget$RUN, plural: widgets$RUN}
  scope: Namespaced
  conversion:
    strategy: Webhook
    webhook:
      conversionReviewVersions: [v1]
      clientConfig:
        service: {namespace: $NS, name: snapshot-webhook, path: /convert}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
E
	local gc=("$top/deploy/scripts/gen-certs.sh" --kubectl "$K" --namespace "$NS" --webhook-configs "$vwc missing-$RUN" --crds "$crd volumesnapshots.snapshot.storage.k8s.io")
	out=$("${gc[@]}" 2>&1) || { t_fail "gen-certs.sh: $out"; return 1; }
	t_contains "$out" "not found: skipped" || return 1
	t_contains "$out" "strategy None: no caBundle needed" || return 1
	local d=$OUT/certs
	mkdir -p "$d"
	for f in ca.crt tls.crt tls.key; do
		"$K" -n "$NS" get secret snapshot-webhook-tls -o "jsonpath={.data.${f//./\\.}}" | base64 -d >"$d/$f" || return 1
	done
	t_eq "$("$K" -n "$NS" get secret snapshot-webhook-tls -o jsonpath='{.type}')" kubernetes.io/tls || return 1
	out=$(openssl verify -CAfile "$d/ca.crt" -verify_hostname "snapshot-webhook.$NS.svc" -purpose sslserver "$d/tls.crt" 2>&1) ||
		{ t_fail "certificate does not verify: $out"; return 1; }
	# The key belongs to the certificate.
	t_eq "$(openssl pkey -in "$d/tls.key" -pubout | sha256sum)" "$(openssl x509 -in "$d/tls.crt" -pubkey -noout | sha256sum)" key-pair || return 1
	local ca
	ca=$(base64 <"$d/ca.crt" | tr -d '\n')
	t_eq "$("$K" get validatingwebhookconfiguration "$vwc" -o jsonpath='{.webhooks[0].clientConfig.caBundle} {.webhooks[1].clientConfig.caBundle}')" "$ca $ca" vwc-caBundle || return 1
	t_eq "$("$K" get crd "$crd" -o jsonpath='{.spec.conversion.webhook.clientConfig.caBundle}')" "$ca" crd-caBundle || return 1
	# A rerun keeps the CA (stable caBundle); --force replaces it.
	out=$("${gc[@]}" 2>&1) || { t_fail "gen-certs.sh rerun: $out"; return 1; }
	t_contains "$out" "keeping the certificate" || return 1
	t_eq "$("$K" get crd "$crd" -o jsonpath='{.spec.conversion.webhook.clientConfig.caBundle}')" "$ca" "caBundle after rerun" || return 1
	out=$("${gc[@]}" --force 2>&1) || { t_fail "gen-certs.sh --force: $out"; return 1; }
	local ca2
	ca2=$("$K" get crd "$crd" -o jsonpath='{.spec.conversion.webhook.clientConfig.caBundle}')
	[ -n "$ca2" ] && [ "$ca2" != "$ca" ] || { t_fail "--force did not replace the CA"; return 1; }
	t_eq "$("$K" -n "$NS" get secret snapshot-webhook-tls -o 'jsonpath={.data.ca\.crt}')" "$ca2" "secret CA matches caBundle"
}

t_run render_all test_render_all
t_run dry_run_server test_dry_run_server
t_run cert_manager_objects test_cert_manager_objects
t_run controller_deployment test_controller_deployment
t_run webhook_deployment test_webhook_deployment
t_run webhook_configurations test_webhook_configurations
t_run rbac_reviewed test_rbac_reviewed
t_run pvc_webhook_scope test_pvc_webhook_scope
t_run class_webhook_scope test_class_webhook_scope
t_run gen_certs test_gen_certs
echo "deploy.render: $((SECONDS - t_start))s"
t_done
