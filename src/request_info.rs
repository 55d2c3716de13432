//! Raw Kubernetes API paths → what the request is about, like kube-apiserver's RequestInfo
//! (pure). Non-canonical paths are refused rather than normalised: a proxy that cleans
//! `a/../b` into `b` decides about one path and forwards another.

use http::Method;

/// The kind of path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    /// Discovery and metadata: `/api`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`, `/api/v1`,
    /// `/version`, `/openapi/**`.
    Discovery,
    /// A resource request under `/api/v1/…` or `/apis/<g>/<v>/…`.
    Resource(ResourceInfo),
    /// Anything else (`/healthz`, `/metrics`, `/logs`, unknown prefixes).
    Other,
}

/// A resource request, as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: &'static str,
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace, when the path names one (for `namespaces/<x>` itself: `x`).
    pub namespace: Option<String>,
    /// Plural resource (`pods`, `namespaces`).
    pub resource: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`log`, `exec`, `status`).
    pub subresource: Option<String>,
}

/// Why a path was refused before classification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Dot segments, empty segments, encoded slashes or control characters, over-long paths.
    #[error("the request path is not canonical: {0}")]
    NonCanonical(&'static str),
}

/// Longest path accepted (kube-apiserver has no hard limit; real paths are far shorter).
pub const MAX_PATH: usize = 4096;

/// Check that `path` (as received, still percent-encoded) is canonical.
pub fn check_canonical(path: &str) -> Result<(), PathError> {
    if path.len() > MAX_PATH {
        return Err(PathError::NonCanonical("path too long"));
    }
    if !path.starts_with('/') {
        return Err(PathError::NonCanonical("path must start with /"));
    }
    let lower = path.to_ascii_lowercase();
    for bad in ["%2f", "%5c", "%00", "%2e", "\\"] {
        if lower.contains(bad) {
            return Err(PathError::NonCanonical("encoded separators, dots or NULs"));
        }
    }
    if path.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(PathError::NonCanonical("control characters"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    for seg in trimmed.split('/').skip(1) {
        if seg.is_empty() {
            return Err(PathError::NonCanonical("empty path segment"));
        }
        if seg == "." || seg == ".." {
            return Err(PathError::NonCanonical("dot segment"));
        }
    }
    Ok(())
}

fn is_watch_param(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            k == "watch" && matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")
        })
    })
}

