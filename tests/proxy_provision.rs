//! Provisioning meets namespaces that already exist: a hub user gets one only when its
//! `kbatch.jupyter.org/username` annotation names them exactly; one annotated for someone else
//! is refused and left untouched, one without the annotation is adopted only under
//! `--adopt-existing-namespaces`, and the user's own namespace gets its kbatch and Pod Security
//! labels back.

mod support;

use kbatch_proxy::identity::username_label;
use kube_standin::server::StandInConfig;
use serde_json::{json, Value};
use support::cluster::{Cluster, Kubectl};
use support::hub::Hub;
use support::proxy::Proxy;

const USERNAME_KEY: &str = "kbatch.jupyter.org/username";
const NOT_YOURS: &str = "already exists and is not the namespace of hub user";

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// Create namespace `name` as the cluster admin with these labels and annotations.
fn make_namespace(admin: &Kubectl, name: &str, labels: Value, annotations: Value) {
    let obj = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
    });
    let out = admin.run_with_stdin(&["create", "-f", "-"], Some(&obj.to_string()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn namespace(admin: &Kubectl, name: &str) -> Value {
    json(&admin.ok(&["get", "namespace", name, "-o", "json"]))
}

/// Writes (anything but GET) that reached the API server for namespace `ns` or inside it,
/// besides the create attempt `POST /api/v1/namespaces`.
fn writes_to(entries: &[kube_standin::server::AuditEntry], ns: &str) -> Vec<String> {
    let own = format!("/api/v1/namespaces/{ns}");
    let inside = format!("/namespaces/{ns}/");
    entries
        .iter()
        .filter(|e| e.method != "GET")
        .filter_map(|e| {
            let path = e.uri.parse::<http::Uri>().ok()?.path().to_string();
            (path == own || path.contains(&inside)).then(|| format!("{} {}", e.method, e.uri))
        })
        .collect()
}

#[test]
fn a_namespace_annotated_for_another_user_is_refused_and_left_alone() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    // Adoption does not hand over a namespace that names someone else.
    let proxy = Proxy::start(&c, &hub.api_url(), &["--adopt-existing-namespaces"]);
    let user = hub.kbatch_user("prov-taken");
    let admin = c.kubectl("1.33", None);
    make_namespace(
        &admin,
        &user.namespace,
        json!({"pod-security.kubernetes.io/enforce": "privileged"}),
        json!({USERNAME_KEY: "someone-else"}),
    );
    let before_obj = namespace(&admin, &user.namespace);
    let before = handle.state.audit().len();
    let k = proxy.kubectl(&c, "1.33", &user.token, &user.namespace);
    for args in [
        &["create", "configmap", "x", "--from-literal=a=b"][..],
        &["get", "pods"][..],
    ] {
        let err = k.fails(args);
        assert!(err.contains(NOT_YOURS), "{err}");
        // `kubectl create configmap` prints only the message; `get` prints the reason too.
        if args[0] == "get" {
            assert!(err.contains("Error from server (Forbidden)"), "{err}");
        }
        assert!(
            err.contains(&format!(
                "kubectl annotate --overwrite namespace {} {USERNAME_KEY}={}",
                user.namespace, user.name
            )),
            "{err}"
        );
        assert!(
            !err.contains("someone-else"),
            "the owner is not told: {err}"
        );
    }
    let after: Vec<_> = handle.state.audit().into_iter().skip(before).collect();
    assert_eq!(
        writes_to(&after, &user.namespace),
        Vec::<String>::new(),
        "nothing written to or in the namespace"
    );
    assert_eq!(namespace(&admin, &user.namespace), before_obj, "unchanged");
    let cms = admin.ok(&["get", "configmaps", "-n", &user.namespace, "-o", "name"]);
    assert!(!cms.contains("configmap/x"), "{cms}");
    // Manual adoption: the operator annotates it for the user. The refusal was not
    // remembered, so the next request works, and the proxy's labels are put on it.
    admin.ok(&[
        "annotate",
        "--overwrite",
        "namespace",
        &user.namespace,
        &format!("{USERNAME_KEY}={}", user.name),
    ]);
    k.ok(&["create", "configmap", "x", "--from-literal=a=b"]);
    let labels = &namespace(&admin, &user.namespace)["metadata"]["labels"];
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kbatch");
}

#[test]
fn an_unannotated_namespace_is_refused_unless_adoption_is_on() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let strict = Proxy::start(&c, &hub.api_url(), &[]);
    let adopting = Proxy::start(&c, &hub.api_url(), &["--adopt-existing-namespaces"]);
    let user = hub.kbatch_user("prov-legacy");
    let admin = c.kubectl("1.33", None);
    // As the Python kbatch-proxy 0.5 left it: kbatch labels, no annotation.
    make_namespace(
        &admin,
        &user.namespace,
        json!({"app.kubernetes.io/managed-by": "kbatch"}),
        json!({}),
    );
    let before_obj = namespace(&admin, &user.namespace);
    let before = handle.state.audit().len();
    let err = strict
        .kubectl(&c, "1.33", &user.token, &user.namespace)
        .fails(&["get", "configmaps"]);
    assert!(
        err.contains("Error from server (Forbidden)")
            && err.contains(NOT_YOURS)
            && err.contains("has no kbatch.jupyter.org/username annotation")
            && err.contains("--adopt-existing-namespaces"),
        "{err}"
    );
    let after: Vec<_> = handle.state.audit().into_iter().skip(before).collect();
    assert_eq!(writes_to(&after, &user.namespace), Vec::<String>::new());
    assert_eq!(namespace(&admin, &user.namespace), before_obj, "unchanged");
    // The adopting proxy annotates and labels it for the user, then serves the request.
    adopting
        .kubectl(&c, "1.33", &user.token, &user.namespace)
        .ok(&["create", "configmap", "adopted", "--from-literal=a=b"]);
    let obj = namespace(&admin, &user.namespace);
    assert_eq!(
        obj["metadata"]["annotations"][USERNAME_KEY].as_str(),
        Some(user.name.as_str())
    );
    let labels = &obj["metadata"]["labels"];
    assert_eq!(
        labels[USERNAME_KEY].as_str(),
        Some(username_label(&user.name).as_str())
    );
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    // Adopted, it is the user's for the strict proxy too (its refusal was not remembered).
    let out = strict
        .kubectl(&c, "1.33", &user.token, &user.namespace)
        .ok(&["get", "configmaps", "-o", "name"]);
    assert!(out.contains("configmap/adopted"), "{out}");
}

