#!/usr/bin/env bash
# deploy/scripts/gen-certs.sh -- serving certificate for snapshot-webhook
# without cert-manager.
#
# Makes a CA and a serving certificate for the webhook Service with openssl,
# stores them in the Secret the webhook mounts (tls.crt, tls.key, ca.crt), and
# writes the CA into the caBundle of every webhook in the webhook
# configurations and of the group CRDs' conversion webhook.
#
# Idempotent: when the Secret already holds a CA and a serving certificate
# that is valid for more than --renew-days and names the Service, they are
# kept (so the caBundle does not change on every run) and only the caBundles
# are (re)written.  --force makes new ones.
#
# Usage: gen-certs.sh [options]
#   --namespace NS        namespace of the Service and Secret (kube-system)
#   --service NAME        webhook Service name (snapshot-webhook)
#   --secret NAME         Secret name (snapshot-webhook-tls)
#   --days N              validity of the serving certificate (365); the CA gets 10 years
#   --renew-days N        renew when fewer days remain (30)
#   --webhook-configs "A B"  ValidatingWebhookConfigurations to patch
#                         (snapshot-webhook-classes snapshot-webhook-pvc
#                         snapshot-webhook-warnings)
#   --crds "A B"          CRDs whose conversion webhook to patch (the three group CRDs)
#   --force               always make a new CA and certificate
#   --kubectl PATH        kubectl to use ($KUBECTL, else kubectl on PATH)
# Objects that do not exist are skipped with a note (e.g. without the webhook
# overlay), so the script can run before or after `kubectl apply -k deploy`.
set -euo pipefail

ns=kube-system
svc=snapshot-webhook
secret=snapshot-webhook-tls
days=365
renew_days=30
vwcs="snapshot-webhook-classes snapshot-webhook-pvc snapshot-webhook-warnings"
crds="volumegroupsnapshots.groupsnapshot.storage.k8s.io volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io"
force=0
K=${KUBECTL:-kubectl}

die() { echo "gen-certs: $*" >&2; exit 1; }
note() { echo "gen-certs: $*" >&2; }
while [ $# -gt 0 ]; do
	case $1 in
	--namespace) ns=$2; shift 2 ;;
	--service) svc=$2; shift 2 ;;
	--secret) secret=$2; shift 2 ;;
	--days) days=$2; shift 2 ;;
	--renew-days) renew_days=$2; shift 2 ;;
	--webhook-configs) vwcs=$2; shift 2 ;;
	--crds) crds=$2; shift 2 ;;
	--force) force=1; shift ;;
	--kubectl) K=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//;/^set -e/d'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done
command -v openssl >/dev/null || die "openssl is not installed"
command -v "$K" >/dev/null || die "kubectl not found (set --kubectl or KUBECTL)"
case $days$renew_days in *[!0-9]*) die "--days and --renew-days take whole numbers" ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
umask 077
dns="$svc.$ns.svc"

# ---- reuse what the Secret holds, if it is still good ---------------------------
reuse=0
if [ "$force" = 0 ] && "$K" -n "$ns" get secret "$secret" -o json >"$tmp/secret.json" 2>/dev/null; then
	get() { "$K" -n "$ns" get secret "$secret" -o "jsonpath={.data.${1//./\\.}}" | base64 -d >"$tmp/$1" 2>/dev/null; }
	if get ca.crt && get tls.crt && get tls.key && [ -s "$tmp/ca.crt" ] && [ -s "$tmp/tls.crt" ] && [ -s "$tmp/tls.key" ] &&
		openssl x509 -in "$tmp/tls.crt" -noout -checkend $((renew_days * 86400)) >/dev/null 2>&1 &&
		openssl verify -CAfile "$tmp/ca.crt" -verify_hostname "$dns" "$tmp/tls.crt" >/dev/null 2>&1; then
		reuse=1
		note "keeping the certificate in secret $ns/$secret (valid for more than $renew_days days)"
	fi
fi

# ---- make a CA and a serving certificate ----------------------------------------
if [ "$reuse" = 0 ]; then
	openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-keyout "$tmp/ca.key" -out "$tmp/ca.crt" -days 3650 -subj "/CN=$svc-ca" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		>/dev/null 2>&1 || die "openssl could not make the CA"
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-keyout "$tmp/tls.key" -out "$tmp/tls.csr" -subj "/CN=$dns" >/dev/null 2>&1 ||
		die "openssl could not make the key"
	cat >"$tmp/ext.cnf" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$svc,DNS:$svc.$ns,DNS:$dns,DNS:$dns.cluster.local
EOF
	openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
		-out "$tmp/tls.crt" -days "$days" -extfile "$tmp/ext.cnf" >/dev/null 2>&1 ||
		die "openssl could not sign the serving certificate"
	openssl verify -CAfile "$tmp/ca.crt" -verify_hostname "$dns" "$tmp/tls.crt" >/dev/null ||
		die "the new certificate does not verify for $dns"
	"$K" -n "$ns" create secret generic "$secret" --type=kubernetes.io/tls \
		--from-file=tls.crt="$tmp/tls.crt" --from-file=tls.key="$tmp/tls.key" --from-file=ca.crt="$tmp/ca.crt" \
		--dry-run=client -o yaml | "$K" apply -f - >/dev/null || die "cannot write secret $ns/$secret"
	note "wrote a new CA and serving certificate for $dns to secret $ns/$secret"
fi

# ---- caBundles ------------------------------------------------------------------
ca_b64=$(base64 <"$tmp/ca.crt" | tr -d '\n')
for v in $vwcs; do
	if ! n=$("$K" get validatingwebhookconfiguration "$v" -o jsonpath='{range .webhooks[*]}x{end}' 2>/dev/null); then
		note "validatingwebhookconfiguration $v not found: skipped"
		continue
	fi
	patch="["
	for ((i = 0; i < ${#n}; i++)); do
		[ "$i" -gt 0 ] && patch+=","
		patch+="{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$ca_b64\"}"
	done
	patch+="]"
	"$K" patch validatingwebhookconfiguration "$v" --type=json -p "$patch" >/dev/null ||
		die "cannot patch the caBundle of validatingwebhookconfiguration $v"
	note "caBundle set on validatingwebhookconfiguration $v (${#n} webhooks)"
done
for c in $crds; do
	if ! strategy=$("$K" get crd "$c" -o jsonpath='{.spec.conversion.strategy}' 2>/dev/null); then
		note "crd $c not found: skipped"
		continue
	fi
	if [ "$strategy" != Webhook ]; then
		note "crd $c converts with strategy ${strategy:-None}: no caBundle needed"
		continue
	fi
	"$K" patch crd "$c" --type=json \
		-p "[{\"op\":\"add\",\"path\":\"/spec/conversion/webhook/clientConfig/caBundle\",\"value\":\"$ca_b64\"}]" >/dev/null ||
		die "cannot patch the conversion caBundle of crd $c"
	note "caBundle set on the conversion webhook of crd $c"
done
