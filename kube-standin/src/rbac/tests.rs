//! Tests of RBAC matching, escalation checks and messages, and the bootstrap policy.

use std::sync::Arc;

use serde_json::{json, Value};

use super::*;
use crate::auth::Authz;
use crate::store::Write;

fn attrs<'a>(
    verb: &'a str,
    group: &'a str,
    resource: &'a str,
    sub: &'a str,
    ns: Option<&'a str>,
    name: Option<&'a str>,
) -> Attributes<'a> {
    Attributes {
        verb,
        group,
        resource,
        subresource: sub,
        namespace: ns,
        name,
    }
}

fn rule(v: Value) -> PolicyRule {
    PolicyRule::from_json(&v)
}

#[test]
fn rule_matching_follows_rule_allows() {
    let pods_log = rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}));
    let any_scale = rule(json!({"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*/scale"]}));
    let named = rule(
        json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"]}),
    );
    let all = rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
    let cases = [
        (
            &pods_log,
            attrs("get", "", "pods", "log", Some("a"), Some("p")),
            true,
        ),
        (
            &pods_log,
            attrs("get", "", "pods", "", Some("a"), Some("p")),
            false,
        ),
        (
            &pods_log,
            attrs("list", "", "pods", "log", Some("a"), None),
            false,
        ),
        (
            &any_scale,
            attrs("update", "apps", "deployments", "scale", None, None),
            true,
        ),
        (
            &any_scale,
            attrs("update", "", "deployments", "scale", None, None),
            false,
        ),
        (
            &any_scale,
            attrs("update", "apps", "deployments", "", None, None),
            false,
        ),
        (
            &named,
            attrs("get", "", "configmaps", "", Some("a"), Some("cfg")),
            true,
        ),
        (
            &named,
            attrs("get", "", "configmaps", "", Some("a"), Some("other")),
            false,
        ),
        (
            &named,
            attrs("get", "", "configmaps", "", Some("a"), None),
            false,
        ),
        (
            &all,
            attrs(
                "escalate",
                "rbac.authorization.k8s.io",
                "roles",
                "",
                None,
                None,
            ),
            true,
        ),
    ];
    for (i, (r, a, want)) in cases.iter().enumerate() {
        assert_eq!(r.allows(a), *want, "case {i}");
    }
    let health = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/api/*"]}));
    assert!(health.allows_path("get", "/healthz"));
    assert!(health.allows_path("get", "/api/v1"));
    assert!(!health.allows_path("post", "/healthz"));
    assert!(!health.allows_path("get", "/metrics"));
}

#[test]
fn compact_strings_and_escalation_message_match_kube() {
    let r = rule(json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}));
    assert_eq!(
        r.compact_string(),
        r#"{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}"#
    );
    let url = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}));
    assert_eq!(
        url.compact_string(),
        r#"{NonResourceURLs:["/metrics"], Verbs:["get"]}"#
    );
    let user = UserInfo::authenticated("alice", &["dev".into()]);
    let missing: Vec<PolicyRule> = [r, url].iter().flat_map(breakdown).collect();
    assert_eq!(missing.len(), 3);
    assert_eq!(
        escalation_message(&user, missing),
        "user \"alice\" (groups=[\"dev\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"get\" \"list\"]}\n{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}"
    );
}

#[test]
fn subjects_apply_like_applies_to_user() {
    let sa = UserInfo::authenticated("system:serviceaccount:ns-a:bot", &[]);
    let alice = UserInfo::authenticated("alice", &["dev".into()]);
    let cases = [
        (json!({"kind": "User", "name": "alice"}), &alice, "", true),
        (json!({"kind": "User", "name": "bob"}), &alice, "", false),
        (json!({"kind": "Group", "name": "dev"}), &alice, "", true),
        (
            json!({"kind": "Group", "name": "system:authenticated"}),
            &alice,
            "",
            true,
        ),
        (
            json!({"kind": "ServiceAccount", "name": "bot"}),
            &sa,
            "ns-a",
            true,
        ),
        (
            json!({"kind": "ServiceAccount", "name": "bot"}),
            &sa,
            "",
            false,
        ),
        (
            json!({"kind": "ServiceAccount", "name": "bot", "namespace": "ns-a"}),
            &sa,
            "",
            true,
        ),
        (
            json!({"kind": "ServiceAccount", "name": "bot", "namespace": "ns-b"}),
            &sa,
            "ns-a",
            false,
        ),
    ];
    for (i, (s, u, ns, want)) in cases.iter().enumerate() {
        assert_eq!(subject_applies(s, u, ns), *want, "case {i}");
    }
}

fn cluster() -> (Authz, Arc<Store>) {
    let store = Arc::new(Store::new());
    seed(&store);
    let mut authz = Authz::default();
    authz.set_store(store.clone());
    (authz, store)
}

fn bind(store: &Store, ns: &str, name: &str, role_kind: &str, role: &str, subject: Value) {
    let (plural, ns) = if ns.is_empty() {
        ("clusterrolebindings", "")
    } else {
        ("rolebindings", ns)
    };
    let obj = json!({"metadata": {"name": name, "namespace": ns},
        "roleRef": {"apiGroup": GROUP, "kind": role_kind, "name": role}, "subjects": [subject]});
    store
        .write(res(plural), ns, name, Write::Create(obj), None)
        .expect("binding stored");
}

#[test]
fn bootstrap_roles_are_aggregated_as_kube_does() {
    let objs = bootstrap_objects();
    let get = |n: &str| {
        objs.iter()
            .find(|o| o["metadata"]["name"] == n && o["kind"] == "ClusterRole")
            .map(rules_of)
            .expect("role")
    };
    let (view, edit, admin) = (get("view"), get("edit"), get("admin"));
    // edit = aggregate-to-edit then view; admin = edit then aggregate-to-admin.
    assert_eq!(edit[..13], get("system:aggregate-to-edit")[..]);
    assert_eq!(edit[13..], view[..]);
    assert_eq!(admin[..edit.len()], edit[..]);
    assert_eq!(admin.len(), edit.len() + 2);
    assert!(edit
        .iter()
        .any(|r| r.allows(&attrs("create", "", "pods", "", Some("x"), None))));
    assert!(view
        .iter()
        .any(|r| r.allows(&attrs("get", "", "pods", "log", Some("x"), None))));
    assert!(!view
        .iter()
        .any(|r| r.allows(&attrs("get", "", "secrets", "", Some("x"), None))));
    let binding = objs
        .iter()
        .find(|o| o["metadata"]["name"] == "cluster-admin" && o["kind"] == "ClusterRoleBinding")
        .expect("binding");
    assert_eq!(binding["subjects"][0]["name"], "system:masters");
}

#[test]
fn bindings_grant_in_their_namespace_only() {
    let (authz, store) = cluster();
    let alice = UserInfo::authenticated("alice", &[]);
    bind(
        &store,
        "ns-a",
        "alice-edit",
        "ClusterRole",
        "edit",
        json!({"kind": "User", "apiGroup": GROUP, "name": "alice"}),
    );
    assert!(authz.allowed(&alice, &attrs("create", "", "pods", "", Some("ns-a"), None)));
    assert!(!authz.allowed(&alice, &attrs("create", "", "pods", "", Some("ns-b"), None)));
    assert!(!authz.allowed(&alice, &attrs("list", "", "pods", "", None, None)));
    assert_eq!(
        authz.decide(&alice, &attrs("get", "", "pods", "log", Some("ns-a"), Some("p"))),
        Some("RBAC: allowed by RoleBinding \"alice-edit/ns-a\" of ClusterRole \"edit\" to User \"alice\"".into())
    );
    // Bootstrap bindings: every authenticated user may review itself and read discovery.
    assert!(authz.allowed(
        &alice,
        &attrs(
            "create",
            "authorization.k8s.io",
            "selfsubjectrulesreviews",
            "",
            None,
            None
        )
    ));
    assert!(authz.allowed_path_verb(&alice, "get", "/apis/apps"));
    assert!(!authz.allowed_path_verb(&alice, "get", "/metrics"));
    let (rules, urls) = authz.rules_for(&alice, "ns-a");
    assert!(rules.iter().any(|r| r["resources"]
        == json!([
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy"
        ])));
    assert!(urls.iter().any(|r| r["nonResourceURLs"][0] == "/api"));
    let (rules_b, _) = authz.rules_for(&alice, "ns-b");
    assert!(rules_b.len() < rules.len());
}

#[test]
fn escalation_is_refused_unless_held_or_bind() {
    let (authz, store) = cluster();
    let alice = UserInfo::authenticated("alice", &[]);
    let rbs = res("rolebindings");
    let rb = |role: &str| {
        json!({"metadata": {"name": "rb", "namespace": "ns-a"},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "User", "apiGroup": GROUP, "name": "bob"}]})
    };
    // Nothing held: binding view is an escalation.
    let e = check_escalation(&authz, &alice, rbs, "ns-a", &rb("view"), None).expect_err("refused");
    assert_eq!(e.code, 403);
    // Missing rules are compacted per resource and sorted as strings.
    assert!(e.message.starts_with("rolebindings.rbac.authorization.k8s.io \"rb\" is forbidden: user \"alice\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"bindings\"], Verbs:[\"get\" \"list\" \"watch\"]}\n{APIGroups:[\"\"], Resources:[\"configmaps\"], Verbs:[\"get\" \"list\" \"watch\"]}\n"), "{}", e.message);
    // Holding admin in ns-a covers edit and view there, not admin elsewhere.
    bind(
        &store,
        "ns-a",
        "alice-admin",
        "ClusterRole",
        "admin",
        json!({"kind": "User", "apiGroup": GROUP, "name": "alice"}),
    );
    check_escalation(&authz, &alice, rbs, "ns-a", &rb("edit"), None).expect("held");
    check_escalation(&authz, &alice, rbs, "ns-a", &rb("admin"), None).expect("held");
    let crbs = res("clusterrolebindings");
    let crb = json!({"metadata": {"name": "c"}, "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": "view"}, "subjects": []});
    assert!(check_escalation(&authz, &alice, crbs, "", &crb, None).is_err());
    // A missing role is a 404 for the role.
    let e = check_escalation(&authz, &alice, rbs, "ns-b", &json!({"metadata": {"name": "x"}, "roleRef": {"apiGroup": GROUP, "kind": "Role", "name": "nope"}}), None).expect_err("404");
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "roles.rbac.authorization.k8s.io \"nope\" not found")
    );
    // `bind` on the role is enough.
    let bob = UserInfo::authenticated("bob", &[]);
    let binder = json!({"metadata": {"name": "binder"}, "rules": [{"apiGroups": [GROUP], "resources": ["clusterroles"], "verbs": ["bind"], "resourceNames": ["view"]}]});
    store
        .write(
            res("clusterroles"),
            "",
            "binder",
            Write::Create(binder),
            None,
        )
        .expect("role");
    bind(
        &store,
        "",
        "bob-binder",
        "ClusterRole",
        "binder",
        json!({"kind": "User", "apiGroup": GROUP, "name": "bob"}),
    );
    check_escalation(&authz, &bob, crbs, "", &crb, None).expect("bind");
    // Roles: granting what is not held is refused; masters always may.
    let roles = res("roles");
    let role = json!({"metadata": {"name": "r", "namespace": "ns-a"}, "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]});
    let e = check_escalation(&authz, &alice, roles, "ns-a", &role, None).expect_err("refused");
    assert!(
        e.message.ends_with(
            "not currently held:\n{APIGroups:[\"\"], Resources:[\"nodes\"], Verbs:[\"get\"]}"
        ),
        "{}",
        e.message
    );
    let admin = UserInfo::authenticated("admin", &["system:masters".into()]);
    check_escalation(&authz, &admin, roles, "ns-a", &role, None).expect("masters");
    // An update touching only GC fields is not checked.
    let mut same = role.clone();
    same["metadata"]["finalizers"] = json!(["x"]);
    check_escalation(&authz, &alice, roles, "ns-a", &same, Some(&role)).expect("gc only");
}
