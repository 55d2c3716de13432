//! The Helm chart (`helm/kbatch-proxy`) rendered and linted by real Helm (Helm's Go library
//! through the `helm-python-sdk` package, `tests/python/helm_chart.py`): default values, each
//! upstream identity mode, the Python chart's values, TLS and the optional objects; assertions
//! on the rendered objects (RBAC per mode, the hub token only through a Secret, probes,
//! security context, PDB); and the rendered objects applied to the API (stand-in or real) with
//! `kubectl apply --dry-run=server`.

mod support;

use std::process::Command;

use serde_json::{json, Value};
use support::cluster::Cluster;
use support::tools::{repo_root, venv_python};

fn chart() -> String {
    repo_root().join("helm/kbatch-proxy").display().to_string()
}

fn helper(args: &[&str]) -> (bool, Value) {
    let out = Command::new(venv_python())
        .arg(repo_root().join("tests/python/helm_chart.py"))
        .args(args)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "helm_chart.py {args:?}: {e}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), v)
}

/// The rendered objects for `values` (release `kbatch` in namespace `ns`).
struct Rendered {
    objects: Vec<Value>,
    notes: String,
}

impl Rendered {
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    fn one(&self, kind: &str) -> &Value {
        let all = self.of_kind(kind);
        assert_eq!(all.len(), 1, "one {kind} expected, got {all:#?}");
        all[0]
    }

    fn kinds(&self) -> Vec<String> {
        let mut k: Vec<String> = self
            .objects
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or("").to_string())
            .collect();
        k.sort();
        k
    }

    fn container(&self) -> &Value {
        &self.one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    }

    /// The plain env values of the proxy container.
    fn env(&self, name: &str) -> Option<String> {
        self.container()["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["value"].as_str().unwrap_or("<valueFrom>").to_string())
    }

    fn cluster_rules(&self) -> &Vec<Value> {
        self.one("ClusterRole")["rules"].as_array().expect("rules")
    }

    /// Whether a ClusterRole rule grants `verb` on `group`/`resource`.
    fn grants(&self, group: &str, resource: &str, verb: &str) -> bool {
        self.cluster_rules().iter().any(|r| {
            let has = |k: &str, v: &str| {
                r[k].as_array()
                    .is_some_and(|a| a.iter().any(|x| x == v || x == "*"))
            };
            has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
        })
    }
}

