//! Tables for the confinement decisions, allowlists, flags and body namespaces.

use clap::Parser;
use http::Method;
use serde_json::json;

use super::*;
use crate::request_info::parse_request;

const ME: Subject<'static> = Subject {
    user: "alice",
    namespace: "kbatch-alice",
};

#[derive(Debug)]
enum Want {
    Allow,
    /// path, query, body reconciled from `default`?
    Rewrite(&'static str, Option<&'static str>, Body),
    Review(ReviewKind),
    /// A substring of the message.
    Deny(&'static str),
    Bad(&'static str),
    /// 405, as kube-apiserver answers a method a path does not serve.
    NotAllowed,
}

#[derive(Debug, Clone, Copy)]
enum Body {
    Keep,
    FromDefault,
}

use Body::*;
use Want::*;

fn decide_with(cfg: &ScopeConfig, method: &str, target: &str, upgrade: bool) -> Decision {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let (kind, query) = parse_request(&method, path, query, upgrade).expect("valid request");
    decide(cfg, &kind, &query, &ME)
}

fn check(cfg: &ScopeConfig, rows: &[(&str, &str, bool, Want)]) {
    for (method, target, upgrade, want) in rows {
        let got = decide_with(cfg, method, target, *upgrade);
        let ctx = format!("{method} {target} (upgrade {upgrade})");
        match (want, &got) {
            (Allow, Decision::Allow) => {}
            (Review(k), Decision::Review(g)) => assert_eq!(k, g, "{ctx}"),
            (Deny(part), Decision::Deny(m)) => assert!(m.contains(part), "{ctx}: {m}"),
            (Bad(part), Decision::BadRequest(m)) => assert!(m.contains(part), "{ctx}: {m}"),
            (NotAllowed, Decision::MethodNotAllowed) => {}
            (
                Rewrite(path, query, body),
                Decision::Rewrite {
                    path: p,
                    query: q,
                    body_namespace,
                    alias,
                },
            ) => {
                // Only a request the proxy moved out of `default` has its answers shown there.
                let from_default = target.contains("/namespaces/default/");
                assert_eq!(alias.is_some(), from_default, "{ctx}: {alias:?}");
                assert_eq!(p, path, "{ctx}");
                assert_eq!(q.as_deref(), *query, "{ctx}");
                let want_body = match body {
                    Keep => BodyNamespace::Keep,
                    FromDefault => BodyNamespace::Reconcile {
                        target: ME.namespace.into(),
                        rewritten_from: Some("default".into()),
                    },
                };
                assert_eq!(body_namespace, &want_body, "{ctx}");
            }
            _ => panic!("{ctx}: wanted {want:?}, got {got:?}"),
        }
    }
}

#[rustfmt::skip]
#[test]
fn discovery_and_own_namespace() {
    check(&ScopeConfig::default(), &[
        ("GET", "/version", false, Allow),
        ("GET", "/api", false, Allow),
        ("GET", "/api/v1", false, Allow),
        ("GET", "/apis", false, Allow),
        ("GET", "/apis/batch/v1", false, Allow),
        ("GET", "/openapi/v2", false, Allow),
        ("GET", "/openapi/v3/apis/batch/v1?hash=abc", false, Allow),
        ("GET", "/metrics", false, Deny("cannot access this path")),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods?limit=500", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods?watch=1", false, Allow),
        ("GET", "/api/v1/watch/namespaces/kbatch-alice/configmaps", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/pods", false, Allow),
        ("PUT", "/api/v1/namespaces/kbatch-alice/pods/p", false, Allow),
        ("PATCH", "/api/v1/namespaces/kbatch-alice/pods/p", false, Allow),
        ("DELETE", "/api/v1/namespaces/kbatch-alice/pods/p", false, Allow),
        ("DELETE", "/api/v1/namespaces/kbatch-alice/pods", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/log?follow=true", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/status", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/pods/p/exec?command=sh&stdin=true", true, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/exec?command=sh&stdout=true", true, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/attach?stdout=true", true, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/portforward?ports=8888", true, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/pods/p/portforward", true, Allow),
        ("POST", "/apis/batch/v1/namespaces/kbatch-alice/jobs", false, Allow),
        ("DELETE", "/apis/batch/v1/namespaces/kbatch-alice/jobs/j?propagationPolicy=Foreground", false, Allow),
        ("GET", "/apis/batch/v1/namespaces/kbatch-alice/jobs/j/status", false, Allow),
        ("POST", "/apis/batch/v1/namespaces/kbatch-alice/cronjobs", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/configmaps", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/secrets", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/services", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/persistentvolumeclaims", false, Allow),
        ("POST", "/apis/apps/v1/namespaces/kbatch-alice/deployments", false, Allow),
        ("PATCH", "/apis/apps/v1/namespaces/kbatch-alice/deployments/d/scale", false, Allow),
        ("DELETE", "/apis/apps/v1/namespaces/kbatch-alice/replicasets/r", false, Allow),
        ("POST", "/apis/apps/v1/namespaces/kbatch-alice/statefulsets", false, Allow),
        ("GET", "/apis/apps/v1/namespaces/kbatch-alice/controllerrevisions", false, Allow),
        ("POST", "/apis/policy/v1/namespaces/kbatch-alice/poddisruptionbudgets", false, Allow),
        ("POST", "/apis/autoscaling/v2/namespaces/kbatch-alice/horizontalpodautoscalers", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/events", false, Allow),
        ("GET", "/apis/events.k8s.io/v1/namespaces/kbatch-alice/events?watch=1", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/endpoints", false, Allow),
        ("GET", "/apis/discovery.k8s.io/v1/namespaces/kbatch-alice/endpointslices", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/serviceaccounts/default", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/resourcequotas", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/limitranges", false, Allow),
        ("GET", "/apis/networking.k8s.io/v1/namespaces/kbatch-alice/networkpolicies", false, Allow),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/roles", false, Allow),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/rolebindings/rb", false, Allow),
    ]);
}

/// Discovery is read-only: writing it would go upstream with the proxy's credential.
#[rustfmt::skip]
#[test]
fn discovery_paths_only_for_get_and_head() {
    let cfg = ScopeConfig::default();
    for path in ["/version", "/api", "/api/v1", "/apis", "/apis/batch", "/apis/batch/v1", "/openapi/v2", "/openapi/v3/apis/batch/v1"] {
        check(&cfg, &[
            ("GET", path, false, Allow),
            ("HEAD", path, false, Allow),
            ("POST", path, false, NotAllowed),
            ("PUT", path, false, NotAllowed),
            ("PATCH", path, false, NotAllowed),
            ("DELETE", path, false, NotAllowed),
            ("OPTIONS", path, false, NotAllowed),
        ]);
    }
}

#[rustfmt::skip]
#[test]
fn own_namespace_refusals() {
    check(&ScopeConfig::default(), &[
        ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/roles", false, Deny("read-only access (get, list, watch) to \"roles.rbac.authorization.k8s.io\"")),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/rolebindings", false, Deny("read-only")),
        ("PUT", "/api/v1/namespaces/kbatch-alice/resourcequotas/q", false, Deny("read-only")),
        ("DELETE", "/api/v1/namespaces/kbatch-alice/limitranges/l", false, Deny("read-only")),
        ("POST", "/apis/networking.k8s.io/v1/namespaces/kbatch-alice/networkpolicies", false, Deny("read-only")),
        ("POST", "/api/v1/namespaces/kbatch-alice/events", false, Deny("read-only")),
        ("POST", "/api/v1/namespaces/kbatch-alice/serviceaccounts", false, Deny("read-only")),
        ("POST", "/api/v1/namespaces/kbatch-alice/endpoints", false, Deny("read-only")),
        ("PATCH", "/api/v1/namespaces/kbatch-alice/pods/p/status", false, Deny("read-only access (get, list, watch) to \"pods/status\"")),
        ("PUT", "/apis/batch/v1/namespaces/kbatch-alice/jobs/j/status", false, Deny("\"jobs.batch/status\"")),
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/kbatch-alice/leases", false, Deny("does not give access to \"leases.coordination.k8s.io\"")),
        ("GET", "/apis/apps/v1/namespaces/kbatch-alice/daemonsets", false, Allow),
        ("POST", "/apis/apps/v1/namespaces/kbatch-alice/daemonsets", false, Deny("read-only")),
        ("GET", "/api/v1/namespaces/kbatch-alice/replicationcontrollers", false, Allow),
        ("PATCH", "/api/v1/namespaces/kbatch-alice/replicationcontrollers/rc", false, Deny("read-only")),
        ("PUT", "/api/v1/namespaces/kbatch-alice/replicationcontrollers/rc/scale", false, Deny("\"replicationcontrollers/scale\"")),
        ("GET", "/apis/networking.k8s.io/v1/namespaces/kbatch-alice/ingresses", false, Deny("not in its resource allowlist")),
        ("PATCH", "/api/v1/namespaces/kbatch-alice/pods/p/ephemeralcontainers", false, Deny("\"pods/ephemeralcontainers\"")),
        ("POST", "/api/v1/namespaces/kbatch-alice/pods/p/eviction", false, Deny("\"pods/eviction\"")),
        ("POST", "/api/v1/namespaces/kbatch-alice/serviceaccounts/default/token", false, Deny("\"serviceaccounts/token\"")),
        ("GET", "/api/v1/namespaces/kbatch-alice/services/s/proxy", false, Deny("\"services/proxy\"")),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p:80/proxy/", true, Deny("cannot create resource \"pods/proxy\"")),
        ("DELETE", "/api/v1/watch/namespaces/kbatch-alice/pods", false, Deny("does not allow the verb \"\"")),
        ("OPTIONS", "/api/v1/namespaces/kbatch-alice/pods", false, Deny("does not allow the verb \"\"")),
        ("GET", "/api/v1/proxy/namespaces/kbatch-alice/pods/p", false, Deny("does not allow the verb \"proxy\"")),
        ("POST", "/apis/authorization.k8s.io/v1/namespaces/kbatch-alice/localsubjectaccessreviews", false, Deny("not in its resource allowlist")),
    ]);
}

