//! Discovery as kube-apiserver serves it: `/version`, legacy `/api`, `/api/v1`, `/apis`,
//! `/apis/<g>`, `/apis/<g>/<v>` and aggregated discovery (`apidiscovery.k8s.io` v2/v2beta1 with
//! ETag/304), all generated from [`crate::resources`]; `/openapi/*` is delegated to
//! [`crate::openapi`].
//!
//! Ground truth: `k8s-reference/discovery/01..03` (key order, `apiVersion` absent from `/api`
//! and `/api/v1`, trailing `\n`, `/version` always pretty without `\n`, text/plain 404 for an
//! unknown group but a JSON 404 for an unknown version of a served group).

use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha512};

use crate::encode::{self, Body, JsonOpts};
use crate::resources::{self, ResourceDef, GROUPS};
use crate::status::ApiError;

#[cfg(test)]
mod tests;

/// Server version reported at `/version` (and `info.version` of the OpenAPI documents).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerVersion {
    /// `"1"`.
    pub major: String,
    /// `"33"`.
    pub minor: String,
    /// `"v1.33.5"`.
    pub git_version: String,
    /// 40 hex digits.
    pub git_commit: String,
    /// `"clean"` (or `"archive"`).
    pub git_tree_state: String,
    /// RFC3339 seconds, `Z`.
    pub build_date: String,
    /// `"go1.24.6"`.
    pub go_version: String,
    /// `"gc"`.
    pub compiler: String,
    /// `"linux/amd64"`.
    pub platform: String,
}

impl Default for ServerVersion {
    fn default() -> Self {
        ServerVersion {
            major: "1".into(),
            minor: "33".into(),
            git_version: "v1.33.5".into(),
            git_commit: "ac3e6d8e0d9ff34e2bc0bf7bdc9a3bb1e9ae5b52".into(),
            git_tree_state: "clean".into(),
            build_date: "2025-09-09T19:45:31Z".into(),
            go_version: "go1.24.6".into(),
            compiler: "gc".into(),
            platform: "linux/amd64".into(),
        }
    }
}

impl ServerVersion {
    /// Parse `"1.28.7"` or `"v1.28.7"` (patch optional); commit, build date and Go version are
    /// plausible values for that release (the real ones for v1.28.7, as captured).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut parts = s.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        let patch: u32 = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        let git_version = format!("v{major}.{minor}.{patch}");
        let git_commit = if git_version == "v1.28.7" {
            "c8dcb00be9961ec36d141d2e4103f85f92bcf291".to_string()
        } else if git_version == "v1.33.5" {
            ServerVersion::default().git_commit
        } else {
            hex::encode(&Sha512::digest(git_version.as_bytes())[..20])
        };
        Some(ServerVersion {
            major: major.to_string(),
            minor: minor.to_string(),
            git_version,
            git_commit,
            git_tree_state: "clean".into(),
            build_date: build_date_for(minor).into(),
            go_version: go_version_for(minor).into(),
            compiler: "gc".into(),
            platform: "linux/amd64".into(),
        })
    }

    /// The minor version as a number (0 when unparsable).
    pub fn minor_number(&self) -> u32 {
        self.minor.trim_end_matches('+').parse().unwrap_or(0)
    }

    /// The `/version` document, keys in Go struct order.
    pub fn to_json(&self) -> Value {
        json!({
            "major": self.major,
            "minor": self.minor,
            "gitVersion": self.git_version,
            "gitCommit": self.git_commit,
            "gitTreeState": self.git_tree_state,
            "buildDate": self.build_date,
            "goVersion": self.go_version,
            "compiler": self.compiler,
            "platform": self.platform,
        })
    }

    /// Aggregated discovery versions served, newest first: `v2` arrived in 1.30, and 1.28
    /// serves only `v2beta1` (capture 02).
    fn aggregated_versions(&self) -> &'static [&'static str] {
        if self.minor_number() >= 30 {
            &["v2", "v2beta1"]
        } else {
            &["v2beta1"]
        }
    }
}

