{{/* Labels of every object: NAME is the component. */}}
{{- define "sc.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/part-of: volume-snapshot
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* The selector: upstream's, immutable, so it must not carry the release. */}}
{{- define "sc.selector" -}}
app.kubernetes.io/name: {{ . }}
{{- end }}

{{- define "sc.image" -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion -}}
{{- if .image.digest -}}
{{ .image.repository }}@{{ .image.digest }}
{{- else -}}
{{ .image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{/* The rules of the first object of KIND in files/rbac/FILE, a copy of
     deploy/'s manifest (scripts/chart-sync.sh): deploy/ is the one source. */}}
{{- define "sc.rules" -}}
{{- $out := "" -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.root.Files.Get (printf "files/rbac/%s" .file)) -1 -}}
{{- $o := fromYaml $doc -}}
{{- if and (not $out) (eq (get $o "kind") $.kind) -}}
{{- $out = toYaml $o.rules -}}
{{- end -}}
{{- end -}}
{{- required (printf "no %s in files/rbac/%s" .kind .file) $out -}}
{{- end }}

{{/* The webhook's TLS material for mode selfSigned, as a dict of PEMs:
     the existing Secret's when it holds all three (so upgrades keep the CA
     the API server trusts), else a new CA and serving certificate.  Made once
     per render and cached in .Values so the Secret and caBundles agree. */}}
{{- define "sc.tls" -}}
{{- if not (hasKey .Values.webhook "_tls") -}}
{{- $svc := printf "snapshot-webhook.%s.svc" .Release.Namespace -}}
{{- $s := lookup "v1" "Secret" .Release.Namespace .Values.webhook.tls.secretName -}}
{{- $d := dict -}}
{{- if and $s $s.data (index $s.data "ca.crt") (index $s.data "tls.crt") (index $s.data "tls.key") -}}
{{- $d = dict "ca" (index $s.data "ca.crt" | b64dec) "crt" (index $s.data "tls.crt" | b64dec) "key" (index $s.data "tls.key" | b64dec) -}}
{{- else -}}
{{- $ca := genCA "snapshot-webhook-ca" (int .Values.webhook.tls.selfSigned.caDays) -}}
{{- $names := list "snapshot-webhook" (printf "snapshot-webhook.%s" .Release.Namespace) $svc (printf "%s.cluster.local" $svc) -}}
{{- $c := genSignedCert $svc nil $names (int .Values.webhook.tls.selfSigned.certDays) $ca -}}
{{- $d = dict "ca" $ca.Cert "crt" $c.Cert "key" $c.Key -}}
{{- end -}}
{{- $_ := set .Values.webhook "_tls" $d -}}
{{- end -}}
{{- end }}

{{/* caBundle for the webhook configurations and CRD conversion (base64),
     empty for cert-manager (its cainjector fills it). */}}
{{- define "sc.caBundle" -}}
{{- if eq .Values.webhook.tls.mode "selfSigned" -}}
{{- include "sc.tls" . -}}
{{- .Values.webhook._tls.ca | b64enc -}}
{{- else if eq .Values.webhook.tls.mode "secret" -}}
{{- required "webhook.tls.caBundle is required with webhook.tls.mode=secret" .Values.webhook.tls.caBundle | b64enc -}}
{{- end -}}
{{- end }}

{{- define "sc.certManagerAnnotation" -}}
{{- if eq .Values.webhook.tls.mode "certManager" }}
cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/snapshot-webhook
{{- end }}
{{- end }}

{{- define "sc.validate" -}}
{{- if not (has .Values.webhook.tls.mode (list "selfSigned" "certManager" "secret")) -}}
{{- fail (printf "webhook.tls.mode must be selfSigned, certManager or secret, not %q" .Values.webhook.tls.mode) -}}
{{- end -}}
{{- range $k, $v := .Values.webhook.failurePolicy -}}
{{- if not (has $v (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy.%s must be Fail or Ignore" $k) -}}
{{- end -}}
{{- end -}}
{{- end }}