#[test]
fn an_existing_namespace_of_the_user_gets_the_configured_pod_security_level() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--namespace-psa-level", "restricted"]);
    let user = hub.kbatch_user("prov-relabel");
    let admin = c.kubectl("1.33", None);
    make_namespace(
        &admin,
        &user.namespace,
        json!({
            "pod-security.kubernetes.io/enforce": "privileged",
            "pod-security.kubernetes.io/warn": "privileged",
            "team": "data",
        }),
        json!({USERNAME_KEY: user.name, "note": "kept"}),
    );
    proxy
        .kubectl(&c, "1.33", &user.token, &user.namespace)
        .ok(&["get", "pods"]);
    let obj = namespace(&admin, &user.namespace);
    let labels = &obj["metadata"]["labels"];
    for mode in ["enforce", "warn", "audit"] {
        assert_eq!(
            labels[format!("pod-security.kubernetes.io/{mode}")],
            "restricted",
            "{mode}: {labels}"
        );
    }
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kbatch");
    assert_eq!(labels["team"], "data", "other labels are kept");
    assert_eq!(obj["metadata"]["annotations"]["note"], "kept");
    let patches: Vec<_> = handle
        .state
        .audit()
        .into_iter()
        .filter(|e| e.method == "PATCH" && e.uri.contains(&user.namespace))
        .collect();
    assert_eq!(patches.len(), 1, "one merge patch");
    assert!(patches[0].uri.contains("fieldManager=kbatch-proxy"));
    assert!(patches[0].headers.iter().any(
        |(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/merge-patch+json"
    ));
}