/// The Go toolchain kube-apiserver releases of that minor were built with.
fn go_version_for(minor: u32) -> &'static str {
    match minor {
        0..=26 => "go1.20.14",
        27 => "go1.21.13",
        28 => "go1.21.13",
        29 => "go1.22.12",
        30 => "go1.23.6",
        31 => "go1.23.12",
        32 => "go1.24.6",
        _ => "go1.24.6",
    }
}

fn build_date_for(minor: u32) -> &'static str {
    match minor {
        0..=27 => "2024-07-16T23:46:55Z",
        28 => "2024-02-14T10:32:40Z",
        29 => "2025-02-12T21:24:04Z",
        30 => "2025-02-12T21:24:40Z",
        31 => "2025-08-13T01:30:02Z",
        32 => "2025-09-09T19:45:02Z",
        _ => "2025-09-09T19:45:31Z",
    }
}

/// Answer discovery and OpenAPI requests: `/version` (and `/version/`), `/api`, `/api/v1`,
/// `/apis`, `/apis/<g>`, `/apis/<g>/<v>`, `/openapi/v2`, `/openapi/v3`, `/openapi/v3/<path>`.
/// Returns `None` for paths that are not discovery (so the router continues).
pub fn handle(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    version: &ServerVersion,
) -> Option<Response<Body>> {
    if path == "/openapi" || path.starts_with("/openapi/") {
        return crate::openapi::handle(method, path, query, headers, version);
    }
    let target = Target::parse(path)?;
    if method != Method::GET {
        return Some(encode::error_response(
            &ApiError::method_not_allowed(),
            false,
        ));
    }
    let pretty = encode::wants_pretty(
        query_param(query, "pretty").as_deref(),
        header_str(headers, "user-agent"),
    );
    Some(match target {
        Target::Version => version_response(version),
        Target::Api | Target::Apis => root_response(&target, headers, pretty, version),
        other => legacy_only(&other, headers, pretty),
    })
}

/// A discovery path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Version,
    Api,
    Apis,
    /// `/api/v1` (core) or `/apis/<g>/<v>`.
    GroupVersion(String, String),
    /// `/apis/<g>`.
    Group(String),
    /// `/api/<not v1>`.
    Unknown,
}

impl Target {
    fn parse(path: &str) -> Option<Target> {
        let trimmed = path.strip_suffix('/').unwrap_or(path);
        let segs: Vec<&str> = trimmed.split('/').skip(1).collect();
        match segs.as_slice() {
            ["version"] => Some(Target::Version),
            ["api"] => Some(Target::Api),
            ["apis"] => Some(Target::Apis),
            ["api", v] if *v == "v1" => Some(Target::GroupVersion(String::new(), "v1".into())),
            ["api", v] if !v.is_empty() => Some(Target::Unknown),
            ["apis", g] if !g.is_empty() => Some(Target::Group((*g).into())),
            ["apis", g, v] if !g.is_empty() && !v.is_empty() => {
                Some(Target::GroupVersion((*g).into(), (*v).into()))
            }
            _ => None,
        }
    }
}

/// The value of one query parameter (not percent-decoded: discovery parameters never need it).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn version_response(version: &ServerVersion) -> Response<Body> {
    // kube-apiserver writes /version with json.MarshalIndent and no trailing newline.
    let mut bytes = encode::go_json(&version.to_json(), true);
    bytes.pop();
    encode::api_response(StatusCode::OK, "application/json", true)
        .body(encode::body_bytes(bytes))
        .unwrap_or_else(|_| fallback())
}

fn fallback() -> Response<Body> {
    encode::error_response(&ApiError::internal("failed to build response"), false)
}

// ---------------------------------------------------------------------------------------------
// Accept negotiation

/// What a discovery request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// Legacy document as JSON.
    Json,
    /// Legacy document as YAML.
    Yaml,
    /// Aggregated `APIGroupDiscoveryList` of this `apidiscovery.k8s.io` version.
    Aggregated(&'static str),
}

/// One alternative of an `Accept` header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MediaRange {
    pub(crate) mime: String,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) q: f32,
}