#[rustfmt::skip]
#[test]
fn other_namespaces_and_cluster_scope() {
    check(&ScopeConfig::default(), &[
        ("GET", "/api/v1/namespaces/kbatch-bob/pods", false, Deny("in the namespace \"kbatch-bob\": kbatch-proxy only gives access to namespace \"kbatch-alice\"")),
        ("GET", "/api/v1/namespaces/kube-system/secrets/s", false, Deny("secrets \"s\" is forbidden")),
        ("GET", "/api/v1/watch/namespaces/kbatch-bob/pods", false, Deny("cannot watch resource \"pods\"")),
        ("GET", "/api/v1/namespaces/kbatch-bob/pods?watch=true", false, Deny("cannot watch")),
        ("GET", "/api/v1/namespaces/kbatch-bob/pods/p/exec?command=sh", true, Deny("cannot create resource \"pods/exec\"")),
        ("DELETE", "/apis/batch/v1/namespaces/kbatch-bob/jobs", false, Deny("cannot deletecollection")),
        ("GET", "/api/v1/namespaces/kbatch-alice2/pods", false, Deny("only gives access")),
        ("GET", "/api/v1/nodes", false, Deny("nodes is forbidden: User \"alice\" cannot list resource \"nodes\" in API group \"\" at the cluster scope")),
        ("GET", "/api/v1/nodes/n1", false, Deny("nodes \"n1\" is forbidden")),
        ("GET", "/api/v1/nodes/n1/proxy/metrics", false, Deny("at the cluster scope")),
        ("GET", "/api/v1/persistentvolumes", false, Deny("at the cluster scope")),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles", false, Deny("at the cluster scope")),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", false, Deny("at the cluster scope")),
        ("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", false, Deny("at the cluster scope")),
        ("POST", "/apis/certificates.k8s.io/v1/certificatesigningrequests", false, Deny("at the cluster scope")),
        ("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", false, Deny("at the cluster scope")),
        ("POST", "/apis/authentication.k8s.io/v1/tokenreviews", false, Deny("at the cluster scope")),
        ("GET", "/apis/example.com/v1/widgets", false, Deny("at the cluster scope")),
        ("POST", "/api/v1/pods", false, Deny("cannot create resource \"pods\" in API group \"\" at the cluster scope")),
        ("DELETE", "/api/v1/pods", false, Deny("cannot deletecollection")),
        ("GET", "/apis/batch/v1/jobs/j", false, Deny("jobs.batch \"j\" is forbidden")),
        ("GET", "/apis/storage.k8s.io/v1/storageclasses", false, Allow),
        ("GET", "/apis/storage.k8s.io/v1/storageclasses/standard", false, Allow),
        ("GET", "/apis/storage.k8s.io/v1/watch/storageclasses", false, Allow),
        ("GET", "/apis/scheduling.k8s.io/v1/priorityclasses?watch=1", false, Allow),
        ("GET", "/apis/node.k8s.io/v1/runtimeclasses", false, Allow),
        ("GET", "/apis/networking.k8s.io/v1/ingressclasses", false, Allow),
        ("POST", "/apis/storage.k8s.io/v1/storageclasses", false, Deny("read-only access (get, list, watch) to \"storageclasses.storage.k8s.io\"")),
        ("DELETE", "/apis/storage.k8s.io/v1/storageclasses/standard", false, Deny("read-only")),
    ]);
}