fn render_in(values: Value, namespace: &str) -> Rendered {
    let (ok, v) = helper(&["render", &chart(), &values.to_string(), "kbatch", namespace]);
    assert!(ok, "render failed for {values}: {v}");
    Rendered {
        objects: v["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|o| o["object"].clone())
            .collect(),
        notes: v["notes"].as_str().unwrap_or("").to_string(),
    }
}

fn render(values: Value) -> Rendered {
    render_in(values, "jhub")
}

fn render_error(values: Value) -> String {
    let (ok, v) = helper(&["render", &chart(), &values.to_string()]);
    assert!(!ok, "render should fail for {values}");
    v["error"].as_str().expect("error").to_string()
}

const TOKEN: &str = "0123456789abcdef-hub-service-token";

#[test]
fn chart_lints_clean_for_every_mode() {
    for values in [
        json!({}),
        json!({"app": {"jupyterhub_api_token": TOKEN}}),
        json!({"upstreamIdentity": "impersonate"}),
        json!({"tls": {"enabled": true, "existingSecret": "t"}, "podDisruptionBudget": {"enabled": false}}),
    ] {
        let (ok, report) = helper(&["lint", &chart(), &values.to_string()]);
        assert!(ok, "{report}");
        assert_eq!(
            report["errors"],
            json!([]),
            "lint errors for {values}: {report}"
        );
        let serious: Vec<&Value> = report["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["severity"].as_i64().unwrap_or(0) >= 2)
            .collect();
        assert!(
            serious.is_empty(),
            "lint warnings for {values}: {serious:#?}"
        );
    }
}

#[test]
fn default_values_render_a_hardened_deployment() {
    let r = render(json!({}));
    assert_eq!(
        r.kinds(),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "ConfigMap",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount"
        ]
    );
    let pod = &r.one("Deployment")["spec"]["template"]["spec"];
    let c = r.container();
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["ports"][0]["containerPort"], 8050);
    assert_eq!(r.env("KBATCH_LISTEN").as_deref(), Some("0.0.0.0:8050"));
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_ne!(pod["securityContext"]["runAsUser"], 0);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    // Only the proxy's pods mount a ServiceAccount token (their upstream credential).
    assert_eq!(pod["automountServiceAccountToken"], true);
    assert_eq!(
        r.one("ServiceAccount")["automountServiceAccountToken"],
        false
    );
    assert_eq!(
        pod["serviceAccountName"],
        r.one("ServiceAccount")["metadata"]["name"]
    );
    let pdb = r.one("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["maxUnavailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        r.one("Deployment")["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(r.one("Service")["spec"]["ports"][0]["port"], 80);
    assert_eq!(
        r.env("KBATCH_UPSTREAM_IDENTITY").as_deref(),
        Some("service-account")
    );
    assert_eq!(
        r.env("KBATCH_POLICIES_DIR").as_deref(),
        Some("/etc/kbatch-proxy/policies")
    );
    // No token configured: no Secret, no token variable.
    assert!(r.of_kind("Secret").is_empty());
    assert_eq!(r.env("JUPYTERHUB_API_TOKEN"), None);
    assert!(
        r.notes.contains("access:services!service=kbatch"),
        "{}",
        r.notes
    );
}

#[test]
fn hub_token_only_reaches_the_pod_through_a_secret() {
    let r = render(json!({"app": {"jupyterhub_api_token": TOKEN}}));
    let secret = r.one("Secret");
    use base64::Engine as _;
    let stored = base64::engine::general_purpose::STANDARD
        .decode(
            secret["data"]["JUPYTERHUB_API_TOKEN"]
                .as_str()
                .expect("data"),
        )
        .expect("base64");
    assert_eq!(stored, TOKEN.as_bytes());
    let env = r.container()["env"].as_array().expect("env").clone();
    let tok = env
        .iter()
        .find(|e| e["name"] == "JUPYTERHUB_API_TOKEN")
        .expect("token env");
    assert_eq!(
        tok["valueFrom"]["secretKeyRef"]["name"],
        secret["metadata"]["name"]
    );
    assert_eq!(
        tok["valueFrom"]["secretKeyRef"]["key"],
        "JUPYTERHUB_API_TOKEN"
    );
    assert!(tok.get("value").is_none());
    // The token appears in no object but the Secret.
    for o in &r.objects {
        if o["kind"] != "Secret" {
            assert!(!o.to_string().contains(TOKEN), "token leaked into {o}");
        }
    }
    // An existing Secret instead: the chart makes none and refers to it.
    let r = render(json!({"app": {"existingSecret": "hub-token", "existingSecretKey": "token"}}));
    assert!(r.of_kind("Secret").is_empty());
    let env = r.container()["env"].as_array().expect("env").clone();
    let tok = env
        .iter()
        .find(|e| e["name"] == "JUPYTERHUB_API_TOKEN")
        .expect("token env");
    assert_eq!(
        tok["valueFrom"]["secretKeyRef"],
        json!({"name": "hub-token", "key": "token"})
    );
    // A token in extra_env would be a plain value: refused.
    let e = render_error(json!({"app": {"extra_env": {"JUPYTERHUB_API_TOKEN": "x"}}}));
    assert!(e.contains("plain env value"), "{e}");
}

#[test]
fn service_account_mode_rbac_grants_what_the_proxy_forwards_to_its_service_account() {
    let r = render(json!({}));
    for (group, resource, verbs) in [
        // patch: provisioning reconciles labels of (and adopts) existing user namespaces.
        (
            "",
            "namespaces",
            &["get", "list", "watch", "create", "patch"][..],
        ),
        (
            "batch",
            "jobs",
            &[
                "get", "list", "watch", "create", "update", "patch", "delete",
            ],
        ),
        (
            "batch",
            "cronjobs",
            &[
                "get", "list", "watch", "create", "update", "patch", "delete",
            ],
        ),
        ("", "pods", &["get", "list", "watch", "create", "delete"]),
        ("", "pods/log", &["get"]),
        ("", "pods/exec", &["get", "create"]),
        ("", "secrets", &["create", "patch", "delete"]),
        ("", "configmaps", &["create", "patch", "delete"]),
        ("apps", "deployments", &["create", "get"]),
    ] {
        for v in verbs {
            assert!(
                r.grants(group, resource, v),
                "{v} {group}/{resource} missing"
            );
        }
    }
    for (group, resource, verb) in [
        ("", "namespaces", "delete"),
        ("", "namespaces", "update"),
        ("", "users", "impersonate"),
        ("", "groups", "impersonate"),
        ("rbac.authorization.k8s.io", "rolebindings", "create"),
        ("rbac.authorization.k8s.io", "clusterroles", "bind"),
        ("", "nodes", "get"),
        ("", "resourcequotas", "create"),
    ] {
        assert!(
            !r.grants(group, resource, verb),
            "{verb} {group}/{resource} must not be granted"
        );
    }
    assert!(!r.to_string_all().contains("\"*\""), "no wildcards in RBAC");
    let binding = r.one("ClusterRoleBinding");
    assert_eq!(
        binding["roleRef"]["name"],
        r.one("ClusterRole")["metadata"]["name"]
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "kbatch-kbatch-proxy", "namespace": "jhub"}])
    );
}

