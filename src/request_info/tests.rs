//! Tables for request classification, canonical-path checks and query parsing.

use super::*;

fn m(s: &str) -> Method {
    Method::from_bytes(s.as_bytes()).expect("method")
}

fn res(method: &str, path: &str, q: Option<&str>, upgrade: bool) -> ResourceInfo {
    let query = Query::parse(q).expect("query");
    match classify(&m(method), path, &query, upgrade) {
        PathKind::Resource(r) => r,
        other => panic!("{path}: {other:?}"),
    }
}

#[test]
fn discovery_and_other_paths() {
    for p in [
        "/version",
        "/version/",
        "/api",
        "/api/",
        "/api/v1",
        "/api/v1/",
        "/apis",
        "/apis/batch",
        "/apis/batch/v1",
        "/apis/batch/v1/",
        "/openapi/v2",
        "/openapi/v3",
        "/openapi/v3/apis/batch/v1",
    ] {
        let q = Query::default();
        assert_eq!(
            classify(&Method::GET, p, &q, false),
            PathKind::Discovery(Method::GET),
            "{p}"
        );
        assert!(
            classify(&Method::GET, p, &q, false).is_discovery_read(),
            "{p}"
        );
        assert!(
            classify(&Method::HEAD, p, &q, false).is_discovery_read(),
            "{p}"
        );
        for method in ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"] {
            let kind = classify(&m(method), p, &q, false);
            assert_eq!(kind, PathKind::Discovery(m(method)), "{method} {p}");
            assert!(!kind.is_discovery_read(), "{method} {p} is not a read");
        }
    }
    for p in [
        "/healthz",
        "/logs/x",
        "/metrics",
        "/",
        "/.well-known/openid-configuration",
        "/api/v1/watch",
        "/apis/batch/v1/watch",
        "/api/v1/proxy",
    ] {
        let q = Query::default();
        assert_eq!(classify(&Method::GET, p, &q, false), PathKind::Other, "{p}");
    }
}

