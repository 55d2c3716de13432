//! Upstream identity and namespace provisioning end to end: a fresh hub user's first request
//! creates their namespace (labels, annotation, Pod Security labels, the operator's manifests),
//! concurrent first requests are safe, and in `impersonate` mode the API server sees the hub user.

mod support;

use kbatch_proxy::identity::{namespace_for, username_label};
use kube_standin::auth::AccessRule;
use kube_standin::server::StandInConfig;
use serde_json::Value;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::proxy::Proxy;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// `POST /api/v1/namespaces` (the audit log has absolute URIs over HTTP/2).
fn is_namespace_create(method: &str, uri: &str) -> bool {
    let path = uri.parse::<http::Uri>().map(|u| u.path().to_string());
    method == "POST" && path.is_ok_and(|p| p == "/api/v1/namespaces")
}

#[test]
fn first_request_provisions_the_namespace_once() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let manifests = c.dir.path().join("manifests.yaml");
    std::fs::write(
        &manifests,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kbatch-settings\ndata:\n  quota: small\n---\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n",
    )
    .expect("write manifests");
    let proxy = Proxy::start(
        &c,
        &hub.api_url(),
        &[
            "--namespace-manifests-file",
            manifests.to_str().expect("utf-8 path"),
        ],
    );
    let name = hub.new_user("prov.user", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let ns = namespace_for(&name);
    // Ten concurrent first requests: all succeed, one namespace create reaches the API server.
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let k = proxy.kubectl(&c, "1.33", &token, &ns);
            std::thread::spawn(move || k.ok(&["get", "configmaps", "-o", "name"]))
        })
        .collect();
    for t in threads {
        let out = t.join().expect("thread");
        assert!(out.contains("configmap/kbatch-settings"), "{out}");
    }
    let creates = handle
        .state
        .audit()
        .iter()
        .filter(|e| is_namespace_create(&e.method, &e.uri))
        .count();
    assert_eq!(creates, 1, "one namespace create for ten first requests");
    let admin = c.kubectl("1.33", None);
    let obj = json(&admin.ok(&["get", "namespace", &ns, "-o", "json"]));
    let labels = &obj["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/managed-by"], "kbatch");
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert_eq!(
        labels["kbatch.jupyter.org/username"].as_str(),
        Some(username_label(&name).as_str())
    );
    assert_eq!(
        obj["metadata"]["annotations"]["kbatch.jupyter.org/username"].as_str(),
        Some(name.as_str())
    );
    let cm = json(&admin.ok(&[
        "get",
        "configmap",
        "kbatch-settings",
        "-n",
        &ns,
        "-o",
        "json",
        "--show-managed-fields",
    ]));
    assert_eq!(cm["data"]["quota"], "small");
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kbatch"
    );
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["kbatch-proxy"], "applied server-side");
    admin.ok(&["get", "serviceaccount", "runner", "-n", &ns]);
    // Remembered: more requests do not touch the namespace again.
    let before = handle.state.audit().len();
    proxy.kubectl(&c, "1.33", &token, &ns).ok(&["get", "pods"]);
    let after: Vec<_> = handle.state.audit().into_iter().skip(before).collect();
    assert!(
        !after.iter().any(|e| is_namespace_create(&e.method, &e.uri)),
        "{:?}",
        after.iter().map(|e| &e.uri).collect::<Vec<_>>()
    );
}

#[test]
fn provisioning_can_be_turned_off() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--create-user-namespace", "false"]);
    let name = hub.new_user("noprov", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let ns = namespace_for(&name);
    let k = proxy.kubectl(&c, "1.33", &token, &ns);
    let err = k.fails(&["create", "configmap", "x", "--from-literal=a=b"]);
    assert!(err.contains("not found") && err.contains(&ns), "{err}");
}

