//! Request paths and queries → a parsed API request, like kube-apiserver's RequestInfo.
//!
//! Pure: no store, no I/O. Unknown group-versions answer text/plain 404, unknown resources in a
//! served group-version answer the JSON "could not find the requested resource" Status, and
//! methods a resource does not allow answer 405 — in that order, as kube-apiserver does.

use std::collections::HashMap;

use http::Method;

use crate::resources::{self, ResourceDef};
use crate::status::{ApiError, ApiResult};

/// The verb of a request, as RBAC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET of a named object (or a GET-able subresource such as `log`).
    Get,
    /// GET of a collection.
    List,
    /// GET of a collection with `watch=true` or under `/watch/`.
    Watch,
    /// POST to a collection (or a create-only subresource).
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE of a named object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
}

impl Verb {
    /// The RBAC verb string.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// Parsed query parameters (first value wins for scalars; `command` may repeat).
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
    first: HashMap<String, String>,
}

impl Query {
    /// Parse an `application/x-www-form-urlencoded` query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut q = Query::default();
        if let Some(raw) = raw {
            for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
                q.first
                    .entry(k.to_string())
                    .or_insert_with(|| v.to_string());
                q.pairs.push((k.into_owned(), v.into_owned()));
            }
        }
        q
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.first.get(key).map(String::as_str)
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter as Go's `strconv.ParseBool` reads it (`1`, `t`, `T`, `true`, `TRUE`,
    /// `True` …); absent → `false`; unparsable → 400.
    pub fn bool(&self, key: &str) -> ApiResult<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(v) => parse_bool(v).ok_or_else(|| {
                ApiError::bad_request(format!("strconv.ParseBool: parsing {v:?}: invalid syntax"))
            }),
        }
    }

    /// An integer parameter; unparsable → 400 as kube's query decoding answers.
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                ApiError::bad_request(format!("strconv.ParseInt: parsing {v:?}: invalid syntax"))
            }),
        }
    }

    /// Whether `dryRun=All` was asked (any other value → 400).
    pub fn dry_run(&self) -> ApiResult<bool> {
        let values = self.all("dryRun");
        for v in &values {
            if *v != "All" {
                return Err(ApiError::bad_request(format!(
                    "Invalid dry run value: unsupported dry run value: {v}"
                )));
            }
        }
        Ok(!values.is_empty())
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A request for an API resource.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The verb.
    pub verb: Verb,
    /// The resource or subresource addressed.
    pub res: &'static ResourceDef,
    /// The main resource (same as `res` unless a subresource is addressed).
    pub main: &'static ResourceDef,
    /// Namespace from the path (`None` for cluster-scoped or all-namespaces requests).
    pub namespace: Option<String>,
    /// Object name, if the path names one.
    pub name: Option<String>,
    /// The query.
    pub query: Query,
}

impl ApiRequest {
    /// The subresource name (`""` for none).
    pub fn subresource(&self) -> &'static str {
        self.res.subresource
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/')
}

