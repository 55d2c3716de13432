{{/* Names, labels and shared fragments of the kbatch-proxy chart. */}}

{{- define "kbatch-proxy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kbatch-proxy.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kbatch-proxy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kbatch-proxy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kbatch-proxy.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "kbatch-proxy.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kbatch-proxy.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kbatch-proxy.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The identity mode, validated. */}}
{{- define "kbatch-proxy.identity" -}}
{{- $m := .Values.upstreamIdentity | default "service-account" }}
{{- if not (has $m (list "service-account" "impersonate")) }}
{{- fail (printf "upstreamIdentity must be service-account or impersonate, not %q" $m) }}
{{- end }}
{{- $m }}
{{- end }}

{{/* The Secret and key holding the hub token, or nothing. */}}
{{- define "kbatch-proxy.tokenSecret" -}}
{{- if .Values.app.existingSecret }}{{ .Values.app.existingSecret }}{{- else if .Values.app.jupyterhub_api_token }}{{ include "kbatch-proxy.fullname" . }}{{- end }}
{{- end }}
{{- define "kbatch-proxy.tokenKey" -}}
{{- if .Values.app.existingSecret }}{{ .Values.app.existingSecretKey }}{{- else }}JUPYTERHUB_API_TOKEN{{- end }}
{{- end }}

{{- define "kbatch-proxy.tlsSecret" -}}
{{- .Values.tls.existingSecret | default (printf "%s-tls" (include "kbatch-proxy.fullname" .)) }}
{{- end }}

{{- define "kbatch-proxy.servicePort" -}}
{{- if .Values.service.port }}{{ .Values.service.port }}{{- else if .Values.tls.enabled }}443{{- else }}80{{- end }}
{{- end }}

{{/* Built-in and extra policy files as ConfigMap data. */}}
{{- define "kbatch-proxy.policyData" -}}
{{- $files := dict }}
{{- if .Values.policies.builtin }}
{{- range $path, $_ := .Files.Glob "policies/*.{yaml,yml}" }}
{{- $_ := set $files (base $path) ($.Files.Get $path) }}
{{- end }}
{{- end }}
{{- range $name, $text := .Values.policies.files }}
{{- $_ := set $files $name $text }}
{{- end }}
{{- /* JSON, not YAML: toYaml trims the last file's final newline. */}}
{{- toJson $files }}
{{- end }}

{{/* The chart's config files: {file name: YAML text}. */}}
{{- define "kbatch-proxy.configData" -}}
{{- $files := dict }}
{{- if .Values.profiles }}{{- $_ := set $files "profiles.yaml" (toYaml .Values.profiles) }}{{- end }}
{{- if .Values.jobTemplate }}{{- $_ := set $files "job-template.yaml" (toYaml .Values.jobTemplate) }}{{- end }}
{{- if .Values.namespaceManifests }}
{{- $docs := list }}
{{- range .Values.namespaceManifests }}{{- $docs = append $docs (toYaml .) }}{{- end }}
{{- $_ := set $files "namespace-manifests.yaml" (join "\n---\n" $docs) }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/* RBAC rules for server-side apply of the namespace manifests' kinds (resource guessed from
     the kind the way kube's UnsafeGuessKindToResource does). */}}
{{- define "kbatch-proxy.manifestRules" -}}
{{- $seen := dict }}
{{- range .Values.namespaceManifests }}
{{- $gv := splitList "/" (.apiVersion | default "v1") }}
{{- $group := ternary "" (first $gv) (eq (len $gv) 1) }}
{{- $kind := lower (required "every namespaceManifests entry needs a kind" .kind) }}
{{- $resource := "" }}
{{- if hasSuffix "y" $kind }}{{ $resource = printf "%sies" (trimSuffix "y" $kind) }}
{{- else if hasSuffix "s" $kind }}{{ $resource = printf "%ses" $kind }}
{{- else }}{{ $resource = printf "%ss" $kind }}{{ end }}
{{- $key := printf "%s/%s" $group $resource }}
{{- if not (hasKey $seen $key) }}
{{- $_ := set $seen $key true }}
- apiGroups: [{{ $group | quote }}]
  resources: [{{ $resource | quote }}]
  verbs: [get, create, patch]
{{- end }}
{{- end }}
{{- end }}