impl Rendered {
    fn to_string_all(&self) -> String {
        self.of_kind("ClusterRole")
            .iter()
            .map(|o| o.to_string())
            .collect()
    }
}

#[test]
fn impersonate_mode_rbac_is_impersonation_and_provisioning_only() {
    let r = render(json!({
        "upstreamIdentity": "impersonate",
        "impersonation": {"userPrefix": "hub:"},
        "userNamespaces": {"clusterRole": "kbatch-user", "podSecurityLevel": "restricted"},
    }));
    assert!(r.grants("", "users", "impersonate"));
    assert!(r.grants("", "groups", "impersonate"));
    assert!(!r.grants("", "serviceaccounts", "impersonate"));
    assert!(r.grants("", "namespaces", "create"));
    assert!(r.grants("", "namespaces", "get"));
    assert!(r.grants("rbac.authorization.k8s.io", "rolebindings", "create"));
    let bind: Vec<&Value> = r
        .cluster_rules()
        .iter()
        .filter(|x| {
            x["verbs"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v == "bind"))
        })
        .collect();
    assert_eq!(bind.len(), 1);
    assert_eq!(bind[0]["resources"], json!(["clusterroles"]));
    assert_eq!(bind[0]["resourceNames"], json!(["kbatch-user"]));
    // Users' rights come from the bound ClusterRole, not from the proxy.
    for (group, resource) in [
        ("", "pods"),
        ("", "secrets"),
        ("batch", "jobs"),
        ("", "pods/exec"),
    ] {
        for verb in ["get", "create", "delete"] {
            assert!(
                !r.grants(group, resource, verb),
                "{verb} {group}/{resource}"
            );
        }
    }
    assert!(!r.grants("rbac.authorization.k8s.io", "clusterroles", "escalate"));
    assert_eq!(
        r.env("KBATCH_UPSTREAM_IDENTITY").as_deref(),
        Some("impersonate")
    );
    assert_eq!(r.env("KBATCH_IMPERSONATE_PREFIX").as_deref(), Some("hub:"));
    assert_eq!(
        r.env("KBATCH_USER_CLUSTER_ROLE").as_deref(),
        Some("kbatch-user")
    );
    assert_eq!(
        r.env("KBATCH_NAMESPACE_PSA_LEVEL").as_deref(),
        Some("restricted")
    );
    let binding = r.one("ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
    // Namespace manifests add exactly their kinds, for server-side apply.
    let r = render(json!({
        "upstreamIdentity": "impersonate",
        "namespaceManifests": [
            {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"}, "spec": {"podSelector": {}}},
            {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"}, "spec": {"limits": []}},
        ],
    }));
    for (group, resource) in [
        ("", "resourcequotas"),
        ("networking.k8s.io", "networkpolicies"),
        ("", "limitranges"),
    ] {
        for verb in ["get", "create", "patch"] {
            assert!(r.grants(group, resource, verb), "{verb} {group}/{resource}");
        }
        assert!(!r.grants(group, resource, "delete"));
    }
    let e = render_error(json!({"upstreamIdentity": "root"}));
    assert!(
        e.contains("upstreamIdentity must be service-account or impersonate"),
        "{e}"
    );
}

#[test]
fn python_chart_values_work_unchanged() {
    // The seed README's kbatch-proxy values, as Python deployments have them.
    let r = render(json!({
        "image": {"tag": "9.9.9"},
        "app": {
            "jupyterhub_api_url": "http://hub:8081/hub/api",
            "jupyterhub_api_token": TOKEN,
            "extra_env": {
                "KBATCH_PREFIX": "/services/kbatch",
                "KBATCH_JOB_EXTRA_ENV": "{\"DASK_GATEWAY__ADDRESS\": \"http://gateway\"}",
                "KBATCH_JOB_TEMPLATE_FILE": "/job-template.yaml",
                "KBATCH_JOB_TTL_SECONDS_AFTER_FINISHED": 600,
            },
            "extraFiles": {
                "job_template": {"mountPath": "/job-template.yaml", "data": {"apiVersion": "batch/v1", "kind": "Job", "spec": {"backoffLimit": 0}}},
                "profiles": {"mountPath": "/profiles.json", "data": {"small": {"resources": {}}}},
                "raw": {"mountPath": "/raw.txt", "stringData": "hello"},
            },
        },
    }));
    assert!(r.container()["image"]
        .as_str()
        .expect("image")
        .ends_with(":9.9.9"));
    assert_eq!(
        r.env("JUPYTERHUB_API_URL").as_deref(),
        Some("http://hub:8081/hub/api")
    );
    assert_eq!(r.env("KBATCH_PREFIX").as_deref(), Some("/services/kbatch"));
    assert_eq!(
        r.env("KBATCH_JOB_EXTRA_ENV").as_deref(),
        Some("{\"DASK_GATEWAY__ADDRESS\": \"http://gateway\"}")
    );
    assert_eq!(
        r.env("KBATCH_JOB_TTL_SECONDS_AFTER_FINISHED").as_deref(),
        Some("600")
    );
    assert_eq!(
        r.env("KBATCH_JOB_TEMPLATE_FILE").as_deref(),
        Some("/job-template.yaml")
    );
    let files = r
        .of_kind("Secret")
        .into_iter()
        .find(|s| s["metadata"]["name"] == "kbatch-kbatch-proxy-files")
        .expect("files Secret");
    use base64::Engine as _;
    let decode = |k: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(files["data"][k].as_str().expect("key"))
                .expect("b64"),
        )
        .expect("utf8")
    };
    let tmpl: Value = serde_yaml::from_str(&decode("job_template")).expect("YAML");
    assert_eq!(tmpl["spec"]["backoffLimit"], 0);
    let prof: Value = serde_json::from_str(&decode("profiles")).expect("JSON");
    assert!(prof["small"].is_object());
    assert_eq!(decode("raw"), "hello");
    let mounts = r.container()["volumeMounts"]
        .as_array()
        .expect("mounts")
        .clone();
    let m = mounts
        .iter()
        .find(|m| m["mountPath"] == "/job-template.yaml")
        .expect("mount");
    assert_eq!(m["subPath"], "job_template");
    // A map in extra_env is rendered as JSON (the proxy parses KBATCH_JOB_EXTRA_ENV as JSON).
    let r = render(json!({"app": {"extra_env": {"KBATCH_JOB_EXTRA_ENV": {"A": "b"}}}}));
    assert_eq!(
        r.env("KBATCH_JOB_EXTRA_ENV").as_deref(),
        Some("{\"A\":\"b\"}")
    );
    // Chart settings are overridden, not duplicated (server-side apply refuses duplicates).
    let r = render(json!({"app": {"extra_env": {"KBATCH_LISTEN": "0.0.0.0:9000"}}}));
    let names: Vec<&Value> = r.container()["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| &e["name"])
        .filter(|n| *n == "KBATCH_LISTEN")
        .collect();
    assert_eq!(names.len(), 1);
    assert_eq!(r.env("KBATCH_LISTEN").as_deref(), Some("0.0.0.0:9000"));
    let e = render_error(
        json!({"app": {"extraFiles": {"x": {"mountPath": "/x.yaml", "data": {}, "stringData": "y"}}}}),
    );
    assert!(e.contains("exactly one of"), "{e}");
    let e = render_error(
        json!({"app": {"extraFiles": {"x": {"mountPath": "/x.toml", "data": {"a": 1}}}}}),
    );
    assert!(e.contains(".yaml, .yml or .json"), "{e}");
}

#[test]
fn config_files_and_policies_are_configmaps() {
    let r = render(json!({
        "profiles": {"small": {"resources": {"requests": {"cpu": "1"}}}},
        "jobTemplate": {"spec": {"backoffLimit": 0}},
        "namespaceManifests": [{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}}],
        "policies": {"files": {"extra.yaml": "# an operator's policy\n"}},
    }));
    let cms = r.of_kind("ConfigMap");
    let config = cms
        .iter()
        .find(|c| c["metadata"]["name"] == "kbatch-kbatch-proxy-config")
        .expect("config ConfigMap");
    let profiles: Value =
        serde_yaml::from_str(config["data"]["profiles.yaml"].as_str().expect("profiles"))
            .expect("YAML");
    assert_eq!(profiles["small"]["resources"]["requests"]["cpu"], "1");
    let manifests = config["data"]["namespace-manifests.yaml"]
        .as_str()
        .expect("manifests");
    assert!(manifests.contains("kind: ResourceQuota"), "{manifests}");
    assert!(config["data"]["job-template.yaml"]
        .as_str()
        .expect("tmpl")
        .contains("backoffLimit"));
    for (var, file) in [
        ("KBATCH_PROFILE_FILE", "profiles.yaml"),
        ("KBATCH_JOB_TEMPLATE_FILE", "job-template.yaml"),
        (
            "KBATCH_NAMESPACE_MANIFESTS_FILE",
            "namespace-manifests.yaml",
        ),
    ] {
        assert_eq!(r.env(var), Some(format!("/etc/kbatch-proxy/config/{file}")));
    }
    // Policies: every shipped file of policies/ plus the operator's, mounted as a directory
    // (no subPath, so the kubelet updates it and the proxy reloads).
    let policies = cms
        .iter()
        .find(|c| c["metadata"]["name"] == "kbatch-kbatch-proxy-policies")
        .expect("policies ConfigMap");
    let mut shipped: Vec<String> = std::fs::read_dir(repo_root().join("policies"))
        .expect("policies/")
        .map_while(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    shipped.push("extra.yaml".into());
    shipped.sort();
    let mut keys: Vec<String> = policies["data"]
        .as_object()
        .expect("data")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(keys, shipped);
    for k in &keys {
        if k != "extra.yaml" {
            let want = std::fs::read_to_string(repo_root().join("policies").join(k)).expect("read");
            assert_eq!(
                policies["data"][k],
                want.as_str(),
                "{k} differs from policies/{k}"
            );
        }
    }
    let mounts = r.container()["volumeMounts"]
        .as_array()
        .expect("mounts")
        .clone();
    let pm = mounts
        .iter()
        .find(|m| m["name"] == "policies")
        .expect("policies mount");
    assert!(pm.get("subPath").is_none());
    // A config change rolls the pods (checksum); a policy change does not need to.
    let annotations =
        |r: &Rendered| r.one("Deployment")["spec"]["template"]["metadata"]["annotations"].clone();
    let before = annotations(&r);
    let changed = render(json!({
        "profiles": {"small": {"resources": {"requests": {"cpu": "2"}}}},
        "jobTemplate": {"spec": {"backoffLimit": 0}},
        "namespaceManifests": [{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}}],
        "policies": {"files": {"extra.yaml": "# changed\n"}},
    }));
    assert_ne!(
        before["checksum/config"],
        annotations(&changed)["checksum/config"]
    );
    let only_policy = render(json!({
        "profiles": {"small": {"resources": {"requests": {"cpu": "1"}}}},
        "jobTemplate": {"spec": {"backoffLimit": 0}},
        "namespaceManifests": [{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}}],
        "policies": {"files": {"extra.yaml": "# changed\n"}},
    }));
    assert_eq!(before, annotations(&only_policy));
    // No policies ConfigMap: no variable, so the proxy enforces its built-in set.
    let r = render(json!({"policies": {"enabled": false}}));
    assert!(r.of_kind("ConfigMap").is_empty());
    assert_eq!(r.env("KBATCH_POLICIES_DIR"), None);
    // Policies off only when asked: `none`, no ConfigMap, no mount.
    let r = render(json!({"policies": {"off": true}}));
    assert!(r.of_kind("ConfigMap").is_empty());
    assert_eq!(r.env("KBATCH_POLICIES_DIR").as_deref(), Some("none"));
    let deployment = r.one("Deployment");
    let volumes = &deployment["spec"]["template"]["spec"]["volumes"];
    assert!(
        volumes
            .as_array()
            .is_none_or(|v| v.iter().all(|m| m["name"] != "policies")),
        "{volumes}"
    );
}

