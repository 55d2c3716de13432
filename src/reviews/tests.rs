//! Tables for the self-reviews: answers, shapes, and agreement with `scope::decide`.

use std::collections::BTreeMap;

use http::Method;
use serde_json::{json, Value};

use super::*;
use crate::request_info::parse_request;
use crate::scope::{decide, Decision, DEFAULT_CLUSTER_READ};

const ME: Subject<'static> = Subject {
    user: "alice",
    namespace: "kbatch-alice",
};

fn ssar(ra: Value) -> Value {
    json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {"resourceAttributes": ra},
        "status": {"allowed": false}
    })
}

fn allowed(cfg: &ScopeConfig, ra: Value) -> (bool, String) {
    let out = access_review(cfg, &ME, &ssar(ra)).expect("valid review");
    let status = &out["status"];
    let allowed = status["allowed"].as_bool().expect("allowed");
    assert_eq!(
        status.get("denied").and_then(Value::as_bool),
        (!allowed).then_some(true),
        "denied accompanies a refusal"
    );
    (allowed, status["reason"].as_str().unwrap_or("").to_string())
}

fn request_allowed(cfg: &ScopeConfig, method: &str, target: &str, upgrade: bool) -> bool {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let (kind, q) = parse_request(&method, path, query, upgrade).expect("request");
    !matches!(
        decide(cfg, &kind, &q, &ME),
        Decision::Deny(_) | Decision::BadRequest(_)
    )
}