type Row = (
    &'static str,         // method
    &'static str,         // path
    Option<&'static str>, // query
    bool,                 // upgrade
    &'static str,         // RBAC verb
    &'static str,         // policy verb
    &'static str,         // group
    Option<&'static str>, // namespace
    &'static str,         // resource
    Option<&'static str>, // name
    Option<&'static str>, // subresource
);

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("GET", "/api/v1/namespaces/a/pods", None, false, "list", "list", "", Some("a"), "pods", None, None),
    ("HEAD", "/api/v1/namespaces/a/pods", None, false, "list", "list", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods/", None, false, "list", "list", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=true"), false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=1"), false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=TRUE"), false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch="), false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch"), false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=yes"), false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=0"), false, "list", "list", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=false"), false, "list", "list", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("watch=False"), false, "list", "list", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/namespaces/a/pods", Some("%77atch=1"), false, "watch", "watch", "", Some("a"), "pods", None, None),
    // watch on a named object stays get, as in kube
    ("GET", "/api/v1/namespaces/a/pods/p", Some("watch=1"), false, "get", "get", "", Some("a"), "pods", Some("p"), None),
    ("GET", "/api/v1/watch/namespaces/a/pods", None, false, "watch", "watch", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/watch/namespaces/a/pods/p", None, false, "watch", "watch", "", Some("a"), "pods", Some("p"), None),
    ("GET", "/api/v1/watch/pods", None, false, "watch", "watch", "", None, "pods", None, None),
    ("DELETE", "/api/v1/watch/namespaces/a/pods", None, false, "watch", "", "", Some("a"), "pods", None, None),
    ("GET", "/api/v1/pods", None, false, "list", "list", "", None, "pods", None, None),
    ("GET", "/apis/batch/v1/jobs", Some("limit=500"), false, "list", "list", "batch", None, "jobs", None, None),
    ("GET", "/api/v1/namespaces/a/pods/p", None, false, "get", "get", "", Some("a"), "pods", Some("p"), None),
    ("GET", "/api/v1/namespaces/a/pods/p/log", None, false, "get", "get", "", Some("a"), "pods", Some("p"), Some("log")),
    ("POST", "/api/v1/namespaces/a/pods", None, false, "create", "create", "", Some("a"), "pods", None, None),
    ("PUT", "/api/v1/namespaces/a/pods/p", None, false, "update", "update", "", Some("a"), "pods", Some("p"), None),
    ("PATCH", "/api/v1/namespaces/a/pods/p/status", None, false, "patch", "patch", "", Some("a"), "pods", Some("p"), Some("status")),
    ("DELETE", "/api/v1/namespaces/a/pods/p", None, false, "delete", "delete", "", Some("a"), "pods", Some("p"), None),
    ("DELETE", "/api/v1/namespaces/a/pods", None, false, "deletecollection", "deletecollection", "", Some("a"), "pods", None, None),
    ("OPTIONS", "/api/v1/namespaces/a/pods", None, false, "", "", "", Some("a"), "pods", None, None),
    // connect: SPDY exec is POST, WebSocket exec is GET; both are create for the proxy
    ("POST", "/api/v1/namespaces/a/pods/p/exec", Some("command=sh&stdin=true"), true, "create", "create", "", Some("a"), "pods", Some("p"), Some("exec")),
    ("GET", "/api/v1/namespaces/a/pods/p/exec", Some("command=sh&stdout=true"), true, "get", "create", "", Some("a"), "pods", Some("p"), Some("exec")),
    ("GET", "/api/v1/namespaces/a/pods/p/attach", None, true, "get", "create", "", Some("a"), "pods", Some("p"), Some("attach")),
    ("GET", "/api/v1/namespaces/a/pods/p/portforward", Some("ports=8080"), true, "get", "create", "", Some("a"), "pods", Some("p"), Some("portforward")),
    ("POST", "/api/v1/namespaces/a/pods/p/portforward", None, true, "create", "create", "", Some("a"), "pods", Some("p"), Some("portforward")),
    ("GET", "/api/v1/namespaces/a/pods/p/exec", None, false, "get", "create", "", Some("a"), "pods", Some("p"), Some("exec")),
    ("GET", "/api/v1/namespaces/a/services/s/proxy", None, true, "get", "create", "", Some("a"), "services", Some("s"), Some("proxy")),
    ("GET", "/api/v1/namespaces/a/services/s/proxy/x/y", None, false, "get", "get", "", Some("a"), "services", Some("s"), Some("proxy")),
    ("GET", "/api/v1/namespaces/a/pods/p:8080/proxy/", None, true, "get", "create", "", Some("a"), "pods", Some("p:8080"), Some("proxy")),
    ("GET", "/api/v1/nodes/n1/proxy/metrics", None, false, "get", "get", "", None, "nodes", Some("n1"), Some("proxy")),
    ("GET", "/api/v1/proxy/namespaces/a/pods/p", None, false, "proxy", "proxy", "", Some("a"), "pods", Some("p"), None),
    // namespaces and their subresources
    ("GET", "/api/v1/namespaces", None, false, "list", "list", "", None, "namespaces", None, None),
    ("GET", "/api/v1/namespaces", Some("watch=1"), false, "watch", "watch", "", None, "namespaces", None, None),
    ("GET", "/api/v1/watch/namespaces", None, false, "watch", "watch", "", None, "namespaces", None, None),
    ("GET", "/api/v1/watch/namespaces/a", None, false, "watch", "watch", "", Some("a"), "namespaces", Some("a"), None),
    ("POST", "/api/v1/namespaces", None, false, "create", "create", "", None, "namespaces", None, None),
    ("GET", "/api/v1/namespaces/a", None, false, "get", "get", "", Some("a"), "namespaces", Some("a"), None),
    ("DELETE", "/api/v1/namespaces/a", None, false, "delete", "delete", "", Some("a"), "namespaces", Some("a"), None),
    ("PUT", "/api/v1/namespaces/a/finalize", None, false, "update", "update", "", Some("a"), "namespaces", Some("a"), Some("finalize")),
    ("GET", "/api/v1/namespaces/a/status", None, false, "get", "get", "", Some("a"), "namespaces", Some("a"), Some("status")),
    // kube applies the namespace-subresource rule in every group
    ("GET", "/apis/batch/v1/namespaces/a/status", None, false, "get", "get", "batch", Some("a"), "namespaces", Some("a"), Some("status")),
    // groups
    ("DELETE", "/apis/batch/v1/namespaces/a/jobs", None, false, "deletecollection", "deletecollection", "batch", Some("a"), "jobs", None, None),
    ("PATCH", "/apis/batch/v1/namespaces/a/jobs/j", None, false, "patch", "patch", "batch", Some("a"), "jobs", Some("j"), None),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d/scale", None, false, "patch", "patch", "apps", Some("a"), "deployments", Some("d"), Some("scale")),
    ("GET", "/apis/events.k8s.io/v1/namespaces/a/events", None, false, "list", "list", "events.k8s.io", Some("a"), "events", None, None),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", None, false, "create", "create", "authorization.k8s.io", None, "selfsubjectaccessreviews", None, None),
    ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", None, false, "create", "create", "authentication.k8s.io", None, "selfsubjectreviews", None, None),
    ("GET", "/api/v1/nodes/n1", None, false, "get", "get", "", None, "nodes", Some("n1"), None),
    ("GET", "/apis/storage.k8s.io/v1/storageclasses", None, false, "list", "list", "storage.k8s.io", None, "storageclasses", None, None),
];