#[test]
fn tls_and_optional_objects() {
    let r = render(json!({
        "tls": {"enabled": true, "certManager": {"enabled": true, "issuerRef": {"kind": "ClusterIssuer", "name": "ca"}}},
        "kubeconfig": {"embedCa": true, "publicUrl": "https://hub.example.org/services/kbatch"},
        "serviceMonitor": {"enabled": true},
        "apiPriorityAndFairness": {"enabled": true, "extraSubjects": [{"kind": "Group", "group": {"name": "jupyterhub:users"}}]},
        "upstream": {"kubeconfigSecret": "remote"},
    }));
    let c = r.container();
    assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "https");
    assert_eq!(
        r.env("KBATCH_TLS_CERT").as_deref(),
        Some("/etc/kbatch-proxy/tls/tls.crt")
    );
    assert_eq!(
        r.env("KBATCH_TLS_KEY").as_deref(),
        Some("/etc/kbatch-proxy/tls/tls.key")
    );
    assert_eq!(
        r.env("KBATCH_PUBLIC_CA_FILE").as_deref(),
        Some("/etc/kbatch-proxy/tls/ca.crt")
    );
    assert_eq!(
        r.env("KBATCH_PUBLIC_URL").as_deref(),
        Some("https://hub.example.org/services/kbatch")
    );
    assert_eq!(
        r.env("KBATCH_KUBECONFIG").as_deref(),
        Some("/etc/kbatch-proxy/upstream/kubeconfig")
    );
    let pod = &r.one("Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(r.one("Service")["spec"]["ports"][0]["port"], 443);
    let cert = r.one("Certificate");
    assert_eq!(cert["spec"]["secretName"], "kbatch-kbatch-proxy-tls");
    assert!(cert["spec"]["dnsNames"]
        .as_array()
        .expect("names")
        .iter()
        .any(|n| n == "kbatch-kbatch-proxy.jhub.svc"));
    let tls_volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "tls")
        .expect("tls volume");
    assert_eq!(
        tls_volume["secret"]["secretName"],
        "kbatch-kbatch-proxy-tls"
    );
    assert_eq!(
        r.one("ServiceMonitor")["spec"]["endpoints"][0]["scheme"],
        "https"
    );
    let fs = r.one("FlowSchema");
    assert_eq!(fs["spec"]["distinguisherMethod"]["type"], "ByUser");
    assert_eq!(
        fs["spec"]["priorityLevelConfiguration"]["name"],
        r.one("PriorityLevelConfiguration")["metadata"]["name"]
    );
    let subjects = fs["spec"]["rules"][0]["subjects"]
        .as_array()
        .expect("subjects");
    assert_eq!(subjects[0]["serviceAccount"]["namespace"], "jhub");
    assert_eq!(subjects[1]["group"]["name"], "jupyterhub:users");
    assert_eq!(
        r.one("PriorityLevelConfiguration")["spec"]["type"],
        "Limited"
    );
    let e = render_error(json!({"kubeconfig": {"embedCa": true}}));
    assert!(e.contains("needs tls.enabled"), "{e}");
    let e = render_error(json!({"tls": {"enabled": true, "certManager": {"enabled": true}}}));
    assert!(e.contains("issuerRef"), "{e}");
}