#[test]
fn without_namespace_creation_only_the_users_own_namespaces_are_used() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let off = ["--create-user-namespace", "false"];
    let strict = Proxy::start(&c, &hub.api_url(), &off);
    let adopting = Proxy::start(
        &c,
        &hub.api_url(),
        &[
            "--create-user-namespace",
            "false",
            "--adopt-existing-namespaces",
        ],
    );
    let admin = c.kubectl("1.33", None);
    let mine = hub.kbatch_user("noprov-mine");
    let other = hub.kbatch_user("noprov-other");
    let bare = hub.kbatch_user("noprov-bare");
    make_namespace(
        &admin,
        &mine.namespace,
        json!({}),
        json!({USERNAME_KEY: mine.name}),
    );
    make_namespace(
        &admin,
        &other.namespace,
        json!({}),
        json!({USERNAME_KEY: "x"}),
    );
    make_namespace(&admin, &bare.namespace, json!({}), json!({}));
    let before = handle.state.audit().len();
    let run = |p: &Proxy, u: &support::hub::HubUser| {
        p.kubectl(&c, "1.33", &u.token, &u.namespace)
            .run_with_stdin(&["create", "configmap", "c", "--from-literal=a=b"], None)
    };
    assert!(run(&strict, &mine).status.success());
    for (p, u) in [(&strict, &other), (&adopting, &other), (&strict, &bare)] {
        let out = run(p, u);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(NOT_YOURS), "{err}");
    }
    // Adoption without creation uses the namespace but writes nothing to it.
    assert!(run(&adopting, &bare).status.success());
    let obj = namespace(&admin, &bare.namespace);
    assert!(obj["metadata"]["annotations"].get(USERNAME_KEY).is_none());
    let after: Vec<_> = handle.state.audit().into_iter().skip(before).collect();
    let writes: Vec<_> = after
        .iter()
        .filter(|e| {
            e.method == "PATCH" || (e.method == "POST" && e.uri.ends_with("/api/v1/namespaces"))
        })
        .map(|e| format!("{} {}", e.method, e.uri))
        .collect();
    assert_eq!(writes, Vec::<String>::new(), "the proxy provisions nothing");
}

/// POST `body` to the proxy's kbatch API at `path` with curl: (status, body).
fn kbatch_post(proxy: &Proxy, c: &Cluster, token: &str, path: &str, body: &str) -> (u16, String) {
    let ca = c.dir.path().join("proxy-ca-kbatch.pem");
    std::fs::write(&ca, &proxy.ca_pem).expect("ca");
    let out = std::process::Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&ca)
        .args(["-w", "\n%{http_code}", "-X", "POST"])
        .args(["-H", &format!("Authorization: token {token}")])
        .args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ])
        .arg(format!("{}{path}", proxy.url))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

/// Issue "Patches and server-side apply through the policies keep their meaning on a real API
/// server": a user namespace deleted by an operator while the proxy remembered it as
/// provisioned is provisioned again on the user's next request, which succeeds on the first
/// try (kbatch job submit, kubectl create through the raw API, server-side apply).
#[test]
fn a_namespace_deleted_out_of_band_is_provisioned_again() {
    let (c, _handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let user = hub.kbatch_user("prov-gone");
    let admin = c.kubectl("1.33", None);
    let k = proxy.kubectl(&c, "1.33", &user.token, &user.namespace);
    k.ok(&["create", "configmap", "first", "--from-literal=a=b"]);
    let delete = || {
        admin.ok(&["delete", "namespace", &user.namespace, "--wait=true"]);
        let out = admin.run_with_stdin(&["get", "namespace", &user.namespace], None);
        assert!(!out.status.success(), "the namespace is gone");
    };

    // (b) kubectl create through the raw API (a body the proxy holds): first try.
    delete();
    k.ok(&["create", "configmap", "second", "--from-literal=a=b"]);
    let ns = namespace(&admin, &user.namespace);
    assert_eq!(
        ns["metadata"]["annotations"][USERNAME_KEY],
        user.name.as_str()
    );
    let cms = admin.ok(&["get", "configmaps", "-n", &user.namespace, "-o", "name"]);
    assert!(cms.contains("configmap/second"), "{cms}");
    assert!(k
        .ok(&["get", "configmap", "second", "-o", "name"])
        .contains("second"));

    // Server-side apply (the patch flow's dry run meets the missing namespace): first try.
    delete();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "applied"}, "data": {"a": "b"}});
    let out = k.run_with_stdin(
        &["apply", "--server-side", "-f", "-"],
        Some(&cm.to_string()),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    namespace(&admin, &user.namespace);

    // (a) kbatch job submit: the proxy's own calls are retried after provisioning again.
    delete();
    let job = r#"{"job": {"metadata": {"name": "after-delete"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "alpine", "command": ["true"]}]}}}}}"#;
    let (status, body) = kbatch_post(&proxy, &c, &user.token, "/jobs/", job);
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("not found"), "{body}");
    let ns = namespace(&admin, &user.namespace);
    assert_eq!(ns["metadata"]["name"], user.namespace.as_str());
    let jobs = admin.ok(&["get", "jobs", "-n", &user.namespace, "-o", "name"]);
    assert!(jobs.contains("after-delete"), "{jobs}");
}
