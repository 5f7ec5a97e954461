{{/* Chart name, truncated to a DNS label. */}}
{{- define "autoredeploy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name: the release name, with the chart name unless it already holds it. */}}
{{- define "autoredeploy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "autoredeploy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the webhook pods; never change them after the first install. */}}
{{- define "autoredeploy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "autoredeploy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "autoredeploy.labels" -}}
helm.sh/chart: {{ include "autoredeploy.chart" . }}
{{ include "autoredeploy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: admission-webhook
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Metadata annotations shared by every object (commonAnnotations), without a trailing newline. */}}
{{- define "autoredeploy.commonAnnotations" -}}
{{- with .Values.commonAnnotations }}{{ toYaml . }}{{ end -}}
{{- end -}}

{{- define "autoredeploy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "autoredeploy.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "autoredeploy.serviceName" -}}
{{- include "autoredeploy.fullname" . -}}
{{- end -}}

{{/* Name of the Secret holding tls.crt and tls.key, for every tls.source. */}}
{{- define "autoredeploy.tlsSecretName" -}}
{{- if eq .Values.tls.source "secret" -}}
{{- required "tls.secretName is required when tls.source is \"secret\"" .Values.tls.secretName -}}
{{- else -}}
{{- default (printf "%s-tls" (include "autoredeploy.fullname" .)) .Values.tls.secretName -}}
{{- end -}}
{{- end -}}

{{/* DNS names the API server may use to reach the Service (it sends SNI <svc>.<ns>.svc). */}}
{{- define "autoredeploy.dnsNames" -}}
{{- $svc := include "autoredeploy.serviceName" . -}}
{{- $ns := .Release.Namespace -}}
{{- list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain) | toJson -}}
{{- end -}}

{{- define "autoredeploy.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/*
Certificate material for tls.source=helm, computed ONCE per render and memoised on the root
context so the Secret and the webhook caBundle always agree. An existing Secret (found with
`lookup` on upgrade) is kept while it has more than tls.helm.renewBeforeDays left; otherwise a
new CA and certificate are generated and the old CA stays in the caBundle, so pods still
serving the old certificate keep being trusted during the rollout.
*/}}
{{- define "autoredeploy.helmCerts" -}}
{{- if not (hasKey .Values "__autoredeployCerts") -}}
{{- $secretName := include "autoredeploy.tlsSecretName" . -}}
{{- $now := now | unixEpoch | int64 -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace $secretName -}}
{{- $certs := dict -}}
{{- $reuse := false -}}
{{- $oldCA := "" -}}
{{- if and $existing $existing.data -}}
{{- $oldCA = index $existing.data "ca.crt" | default "" | b64dec -}}
{{- $notAfter := index ($existing.metadata.annotations | default dict) "autoredeploy.io/not-after-epoch" | default "0" | int64 -}}
{{- $margin := mul .Values.tls.helm.renewBeforeDays 86400 | int64 -}}
{{- if and .Values.tls.helm.reuseExisting (index $existing.data "tls.crt") (index $existing.data "tls.key") $oldCA (gt (sub $notAfter $now) $margin) -}}
{{- $reuse = true -}}
{{- $_ := set $certs "ca" $oldCA -}}
{{- $_ := set $certs "crt" (index $existing.data "tls.crt" | b64dec) -}}
{{- $_ := set $certs "key" (index $existing.data "tls.key" | b64dec) -}}
{{- $_ := set $certs "bundle" $oldCA -}}
{{- $_ := set $certs "notAfter" (toString $notAfter) -}}
{{- end -}}
{{- end -}}
{{- if not $reuse -}}
{{- $days := int .Values.tls.helm.validityDays -}}
{{- $ca := genCA (printf "%s-ca" (include "autoredeploy.fullname" .)) $days -}}
{{- $svc := include "autoredeploy.serviceName" . -}}
{{- $cn := printf "%s.%s.svc" $svc .Release.Namespace -}}
{{- $cert := genSignedCert $cn nil (include "autoredeploy.dnsNames" . | fromJsonArray) $days $ca -}}
{{- $_ := set $certs "ca" $ca.Cert -}}
{{- $_ := set $certs "crt" $cert.Cert -}}
{{- $_ := set $certs "key" $cert.Key -}}
{{- $bundle := $ca.Cert -}}
{{- if and $oldCA (ne $oldCA $ca.Cert) -}}
{{- $bundle = printf "%s\n%s" (trimSuffix "\n" $ca.Cert) $oldCA -}}
{{- end -}}
{{- $_ := set $certs "bundle" $bundle -}}
{{- $_ := set $certs "notAfter" (toString (add $now (mul $days 86400))) -}}
{{- end -}}
{{- $_ := set .Values "__autoredeployCerts" $certs -}}
{{- end -}}
{{- end -}}

{{/* The caBundle (base64 PEM) rendered into the webhook, or empty when an injector owns it. */}}
{{- define "autoredeploy.caBundle" -}}
{{- if eq .Values.tls.source "helm" -}}
{{- include "autoredeploy.helmCerts" . -}}
{{- get .Values.__autoredeployCerts "bundle" | b64enc -}}
{{- else if eq .Values.tls.source "secret" -}}
{{- $ca := required "tls.caBundle is required when tls.source is \"secret\"" .Values.tls.caBundle | trim -}}
{{- if hasPrefix "-----BEGIN" $ca -}}{{ $ca | b64enc }}{{- else -}}{{ $ca }}{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The poller's pods: not the webhook's selector labels. */}}
{{- define "autoredeploy.pollerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "autoredeploy.name" . }}-poller
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