#[test]
fn resource_paths() {
    for (method, path, q, up, verb, pverb, group, ns, resource, name, sub) in ROWS {
        let r = res(method, path, *q, *up);
        let ctx = format!("{method} {path}?{q:?}");
        assert_eq!(r.verb, *verb, "verb of {ctx}");
        assert_eq!(r.policy_verb(), *pverb, "policy verb of {ctx}");
        assert_eq!(r.group, *group, "{ctx}");
        assert_eq!(r.namespace.as_deref(), *ns, "{ctx}");
        assert_eq!(r.resource, *resource, "{ctx}");
        assert_eq!(r.name.as_deref(), *name, "{ctx}");
        assert_eq!(r.subresource.as_deref(), *sub, "{ctx}");
        assert_eq!(r.upgrade, *up, "{ctx}");
        assert_eq!(r.original_path(), *path, "original path of {ctx}");
    }
}

#[test]
fn paths_in_another_namespace() {
    let cases: &[(&str, &str)] = &[
        ("/api/v1/pods", "/api/v1/namespaces/own/pods"),
        ("/api/v1/watch/pods", "/api/v1/watch/namespaces/own/pods"),
        (
            "/apis/batch/v1/jobs/",
            "/apis/batch/v1/namespaces/own/jobs/",
        ),
        (
            "/api/v1/namespaces/default/pods/p/log",
            "/api/v1/namespaces/own/pods/p/log",
        ),
        (
            "/api/v1/watch/namespaces/default/configmaps",
            "/api/v1/watch/namespaces/own/configmaps",
        ),
        (
            "/api/v1/namespaces/default/services/s/proxy/a/b/",
            "/api/v1/namespaces/own/services/s/proxy/a/b/",
        ),
    ];
    for (from, to) in cases {
        assert_eq!(res("GET", from, None, false).path_in_namespace("own"), *to);
    }
}

#[test]
fn long_running_requests() {
    let cases: &[(&str, &str, Option<&str>, bool)] = &[
        ("GET", "/api/v1/namespaces/a/pods", Some("watch=1"), true),
        ("GET", "/api/v1/watch/pods", None, true),
        ("GET", "/api/v1/namespaces/a/pods/p/log", None, true),
        ("POST", "/api/v1/namespaces/a/pods/p/exec", None, true),
        ("GET", "/api/v1/namespaces/a/services/s/proxy", None, true),
        ("GET", "/api/v1/namespaces/a/pods", None, false),
        ("GET", "/api/v1/namespaces/a/pods/p/status", None, false),
    ];
    for (method, path, q, long) in cases {
        assert_eq!(
            res(method, path, *q, false).is_long_running(),
            *long,
            "{path}"
        );
    }
}