/// (namespace, verb, group, resource, subresource, name, allowed, the same request if any)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    Option<(&'static str, &'static str, bool)>,
);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("kbatch-alice", "create", "batch", "jobs", "", "", true, Some(("POST", "/apis/batch/v1/namespaces/kbatch-alice/jobs", false))),
    ("kbatch-alice", "list", "", "pods", "", "", true, Some(("GET", "/api/v1/namespaces/kbatch-alice/pods", false))),
    ("kbatch-alice", "watch", "", "pods", "", "", true, Some(("GET", "/api/v1/namespaces/kbatch-alice/pods?watch=1", false))),
    ("kbatch-alice", "delete", "", "pods", "", "p", true, Some(("DELETE", "/api/v1/namespaces/kbatch-alice/pods/p", false))),
    ("kbatch-alice", "get", "", "pods", "log", "p", true, Some(("GET", "/api/v1/namespaces/kbatch-alice/pods/p/log", false))),
    ("kbatch-alice", "create", "", "pods", "exec", "p", true, Some(("POST", "/api/v1/namespaces/kbatch-alice/pods/p/exec", true))),
    ("kbatch-alice", "get", "", "pods", "exec", "p", true, Some(("GET", "/api/v1/namespaces/kbatch-alice/pods/p/exec", true))),
    ("kbatch-alice", "patch", "", "pods", "status", "p", false, Some(("PATCH", "/api/v1/namespaces/kbatch-alice/pods/p/status", false))),
    ("kbatch-alice", "list", "rbac.authorization.k8s.io", "roles", "", "", true, Some(("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/roles", false))),
    ("kbatch-alice", "create", "rbac.authorization.k8s.io", "rolebindings", "", "", false, Some(("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/rolebindings", false))),
    ("kbatch-alice", "get", "coordination.k8s.io", "leases", "", "", false, Some(("GET", "/apis/coordination.k8s.io/v1/namespaces/kbatch-alice/leases", false))),
    ("kbatch-alice", "*", "", "pods", "", "", false, None),
    ("kbatch-alice", "create", "*", "*", "", "", false, None),
    ("kbatch-bob", "create", "batch", "jobs", "", "", false, Some(("POST", "/apis/batch/v1/namespaces/kbatch-bob/jobs", false))),
    ("kube-system", "get", "", "secrets", "", "s", false, Some(("GET", "/api/v1/namespaces/kube-system/secrets/s", false))),
    // default is served from the user's namespace
    ("default", "create", "", "configmaps", "", "", true, Some(("POST", "/api/v1/namespaces/default/configmaps", false))),
    ("default", "list", "", "pods", "", "", true, Some(("GET", "/api/v1/namespaces/default/pods", false))),
    // all namespaces: list and watch are confined, everything else is refused
    ("", "list", "", "pods", "", "", true, Some(("GET", "/api/v1/pods", false))),
    ("", "watch", "batch", "jobs", "", "", true, Some(("GET", "/apis/batch/v1/jobs?watch=true", false))),
    ("", "create", "", "pods", "", "", false, Some(("POST", "/api/v1/pods", false))),
    ("", "deletecollection", "", "pods", "", "", false, Some(("DELETE", "/api/v1/pods", false))),
    // cluster scope: kubectl sends its current namespace; it does not matter
    ("default", "list", "", "nodes", "", "", false, Some(("GET", "/api/v1/nodes", false))),
    ("kbatch-alice", "get", "", "nodes", "", "n1", false, Some(("GET", "/api/v1/nodes/n1", false))),
    ("kbatch-alice", "list", "storage.k8s.io", "storageclasses", "", "", true, Some(("GET", "/apis/storage.k8s.io/v1/storageclasses", false))),
    ("default", "watch", "storage.k8s.io", "storageclasses", "", "", true, Some(("GET", "/apis/storage.k8s.io/v1/watch/storageclasses", false))),
    ("", "get", "scheduling.k8s.io", "priorityclasses", "", "high", true, Some(("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/high", false))),
    ("kbatch-alice", "create", "storage.k8s.io", "storageclasses", "", "", false, Some(("POST", "/apis/storage.k8s.io/v1/storageclasses", false))),
    ("kbatch-alice", "list", "", "persistentvolumes", "", "", false, Some(("GET", "/api/v1/persistentvolumes", false))),
    // namespaces
    ("kbatch-alice", "list", "", "namespaces", "", "", true, Some(("GET", "/api/v1/namespaces", false))),
    ("default", "watch", "", "namespaces", "", "", true, Some(("GET", "/api/v1/watch/namespaces", false))),
    ("kbatch-alice", "get", "", "namespaces", "", "kbatch-alice", true, Some(("GET", "/api/v1/namespaces/kbatch-alice", false))),
    ("default", "get", "", "namespaces", "", "kube-system", false, Some(("GET", "/api/v1/namespaces/kube-system", false))),
    ("kbatch-alice", "get", "", "namespaces", "", "", false, None),
    ("kbatch-alice", "create", "", "namespaces", "", "", false, Some(("POST", "/api/v1/namespaces", false))),
    ("kbatch-alice", "delete", "", "namespaces", "", "kbatch-alice", false, Some(("DELETE", "/api/v1/namespaces/kbatch-alice", false))),
    ("kbatch-alice", "update", "", "namespaces", "finalize", "kbatch-alice", false, Some(("PUT", "/api/v1/namespaces/kbatch-alice/finalize", false))),
    // self-reviews
    ("kbatch-alice", "create", "authorization.k8s.io", "selfsubjectaccessreviews", "", "", true, Some(("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", false))),
    ("", "create", "authorization.k8s.io", "selfsubjectrulesreviews", "", "", true, Some(("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", false))),
    ("default", "create", "authentication.k8s.io", "selfsubjectreviews", "", "", true, Some(("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", false))),
    ("", "create", "authorization.k8s.io", "subjectaccessreviews", "", "", false, Some(("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", false))),
    ("kbatch-alice", "create", "authorization.k8s.io", "localsubjectaccessreviews", "", "", false, Some(("POST", "/apis/authorization.k8s.io/v1/namespaces/kbatch-alice/localsubjectaccessreviews", false))),
    ("", "create", "authentication.k8s.io", "tokenreviews", "", "", false, Some(("POST", "/apis/authentication.k8s.io/v1/tokenreviews", false))),
];