#[rustfmt::skip]
#[test]
fn namespaces() {
    let f = "fieldSelector=metadata.name%3Dkbatch-alice";
    check(&ScopeConfig::default(), &[
        ("GET", "/api/v1/namespaces/kbatch-alice", false, Allow),
        ("GET", "/api/v1/watch/namespaces/kbatch-alice", false, Allow),
        ("GET", "/api/v1/namespaces", false, Rewrite("/api/v1/namespaces", Some(f), Keep)),
        ("GET", "/api/v1/namespaces/", false, Rewrite("/api/v1/namespaces/", Some(f), Keep)),
        ("GET", "/api/v1/namespaces?limit=500", false, Rewrite("/api/v1/namespaces", Some("limit=500&fieldSelector=metadata.name%3Dkbatch-alice"), Keep)),
        ("GET", "/api/v1/namespaces?fieldSelector=status.phase%3DActive&watch=1&resourceVersion=10", false,
            Rewrite("/api/v1/namespaces", Some("fieldSelector=status.phase%3DActive%2Cmetadata.name%3Dkbatch-alice&watch=1&resourceVersion=10"), Keep)),
        ("GET", "/api/v1/namespaces?fieldSelector=metadata.name%3Dkube-system", false,
            Rewrite("/api/v1/namespaces", Some("fieldSelector=metadata.name%3Dkube-system%2Cmetadata.name%3Dkbatch-alice"), Keep)),
        ("GET", "/api/v1/namespaces?fieldSelector=metadata.name!%3Dx", false,
            Rewrite("/api/v1/namespaces", Some("fieldSelector=metadata.name%21%3Dx%2Cmetadata.name%3Dkbatch-alice"), Keep)),
        ("GET", "/api/v1/namespaces?fieldSelector=metadata.name%3Dkbatch-alice&watch=true", false,
            Rewrite("/api/v1/namespaces", Some("fieldSelector=metadata.name%3Dkbatch-alice&watch=true"), Keep)),
        ("GET", "/api/v1/namespaces?labelSelector=team%3Da&limit=1&continue=tok", false,
            Rewrite("/api/v1/namespaces", Some("labelSelector=team%3Da&limit=1&continue=tok&fieldSelector=metadata.name%3Dkbatch-alice"), Keep)),
        ("GET", "/api/v1/namespaces?fieldSelector=", false, Rewrite("/api/v1/namespaces", Some(f), Keep)),
        ("GET", "/api/v1/watch/namespaces", false, Rewrite("/api/v1/watch/namespaces", Some(f), Keep)),
        ("GET", "/api/v1/namespaces?fieldSelector=metadata.name!%3Dx%5C", false, Bad("invalid escape sequence")),
        ("GET", "/api/v1/namespaces?fieldSelector=garbage", false, Bad("can't understand")),
        ("POST", "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict", false,
            Deny("namespaces is forbidden: User \"alice\" cannot create resource \"namespaces\" in API group \"\" at the cluster scope: kbatch-proxy only allows get, list and watch of namespace \"kbatch-alice\"")),
        ("DELETE", "/api/v1/namespaces/kbatch-alice", false, Deny("namespaces \"kbatch-alice\" is forbidden: User \"alice\" cannot delete")),
        ("DELETE", "/api/v1/namespaces", false, Deny("cannot deletecollection")),
        ("PUT", "/api/v1/namespaces/kbatch-alice", false, Deny("cannot update")),
        ("PATCH", "/api/v1/namespaces/kbatch-alice", false, Deny("cannot patch")),
        ("PUT", "/api/v1/namespaces/kbatch-alice/finalize", false, Deny("cannot update resource \"namespaces/finalize\"")),
        ("GET", "/api/v1/namespaces/kbatch-alice/status", false, Deny("namespaces/status")),
        ("PUT", "/api/v1/namespaces/kbatch-alice/status", false, Deny("namespaces/status")),
        ("GET", "/api/v1/namespaces/kbatch-bob", false, Deny("only allows get, list and watch")),
        ("GET", "/api/v1/namespaces/default", false, Deny("only allows get, list and watch")),
        ("GET", "/api/v1/watch/namespaces/kube-system", false, Deny("cannot watch")),
        ("GET", "/apis/batch/v1/namespaces/kbatch-alice/status", false, Deny("namespaces.batch")),
        ("GET", "/api/v1/namespaces/kbatch-bob/namespaces", false, Deny("only allows get, list and watch")),
    ]);
}

