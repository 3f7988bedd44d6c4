{{/* Names, labels and shared pieces of the Apex chart. */}}

{{- define "apex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* release-apex, or the release name alone when it contains "apex". */}}
{{- define "apex.fullname" -}}
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

{{/* The master's Service name: the DNS name workers connect to. */}}
{{- define "apex.masterName" -}}
{{- printf "%s-master" (include "apex.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "apex.workerName" -}}
{{- printf "%s-worker" (include "apex.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "apex.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "apex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "apex.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "apex.labels" -}}
helm.sh/chart: {{ include "apex.chart" . }}
{{ include "apex.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: apex
{{- end }}

{{- define "apex.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The ConfigMap holding the scenario (made by the chart or given). */}}
{{- define "apex.scenarioConfigMap" -}}
{{- if .Values.scenario.existingConfigMap }}
{{- .Values.scenario.existingConfigMap }}
{{- else }}
{{- printf "%s-scenario" (include "apex.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The scenario's JSON text when the chart makes the ConfigMap. */}}
{{- define "apex.scenarioContent" -}}
{{- if .Values.scenario.inline }}
{{- .Values.scenario.inline }}
{{- else }}
{{- .Files.Get "files/apex.json" }}
{{- end }}
{{- end }}

{{- define "apex.expectWorkers" -}}
{{- if kindIs "invalid" .Values.master.expectWorkers }}
{{- .Values.worker.replicas }}
{{- else }}
{{- .Values.master.expectWorkers }}
{{- end }}
{{- end }}

{{/* The Secret holding the CURVE keys (made by the chart or given). */}}
{{- define "apex.curveSecret" -}}
{{- if .Values.curve.existingSecret }}
{{- .Values.curve.existingSecret }}
{{- else }}
{{- printf "%s-curve" (include "apex.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
