//! Authentication and authorization of the API stand-in through real kubectl: bearer tokens
//! confined by rules, client certificates, anonymous access, bad tokens, and impersonation
//! (honoured, refused and recorded) — what later tests use to tell the proxy's credential from
//! a user's. These run on the stand-in only: a real control plane would need RBAC objects.

mod support;

use kube_standin::auth::{AccessRule, UserInfo};
use kube_standin::kubeconfig::Credential;
use kube_standin::server::StandInConfig;
use support::cluster::{Cluster, StandInHandle};

fn cluster() -> (Cluster, StandInHandle) {
    let cfg = StandInConfig {
        users: vec![(
            "alice-token".into(),
            UserInfo::authenticated("alice", &["devs".into()]),
        )],
        rules: vec![AccessRule::parse("alice=ns-a").expect("rule")],
        ..StandInConfig::default()
    };
    let (c, h) = Cluster::start_standin(cfg, &[("carol", Some("system:masters")), ("dave", None)]);
    let admin = c.kubectl("1.32", None);
    admin.ok(&["create", "namespace", "ns-a"]);
    admin.ok(&["create", "namespace", "ns-b"]);
    (c, h)
}

#[test]
fn bearer_token_users_are_confined_by_rules() {
    let (c, _) = cluster();
    let alice = c.kubectl_with(
        "1.32",
        c.kubeconfig_for("alice", &Credential::Token("alice-token".into()), None),
    );
    alice.ok(&["get", "pods", "-n", "ns-a"]);
    alice.ok(&[
        "create",
        "configmap",
        "mine",
        "-n",
        "ns-a",
        "--from-literal=a=b",
    ]);
    let err = alice.fails(&["get", "pods", "-n", "ns-b"]);
    assert!(
        err.contains(r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "ns-b""#),
        "{err}"
    );
    let err = alice.fails(&["get", "namespaces"]);
    assert!(
        err.contains(r#"cannot list resource "namespaces" in API group "" at the cluster scope"#),
        "{err}"
    );
    assert_eq!(
        alice
            .ok(&["auth", "can-i", "create", "jobs", "-n", "ns-a"])
            .trim(),
        "yes"
    );
    let out = alice.run_with_stdin(&["auth", "can-i", "create", "jobs", "-n", "ns-b"], None);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "no");
    let who: serde_json::Value =
        serde_json::from_str(&alice.ok(&["auth", "whoami", "-o", "json"])).expect("json");
    assert_eq!(who["status"]["userInfo"]["username"], "alice");
    assert_eq!(
        who["status"]["userInfo"]["groups"],
        serde_json::json!(["devs", "system:authenticated"])
    );
}

#[test]
fn bad_token_and_anonymous() {
    let (c, _) = cluster();
    let bad = c.kubectl_with(
        "1.32",
        c.kubeconfig_for("bad", &Credential::Token("nope".into()), None),
    );
    let err = bad.fails(&["get", "pods", "-n", "ns-a"]);
    assert!(err.contains("You must be logged in to the server"), "{err}");
    // kubectl prompts for a password when a kubeconfig has no credentials, so anonymous
    // requests go through a plain HTTPS client.
    let agent = support::envtest::tls_agent(&c.ca_pem).expect("agent");
    let version =
        support::tools::http_request(&agent, "GET", &format!("{}/version", c.url), None, None)
            .expect("GET /version");
    assert_eq!(
        version.status, 200,
        "anonymous /version must answer: {}",
        version.body
    );
    let denied = support::tools::http_request(
        &agent,
        "GET",
        &format!("{}/api/v1/namespaces", c.url),
        None,
        None,
    )
    .expect("GET namespaces");
    assert_eq!(denied.status, 403);
    assert!(
        denied.body.contains(r#"namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"#),
        "{}",
        denied.body
    );
}

#[test]
fn client_certificates_identify_users() {
    let (c, h) = cluster();
    let cred = |i: usize| Credential::ClientCert {
        cert_pem: h.certs[i].cert_pem.clone(),
        key_pem: h.certs[i].key_pem.clone(),
    };
    let carol = c.kubectl_with("1.32", c.kubeconfig_for("carol", &cred(0), None));
    let who: serde_json::Value =
        serde_json::from_str(&carol.ok(&["auth", "whoami", "-o", "json"])).expect("json");
    assert_eq!(who["status"]["userInfo"]["username"], "carol");
    assert_eq!(
        who["status"]["userInfo"]["groups"],
        serde_json::json!(["system:masters", "system:authenticated"])
    );
    carol.ok(&["create", "namespace", "carols"]);
    let dave = c.kubectl_with("1.32", c.kubeconfig_for("dave", &cred(1), None));
    let err = dave.fails(&["get", "pods", "-n", "ns-a"]);
    assert!(
        err.contains(r#"User "dave" cannot list resource "pods""#),
        "{err}"
    );
}

#[test]
fn impersonation_is_honoured_refused_and_recorded() {
    let (c, h) = cluster();
    let admin = c.kubectl("1.32", None);
    admin.ok(&["get", "pods", "-n", "ns-a", "--as=alice", "--as-group=devs"]);
    let err = admin.fails(&["get", "pods", "-n", "ns-b", "--as=alice"]);
    assert!(
        err.contains(r#"User "alice" cannot list resource "pods""#),
        "{err}"
    );
    let who: serde_json::Value = serde_json::from_str(&admin.ok(&[
        "auth",
        "whoami",
        "-o",
        "json",
        "--as=jane",
        "--as-group=dev",
        "--as-group=qa",
    ]))
    .expect("json");
    assert_eq!(who["status"]["userInfo"]["username"], "jane");
    assert_eq!(
        who["status"]["userInfo"]["groups"],
        serde_json::json!(["dev", "qa", "system:authenticated"])
    );
    let entry = h
        .state
        .audit()
        .into_iter()
        .find(|e| e.user.name == "alice" && e.uri.contains("/namespaces/ns-a/pods"))
        .expect("the impersonated request is in the audit log");
    assert_eq!(
        entry.impersonated_by.map(|u| u.name),
        Some("admin".to_string())
    );
    assert!(entry
        .headers
        .iter()
        .all(|(k, v)| k != "authorization" || v == "<redacted>"));
    let alice = c.kubectl_with(
        "1.32",
        c.kubeconfig_for("alice", &Credential::Token("alice-token".into()), None),
    );
    let err = alice.fails(&["get", "pods", "-n", "ns-a", "--as=bob"]);
    assert!(
        err.contains(r#"users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope"#),
        "{err}"
    );
}