#[test]
fn non_canonical_paths_are_refused() {
    for p in [
        "/api/v1/namespaces/a/../b/pods",
        "/api/v1/namespaces/./a/pods",
        "/api/v1/namespaces/a/pods/..",
        "/api/v1/namespaces/a%2Fb/pods",
        "/api/v1/namespaces/a%2fb/pods",
        "/api/v1/namespaces/%2e%2e/pods",
        "/api/v1/namespaces/%2E/pods",
        "/api/v1/namespaces/a%5Cb/pods",
        "/api/v1/namespaces/a\\b/pods",
        "/api/v1/namespaces/%64efault/pods",
        "/api/v1/namespaces/a/%70ods",
        "/api/v1/namespaces/a/pods/p%20q",
        "/api/v1//namespaces/a/pods",
        "//api/v1",
        "/api/v1/namespaces/a/pods//",
        "/api/v1/namespaces/a\u{1}/pods",
        "/api/v1/namespaces/a\u{7f}/pods",
        "/api/v1/namespaces/a\t/pods",
        "/api/v1/namespaces/a%00/pods",
        "/api/v1/namespaces/é/pods",
        "api/v1",
        "",
    ] {
        assert!(check_canonical(p).is_err(), "{p:?}");
        assert!(
            parse_request(&Method::GET, p, None, false).is_err(),
            "{p:?}"
        );
    }
    assert!(check_canonical(&format!("/api/{}", "a".repeat(MAX_PATH))).is_err());
    for p in [
        "/",
        "/api/v1/namespaces/a/pods",
        "/api/v1/namespaces/a/pods/",
        "/version",
        "/apis/batch/v1/namespaces/kbatch-x--1234567/jobs",
        "/api/v1/namespaces/a/pods/p.q-r",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:aggregate-to-edit",
    ] {
        assert!(check_canonical(p).is_ok(), "{p}");
    }
}

#[test]
fn query_parsing_decodes_and_keeps_order() {
    let q = Query::parse(Some(
        "labelSelector=app%3Dweb%2Ctier+in+(a%2Cb)&command=sh&command=-c&command=echo+a%26b&limit=5",
    ))
    .expect("parse");
    assert_eq!(q.get("labelSelector"), Some("app=web,tier in (a,b)"));
    assert_eq!(
        q.get_all("command").collect::<Vec<_>>(),
        vec!["sh", "-c", "echo a&b"]
    );
    assert_eq!(q.get("limit"), Some("5"));
    assert_eq!(q.get("missing"), None);
    let keys: Vec<&str> = q.pairs().iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec!["labelSelector", "command", "command", "command", "limit"]
    );
    // unchanged queries are forwarded byte for byte
    assert_eq!(
        q.to_string(),
        "labelSelector=app%3Dweb%2Ctier+in+(a%2Cb)&command=sh&command=-c&command=echo+a%26b&limit=5"
    );
    assert_eq!(Query::parse(None).expect("none").to_forward(), None);
    assert_eq!(Query::parse(Some("")).expect("empty").to_forward(), None);
    let q = Query::parse(Some("a=1&&b=2&")).expect("empty pieces");
    assert_eq!(q.pairs().len(), 2);
    let q = Query::parse(Some("dryRun=All&dryRun=All&ports=1&ports=2")).expect("repeatable");
    assert_eq!(q.get_all("ports").count(), 2);
}

#[test]
fn query_editing_renders_like_go() {
    let mut q = Query::parse(Some(
        "limit=500&fieldSelector=status.phase%3DActive&watch=1",
    ))
    .expect("parse");
    q.set(
        "fieldSelector",
        "status.phase=Active,metadata.name=kbatch-a",
    );
    assert_eq!(
        q.to_string(),
        "limit=500&fieldSelector=status.phase%3DActive%2Cmetadata.name%3Dkbatch-a&watch=1"
    );
    let mut q = Query::parse(Some("limit=500")).expect("parse");
    q.set("fieldSelector", "metadata.name=x y");
    assert_eq!(
        q.to_string(),
        "limit=500&fieldSelector=metadata.name%3Dx%20y"
    );
    let mut q = Query::default();
    q.set("fieldSelector", "metadata.name=ns-1_a.b~c");
    assert_eq!(
        q.to_forward().as_deref(),
        Some("fieldSelector=metadata.name%3Dns-1_a.b~c")
    );
}