#[rustfmt::skip]
#[test]
fn default_namespace_and_all_namespaces_are_rewritten() {
    const ALL: &str = "limit=500&continue=abc&resourceVersion=5&resourceVersionMatch=NotOlderThan&labelSelector=app%3Dx&fieldSelector=status.phase%3DRunning&timeoutSeconds=30&allowWatchBookmarks=true&sendInitialEvents=true&watch=1";
    let all_path = format!("/api/v1/pods?{ALL}");
    let rows: Vec<(&str, &str, bool, Want)> = vec![
        ("GET", "/api/v1/namespaces/default/pods?limit=500", false, Rewrite("/api/v1/namespaces/kbatch-alice/pods", Some("limit=500"), Keep)),
        ("GET", "/api/v1/namespaces/default/pods/p", false, Rewrite("/api/v1/namespaces/kbatch-alice/pods/p", None, Keep)),
        // kubectl describe's events of an object in `default`.
        ("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp%2CinvolvedObject.namespace%3Ddefault", false,
            Rewrite("/api/v1/namespaces/kbatch-alice/events", Some("fieldSelector=involvedObject.name%3Dp%2CinvolvedObject.namespace%3Dkbatch-alice"), Keep)),
        ("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.namespace%3Ddefault%5C", false, Bad("invalid escape")),
        ("GET", "/api/v1/watch/namespaces/default/pods", false, Rewrite("/api/v1/watch/namespaces/kbatch-alice/pods", None, Keep)),
        ("GET", "/api/v1/namespaces/default/pods/p/log?follow=true&container=c", false, Rewrite("/api/v1/namespaces/kbatch-alice/pods/p/log", Some("follow=true&container=c"), Keep)),
        ("POST", "/api/v1/namespaces/default/configmaps?fieldManager=kubectl-create&fieldValidation=Strict", false,
            Rewrite("/api/v1/namespaces/kbatch-alice/configmaps", Some("fieldManager=kubectl-create&fieldValidation=Strict"), FromDefault)),
        ("PUT", "/api/v1/namespaces/default/configmaps/c", false, Rewrite("/api/v1/namespaces/kbatch-alice/configmaps/c", None, FromDefault)),
        ("PATCH", "/apis/batch/v1/namespaces/default/jobs/j?fieldManager=kubectl-client-side-apply", false,
            Rewrite("/apis/batch/v1/namespaces/kbatch-alice/jobs/j", Some("fieldManager=kubectl-client-side-apply"), FromDefault)),
        ("DELETE", "/apis/batch/v1/namespaces/default/jobs/j", false, Rewrite("/apis/batch/v1/namespaces/kbatch-alice/jobs/j", None, Keep)),
        ("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db", false, Rewrite("/api/v1/namespaces/kbatch-alice/configmaps", Some("labelSelector=a%3Db"), Keep)),
        ("POST", "/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=ls&stdout=true", true,
            Rewrite("/api/v1/namespaces/kbatch-alice/pods/p/exec", Some("command=sh&command=-c&command=ls&stdout=true"), Keep)),
        ("GET", "/api/v1/namespaces/default/pods/p/portforward?ports=80", true, Rewrite("/api/v1/namespaces/kbatch-alice/pods/p/portforward", Some("ports=80"), Keep)),
        ("POST", "/api/v1/namespaces/default/roles", false, Deny("in the namespace \"default\"")),
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases", false, Deny("not in its resource allowlist")),
        // all namespaces: confined to the user's, every parameter kept
        ("GET", "/api/v1/pods", false, Rewrite("/api/v1/namespaces/kbatch-alice/pods", None, Keep)),
        ("GET", "/api/v1/pods/", false, Rewrite("/api/v1/namespaces/kbatch-alice/pods/", None, Keep)),
        ("GET", &all_path, false, Rewrite("/api/v1/namespaces/kbatch-alice/pods", Some(ALL), Keep)),
        ("GET", "/apis/batch/v1/jobs?limit=500", false, Rewrite("/apis/batch/v1/namespaces/kbatch-alice/jobs", Some("limit=500"), Keep)),
        ("GET", "/apis/batch/v1/jobs?watch=true", false, Rewrite("/apis/batch/v1/namespaces/kbatch-alice/jobs", Some("watch=true"), Keep)),
        ("GET", "/api/v1/watch/pods?resourceVersion=7", false, Rewrite("/api/v1/watch/namespaces/kbatch-alice/pods", Some("resourceVersion=7"), Keep)),
        ("GET", "/apis/events.k8s.io/v1/events", false, Rewrite("/apis/events.k8s.io/v1/namespaces/kbatch-alice/events", None, Keep)),
        ("GET", "/api/v1/secrets", false, Rewrite("/api/v1/namespaces/kbatch-alice/secrets", None, Keep)),
        ("GET", "/apis/rbac.authorization.k8s.io/v1/roles", false, Rewrite("/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/roles", None, Keep)),
        ("GET", "/apis/coordination.k8s.io/v1/leases", false, Deny("at the cluster scope")),
    ];
    check(&ScopeConfig::default(), &rows);
}