impl MediaRange {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parse `Accept` into alternatives, best first (by `q`, then header order); `q=0` dropped.
pub(crate) fn parse_accept(accept: &str) -> Vec<MediaRange> {
    let mut out: Vec<MediaRange> = accept
        .split(',')
        .filter_map(|alt| {
            let mut parts = alt.split(';').map(str::trim);
            let mime = parts.next()?.to_ascii_lowercase();
            if mime.is_empty() {
                return None;
            }
            let mut q = 1.0f32;
            let mut params = Vec::new();
            for p in parts {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"'));
                if k == "q" {
                    q = v.parse().unwrap_or(1.0);
                } else if !k.is_empty() {
                    params.push((k, v.to_string()));
                }
            }
            Some(MediaRange { mime, params, q })
        })
        .filter(|m| m.q > 0.0)
        .collect();
    // `sort_by` is stable, so equal q keeps the client's order.
    out.sort_by(|a, b| b.q.partial_cmp(&a.q).unwrap_or(std::cmp::Ordering::Equal));
    out
}

/// Pick the answer for a discovery request; `aggregated` lists the aggregated versions this
/// path can serve (empty except for `/api` and `/apis`). `None` means 406.
pub(crate) fn negotiate(accept: Option<&str>, aggregated: &[&'static str]) -> Option<Variant> {
    let accept = accept.map(str::trim).unwrap_or("");
    if accept.is_empty() {
        return Some(Variant::Json);
    }
    parse_accept(accept)
        .iter()
        .find_map(|m| pick(m, aggregated))
}

fn pick(m: &MediaRange, aggregated: &[&'static str]) -> Option<Variant> {
    if let Some(as_kind) = m.param("as") {
        // Only JSON aggregated discovery is offered; Table or protobuf alternatives are skipped.
        let json_like = matches!(
            m.mime.as_str(),
            "application/json" | "application/*" | "*/*"
        );
        if !json_like
            || as_kind != "APIGroupDiscoveryList"
            || m.param("g") != Some("apidiscovery.k8s.io")
        {
            return None;
        }
        let v = m.param("v")?;
        return aggregated
            .iter()
            .find(|a| **a == v)
            .map(|a| Variant::Aggregated(a));
    }
    match m.mime.as_str() {
        "application/json" | "application/*" | "*/*" => Some(Variant::Json),
        "application/yaml" => Some(Variant::Yaml),
        // Protobuf discovery is not implemented; clients that list it accept JSON too.
        "application/vnd.kubernetes.protobuf" => Some(Variant::Json),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Responses

fn not_acceptable() -> Response<Body> {
    // The negotiation failure is written with json.MarshalIndent: pretty for any User-Agent and
    // no trailing newline (capture 02 #4, 262 bytes).
    let mut bytes = encode::go_json(&ApiError::not_acceptable().to_status(), true);
    bytes.pop();
    encode::api_response(StatusCode::NOT_ACCEPTABLE, "application/json", true)
        .body(encode::body_bytes(bytes))
        .unwrap_or_else(|_| fallback())
}

fn legacy_response(doc: &Value, variant: Variant, pretty: bool) -> Response<Body> {
    match variant {
        Variant::Yaml => {
            let text = serde_yaml::to_string(doc).unwrap_or_default();
            encode::api_response(StatusCode::OK, "application/yaml", true)
                .body(encode::body_bytes(text))
                .unwrap_or_else(|_| fallback())
        }
        _ => encode::json_response(
            StatusCode::OK,
            doc,
            &JsonOpts {
                pretty,
                warnings: Vec::new(),
            },
        ),
    }
}

fn root_response(
    target: &Target,
    headers: &HeaderMap,
    pretty: bool,
    version: &ServerVersion,
) -> Response<Body> {
    let core = *target == Target::Api;
    match negotiate(header_str(headers, "accept"), version.aggregated_versions()) {
        None => not_acceptable(),
        Some(Variant::Aggregated(v)) => {
            let doc = aggregated_list(core, v);
            aggregated_response(&doc, v, headers, pretty)
        }
        Some(variant) => {
            let doc = if core {
                api_versions(header_str(headers, "host"))
            } else {
                api_group_list()
            };
            legacy_response(&doc, variant, pretty)
        }
    }
}

fn legacy_only(target: &Target, headers: &HeaderMap, pretty: bool) -> Response<Body> {
    let doc = match target {
        Target::Group(g) => match api_group(g) {
            Some(doc) => doc,
            None => return encode::error_response(&ApiError::page_not_found(), false),
        },
        Target::GroupVersion(g, v) => {
            if !g.is_empty() && !GROUPS.iter().any(|(name, _)| name == g) {
                return encode::error_response(&ApiError::page_not_found(), false);
            }
            if !resources::serves_group_version(g, v) {
                // A served group with an unknown version is a JSON 404 (capture 03).
                return encode::error_response(&ApiError::unknown_resource(), pretty);
            }
            api_resource_list(g, v)
        }
        _ => return encode::error_response(&ApiError::page_not_found(), false),
    };
    match negotiate(header_str(headers, "accept"), &[]) {
        None => not_acceptable(),
        Some(variant) => legacy_response(&doc, variant, pretty),
    }
}

/// `Etag` value of a document: uppercase hex SHA-512 of its compact JSON (as kube does).
pub(crate) fn etag_of(compact_json: &[u8]) -> String {
    hex::encode_upper(Sha512::digest(compact_json))
}

fn aggregated_response(doc: &Value, v: &str, headers: &HeaderMap, pretty: bool) -> Response<Body> {
    let compact = encode::go_json(doc, false);
    let etag = format!("\"{}\"", etag_of(&compact[..compact.len() - 1]));
    let content_type =
        format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList");
    let mut list = vec![
        ("Cache-Control", "public".to_string()),
        ("Etag", etag.clone()),
        ("Vary", "Accept".to_string()),
    ];
    if header_str(headers, "if-none-match") == Some(etag.as_str()) {
        return respond(StatusCode::NOT_MODIFIED, list, encode::empty());
    }
    list.push(("Content-Type", content_type));
    let body = if pretty {
        encode::go_json(doc, true)
    } else {
        compact
    };
    respond(StatusCode::OK, list, encode::body_bytes(body))
}

/// Build a response with `Audit-Id`, the given headers and the flow-control headers, all in
/// Go's wire order (sorted by name).
pub(crate) fn respond(
    status: StatusCode,
    mut headers: Vec<(&'static str, String)>,
    body: Body,
) -> Response<Body> {
    let template = encode::api_response(status, "", true);
    if let Some(map) = template.headers_ref() {
        for (name, value) in map {
            let name_str = name.as_str();
            let keep = name_str == "audit-id" || name_str.starts_with("x-kubernetes-pf-");
            if let (true, Ok(v)) = (keep, value.to_str()) {
                let canonical = match name_str {
                    "audit-id" => "Audit-Id",
                    "x-kubernetes-pf-flowschema-uid" => "X-Kubernetes-Pf-Flowschema-Uid",
                    _ => "X-Kubernetes-Pf-Prioritylevel-Uid",
                };
                headers.push((canonical, v.to_string()));
            }
        }
    }
    headers.sort_by_key(|(n, _)| n.to_ascii_lowercase());
    let mut b = Response::builder().status(status);
    for (n, v) in headers {
        b = b.header(n, v);
    }
    b.body(body).unwrap_or_else(|_| fallback())
}

// ---------------------------------------------------------------------------------------------
// Documents

/// `/api`: `APIVersions` (no `apiVersion` key, as kube sends it).
pub(crate) fn api_versions(host: Option<&str>) -> Value {
    let addr = host.filter(|h| !h.is_empty()).unwrap_or("127.0.0.1:6443");
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}],
    })
}

fn gv_for_discovery(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

fn group_json(group: &str, versions: &[&str]) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|v| gv_for_discovery(group, v))
        .collect();
    let preferred = versions
        .first()
        .map(|v| gv_for_discovery(group, v))
        .unwrap_or(Value::Null);
    json!({"name": group, "versions": list, "preferredVersion": preferred})
}

/// `/apis`: `APIGroupList`.
pub(crate) fn api_group_list() -> Value {
    let groups: Vec<Value> = GROUPS.iter().map(|(g, vs)| group_json(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<g>`: `APIGroup`, `None` for a group not served.
pub(crate) fn api_group(group: &str) -> Option<Value> {
    let (g, vs) = GROUPS.iter().find(|(g, _)| *g == group)?;
    let mut doc = Map::new();
    doc.insert("kind".into(), json!("APIGroup"));
    doc.insert("apiVersion".into(), json!("v1"));
    if let Value::Object(m) = group_json(g, vs) {
        doc.extend(m);
    }
    Some(Value::Object(doc))
}

/// One `APIResource` entry of a legacy `APIResourceList`.
fn api_resource(r: &ResourceDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.name()));
    m.insert("singularName".into(), json!(r.singular));
    m.insert("namespaced".into(), json!(r.namespaced));
    if let Some((g, v)) = r.body_gv {
        m.insert("group".into(), json!(g));
        m.insert("version".into(), json!(v));
    }
    m.insert("kind".into(), json!(r.kind));
    m.insert("verbs".into(), json!(r.verbs));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    if !r.storage_version_hash.is_empty() {
        m.insert("storageVersionHash".into(), json!(r.storage_version_hash));
    }
    Value::Object(m)
}

/// `/api/v1` (no `apiVersion` key) or `/apis/<g>/<v>`: `APIResourceList`.
pub(crate) fn api_resource_list(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = resources::of_group_version(group, version)
        .map(api_resource)
        .collect();
    let mut m = Map::new();
    m.insert("kind".into(), json!("APIResourceList"));
    if group.is_empty() {
        m.insert("groupVersion".into(), json!(version));
    } else {
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("groupVersion".into(), json!(format!("{group}/{version}")));
    }
    m.insert("resources".into(), Value::Array(resources));
    Value::Object(m)
}

fn response_kind(gv: Option<(&str, &str)>, kind: &str) -> Value {
    let (g, v) = gv.unwrap_or(("", ""));
    json!({"group": g, "version": v, "kind": kind})
}

/// One aggregated `APIResourceDiscovery` (a main resource with its subresources).
fn resource_discovery(main: &ResourceDef, subs: &[&ResourceDef]) -> Value {
    let mut m = Map::new();
    m.insert("resource".into(), json!(main.plural));
    m.insert(
        "responseKind".into(),
        response_kind(main.body_gv, main.kind),
    );
    let scope = if main.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    };
    m.insert("scope".into(), json!(scope));
    m.insert("singularResource".into(), json!(main.singular));
    m.insert("verbs".into(), json!(main.verbs));
    if !main.short_names.is_empty() {
        m.insert("shortNames".into(), json!(main.short_names));
    }
    if !main.categories.is_empty() {
        m.insert("categories".into(), json!(main.categories));
    }
    if !subs.is_empty() {
        let list: Vec<Value> = subs
            .iter()
            .map(|s| {
                json!({
                    "subresource": s.subresource,
                    "responseKind": response_kind(s.body_gv, s.kind),
                    "verbs": s.verbs,
                })
            })
            .collect();
        m.insert("subresources".into(), Value::Array(list));
    }
    Value::Object(m)
}

fn version_discovery(group: &str, version: &str) -> Value {
    let all: Vec<&ResourceDef> = resources::of_group_version(group, version).collect();
    let resources: Vec<Value> = all
        .iter()
        .filter(|r| r.subresource.is_empty())
        .map(|main| {
            let subs: Vec<&ResourceDef> = all
                .iter()
                .filter(|s| s.plural == main.plural && !s.subresource.is_empty())
                .copied()
                .collect();
            resource_discovery(main, &subs)
        })
        .collect();
    json!({"version": version, "resources": resources, "freshness": "Current"})
}

/// Aggregated discovery for `/api` (`core`) or `/apis`, as `apidiscovery.k8s.io/<v>`.
pub(crate) fn aggregated_list(core: bool, v: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![json!({
            "metadata": {"creationTimestamp": null},
            "versions": [version_discovery("", "v1")],
        })]
    } else {
        GROUPS
            .iter()
            .map(|(g, vs)| {
                let versions: Vec<Value> = vs.iter().map(|v| version_discovery(g, v)).collect();
                json!({
                    "metadata": {"name": g, "creationTimestamp": null},
                    "versions": versions,
                })
            })
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{v}"),
        "metadata": {},
        "items": items,
    })
}