#[test]
fn impersonation_makes_the_api_server_see_the_hub_user() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(
        &c,
        &hub.api_url(),
        &[
            "--upstream-identity",
            "impersonate",
            "--user-cluster-role",
            "",
        ],
    );
    let alice = hub.new_user("imp-alice", &[KBATCH_USERS_GROUP]);
    let bob = hub.new_user("imp-bob", &[KBATCH_USERS_GROUP]);
    // Only alice gets rights in the API server; the proxy's own credential could do anything.
    handle.state.authz.write().expect("authz lock").add_rule(
        AccessRule::parse(&format!("jupyterhub:{alice}={}", namespace_for(&alice))).expect("rule"),
    );
    let ka = proxy.kubectl(
        &c,
        "1.33",
        &hub.token_for(&alice, None),
        &namespace_for(&alice),
    );
    ka.ok(&["create", "configmap", "mine", "--from-literal=a=b"]);
    let entry = handle
        .state
        .audit()
        .into_iter()
        .rev()
        .find(|e| e.method == "POST" && e.uri.contains("/configmaps"))
        .expect("the create reached the API server");
    assert_eq!(entry.user.name, format!("jupyterhub:{alice}"));
    assert!(
        entry
            .user
            .groups
            .iter()
            .any(|g| g == "system:authenticated")
            && entry
                .user
                .groups
                .iter()
                .any(|g| g == &format!("jupyterhub:{KBATCH_USERS_GROUP}")),
        "{:?}",
        entry.user.groups
    );
    assert!(entry.impersonated_by.is_some());
    // Bob has no RBAC upstream: the API server refuses him even in his own namespace.
    let kb = proxy.kubectl(&c, "1.33", &hub.token_for(&bob, None), &namespace_for(&bob));
    let err = kb.fails(&["get", "configmaps"]);
    assert!(
        err.contains("Forbidden") && err.contains(&format!("jupyterhub:{bob}")),
        "{err}"
    );
    // Client-sent impersonation is stripped: alice stays alice.
    let out = ka.ok(&["get", "configmaps", "--as", &format!("jupyterhub:{bob}")]);
    assert!(out.contains("mine"), "{out}");
}

#[test]
fn impersonated_users_get_their_rights_from_the_provisioned_role_binding() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--upstream-identity", "impersonate"]);
    let name = hub.new_user("rb-user", &[KBATCH_USERS_GROUP]);
    let ns = namespace_for(&name);
    let k = proxy.kubectl(&c, "1.33", &hub.token_for(&name, None), &ns);
    // No static rule: only the RoleBinding the proxy made lets the user work.
    k.ok(&["create", "configmap", "via-rbac", "--from-literal=a=b"]);
    k.ok(&[
        "run",
        "p",
        "--image=busybox",
        "--restart=Never",
        "--",
        "true",
    ]);
    let admin = c.kubectl("1.33", None);
    let rb = json(&admin.ok(&["get", "rolebinding", "kbatch-user", "-n", &ns, "-o", "json"]));
    assert_eq!(rb["roleRef"]["kind"], "ClusterRole");
    assert_eq!(rb["roleRef"]["name"], "edit");
    assert_eq!(rb["subjects"][0]["kind"], "User");
    assert_eq!(
        rb["subjects"][0]["name"].as_str(),
        Some(format!("jupyterhub:{name}").as_str())
    );
    // The API server saw the impersonated user for the user's requests.
    assert!(handle
        .state
        .audit()
        .iter()
        .any(|e| e.user.name == format!("jupyterhub:{name}") && e.uri.contains("/configmaps")));
    // `get ns` works although RBAC cannot grant a list of one namespace (sent as the proxy).
    let listed = k.ok(&["get", "namespaces", "-o", "name"]);
    assert_eq!(listed.trim(), format!("namespace/{ns}"));
    // whoami tells the identity the API server sees.
    let whoami = k.ok(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(whoami, format!("jupyterhub:{name}"));
    // Writing RBAC objects stays refused (read-only for users; `edit` cannot either).
    let err = k.fails(&[
        "create",
        "rolebinding",
        "x",
        "--clusterrole=admin",
        "--user=me",
    ]);
    assert!(
        err.contains("Forbidden") || err.contains("forbidden"),
        "{err}"
    );
}