#[rustfmt::skip]
#[test]
fn self_reviews_are_answered_by_the_proxy() {
    check(&ScopeConfig::default(), &[
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", false, Review(ReviewKind::AccessReview)),
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", false, Review(ReviewKind::RulesReview)),
        ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", false, Review(ReviewKind::SelfReview)),
        ("POST", "/apis/authentication.k8s.io/v1beta1/selfsubjectreviews", false, Review(ReviewKind::SelfReview)),
        ("POST", "/apis/authentication.k8s.io/v1alpha1/selfsubjectreviews", false, Review(ReviewKind::SelfReview)),
        ("POST", "/apis/authorization.k8s.io/v1beta1/selfsubjectaccessreviews", false, Deny("only at the versions")),
        ("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", false, Deny("only answers the creation of self-reviews")),
        ("DELETE", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews/x", false, Deny("only answers the creation")),
    ]);
}

#[rustfmt::skip]
#[test]
fn rewrite_turned_off() {
    let cfg = ScopeConfig { rewrite_default_namespace: false, ..ScopeConfig::default() };
    check(&cfg, &[
        ("GET", "/api/v1/namespaces/default/pods", false, Deny("pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\": kbatch-proxy only gives access to namespace \"kbatch-alice\" (requests for namespace \"default\" are not redirected to it)")),
        ("POST", "/api/v1/namespaces/default/configmaps", false, Deny("not redirected")),
        ("GET", "/api/v1/pods", false, Rewrite("/api/v1/namespaces/kbatch-alice/pods", None, Keep)),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods", false, Allow),
    ]);
}

#[rustfmt::skip]
#[test]
fn configured_allowlists() {
    let args = |extra: &[&str]| {
        let mut argv = vec!["t"];
        argv.extend_from_slice(extra);
        Wrapper::try_parse_from(argv).expect("args").scope.to_config().expect("config")
    };
    let everything = args(&["--allowed-resources", "*", "--cluster-read-resources", "nodes"]);
    check(&everything, &[
        ("POST", "/apis/coordination.k8s.io/v1/namespaces/kbatch-alice/leases", false, Allow),
        ("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/roles", false, Allow),
        ("GET", "/apis/coordination.k8s.io/v1/leases", false, Rewrite("/apis/coordination.k8s.io/v1/namespaces/kbatch-alice/leases", None, Keep)),
        ("GET", "/api/v1/nodes", false, Allow),
        ("DELETE", "/api/v1/nodes/n1", false, Deny("read-only access (get, list, watch) to \"nodes\"")),
        ("GET", "/apis/storage.k8s.io/v1/storageclasses", false, Deny("at the cluster scope")),
        ("GET", "/api/v1/persistentvolumes", false, Deny("at the cluster scope")),
        ("GET", "/api/v1/namespaces/kbatch-bob/pods", false, Deny("only gives access")),
        ("POST", "/api/v1/namespaces", false, Deny("only allows get, list and watch")),
    ]);
    let narrow = args(&["--allowed-resources", "jobs.batch, pods/exec", "--read-only-resources", "pods,pods/*", "--cluster-read-resources", ""]);
    check(&narrow, &[
        ("POST", "/apis/batch/v1/namespaces/kbatch-alice/jobs", false, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/log", false, Allow),
        ("POST", "/api/v1/namespaces/kbatch-alice/pods/p/exec", true, Allow),
        ("GET", "/api/v1/namespaces/kbatch-alice/pods/p/attach", true, Deny("read-only access (get, list, watch) to \"pods/attach\"")),
        ("DELETE", "/api/v1/namespaces/kbatch-alice/pods/p", false, Deny("read-only")),
        ("GET", "/api/v1/namespaces/kbatch-alice/configmaps", false, Deny("not in its resource allowlist")),
        ("GET", "/apis/storage.k8s.io/v1/storageclasses", false, Deny("at the cluster scope")),
        ("GET", "/apis/batch/v1/jobs", false, Rewrite("/apis/batch/v1/namespaces/kbatch-alice/jobs", None, Keep)),
    ]);
}

#[derive(Parser, Debug)]
struct Wrapper {
    #[command(flatten)]
    scope: ScopeArgs,
}

#[test]
fn flags() {
    let parse = |argv: &[&str]| {
        let mut v = vec!["t"];
        v.extend_from_slice(argv);
        Wrapper::try_parse_from(v).expect("args").scope
    };
    assert_eq!(
        parse(&[]).to_config().expect("defaults"),
        ScopeConfig::default()
    );
    assert!(
        !parse(&["--no-namespace-rewrite"])
            .to_config()
            .expect("c")
            .rewrite_default_namespace
    );
    assert!(
        !parse(&["--rewrite-default-namespace", "false"])
            .to_config()
            .expect("c")
            .rewrite_default_namespace
    );
    assert!(
        parse(&["--rewrite-default-namespace", "true"])
            .to_config()
            .expect("c")
            .rewrite_default_namespace
    );
    let c = parse(&["--cluster-read-resources", ""])
        .to_config()
        .expect("c");
    assert!(c.cluster_read.entries.is_empty());
    // Only the writable list replaced: the read-only defaults stay.
    let c = parse(&["--allowed-resources", "jobs.batch"])
        .to_config()
        .expect("c");
    assert_eq!(
        c.namespaced.access("batch", "jobs", None),
        Some(Access::Write)
    );
    assert_eq!(c.namespaced.access("", "pods", None), None);
    assert_eq!(c.namespaced.access("", "events", None), Some(Access::Read));
    for bad in [
        "Pods",
        "pods/",
        "pods.",
        ".batch",
        "jobs.Batch",
        "jobs..batch",
        "pods log",
        "*x",
    ] {
        let err = parse(&["--allowed-resources", bad]).to_config();
        assert!(err.is_err(), "{bad}");
    }
    let err = parse(&["--read-only-resources", "a/b/c"])
        .to_config()
        .expect_err("two slashes");
    assert!(err.to_string().contains("--read-only-resources"), "{err}");
    assert!(Wrapper::try_parse_from(["t", "--rewrite-default-namespace", "maybe"]).is_err());
}

#[test]
fn allowlist_entries_match_like_rbac() {
    let e = |t: &str| parse_entry(t, Access::Read, "test").expect("entry");
    // (entry, group, resource, subresource, covered)
    let cases: &[(&str, &str, &str, Option<&str>, bool)] = &[
        ("pods", "", "pods", None, true),
        ("pods", "", "pods", Some("log"), false),
        ("pods", "apps", "pods", None, false),
        ("pods/log", "", "pods", Some("log"), true),
        ("pods/log", "", "pods", None, false),
        ("pods/*", "", "pods", Some("exec"), true),
        ("pods/*", "", "pods", None, false),
        ("jobs.batch", "batch", "jobs", None, true),
        ("jobs.batch", "", "jobs", None, false),
        ("jobs.batch/status", "batch", "jobs", Some("status"), true),
        (
            "deployments.apps/scale",
            "apps",
            "deployments",
            Some("scale"),
            true,
        ),
        (
            "events.events.k8s.io",
            "events.k8s.io",
            "events",
            None,
            true,
        ),
        ("*.batch", "batch", "cronjobs", None, true),
        ("*.batch", "batch", "cronjobs", Some("status"), true),
        ("*.batch", "apps", "deployments", None, false),
        ("*", "apps", "deployments", Some("scale"), true),
        ("*", "", "pods", None, true),
        ("*/scale", "apps", "deployments", Some("scale"), true),
        ("*/scale", "apps", "deployments", None, false),
        ("pods.*", "metrics.k8s.io", "pods", None, true),
    ];
    for (text, g, r, s, want) in cases {
        assert_eq!(e(text).covers(g, r, *s), *want, "{text} vs {g}/{r}/{s:?}");
    }
    for text in [
        "pods",
        "pods/log",
        "jobs.batch",
        "deployments.apps/scale",
        "*",
        "*.batch",
        "*/scale",
    ] {
        assert_eq!(e(text).to_string(), text);
    }
    let l =
        ResourceAllowlist::parse("pods, pods/log ,,jobs.batch", Access::Write, "t").expect("list");
    assert_eq!(l.to_list(Access::Write), "pods,pods/log,jobs.batch");
    // The most permissive entry wins.
    let mut l = ResourceAllowlist::parse("pods", Access::Read, "t").expect("list");
    l.extend(ResourceAllowlist::parse("*", Access::Write, "t").expect("list"));
    assert!(l.allows("delete", "", "pods", None));
    assert!(!l.allows("impersonate", "", "pods", None));
    assert!(!l.allows("*", "", "pods", None));
}

/// Issue "Patches and server-side apply through the policies keep their meaning on a real API
/// server": `kubectl get all` lists every kind of the `all` category (kube 1.28), so each must be
/// readable, or kubectl prints `Forbidden` for it.
#[test]
fn get_all_category_is_readable_by_default() {
    let cfg = ScopeConfig::default();
    for (g, r) in [
        ("", "pods"),
        ("", "services"),
        ("", "replicationcontrollers"),
        ("apps", "daemonsets"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("batch", "cronjobs"),
        ("batch", "jobs"),
    ] {
        let access = cfg.namespaced.access(g, r, None);
        assert!(
            access.is_some_and(|a| a.allows("list")),
            "{r}.{g}: {access:?}"
        );
    }
    for (g, r) in [("apps", "daemonsets"), ("", "replicationcontrollers")] {
        assert_eq!(cfg.namespaced.access(g, r, None), Some(Access::Read), "{r}");
    }
}

#[test]
fn defaults_parse_and_leave_out_what_they_should() {
    assert_eq!(
        default_namespaced().entries.len(),
        DEFAULT_WRITABLE.len() + DEFAULT_READ_ONLY.len()
    );
    assert_eq!(
        default_cluster_read().entries.len(),
        DEFAULT_CLUSTER_READ.len()
    );
    let cfg = ScopeConfig::default();
    for (g, r) in [
        ("coordination.k8s.io", "leases"),
        ("", "nodes"),
        ("", "persistentvolumes"),
    ] {
        assert_eq!(cfg.namespaced.access(g, r, None), None, "{r}");
        assert_eq!(cfg.cluster_read.access(g, r, None), None, "{r}");
    }
    assert_eq!(
        cfg.namespaced
            .access("", "pods", Some("ephemeralcontainers")),
        None
    );
    for (g, r) in [
        ("rbac.authorization.k8s.io", "roles"),
        ("", "resourcequotas"),
        ("", "endpoints"),
    ] {
        assert_eq!(cfg.namespaced.access(g, r, None), Some(Access::Read), "{r}");
    }
    assert!(cfg.rewrite_default_namespace);
}

#[test]
fn forbidden_messages_read_like_rbac() {
    let m = |method: &str, target: &str, upgrade: bool| match decide_with(
        &ScopeConfig::default(),
        method,
        target,
        upgrade,
    ) {
        Decision::Deny(m) => m,
        other => panic!("{target}: {other:?}"),
    };
    assert_eq!(
        m("GET", "/api/v1/namespaces/kbatch-bob/pods", false),
        "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"kbatch-bob\": kbatch-proxy only gives access to namespace \"kbatch-alice\""
    );
    assert_eq!(
        m("GET", "/api/v1/namespaces/kbatch-bob/pods/p/exec", true),
        "pods \"p\" is forbidden: User \"alice\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"kbatch-bob\": kbatch-proxy only gives access to namespace \"kbatch-alice\""
    );
    assert_eq!(
        m("GET", "/api/v1/nodes", false),
        "nodes is forbidden: User \"alice\" cannot list resource \"nodes\" in API group \"\" at the cluster scope: kbatch-proxy only gives access to namespace \"kbatch-alice\""
    );
    assert_eq!(
        m("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/kbatch-alice/roles", false),
        "roles.rbac.authorization.k8s.io is forbidden: User \"alice\" cannot create resource \"roles\" in API group \"rbac.authorization.k8s.io\" in the namespace \"kbatch-alice\": kbatch-proxy gives read-only access (get, list, watch) to \"roles.rbac.authorization.k8s.io\""
    );
}

#[test]
fn body_namespaces_are_reconciled() {
    // (body, target, rewritten_from, result body namespace or error fragment)
    type Case = (
        serde_json::Value,
        Option<&'static str>,
        Result<Option<&'static str>, &'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            json!({"metadata": {"name": "c"}}),
            Some("default"),
            Ok(None),
        ),
        (
            json!({"metadata": {"namespace": null}}),
            Some("default"),
            Ok(None),
        ),
        (
            json!({"metadata": {"namespace": ""}}),
            Some("default"),
            Ok(Some("")),
        ),
        (
            json!({"metadata": {"namespace": "kbatch-alice"}}),
            Some("default"),
            Ok(Some("kbatch-alice")),
        ),
        (
            json!({"metadata": {"namespace": "default"}}),
            Some("default"),
            Ok(Some("kbatch-alice")),
        ),
        (
            json!({"metadata": {"namespace": "kbatch-alice"}}),
            None,
            Ok(Some("kbatch-alice")),
        ),
        (
            json!({"metadata": {"namespace": "default"}}),
            None,
            Err("(\"default\") does not match the namespace of the request (\"kbatch-alice\")"),
        ),
        (
            json!({"metadata": {"namespace": "kube-system"}}),
            Some("default"),
            Err("(\"kube-system\") does not match"),
        ),
        (
            json!({"metadata": {"namespace": 7}}),
            Some("default"),
            Err("must be a string"),
        ),
        (json!({"kind": "ConfigMap"}), Some("default"), Ok(None)),
        (
            json!([{"op": "replace", "path": "/metadata/namespace", "value": "x"}]),
            Some("default"),
            Ok(None),
        ),
        (json!({"metadata": "odd"}), Some("default"), Ok(None)),
    ];
    for (mut body, from, want) in cases {
        let before = body.clone();
        let got = reconcile_body_namespace(&mut body, "kbatch-alice", from);
        match want {
            Ok(ns) => {
                assert_eq!(got, Ok(()), "{before}");
                assert_eq!(
                    body.pointer("/metadata/namespace").and_then(|v| v.as_str()),
                    ns,
                    "{before}"
                );
            }
            Err(part) => {
                let e = got.expect_err("must refuse");
                assert!(e.contains(part), "{before}: {e}");
                assert_eq!(body, before, "a refused body is not changed");
            }
        }
    }
}
