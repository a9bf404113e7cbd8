//! Issue 12: a values.yaml or kubeManifests file holding Palette's macros (`{{ .spectro.* }}`) or
//! Go-template actions (Sprig pipelines, `if`/`range`/`end` lines, `template`) is not reported as
//! broken YAML by the default profile, in every form today's public packs use.
//!
//! Each case reproduces one form found in a file of spectrocloud/pack-central, named beside it:
//! the same actions, quoting, indentation and surrounding YAML, trimmed to the lines that carry
//! the form. Names and values are our own (pack-central carries no license).

use crate::support::*;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The example's image list, first in every values.yaml here, so that no unrelated rule speaks.
const VALUES_HEAD: &str = "pack:
  content:
    images:
      - image: docker.io/nginxinc/nginx-unprivileged:1.27
";

/// One form: the pack-central file it comes from, and the text that reproduces it.
type Form = (&'static str, &'static str);

/// Builds one copy of the example per form (`write` puts the form in place), lints them all in
/// one run, and checks that none has an error, nor any YAML finding of values.yaml (PP020) or of
/// a kubeManifests file (PP025), whatever its severity.
fn lint_forms(forms: &[Form], write: impl Fn(&Path, &str)) {
    let tmp = TempDir::new().unwrap();
    let dirs: Vec<PathBuf> = forms
        .iter()
        .enumerate()
        .map(|(i, (_, text))| {
            let dir = example_in(&tmp.path().join(i.to_string()), "hello-1.0.0");
            write(&dir, text);
            dir
        })
        .collect();
    let mut args = vec!["lint".to_string(), "--json".to_string()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let linted = run(&args);
    let doc = linted.json();
    let packs = doc["packs"].as_array().unwrap();
    assert_eq!(packs.len(), forms.len(), "{}", linted.stdout);
    let mut failures = Vec::new();
    for ((source, text), dir) in forms.iter().zip(&dirs) {
        let pack = packs
            .iter()
            .find(|p| p["path"] == dir.display().to_string())
            .unwrap_or_else(|| panic!("no result for {}:\n{}", dir.display(), linted.stdout));
        let wrong: Vec<&Value> = pack["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error" || f["rule"] == "PP020" || f["rule"] == "PP025")
            .collect();
        if !wrong.is_empty() {
            failures.push(format!(
                "form of {source}:\n{text}\nwas reported:\n{}",
                serde_json::to_string_pretty(&wrong).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(doc["errors"], 0, "{}", linted.stdout);
    assert_eq!(linted.code, 0, "{}\n{}", linted.stdout, linted.stderr);
}

fn write_values(dir: &Path, form: &str) {
    fs::write(dir.join("values.yaml"), format!("{VALUES_HEAD}{form}")).unwrap();
}

fn write_manifest(dir: &Path, form: &str) {
    fs::write(dir.join("manifests/hello.yaml"), form).unwrap();
}

/// Palette's own macros in values.yaml: system macros, profile variables and references to
/// another pack's values, quoted, with or without spaces inside the braces, several in one
/// scalar, after a quoted key, and followed by a comment.
#[test]
fn palette_macros_in_values_are_not_broken_yaml() {
    let forms: &[Form] = &[
        // A system macro in a quoted value followed by a comment; a profile variable.
        (
            "packs/sedai-smart-agent-1.4.41/values.yaml",
            r#"charts:
  demo:
    integration:
      nickName: ""                    # shown in the UI
      clusterName: "{{ .spectro.system.cluster.name }}" # filled in by Palette
      provider: "{{ .spectro.var.cloudProvider }}"  # a profile variable
      apiToken: "{{ .spectro.var.apiToken }}" # or a Secret
"#,
        ),
        // A reference to another pack's value and a system macro, without spaces, in one quoted
        // value under a quoted key (the mapping key line ends with a space); the same macro alone.
        (
            "packs/karpenter-1.5.1/values.yaml",
            r#"accountNumber: ""

charts:
  demo:
    serviceAccount:
      annotations: 
        "example.com/role-arn": "arn:aws:iam::{{.spectro.pack.demo.accountNumber}}:role/{{.spectro.system.cluster.name}}-controller"
    settings:
      clusterName: "{{.spectro.system.cluster.name}}"
      clusterEndpoint: ""
"#,
        ),
        // The Kubernetes version macro in the values of a manifest.
        (
            "packs/vsphere_noprovisioner_csi_1.0.0/values.yaml",
            r#"manifests:
  demo-manager:
    k8sVersion: "{{ .spectro.system.kubernetes.version }}"
    # Override the image
    image: ""
    extraArgs:
      - "--v=2"
"#,
        ),
        // The cluster name macro after comments, last in the values of a manifest.
        (
            "packs/aws-eks-oidc/aws-eks-oidc-1.0.0/values.yaml",
            r#"manifests:
  demo-oidc:

    # The claim to map user names from
    usernameClaim: "email"

    # The cluster name (do not modify)
    clusterName: "{{ .spectro.system.cluster.name }}"
"#,
        ),
    ];
    lint_forms(forms, write_values);
}

/// Chart values that hold Helm's own template strings, rendered by the chart's `tpl`: quoted
/// values, block scalars with actions inside lines and on lines of their own (`if`, `template`,
/// whitespace-trimming string literals), and commented-out examples.
#[test]
fn helm_templates_in_chart_values_are_not_broken_yaml() {
    let forms: &[Form] = &[
        (
            "packs/gridlight-1.1.3/values.yaml",
            r#"global:
  imageRegistry: "registry.example.com/demo"
  imageTag: "1.0.0"

gateway:
  image:
    repository: "{{ .Values.global.imageRegistry }}/gateway"
    tag: "{{ .Values.global.imageTag }}"
    pullPolicy: "{{ .Values.global.imagePullPolicy }}"
"#,
        ),
        (
            "packs/fluentbit-5.0.9/values.yaml",
            r#"charts:
  demo:
    envWithTpl: []
    #  - name: FOO_2
    #    value: "{{ .Values.foo2 }}"

    # extraContainers: |-
    #   - name: do-something
    #     image: registry.example.com/kubectl:{{ .Capabilities.KubeVersion.Major }}.{{ .Capabilities.KubeVersion.Minor }}

    config:
      service: |
        [SERVICE]
            Flush {{ .Values.flush }}
            Log_Level {{ .Values.logLevel }}
            HTTP_Port {{ .Values.metricsPort }}
"#,
        ),
        (
            "packs/apache-airflow-1.22.0/values.yaml",
            r#"charts:
  demo:
    localSettings: |-
      {{- if semverCompare "<3.0.0" .Values.appVersion }}
      {{- if not (or .Values.secretKey .Values.secretKeySecretName) }}
      ALERTS = ["use a static secret key"]
      {{- end }}
      {{- end }}

    extraSecrets: {}
    # extraSecrets:
    #   '{{ .Release.Name }}-connections':
    #     type: 'Opaque'

    kerberos:
      config: |
        [logging]
        default = "FILE:{{ template "demo_logs_no_quote" . }}/libs.log"
        kdc = "FILE:{{ template "demo_logs_no_quote" . }}/kdc.log"

    workers:
      args:
        - "bash"
        - "-c"
        - |-
          exec \
          demo worker
          {{- if and .Values.workers.queue (ne .Values.workers.queue "default") }}
          {{- " -q " }}{{ .Values.workers.queue }}
          {{- end }}
"#,
        ),
    ];
    lint_forms(forms, write_values);
}

/// kubeManifests files that are Go templates, in the forms of today's public packs: plain and
/// piped actions as values, sequence items and keys; actions inside quoted strings and block
/// scalars; `if`/`else if`/`range`/`end` lines at any indentation, around whole documents, with
/// trailing spaces or without a space before `}}`; `indent` lines at column 0 under a block
/// scalar; and a file whose braces a formatter spaced apart (`{ { … } }`, which is YAML).
#[test]
fn templated_manifests_are_not_broken_yaml() {
    let forms: &[Form] = &[
        // Plain actions as values, and one inside a double-quoted string.
        (
            "packs/nfs-subdir-external-4.0.13/manifests/nfs.yaml, packs/hipster/hipster-4.0/manifests/hipster.yaml, packs/hello-universe-1.3.1/manifests/hello-universe.yaml",
            r#"apiVersion: v1
kind: Namespace
metadata:
  name: {{ .Values.namespace }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  namespace: {{ .Values.namespace }}
  name: demo
spec:
  replicas: {{ .Values.frontend.replicas }}
  template:
    spec:
      containers:
        - name: demo
          image: {{ .Values.images.demo }}
          env:
            - name: DB_HOST
              value: "db.{{ .Values.namespace }}.svc.cluster.local"
            - name: NFS_SERVER
              value: {{ .Values.server }}
      volumes:
        - name: root
          nfs:
            server: {{ .Values.server }}
            path: {{ .Values.path }}
"#,
        ),
        // Two alternative sets of documents, each wrapped in `{{ if }}`…`{{ end }}` lines with
        // no `---` between them; an `if -}}` line with trailing spaces inside a pod spec.
        (
            "packs/hello-universe-1.3.1/manifests/hello-universe.yaml",
            "{{ if not .Values.apiEnabled }}

apiVersion: v1
kind: Namespace
metadata:
  name: {{ .Values.namespace }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
  namespace: {{ .Values.namespace }}
spec:
  template:
    spec:
      containers:
        - name: demo
          resources:
            limits:
              cpu: \"200m\" # limiting to 200 milliCPU

{{ end }}

{{ if .Values.apiEnabled }}

apiVersion: v1
kind: Namespace
metadata:
  name: {{ .Values.namespace }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: db
  namespace: {{ .Values.namespace }}
spec:
  template:
    spec:
      containers:
        - name: db
          image: {{ .Values.images.db }}
      {{ if .Values.db.useTolerations -}}      
      tolerations:
      - effect: {{ .Values.db.tolerations.effect }}
        key: {{ .Values.db.tolerations.key }}
        operator: Equal
        value: {{ .Values.db.tolerations.value }}
      {{- end }}
{{ end }}
",
        ),
        // Actions inside a literal block scalar of a shell command: a here-document line with
        // several actions, and actions without spaces inside the braces.
        (
            "packs/qualys-agent/qualys-agent-1.0.0/manifests/install-qualys.yaml, packs/aws-eks-oidc/aws-eks-oidc-1.0.0/manifests/aws-eks-oidc.yaml",
            r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: demo-agent
  namespace: kube-system
spec:
  template:
    spec:
      initContainers:
        - name: install-unit
          command:
            - sh
            - -c
            - |
              set -x
              cat >/etc/systemd/system/demo.service <<EOF
              [Service]
              ExecStart=/bin/sh -c "rpm -ivh {{ .Values.agentPackageUrl }}; demo-agent.sh ActivationId={{ .Values.activationId }} CustomerId={{ .Values.customerId }}"
              EOF
          args:
          - |
            demo associate \
            --cluster-name {{ .Values.clusterName }} \
            --oidc issuerUrl={{.Values.issuerURL}},clientId={{.Values.clientID}},usernameClaim={{.Values.usernameClaim}}
            echo "DONE!"
          envFrom:
          - secretRef:
              name: {{ .Values.cloudAccountName }}
"#,
        ),
        // `quote` pipelines as sequence items and values; bare actions that render booleans.
        (
            "packs/spectro-zen-of-k8s/spectro-zen-of-k8s-1.0.0/manifests/hrm-server.yaml, packs/k8sgpt-operator/k8sgpt-operator-0.0.14/manifests/k8sgpt.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo
spec:
  template:
    spec:
      containers:
      - command:
        - /demo
        args:
        - {{ .Values.deviceAddress | quote }}
        - {{ .Values.logLevel | quote }}
        env:
        - name: BASELINE_SECONDS
          value: {{ .Values.baselineSeconds | quote }}
        name: demo
---
apiVersion: example.com/v1alpha1
kind: Demo
metadata:
  name: demo
spec:
  model: {{ .Values.model | quote }}
  noCache: {{ .Values.noCache }}
  enableAI: {{ .Values.enableAI }}
---
apiVersion: v1
kind: Secret
metadata:
  name: demo-secret
type: Opaque
stringData:
  api-key: {{ .Values.apiKey | quote }}"#,
        ),
        // A chain of `if semverCompare`/`else if`/`else`/`end` lines inside a container, each
        // branch with the same key and a `default` call holding a quoted string; `range` over
        // a list under `args:`.
        (
            "packs/vsphere_noprovisioner_csi_1.0.0/manifests/vsphere-cloud-controller-manager.yaml",
            r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: demo-manager
  namespace: kube-system
spec:
  template:
    spec:
      containers:
        - name: demo-manager
          {{- if semverCompare "~1.22.0" .Values.k8sVersion }}
          image: {{ default "registry.example.com/demo/manager:v1.22.8" .Values.image }}
          {{- else if semverCompare "~1.23.0" .Values.k8sVersion }}
          image: {{ default "registry.example.com/demo/manager:v1.23.4" .Values.image }}
          {{- else }}
          # Default to the newest for any other version
          image: {{ default "registry.example.com/demo/manager:v1.30.0" .Values.image }}
          {{- end }}
          args:
            {{- if .Values.extraArgs }}
            {{- range .Values.extraArgs }}
            - {{ . | quote }}
            {{- end }}
            {{- end }}
          volumeMounts:
            - mountPath: /etc/cloud
              name: demo-config
              readOnly: true
"#,
        ),
        // `| default "…"` pipelines; inside a shell block scalar: a `default` call with an empty
        // string in double quotes, actions in single-quoted JSON, `.Spectro` with a capital, and
        // `if`/`end` lines at the block's indentation; then `if`/`end` lines at column 0 around
        // the rest of a pod spec and around a whole document, `{{- end}}` without a space, and
        // `b64enc | quote`.
        (
            "packs/twistlock-20.09.0/manifests/prisma-cloud.yaml",
            r#"apiVersion: v1
kind: Namespace
metadata:
  name: {{ .Values.namespace | default "demo" }}
---
apiVersion: batch/v1
kind: Job
metadata:
  annotations:
  name: demo-setup
  namespace: {{ .Values.namespace | default "demo" }}
spec:
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: setup
          image: docker.io/library/alpine:3.20
          command:
            - /bin/sh
            - -exc
            - |

              admin_user={{ .Values.consoleUser | default "admin" }}
              external_console_addr="{{ default "" .Values.externalConsoleAddr }}"
              signup_data='{"username":"{{ .Values.consoleUser | default "admin" }}"}'
              kubectl wait --timeout={{ .Values.consoleSvcTimeout | default "600s" }} pod -l name=demo
              demo export \
                  --cluster '{{ .Spectro.cluster }}'
                  {{- if .Values.tlscacert }}
                  --tlscacert /etc/ssl/demo/ca.crt
                  {{- end }}

              echo "done"
{{- if .Values.tlscacert }}
          volumeMounts:
            - name: tls-ca-cert
              mountPath: "/etc/ssl/demo"
              readOnly: true
      volumes:
        - name: tls-ca-cert
          secret:
            secretName: tls-ca-cert
{{- end}}
---
{{- if .Values.tlscacert }}
apiVersion: v1
kind: Secret
metadata:
  name: tls-ca-cert
  namespace: {{ .Values.namespace | default "demo" }}
type: Opaque
data:
  ca.crt: {{ .Values.tlscacert | b64enc | quote }}
{{- end}}"#,
        ),
        // `toJson … | indent 4}}` alone at column 0 as the content of a block scalar, with a
        // trailing space; the same call in a single-quoted value.
        (
            "packs/sr-iov-3.4.0/manifests/configmap.yaml, packs/sr-iov-3.4.0/manifests/sriov.yaml",
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-config
  namespace: kube-system
data:
  config.json: |
{{ toJson .Values.config | indent 4}} 

---
apiVersion: \"k8s.cni.cncf.io/v1\"
kind: NetworkAttachmentDefinition
metadata:
  name: demo-net
  annotations:
    k8s.v1.cni.cncf.io/resourceName: example.com/demo_netdevice
spec:
  config: '{{ toJson .Values.config | indent 4 }}'
",
        ),
        // Deep `.Values` paths as a container's name, image and pull policy.
        (
            "packs/sr-iov-3.4.0/manifests/sriov-cni.yaml",
            r#"---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: demo-cni
  namespace: kube-system
spec:
  template:
    spec:
      containers:
      - name: {{ .Values.spec.template.spec.containers.name }}
        image: {{ .Values.spec.template.spec.containers.image }}
        imagePullPolicy: {{ .Values.spec.template.spec.containers.imagePullPolicy }}
        securityContext:
          privileged: false
---
"#,
        ),
        // Three actions in one plain scalar.
        (
            "packs/kubeflow-1.2.0/manifests/kubeflow-operator.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: demo-operator
  namespace: demo-operator
spec:
  template:
    spec:
      containers:
      - command:
        - demo
        image: {{ .Values.registry }}/{{ .Values.repository }}:{{ .Values.tag }}
        imagePullPolicy: Always
        name: demo-operator
"#,
        ),
        // `| indent 4` lines at column 0 as the content of consecutive block scalars; `| quote`
        // namespaces; `if`/`end}}` lines around sequence items at two indentations.
        (
            "packs/outcold-5.0.0/manifests/collectorforkubernetes.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  namespace: {{ .Values.namespace | quote }}
  labels:
    app: demo
data:
  001-general.conf: |
{{ .Values.general | indent 4 }}
  002-daemonset.conf: |
{{ .Values.daemonset | indent 4 }}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: demo
  namespace: {{ .Values.namespace | quote }}
spec:
  template:
    spec:
      containers:
        - name: demo
          image: docker.io/library/busybox:1.36
          volumeMounts:
            - name: localtime
              mountPath: /etc/localtime
              readOnly: true
            {{- if .Values.secret.caCert }}
            - name: demo-ca
              mountPath: /ssl
              readOnly: true
            {{- end}}
      volumes:
        - name: localtime
          hostPath:
            path: /etc/localtime
        {{- if .Values.secret.caCert }}
        - name: demo-ca
          secret:
            secretName: {{ .Values.secret.caCert }}
        {{- end}}
"#,
        ),
        // An action at the end of apiVersion; `range $key, $val` writing mapping keys.
        (
            "packs/external-snapshotter-4.0.1/manifests/vsclass.yaml",
            r#"apiVersion: snapshot.storage.k8s.io/{{ .Values.apiVersion }}
kind: VolumeSnapshotClass
metadata:
  name: {{ .Values.name | quote }}
driver: {{ .Values.driver | quote }}
deletionPolicy: {{ .Values.deletionPolicy | quote }}
parameters:
  {{- range $key, $val := .Values.parameters }}
  {{ $key }}: {{ $val | quote }}
  {{- end }}"#,
        ),
    ];
    lint_forms(forms, write_manifest);
}

/// Braces a formatter spaced apart (`{ { .Values.namespace } }`, packs/kubedoom-1.0.0) are no
/// template action for Go: YAML reads a flow mapping used as a key, which go-yaml cannot decode
/// ("invalid map key"), so kubectl and Palette cannot apply the object. An error, saying why.
#[test]
fn braces_a_formatter_spaced_apart_are_refused_as_kubectl_refuses_them() {
    let tmp = TempDir::new().unwrap();
    let dir = example_in(tmp.path(), "hello-1.0.0");
    write_manifest(
        &dir,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: { { .Values.namespace } }\n",
    );
    let linted = run(&["lint", dir.to_str().unwrap()]).expect(3);
    assert!(
        linted.stderr.contains("manifests/hello.yaml:4:")
            && linted.stderr.contains("invalid map key")
            && linted.stderr.contains("[PP025]"),
        "{}",
        linted.stderr
    );
}