#[test]
fn ambiguous_queries_are_refused() {
    let cases: &[(&str, QueryError)] = &[
        (
            "fieldSelector=a%3Db&fieldSelector=c%3Dd",
            QueryError::Duplicate("fieldSelector".into()),
        ),
        (
            "labelSelector=a&labelSelector=b",
            QueryError::Duplicate("labelSelector".into()),
        ),
        (
            "labelSelector=a&%6cabelSelector=b",
            QueryError::Duplicate("labelSelector".into()),
        ),
        ("watch=0&watch=1", QueryError::Duplicate("watch".into())),
        ("limit=1&limit=2", QueryError::Duplicate("limit".into())),
        (
            "continue=a&continue=b",
            QueryError::Duplicate("continue".into()),
        ),
        (
            "resourceVersion=1&resourceVersion=2",
            QueryError::Duplicate("resourceVersion".into()),
        ),
        (
            "container=a&container=b",
            QueryError::Duplicate("container".into()),
        ),
        (
            "propagationPolicy=Orphan&propagationPolicy=Foreground",
            QueryError::Duplicate("propagationPolicy".into()),
        ),
        ("watch=1;watch=0", QueryError::Semicolon),
        ("a=%zz", QueryError::BadEscape("%zz".into())),
        ("a=%4", QueryError::BadEscape("%4".into())),
        ("a%=1", QueryError::BadEscape("a%".into())),
        ("a=%ff", QueryError::NotUtf8),
    ];
    for (raw, err) in cases {
        assert_eq!(Query::parse(Some(raw)).as_ref(), Err(err), "{raw}");
        assert!(
            parse_request(&Method::GET, "/api/v1/pods", Some(raw), false).is_err(),
            "{raw}"
        );
    }
    let long = format!("a={}", "x".repeat(MAX_QUERY));
    assert_eq!(Query::parse(Some(&long)), Err(QueryError::TooLong));
}

#[test]
fn field_selectors_are_checked_and_anded() {
    let ok: &[(Option<&str>, &str)] = &[
        (None, "metadata.name=me"),
        (Some(""), "metadata.name=me"),
        (
            Some("status.phase=Active"),
            "status.phase=Active,metadata.name=me",
        ),
        (
            Some("metadata.name!=x"),
            "metadata.name!=x,metadata.name=me",
        ),
        (
            Some("metadata.name==x"),
            "metadata.name==x,metadata.name=me",
        ),
        (Some("a=b\\,c"), "a=b\\,c,metadata.name=me"),
        (Some("a=b\\\\"), "a=b\\\\,metadata.name=me"),
        (Some("metadata.name=me"), "metadata.name=me"),
        (Some("a=b,metadata.name=me"), "a=b,metadata.name=me"),
    ];
    for (sel, want) in ok {
        assert_eq!(
            and_field_selector(*sel, "metadata.name=me").as_deref(),
            Ok(*want),
            "{sel:?}"
        );
    }
    // A dangling backslash would swallow the appended comma: refused.
    for bad in ["metadata.name!=x\\", "a", "a=b=c", "a=b\\q", "x,y"] {
        assert!(
            and_field_selector(Some(bad), "metadata.name=me").is_err(),
            "{bad}"
        );
        assert!(check_field_selector(bad).is_err(), "{bad}");
    }
}

#[test]
fn namespace_terms_of_a_field_selector_follow_the_rewrite() {
    let rename = |s| rename_field_selector_namespace(s, "default", "kbatch-me");
    let cases: &[(&str, Option<&str>)] = &[
        (
            "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Pod",
            Some("involvedObject.name=web,involvedObject.namespace=kbatch-me,involvedObject.kind=Pod"),
        ),
        ("metadata.namespace==default", Some("metadata.namespace==kbatch-me")),
        ("metadata.namespace!=default", Some("metadata.namespace!=kbatch-me")),
        ("regarding.namespace=default", Some("regarding.namespace=kbatch-me")),
        // Other fields and other values are not namespaces to rename.
        ("metadata.name=default", None),
        ("involvedObject.namespace=defaults", None),
        ("involvedObject.namespace=other", None),
        ("", None),
    ];
    for (sel, want) in cases {
        let got = rename(sel);
        assert_eq!(got, Ok(want.map(String::from)), "{sel}");
    }
    assert!(rename("involvedObject.namespace=default\\").is_err());
}
