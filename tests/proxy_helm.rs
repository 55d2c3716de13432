//! Helm 4 through kbatch-proxy with the shipped policies: `install`, `upgrade`, `rollback` and
//! `uninstall` of a chart with a ConfigMap, a Service and a Deployment, with Helm's own Go SDK
//! (helm-python-sdk; Helm 4 applies with server-side apply), from a kubeconfig that names the
//! user's namespace and from one that names none (Helm then sends `default`, which the proxy
//! maps to the user's namespace, bodies included); a chart with a privileged container is
//! refused with the policy's message.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kube_standin::kubeconfig::{kubeconfig, Credential};
use serde_json::{json, Value};
use support::cluster::Cluster;
use support::hub::Hub;
use support::proxy::Proxy;

const CHART: &str = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: demo-web\nspec:\n  selector:\n    app: demo\n  ports:\n  - port: 80\n    targetPort: 8080\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo-web\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: demo\n  template:\n    metadata:\n      labels:\n        app: demo\n    spec:\n      containers:\n      - name: web\n        image: busybox\n        command: [\"sleep\", \"3600\"]\n        {{- if .Values.privileged }}\n        securityContext:\n          privileged: true\n        {{- end }}\n";

/// Write the chart into `dir`.
fn chart(dir: &Path) -> PathBuf {
    let root = dir.join(format!("chart-{}", support::tools::unique_suffix()));
    std::fs::create_dir_all(root.join("templates")).expect("chart dir");
    std::fs::write(root.join("Chart.yaml"), CHART).expect("Chart.yaml");
    std::fs::write(
        root.join("values.yaml"),
        "greeting: hello\nreplicas: 1\nprivileged: false\n",
    )
    .expect("values");
    for (name, text) in [
        ("configmap.yaml", CONFIGMAP),
        ("service.yaml", SERVICE),
        ("deployment.yaml", DEPLOYMENT),
    ] {
        std::fs::write(root.join("templates").join(name), text).expect("template");
    }
    root
}

/// Run `steps` with Helm: one JSON answer per step run.
fn helm(kubeconfig: &Path, namespace: Option<&str>, chart: &Path, steps: Value) -> Vec<Value> {
    let script = support::tools::repo_root().join("tests/python/helm_release.py");
    let out = Command::new(support::tools::venv_python())
        .arg(script)
        .arg(kubeconfig)
        .arg(namespace.unwrap_or("-"))
        .arg(chart)
        .arg(steps.to_string())
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(
        !answers.is_empty(),
        "helm printed nothing: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    answers
}

fn assert_ok(answers: &[Value], n: usize) {
    assert_eq!(answers.len(), n, "{answers:?}");
    for a in answers {
        assert_eq!(a["ok"], true, "{a}");
    }
}

fn get(agent: &ureq::Agent, c: &Cluster, path: &str) -> Option<Value> {
    let mut r = agent
        .get(format!("{}{path}", c.url))
        .header("Authorization", format!("Bearer {}", c.admin_token))
        .call()
        .expect("admin GET");
    match r.status().as_u16() {
        404 => None,
        200 => {
            Some(serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json"))
        }
        s => panic!("GET {path}: {s}"),
    }
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        m["manager"].as_str().unwrap_or("").to_owned(),
                        m["operation"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn release_cycle(with_namespace: bool) {
    let c = Cluster::start();
    let proxy = Proxy::start(&c, &Hub::shared().api_url(), &[]);
    let u = Hub::shared().kbatch_user(if with_namespace {
        "helm-ns"
    } else {
        "helm-nons"
    });
    let ns = u.namespace.as_str();
    let kc = c
        .dir
        .path()
        .join(format!("helm-{}.yaml", support::tools::unique_suffix()));
    std::fs::write(
        &kc,
        kubeconfig(
            &proxy.url,
            Some(&proxy.ca_pem),
            &Credential::Token(u.token.clone()),
            with_namespace.then_some(ns),
            "kbatch",
        ),
    )
    .expect("kubeconfig");
    let helm_ns = with_namespace.then_some(ns);
    let dir = chart(c.dir.path());
    let admin = support::envtest::tls_agent(&c.ca_pem).expect("admin agent");
    let cm_path = format!("/api/v1/namespaces/{ns}/configmaps/demo-settings");

    let answers = helm(
        &kc,
        helm_ns,
        &dir,
        json!([{"action": "install", "values": {"greeting": "hello"}}]),
    );
    assert_ok(&answers, 1);
    let cm = get(&admin, &c, &cm_path).expect("configmap installed");
    assert_eq!(cm["data"]["greeting"], "hello");
    assert_eq!(
        cm["metadata"]["labels"]["kbatch.jupyter.org/username"],
        u.name.as_str()
    );
    // Server-side apply stays an apply by Helm's field manager (the SDK names it after the
    // process), the username label included: no `Update` by anyone.
    let m = managers(&cm);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].1, "Apply", "{m:?}");
    assert!(
        cm["metadata"]["managedFields"][0]["fieldsV1"]
            .to_string()
            .contains("kbatch.jupyter.org/username"),
        "{cm}"
    );
    let svc = get(
        &admin,
        &c,
        &format!("/api/v1/namespaces/{ns}/services/demo-web"),
    )
    .expect("service installed");
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| !ip.is_empty()),
        "{svc}"
    );
    assert!(get(
        &admin,
        &c,
        &format!("/apis/apps/v1/namespaces/{ns}/deployments/demo-web")
    )
    .is_some());
    assert!(get(
        &admin,
        &c,
        "/api/v1/namespaces/default/configmaps/demo-settings"
    )
    .is_none());

    let answers = helm(
        &kc,
        helm_ns,
        &dir,
        json!([{"action": "upgrade", "values": {"greeting": "hi", "replicas": 2}}]),
    );
    assert_ok(&answers, 1);
    let cm = get(&admin, &c, &cm_path).unwrap_or_else(|| {
        panic!(
            "configmap upgraded: {answers:?}; configmaps now: {:?}; secrets: {:?}",
            get(&admin, &c, &format!("/api/v1/namespaces/{ns}/configmaps")),
            get(&admin, &c, &format!("/api/v1/namespaces/{ns}/secrets")).map(|l| l["items"]
                .as_array()
                .map(|a| a
                    .iter()
                    .map(|i| i["metadata"]["name"].clone())
                    .collect::<Vec<_>>()))
        )
    });
    assert_eq!(cm["data"]["greeting"], "hi");
    let dep = get(
        &admin,
        &c,
        &format!("/apis/apps/v1/namespaces/{ns}/deployments/demo-web"),
    )
    .expect("deployment");
    assert_eq!(dep["spec"]["replicas"], 2, "{dep}");

    let answers = helm(
        &kc,
        helm_ns,
        &dir,
        json!([{"action": "rollback", "version": 1}]),
    );
    assert_ok(&answers, 1);
    let cm = get(&admin, &c, &cm_path).expect("configmap rolled back");
    assert_eq!(cm["data"]["greeting"], "hello");

    // A privileged upgrade is refused with the policy's message, and changes nothing.
    let answers = helm(
        &kc,
        helm_ns,
        &dir,
        json!([{"action": "upgrade", "values": {"privileged": true}}]),
    );
    assert_eq!(answers[0]["ok"], false, "{answers:?}");
    let err = answers[0]["error"].as_str().unwrap_or("");
    assert!(
        err.contains("privileged containers are not allowed"),
        "{err}"
    );
    let dep = get(
        &admin,
        &c,
        &format!("/apis/apps/v1/namespaces/{ns}/deployments/demo-web"),
    )
    .expect("deployment");
    assert!(!dep.to_string().contains("\"privileged\":true"), "{dep}");

    let answers = helm(&kc, helm_ns, &dir, json!([{"action": "uninstall"}]));
    assert_ok(&answers, 1);
    assert!(get(&admin, &c, &cm_path).is_none(), "configmap uninstalled");
}

#[test]
fn helm_install_upgrade_rollback_uninstall_in_the_users_namespace() {
    release_cycle(true);
}

/// Namespace `default` is the user's own: the proxy moves the requests there and shows
/// `default` in the answers, so Helm's release bookkeeping (which compares the namespaces of
/// what it applied and what it got back) keeps the objects on `upgrade`.
#[test]
fn helm_with_a_kubeconfig_that_names_no_namespace() {
    release_cycle(false);
}

#[test]
fn a_chart_with_a_privileged_container_is_not_installed() {
    let c = Cluster::start();
    let proxy = Proxy::start(&c, &Hub::shared().api_url(), &[]);
    let u = Hub::shared().kbatch_user("helm-priv");
    let kc = proxy.user_kubeconfig(&c, &u.token, &u.namespace);
    let dir = chart(c.dir.path());
    let answers = helm(
        &kc,
        Some(&u.namespace),
        &dir,
        json!([{"action": "install", "values": {"privileged": true}}]),
    );
    assert_eq!(answers[0]["ok"], false, "{answers:?}");
    let err = answers[0]["error"].as_str().unwrap_or("");
    assert!(
        err.contains("privileged containers are not allowed"),
        "{err}"
    );
    let admin = support::envtest::tls_agent(&c.ca_pem).expect("admin agent");
    assert!(get(
        &admin,
        &c,
        &format!(
            "/apis/apps/v1/namespaces/{}/deployments/demo-web",
            u.namespace
        )
    )
    .is_none());
}