/// Parse `method path?query` into an [`ApiRequest`]. Non-API paths return a 404 text error.
pub fn parse(method: &Method, path: &str, raw_query: Option<&str>) -> ApiResult<ApiRequest> {
    let query = Query::parse(raw_query);
    let trimmed = path.trim_end_matches('/');
    let segs: Vec<&str> = trimmed.trim_start_matches('/').split('/').collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::page_not_found()),
    };
    if !resources::serves_group_version(group, version) || rest.is_empty() {
        return Err(ApiError::page_not_found());
    }
    if rest.iter().any(|s| !valid_segment(s)) {
        return Err(ApiError::page_not_found());
    }
    let (legacy_watch, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    // namespaces/<ns>/<plural>/... addresses a namespaced resource unless <plural> is absent or
    // names a namespace subresource.
    let (namespace, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if resources::find_sub(group, version, "namespaces", plural).is_none() =>
        {
            match tail {
                [] => (Some(*ns), *plural, None, ""),
                [name] => (Some(*ns), *plural, Some(*name), ""),
                [name, sub] => (Some(*ns), *plural, Some(*name), *sub),
                _ => return Err(ApiError::unknown_resource()),
            }
        }
        [plural] => (None, *plural, None, ""),
        [plural, name] => (None, *plural, Some(*name), ""),
        [plural, name, sub] => (None, *plural, Some(*name), *sub),
        // `nodes/<name>/proxy/<path...>` proxies any path to the kubelet.
        [plural, name, sub @ "proxy", ..] => (None, *plural, Some(*name), *sub),
        _ => return Err(ApiError::unknown_resource()),
    };
    let main = resources::find(group, version, plural).ok_or_else(ApiError::unknown_resource)?;
    let res =
        resources::find_sub(group, version, plural, sub).ok_or_else(ApiError::unknown_resource)?;
    if namespace.is_some() && !main.namespaced {
        return Err(ApiError::unknown_resource());
    }
    // `watch=1` on a named object path is ignored (a plain GET), as kube-apiserver does; the
    // legacy /watch/ prefix does watch one object.
    let watch_param = name.is_none()
        && match query.get("watch") {
            Some(v) => parse_bool(v).unwrap_or(false),
            None => false,
        };
    let verb = verb_for(method, name.is_some(), legacy_watch || watch_param)?;
    if legacy_watch && !matches!(verb, Verb::Watch | Verb::Get) {
        return Err(ApiError::method_not_allowed());
    }
    let verb = if legacy_watch { Verb::Watch } else { verb };
    if verb == Verb::Create && name.is_some() && sub.is_empty() {
        return Err(ApiError::method_not_allowed());
    }
    let allowed = match verb {
        // pods/exec etc. are "create"/"get" in discovery; GET of them is a connect.
        Verb::Get | Verb::Create
            if matches!(res.subresource, "exec" | "attach" | "portforward") =>
        {
            true
        }
        v => res.supports(v.as_str()),
    };
    if !allowed {
        return Err(ApiError::method_not_allowed());
    }
    Ok(ApiRequest {
        verb,
        res,
        main,
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        query,
    })
}

