//! Raw Kubernetes API requests → what they are about, like kube-apiserver's `RequestInfo`
//! (pure): verb, group, version, namespace, resource, name, subresource. Non-canonical paths and
//! ambiguous query strings are refused rather than normalised: a proxy that cleans `a/../b`
//! into `b`, or reads the second of two `fieldSelector`s, decides about one request and forwards
//! another.

mod query;
#[cfg(test)]
mod tests;

use http::Method;

pub use query::{
    and_field_selector, check_field_selector, rename_field_selector_namespace, Query, QueryError,
    MAX_QUERY, NAMESPACE_FIELDS,
};

/// The kind of path.
// One per request, never stored in bulk: boxing the resource variant would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    /// Discovery and metadata: `/api`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`, `/api/v1`,
    /// `/version`, `/openapi/**`, with the request's method (only `GET` and `HEAD` read them;
    /// see [`PathKind::is_discovery_read`]).
    Discovery(Method),
    /// A resource request under `/api/v1/…` or `/apis/<g>/<v>/…`.
    Resource(ResourceInfo),
    /// Anything else (`/healthz`, `/metrics`, `/logs`, unknown prefixes, `/api/v1/watch`).
    Other,
}

impl PathKind {
    /// A discovery read: a discovery path with `GET` or `HEAD`. Other methods on discovery
    /// paths are answered 405 by the proxy, never forwarded with its credential.
    pub fn is_discovery_read(&self) -> bool {
        matches!(self, PathKind::Discovery(m) if *m == Method::GET || *m == Method::HEAD)
    }
}

/// A resource request, as RBAC sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// The RBAC verb exactly as kube-apiserver computes it: `get`, `list`, `watch`, `create`,
    /// `update`, `patch`, `delete`, `deletecollection`, `proxy` (the legacy `/proxy/` prefix), or
    /// `""` for methods it does not map. See [`ResourceInfo::policy_verb`] for the proxy's view.
    pub verb: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The request asked for a protocol upgrade (`Connection: Upgrade`).
    pub upgrade: bool,
    /// `/api/v1` or `/apis/<group>/<version>`.
    pub prefix: String,
    /// The path had the legacy `/watch/` segment after the version.
    pub legacy_watch: bool,
    /// The path had the long-removed `/proxy/` segment after the version (verb `proxy`).
    pub legacy_proxy: bool,
    /// API group (`""` for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace, when the path names one (for `namespaces/<x>` itself: `x`, as kube does).
    pub namespace: Option<String>,
    /// Plural resource (`pods`, `namespaces`).
    pub resource: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`log`, `exec`, `status`).
    pub subresource: Option<String>,
    /// The path after `/namespaces/<ns>` (or after the prefix and `/watch` when there is no
    /// namespace), from its leading `/`, trailing slash kept: what a namespace rewrite keeps.
    pub rest: String,
}

/// Subresources that open a stream to a container; the proxy treats them as `create` whatever
/// the method (WebSocket exec and attach arrive as `GET`; kube 1.35 adds the same check).
pub const CONNECT_SUBRESOURCES: &[&str] = &["exec", "attach", "portforward"];

impl ResourceInfo {
    /// The verb the proxy's policy checks: [`ResourceInfo::verb`], except that
    /// `exec`/`attach`/`portforward` are always `create`, an upgrade on `proxy` is `create`,
    /// and a legacy `/watch/` path with a method other than GET/HEAD is `""` (refused).
    pub fn policy_verb(&self) -> &'static str {
        if self.legacy_watch && !matches!(self.method, Method::GET | Method::HEAD) {
            return "";
        }
        match self.subresource.as_deref() {
            Some(s) if CONNECT_SUBRESOURCES.contains(&s) => "create",
            Some("proxy") if self.upgrade => "create",
            _ => self.verb,
        }
    }

    /// kube-apiserver's long-running check (`watch`, `proxy` verbs; `attach`, `exec`, `proxy`,
    /// `log`, `portforward` subresources): such requests must not get a request timeout.
    pub fn is_long_running(&self) -> bool {
        matches!(self.verb, "watch" | "proxy")
            || matches!(
                self.subresource.as_deref(),
                Some("attach" | "exec" | "proxy" | "log" | "portforward")
            )
    }

    /// `resource[.group]`, as RBAC messages and kubectl name it (`pods`, `jobs.batch`).
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    fn special_segment(&self) -> &'static str {
        match (self.legacy_watch, self.legacy_proxy) {
            (true, _) => "/watch",
            (_, true) => "/proxy",
            _ => "",
        }
    }

    /// The path as received (without a route prefix).
    pub fn original_path(&self) -> String {
        let watch = self.special_segment();
        match &self.namespace {
            Some(ns) => format!("{}{watch}/namespaces/{ns}{}", self.prefix, self.rest),
            None => format!("{}{watch}{}", self.prefix, self.rest),
        }
    }

    /// The same request in namespace `ns`: `/api/v1/pods` → `/api/v1/namespaces/<ns>/pods`,
    /// `/api/v1/watch/namespaces/default/pods` → `/api/v1/watch/namespaces/<ns>/pods`.
    pub fn path_in_namespace(&self, ns: &str) -> String {
        let watch = self.special_segment();
        format!("{}{watch}/namespaces/{ns}{}", self.prefix, self.rest)
    }
}