/// Classify a canonical path (call [`check_canonical`] first).
pub fn classify(method: &Method, path: &str, query: Option<&str>) -> PathKind {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.split('/').skip(1).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] | ["api"] | ["apis"] | ["api", _] | ["apis", _] | ["apis", _, _] => {
            return PathKind::Discovery
        }
        ["openapi", ..] => return PathKind::Discovery,
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return PathKind::Other,
    };
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    // kube-apiserver: "namespaces/<ns>/<resource>…" is namespaced unless it is
    // namespaces/<name>[/<subresource>] (status, finalize) of the core group.
    let (namespace, resource, name, sub) = match rest {
        ["namespaces", ns] => (Some(*ns), "namespaces", Some(*ns), None),
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            (Some(*ns), "namespaces", Some(*ns), Some(*sub))
        }
        ["namespaces", ns, res, tail @ ..] => match tail {
            [] => (Some(*ns), *res, None, None),
            [name] => (Some(*ns), *res, Some(*name), None),
            [name, sub, ..] => (Some(*ns), *res, Some(*name), Some(*sub)),
        },
        [res] => (None, *res, None, None),
        [res, name] => (None, *res, Some(*name), None),
        [res, name, sub, ..] => (None, *res, Some(*name), Some(*sub)),
        [] => return PathKind::Discovery,
    };
    let watch = legacy_watch || is_watch_param(query);
    let verb = match (method.as_str(), name.is_some()) {
        ("GET" | "HEAD", _) if watch => "watch",
        ("GET" | "HEAD", true) => "get",
        ("GET" | "HEAD", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    };
    PathKind::Resource(ResourceInfo {
        verb,
        group: group.to_string(),
        version: version.to_string(),
        namespace: namespace.map(str::to_string),
        resource: resource.to_string(),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(method: &str, path: &str, q: Option<&str>) -> ResourceInfo {
        match classify(
            &Method::from_bytes(method.as_bytes()).expect("method"),
            path,
            q,
        ) {
            PathKind::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn discovery_paths() {
        for p in [
            "/version",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/batch",
            "/apis/batch/v1",
            "/openapi/v2",
            "/openapi/v3/apis/batch/v1",
            "/api/",
        ] {
            assert_eq!(classify(&Method::GET, p, None), PathKind::Discovery, "{p}");
        }
        assert_eq!(classify(&Method::GET, "/healthz", None), PathKind::Other);
        assert_eq!(classify(&Method::GET, "/logs/x", None), PathKind::Other);
    }

    #[test]
    fn resource_paths() {
        #[allow(clippy::type_complexity)]
        let cases: &[(
            &str,
            &str,
            Option<&str>,
            &str,
            &str,
            Option<&str>,
            &str,
            Option<&str>,
            Option<&str>,
        )] = &[
            (
                "GET",
                "/api/v1/namespaces/a/pods",
                None,
                "list",
                "",
                Some("a"),
                "pods",
                None,
                None,
            ),
            (
                "GET",
                "/api/v1/namespaces/a/pods",
                Some("watch=true"),
                "watch",
                "",
                Some("a"),
                "pods",
                None,
                None,
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/a/pods",
                None,
                "watch",
                "",
                Some("a"),
                "pods",
                None,
                None,
            ),
            (
                "GET",
                "/api/v1/pods",
                None,
                "list",
                "",
                None,
                "pods",
                None,
                None,
            ),
            (
                "GET",
                "/api/v1/namespaces/a/pods/p/log",
                None,
                "get",
                "",
                Some("a"),
                "pods",
                Some("p"),
                Some("log"),
            ),
            (
                "POST",
                "/api/v1/namespaces/a/pods/p/exec",
                None,
                "create",
                "",
                Some("a"),
                "pods",
                Some("p"),
                Some("exec"),
            ),
            (
                "GET",
                "/api/v1/namespaces/a",
                None,
                "get",
                "",
                Some("a"),
                "namespaces",
                Some("a"),
                None,
            ),
            (
                "PUT",
                "/api/v1/namespaces/a/finalize",
                None,
                "update",
                "",
                Some("a"),
                "namespaces",
                Some("a"),
                Some("finalize"),
            ),
            (
                "GET",
                "/api/v1/namespaces",
                None,
                "list",
                "",
                None,
                "namespaces",
                None,
                None,
            ),
            (
                "DELETE",
                "/apis/batch/v1/namespaces/a/jobs",
                None,
                "deletecollection",
                "batch",
                Some("a"),
                "jobs",
                None,
                None,
            ),
            (
                "PATCH",
                "/apis/batch/v1/namespaces/a/jobs/j",
                None,
                "patch",
                "batch",
                Some("a"),
                "jobs",
                Some("j"),
                None,
            ),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                None,
                "create",
                "authorization.k8s.io",
                None,
                "selfsubjectaccessreviews",
                None,
                None,
            ),
            (
                "GET",
                "/api/v1/nodes/n1",
                None,
                "get",
                "",
                None,
                "nodes",
                Some("n1"),
                None,
            ),
        ];
        for (m, path, q, verb, group, ns, resource, name, sub) in cases {
            let r = res(m, path, *q);
            assert_eq!(r.verb, *verb, "{path}");
            assert_eq!(r.group, *group, "{path}");
            assert_eq!(r.namespace.as_deref(), *ns, "{path}");
            assert_eq!(r.resource, *resource, "{path}");
            assert_eq!(r.name.as_deref(), *name, "{path}");
            assert_eq!(r.subresource.as_deref(), *sub, "{path}");
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for p in [
            "/api/v1/namespaces/a/../b/pods",
            "/api/v1/namespaces/./a/pods",
            "/api/v1/namespaces/a%2Fb/pods",
            "/api/v1/namespaces/a%2fb/pods",
            "/api/v1/namespaces/%2e%2e/pods",
            "/api/v1//namespaces/a/pods",
            "/api/v1/namespaces/a\u{1}/pods",
            "/api/v1/namespaces/a%00/pods",
            "api/v1",
        ] {
            assert!(check_canonical(p).is_err(), "{p}");
        }
        assert!(check_canonical(&format!("/api/{}", "a".repeat(MAX_PATH))).is_err());
        for p in [
            "/api/v1/namespaces/a/pods",
            "/api/v1/namespaces/a/pods/",
            "/version",
            "/apis/batch/v1/namespaces/kbatch-x--1234567/jobs",
        ] {
            assert!(check_canonical(p).is_ok(), "{p}");
        }
    }
}