fn verb_for(method: &Method, named: bool, watch: bool) -> ApiResult<Verb> {
    Ok(match (method.as_str(), named) {
        ("GET", true) if watch => Verb::Watch,
        ("GET", true) => Verb::Get,
        ("GET", false) if watch => Verb::Watch,
        ("GET", false) => Verb::List,
        ("POST", false) => Verb::Create,
        // POST to a named path is only meaningful for subresources (exec, token, eviction);
        // `verb_for` callers reject it for the object itself.
        ("POST", true) => Verb::Create,
        ("PUT", true) => Verb::Update,
        ("PATCH", true) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        _ => return Err(ApiError::method_not_allowed()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(method: &str, path: &str, q: Option<&str>) -> ApiResult<ApiRequest> {
        parse(
            &Method::from_bytes(method.as_bytes()).expect("method"),
            path,
            q,
        )
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn classifies_paths() {
        let cases: &[(
            &str,
            &str,
            Option<&str>,
            Verb,
            &str,
            Option<&str>,
            Option<&str>,
        )] = &[
            (
                "GET",
                "/api/v1/namespaces/a/pods",
                None,
                Verb::List,
                "pods",
                Some("a"),
                None,
            ),
            ("GET", "/api/v1/pods", None, Verb::List, "pods", None, None),
            (
                "GET",
                "/api/v1/namespaces/a/pods",
                Some("watch=true"),
                Verb::Watch,
                "pods",
                Some("a"),
                None,
            ),
            (
                "GET",
                "/api/v1/watch/namespaces/a/pods",
                None,
                Verb::Watch,
                "pods",
                Some("a"),
                None,
            ),
            (
                "GET",
                "/api/v1/namespaces/a/pods/p/log",
                None,
                Verb::Get,
                "pods/log",
                Some("a"),
                Some("p"),
            ),
            (
                "POST",
                "/api/v1/namespaces/a/pods/p/exec",
                Some("command=ls"),
                Verb::Create,
                "pods/exec",
                Some("a"),
                Some("p"),
            ),
            (
                "GET",
                "/api/v1/namespaces/a",
                None,
                Verb::Get,
                "namespaces",
                None,
                Some("a"),
            ),
            (
                "GET",
                "/api/v1/namespaces",
                None,
                Verb::List,
                "namespaces",
                None,
                None,
            ),
            (
                "PUT",
                "/api/v1/namespaces/a/finalize",
                None,
                Verb::Update,
                "namespaces/finalize",
                None,
                Some("a"),
            ),
            (
                "PATCH",
                "/apis/batch/v1/namespaces/a/jobs/j",
                None,
                Verb::Patch,
                "jobs",
                Some("a"),
                Some("j"),
            ),
            (
                "DELETE",
                "/apis/batch/v1/namespaces/a/jobs",
                None,
                Verb::DeleteCollection,
                "jobs",
                Some("a"),
                None,
            ),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                None,
                Verb::Create,
                "selfsubjectaccessreviews",
                None,
                None,
            ),
            (
                "GET",
                "/apis/batch/v1/namespaces/a/jobs/j/status",
                None,
                Verb::Get,
                "jobs/status",
                Some("a"),
                Some("j"),
            ),
            (
                "GET",
                "/api/v1/nodes/n",
                None,
                Verb::Get,
                "nodes",
                None,
                Some("n"),
            ),
            (
                "PUT",
                "/api/v1/nodes/n/status",
                None,
                Verb::Update,
                "nodes/status",
                None,
                Some("n"),
            ),
            (
                "GET",
                "/api/v1/nodes/n/proxy/stats/summary",
                None,
                Verb::Get,
                "nodes/proxy",
                None,
                Some("n"),
            ),
            (
                "POST",
                "/api/v1/nodes/n/proxy",
                None,
                Verb::Create,
                "nodes/proxy",
                None,
                Some("n"),
            ),
        ];
        for (m, path, q, verb, res, ns, name) in cases {
            let r = p(m, path, *q).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(r.verb, *verb, "{path}");
            assert_eq!(r.res.name(), *res, "{path}");
            assert_eq!(r.namespace.as_deref(), *ns, "{path}");
            assert_eq!(r.name.as_deref(), *name, "{path}");
        }
    }

    #[test]
    fn refuses_like_kube_apiserver() {
        let cases: &[(&str, &str, u16, bool)] = &[
            ("GET", "/apis/batch/v1beta1/jobs", 404, true),
            ("GET", "/apis/nope/v1/x", 404, true),
            ("GET", "/api/v1/nopes", 404, false),
            ("PUT", "/api/v1/namespaces/a/configmaps", 405, false),
            ("POST", "/api/v1/namespaces/a/pods/p/log", 405, false),
            ("POST", "/api/v1/namespaces/a/configmaps/c", 405, false),
            ("DELETE", "/api/v1/namespaces", 405, false),
            ("PATCH", "/api/v1/namespaces/a/configmaps", 405, false),
            ("GET", "/api/v1/namespaces/a/pods/../x", 404, true),
            ("GET", "/api/v1/namespaces/a/nodes", 404, false),
            ("GET", "/api/v1/nodes/n/status/x", 404, false),
            ("POST", "/api/v1/nodes/n", 405, false),
        ];
        for (m, path, code, plain) in cases {
            let e = p(m, path, None).expect_err(path);
            assert_eq!(e.code, *code, "{path}");
            assert_eq!(e.plain_text, *plain, "{path}");
        }
    }

    #[test]
    fn query_helpers() {
        let q = Query::parse(Some(
            "command=echo&command=hi&watch=True&limit=abc&dryRun=All",
        ));
        assert_eq!(q.all("command"), vec!["echo", "hi"]);
        assert_eq!(q.bool("watch").ok(), Some(true));
        assert_eq!(q.int("limit").map_err(|e| e.code).err(), Some(400));
        assert_eq!(q.dry_run().ok(), Some(true));
    }
}