/// Why a path was refused before classification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Dot segments, empty segments, percent-encoding, backslashes or control characters,
    /// over-long paths.
    #[error("the request path is not canonical: {0}")]
    NonCanonical(&'static str),
}

/// Longest path accepted (kube-apiserver has no hard limit; real paths are far shorter).
pub const MAX_PATH: usize = 4096;

/// Check that `path` (as received, still percent-encoded) is canonical. Any `%` is refused:
/// Kubernetes names never need escaping in a path, and Go routes on the *decoded* path, so an
/// escaped byte could only make the proxy and the API server read different paths.
pub fn check_canonical(path: &str) -> Result<(), PathError> {
    if path.len() > MAX_PATH {
        return Err(PathError::NonCanonical("path too long"));
    }
    if !path.starts_with('/') {
        return Err(PathError::NonCanonical("path must start with /"));
    }
    if path.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(PathError::NonCanonical("control characters"));
    }
    if !path.is_ascii() {
        return Err(PathError::NonCanonical("non-ASCII characters"));
    }
    let lower = path.to_ascii_lowercase();
    for bad in ["%2f", "%5c", "%00", "%2e"] {
        if lower.contains(bad) {
            return Err(PathError::NonCanonical("encoded separators, dots or NULs"));
        }
    }
    if path.contains('%') {
        return Err(PathError::NonCanonical("percent-encoded characters"));
    }
    if path.contains('\\') {
        return Err(PathError::NonCanonical("backslashes"));
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

/// kube-apiserver's method → verb mapping (before list/watch/deletecollection refinement).
fn method_verb(method: &Method) -> &'static str {
    match *method {
        Method::POST => "create",
        Method::GET | Method::HEAD => "get",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "",
    }
}

/// Classify a canonical path (call [`check_canonical`] first) with its parsed query; `upgrade`
/// says whether the request asks for a protocol upgrade.
pub fn classify(method: &Method, path: &str, query: &Query, upgrade: bool) -> PathKind {
    let trailing = if path.len() > 1 && path.ends_with('/') {
        "/"
    } else {
        ""
    };
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segs: Vec<&str> = trimmed.split('/').skip(1).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] | ["api"] | ["apis"] | ["api", _] | ["apis", _] | ["apis", _, _] => {
            return PathKind::Discovery(method.clone())
        }
        ["openapi", ..] => return PathKind::Discovery(method.clone()),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return PathKind::Other,
    };
    let prefix = if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    };
    // kube-apiserver's special verbs: /watch/… and the long-removed /proxy/….
    let (special, rest) = match rest {
        ["watch" | "proxy"] => return PathKind::Other,
        ["watch", tail @ ..] => (Some("watch"), tail),
        ["proxy", tail @ ..] => (Some("proxy"), tail),
        _ => (None, rest),
    };
    // "namespaces/<ns>/<resource>…" is namespaced unless it is namespaces/<ns> itself or one of
    // its subresources (status, finalize), exactly as kube-apiserver splits it.
    let (namespace, parts, ns_len) = match rest {
        ["namespaces", ns, next, ..] if !matches!(*next, "status" | "finalize") => {
            (Some(*ns), &rest[2..], 2)
        }
        ["namespaces", ns, ..] => (Some(*ns), rest, 2),
        _ => (None, rest, 0),
    };
    let (resource, name, sub) = match parts {
        [] => return PathKind::Discovery(method.clone()),
        [res] => (*res, None, None),
        [res, name] => (*res, Some(*name), None),
        [res, name, sub, ..] => (*res, Some(*name), Some(*sub)),
    };
    let rest_path = {
        let after = &rest[ns_len..];
        if after.is_empty() {
            trailing.to_string()
        } else {
            format!("/{}{trailing}", after.join("/"))
        }
    };
    let mut verb = special.unwrap_or_else(|| method_verb(method));
    if name.is_none() && verb == "get" {
        verb = if query.watch() { "watch" } else { "list" };
    }
    if name.is_none() && verb == "delete" {
        verb = "deletecollection";
    }
    PathKind::Resource(ResourceInfo {
        verb,
        method: method.clone(),
        upgrade,
        prefix,
        legacy_watch: special == Some("watch"),
        legacy_proxy: special == Some("proxy"),
        group: group.to_string(),
        version: version.to_string(),
        namespace: namespace.map(str::to_string),
        resource: resource.to_string(),
        name: name.map(str::to_string),
        subresource: sub.map(str::to_string),
        rest: rest_path,
    })
}

/// Why a request was refused before any policy (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The path.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The query string.
    #[error(transparent)]
    Query(#[from] QueryError),
}

/// [`check_canonical`], [`Query::parse`] and [`classify`] in one call.
pub fn parse_request(
    method: &Method,
    path: &str,
    raw_query: Option<&str>,
    upgrade: bool,
) -> Result<(PathKind, Query), RequestError> {
    check_canonical(path)?;
    let query = Query::parse(raw_query)?;
    let kind = classify(method, path, &query, upgrade);
    Ok((kind, query))
}