/// Apply `objects` to the API with `kubectl apply --dry-run=server` in namespace `ns`.
fn dry_run_apply(c: &Cluster, ns: &str, objects: &[&Value]) -> String {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let path = c
        .dir
        .path()
        .join(format!("chart-{}.json", support::tools::unique_suffix()));
    std::fs::write(&path, list.to_string()).expect("write manifests");
    c.kubectl("1.33", Some(ns)).ok(&[
        "apply",
        "--dry-run=server",
        "--server-side",
        "--field-manager=helm",
        "-n",
        ns,
        "-f",
        &path.display().to_string(),
    ])
}

/// Kinds the API stand-in has always served.
const CORE_KINDS: &[&str] = &[
    "ConfigMap",
    "Deployment",
    "Secret",
    "Service",
    "ServiceAccount",
];

#[test]
fn rendered_workload_objects_apply_to_the_api() {
    let c = Cluster::start();
    let ns = Cluster::unique_name("chart");
    c.kubectl("1.33", None).ok(&["create", "namespace", &ns]);
    for values in [
        json!({"app": {"jupyterhub_api_token": TOKEN, "extraFiles": {"t": {"mountPath": "/t.yaml", "data": {"a": 1}}}}, "profiles": {"p": {}}}),
        json!({"upstreamIdentity": "impersonate", "tls": {"enabled": true, "existingSecret": "tls"}, "kubeconfig": {"embedCa": true}}),
    ] {
        let r = render_in(values, &ns);
        let objects: Vec<&Value> = r
            .objects
            .iter()
            .filter(|o| CORE_KINDS.iter().any(|k| o["kind"] == *k))
            .collect();
        let out = dry_run_apply(&c, &ns, &objects);
        for o in &objects {
            let kind = o["kind"].as_str().unwrap_or("").to_lowercase();
            let group = o["apiVersion"]
                .as_str()
                .and_then(|v| v.rsplit_once('/'))
                .map(|(g, _)| format!(".{g}"))
                .unwrap_or_default();
            let line = format!(
                "{kind}{group}/{} serverside-applied (server dry run)",
                o["metadata"]["name"].as_str().unwrap_or("")
            );
            assert!(out.lines().any(|l| l == line), "{line} missing in:\n{out}");
        }
    }
}