#[test]
fn access_reviews_agree_with_decide() {
    let cfg = ScopeConfig::default();
    for (ns, verb, group, resource, sub, name, want, request) in ROWS {
        let ra = json!({
            "namespace": ns, "verb": verb, "group": group, "resource": resource,
            "subresource": sub, "name": name
        });
        let (got, reason) = allowed(&cfg, ra);
        assert_eq!(
            got, *want,
            "{verb} {group}/{resource}/{sub} {name} in {ns:?}: {reason}"
        );
        assert!(reason.contains("kbatch-proxy"), "{reason}");
        if let Some((method, target, upgrade)) = request {
            assert_eq!(
                request_allowed(&cfg, method, target, *upgrade),
                *want,
                "decide disagrees: {method} {target}"
            );
        }
    }
}

#[test]
fn access_reviews_follow_the_rewrite_flag() {
    let cfg = ScopeConfig {
        rewrite_default_namespace: false,
        ..ScopeConfig::default()
    };
    let (ok, reason) = allowed(
        &cfg,
        json!({"namespace": "default", "verb": "create", "resource": "configmaps"}),
    );
    assert!(!ok);
    assert!(reason.contains("not redirected"), "{reason}");
    assert!(!request_allowed(
        &cfg,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        false
    ));
    let (ok, _) = allowed(
        &cfg,
        json!({"namespace": "", "verb": "list", "resource": "pods"}),
    );
    assert!(ok);
}

#[test]
fn access_review_shape_matches_kube() {
    // Keys out of order and empty strings on input, as a hand-written client might send.
    let input = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {
            "resource": "jobs", "group": "batch", "verb": "create", "namespace": "kbatch-alice",
            "version": "", "subresource": "", "name": ""
        }}
    });
    let out = access_review(&ScopeConfig::default(), &ME, &input).expect("review");
    assert_eq!(
        serde_json::to_string(&out).expect("json"),
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":{"namespace":"kbatch-alice","verb":"create","group":"batch","resource":"jobs"}},"status":{"allowed":true,"reason":"allowed by kbatch-proxy for the user of namespace \"kbatch-alice\""}}"#
    );
    let input = json!({
        "kind": "SelfSubjectAccessReview",
        "metadata": {"name": "x", "labels": {"a": "b"}},
        "spec": {"resourceAttributes": {"namespace": "kbatch-bob", "verb": "list", "resource": "pods"}}
    });
    let out = access_review(&ScopeConfig::default(), &ME, &input).expect("review");
    assert_eq!(
        serde_json::to_string(&out).expect("json"),
        r#"{"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{"name":"x","creationTimestamp":null,"labels":{"a":"b"}},"spec":{"resourceAttributes":{"namespace":"kbatch-bob","verb":"list","resource":"pods"}},"status":{"allowed":false,"denied":true,"reason":"kbatch-proxy only gives access to namespace \"kbatch-alice\""}}"#
    );
}

#[test]
fn non_resource_access_reviews() {
    let cases: &[(&str, &str, bool)] = &[
        ("/healthz", "get", true),
        ("/livez", "get", true),
        ("/readyz", "get", true),
        ("/version", "get", true),
        ("/version/", "get", true),
        ("/api", "get", true),
        ("/api/v1", "get", true),
        ("/apis", "get", true),
        ("/apis/batch/v1", "get", true),
        ("/openapi/v3", "get", true),
        ("/openapi", "get", true),
        ("/api", "post", false),
        ("/metrics", "get", false),
        ("/logs", "get", false),
        ("/debug/pprof", "get", false),
        ("/apix", "get", false),
    ];
    for (path, verb, want) in cases {
        let input = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"nonResourceAttributes": {"verb": verb, "path": path}}
        });
        let out = access_review(&ScopeConfig::default(), &ME, &input).expect("review");
        assert_eq!(out["status"]["allowed"], json!(want), "{verb} {path}");
        assert_eq!(
            out["spec"],
            json!({"nonResourceAttributes": {"path": path, "verb": verb}})
        );
        assert_eq!(
            serde_json::to_string(&out["spec"]["nonResourceAttributes"]).expect("json"),
            format!(r#"{{"path":"{path}","verb":"{verb}"}}"#)
        );
    }
}

#[test]
fn invalid_access_reviews() {
    let cfg = ScopeConfig::default();
    let none = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}});
    let err = access_review(&cfg, &ME, &none).expect_err("neither");
    // The exact message kube-apiserver answers with (auth/01-admin-reviews.txt #12).
    assert_eq!(
        err.to_string(),
        ".authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified"
    );
    assert!(access_review(&cfg, &ME, &json!({})).is_err());
    let both = json!({"spec": {"resourceAttributes": {"verb": "get"}, "nonResourceAttributes": {"path": "/api", "verb": "get"}}});
    assert!(matches!(
        access_review(&cfg, &ME, &both),
        Err(ReviewError::Invalid { field, .. }) if field == "spec.nonResourceAttributes"
    ));
}

fn rules(ns: &str, cfg: &ScopeConfig) -> Value {
    let input = json!({
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": {"namespace": ns},
        "status": {"resourceRules": null, "nonResourceRules": null, "incomplete": false}
    });
    rules_review(cfg, &ME, &input).expect("rules")
}

#[test]
fn rules_review_shape() {
    let cfg = ScopeConfig::default();
    let out = rules("kbatch-alice", &cfg);
    let keys: Vec<&String> = out.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"]);
    assert_eq!(out["kind"], "SelfSubjectRulesReview");
    assert_eq!(out["apiVersion"], "authorization.k8s.io/v1");
    assert_eq!(out["metadata"], json!({"creationTimestamp": null}));
    assert_eq!(out["spec"], json!({}));
    let status_keys: Vec<&String> = out["status"].as_object().expect("status").keys().collect();
    assert_eq!(
        status_keys,
        ["resourceRules", "nonResourceRules", "incomplete"]
    );
    assert_eq!(out["status"]["incomplete"], json!(false));
    let rr = out["status"]["resourceRules"].as_array().expect("rules");
    assert_eq!(
        serde_json::to_string(&rr[0]).expect("json"),
        r#"{"verbs":["create"],"apiGroups":["authorization.k8s.io"],"resources":["selfsubjectaccessreviews","selfsubjectrulesreviews"]}"#
    );
    assert_eq!(
        rr[1],
        json!({"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]})
    );
    assert_eq!(
        rr[2],
        json!({
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "apiGroups": [""],
            "resources": ["pods", "pods/exec", "pods/attach", "pods/portforward", "configmaps", "secrets", "services", "persistentvolumeclaims"]
        })
    );
    assert!(rr.contains(&json!({
        "verbs": ["get", "list", "watch"], "apiGroups": [""],
        "resources": ["namespaces"], "resourceNames": ["kbatch-alice"]
    })));
    assert!(rr.contains(&json!({
        "verbs": ["get", "list", "watch"], "apiGroups": ["storage.k8s.io"],
        "resources": ["storageclasses"]
    })));
    assert_eq!(
        out["status"]["nonResourceRules"],
        json!([{"verbs": ["get"], "nonResourceURLs": NON_RESOURCE_URLS}])
    );
    // default is the user's namespace while it is rewritten
    assert_eq!(rules("default", &cfg), out);
    // elsewhere: self-reviews, the own namespace object and cluster reads only
    let other = rules("kbatch-bob", &cfg);
    let rr = other["status"]["resourceRules"].as_array().expect("rules");
    assert_eq!(rr.len(), 2 + 1 + DEFAULT_CLUSTER_READ.len());
    let off = ScopeConfig {
        rewrite_default_namespace: false,
        ..ScopeConfig::default()
    };
    assert_eq!(rules("default", &off), other);
    let err = rules_review(&cfg, &ME, &json!({"spec": {}})).expect_err("no namespace");
    assert_eq!(
        err,
        ReviewError::BadRequest("no namespace on request".into())
    );
}

/// Every verb/resource a rules review lists is allowed by an access review (and so by decide).
#[test]
fn rules_agree_with_access_reviews() {
    for cfg in [ScopeConfig::default(), ScopeArgsFixture::narrow()] {
        for ns in ["kbatch-alice", "default", "kbatch-bob"] {
            let out = rules(ns, &cfg);
            for rule in out["status"]["resourceRules"].as_array().expect("rules") {
                for group in rule["apiGroups"].as_array().expect("groups") {
                    for res in rule["resources"].as_array().expect("resources") {
                        for verb in rule["verbs"].as_array().expect("verbs") {
                            let res = res.as_str().expect("str");
                            let (resource, sub) = match res.split_once('/') {
                                Some((r, s)) => (r, s),
                                None => (res, ""),
                            };
                            if resource == "*" || sub == "*" {
                                continue;
                            }
                            let name = rule
                                .get("resourceNames")
                                .and_then(|n| n[0].as_str())
                                .unwrap_or("");
                            let ra = json!({
                                "namespace": ns, "verb": verb, "group": group,
                                "resource": resource, "subresource": sub, "name": name
                            });
                            let (ok, reason) = allowed(&cfg, ra.clone());
                            assert!(ok, "{ns}: rule says yes, review says no: {ra} ({reason})");
                        }
                    }
                }
            }
        }
    }
}

struct ScopeArgsFixture;

impl ScopeArgsFixture {
    fn narrow() -> ScopeConfig {
        let args = crate::scope::ScopeArgs {
            rewrite_default_namespace: true,
            no_namespace_rewrite: false,
            allowed_resources: Some("jobs.batch,*.apps".into()),
            read_only_resources: Some("pods,pods/exec,pods/log".into()),
            cluster_read_resources: Some("nodes".into()),
        };
        args.to_config().expect("config")
    }
}

#[test]
fn read_only_connect_subresources_grant_nothing() {
    let cfg = ScopeArgsFixture::narrow();
    let (ok, _) = allowed(
        &cfg,
        json!({"namespace": "kbatch-alice", "verb": "get", "resource": "pods", "subresource": "exec", "name": "p"}),
    );
    assert!(!ok);
    assert!(!request_allowed(
        &cfg,
        "GET",
        "/api/v1/namespaces/kbatch-alice/pods/p/exec",
        true
    ));
    let out = rules("kbatch-alice", &cfg);
    let text = out.to_string();
    assert!(!text.contains("pods/exec"), "{text}");
    assert!(text.contains("pods/log"), "{text}");
}

#[test]
fn self_review_shape_matches_kube() {
    let groups = vec!["kbatch".to_string(), "system:authenticated".to_string()];
    let none = BTreeMap::new();
    let user = UserInfo {
        username: "jupyterhub:alice",
        uid: None,
        groups: &groups,
        extra: &none,
    };
    assert_eq!(
        serde_json::to_string(&self_review(
            "authentication.k8s.io/v1",
            &user,
            "2026-11-25T21:22:16Z"
        ))
        .expect("json"),
        r#"{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":"2026-11-25T21:22:16Z"},"status":{"userInfo":{"username":"jupyterhub:alice","groups":["kbatch","system:authenticated"]}}}"#
    );
    let mut extra = BTreeMap::new();
    extra.insert("hub".to_string(), vec!["jupyterhub".to_string()]);
    let user = UserInfo {
        username: "alice",
        uid: Some("42"),
        groups: &[],
        extra: &extra,
    };
    assert_eq!(
        serde_json::to_string(&self_review(
            "authentication.k8s.io/v1beta1",
            &user,
            "2026-01-01T00:00:00Z"
        ))
        .expect("json"),
        r#"{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1beta1","metadata":{"creationTimestamp":"2026-01-01T00:00:00Z"},"status":{"userInfo":{"username":"alice","uid":"42","extra":{"hub":["jupyterhub"]}}}}"#
    );
}