/// RBAC, PodDisruptionBudget and API Priority and Fairness objects: needs the stand-in to
/// serve rbac.authorization.k8s.io/v1, policy/v1 and flowcontrol.apiserver.k8s.io/v1.
#[test]
fn rendered_rbac_pdb_and_flowcontrol_objects_apply_to_the_api() {
    let c = Cluster::start();
    let ns = Cluster::unique_name("chartrbac");
    c.kubectl("1.33", None).ok(&["create", "namespace", &ns]);
    for mode in ["service-account", "impersonate"] {
        let r = render_in(
            json!({
                "upstreamIdentity": mode,
                "fullnameOverride": format!("{ns}-{mode}"),
                "apiPriorityAndFairness": {"enabled": true},
                "namespaceManifests": [{"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"}, "spec": {"hard": {"pods": "10"}}}],
            }),
            &ns,
        );
        let objects: Vec<&Value> = r
            .objects
            .iter()
            .filter(|o| !CORE_KINDS.iter().any(|k| o["kind"] == *k))
            .collect();
        let mut kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                "ClusterRole",
                "ClusterRoleBinding",
                "FlowSchema",
                "PodDisruptionBudget",
                "PriorityLevelConfiguration"
            ]
        );
        let out = dry_run_apply(&c, &ns, &objects);
        assert_eq!(out.lines().count(), objects.len(), "{out}");
        assert!(
            out.contains("clusterrole.rbac.authorization.k8s.io/"),
            "{out}"
        );
    }
}
