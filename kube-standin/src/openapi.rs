//! OpenAPI as kube-apiserver serves it: the `/openapi/v3` index (hashed `serverRelativeURL`s,
//! `text/plain`, `Last-Modified` / 304), per group-version v3 documents (immutable caching with
//! the right `?hash=`, 301 for a stale hash), and `/openapi/v2` as JSON.
//!
//! Documents are generated once per server version from [`crate::resources`] and k8s-openapi's
//! schemars schemas ([`spec`]) and cached as bytes; hashes are uppercase hex SHA-512 of the bytes.
//!
//! `/openapi/v2`: kubectl 1.29–1.33 never fetch it while `/openapi/v3` works (every capture),
//! but kubectl 1.27 and 1.28 fetch it as gnostic protobuf for `explain` (and 1.27 for
//! `create -f`/`apply -f` validation) and fail without it, so it is served as JSON or as
//! protobuf (the `proto_v2` submodule) by Accept, 406 (empty body, like kube-openapi) otherwise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full};

use crate::discovery::{etag_of, header_str, parse_accept, query_param, respond, ServerVersion};
use crate::encode::{self, Body};
use crate::status::ApiError;

mod proto_v2;
pub mod spec;
#[cfg(test)]
mod tests;

/// One served document: bytes and the hash that names it.
#[derive(Debug)]
pub struct Doc {
    /// Compact JSON, no trailing newline (Go `json.Marshal`).
    pub bytes: Bytes,
    /// Uppercase hex SHA-512 of `bytes`.
    pub hash: String,
}

impl Doc {
    fn new(bytes: Vec<u8>) -> Doc {
        let hash = etag_of(&bytes);
        Doc {
            bytes: Bytes::from(bytes),
            hash,
        }
    }
}

/// Every OpenAPI document for one server version.
#[derive(Debug)]
pub struct Docs {
    /// v3 documents by index key (`api/v1`, `apis/batch/v1`, `version`…), sorted.
    pub v3: Vec<(String, Doc)>,
    /// The `/openapi/v3` index bytes.
    pub index: Bytes,
    /// The `/openapi/v2` (swagger 2.0) document as JSON.
    pub v2: Doc,
    /// The same as gnostic protobuf.
    pub v2_pb: Doc,
    /// When the documents were built (their `Last-Modified`), whole seconds.
    pub built: SystemTime,
}

impl Docs {
    /// The v3 document for an index key.
    pub fn v3_doc(&self, key: &str) -> Option<&Doc> {
        self.v3.iter().find(|(k, _)| k == key).map(|(_, d)| d)
    }
}

/// The documents for `version`, built on first use and cached for the process lifetime.
pub fn docs(version: &ServerVersion) -> Arc<Docs> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Docs>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut guard = match cache.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    guard
        .entry(version.git_version.clone())
        .or_insert_with(|| Arc::new(build(version)))
        .clone()
}

fn build(version: &ServerVersion) -> Docs {
    let v3: Vec<(String, Doc)> = spec::v3_documents(&version.git_version)
        .into_iter()
        .map(|(k, v)| (k, Doc::new(compact(&v))))
        .collect();
    let mut paths = serde_json::Map::new();
    for (key, doc) in &v3 {
        let url = format!("/openapi/v3/{key}?hash={}", doc.hash);
        paths.insert(key.clone(), serde_json::json!({ "serverRelativeURL": url }));
    }
    let index = compact(&serde_json::json!({ "paths": paths }));
    let v2_json = spec::v2_document(&version.git_version);
    let v2 = Doc::new(compact(&v2_json));
    let v2_pb = Doc::new(proto_v2::encode_document(&v2_json));
    Docs {
        v3,
        index: Bytes::from(index),
        v2,
        v2_pb,
        built: whole_seconds(SystemTime::now()),
    }
}

/// Go `json.Marshal` bytes: HTML-escaped, no trailing newline.
fn compact(v: &serde_json::Value) -> Vec<u8> {
    let mut b = encode::go_json(v, false);
    b.pop();
    b
}

fn whole_seconds(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

/// Answer `/openapi/v2`, `/openapi/v3` and `/openapi/v3/<path>`; `None` for other paths.
pub fn handle(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    version: &ServerVersion,
) -> Option<Response<Body>> {
    let rest = path.strip_prefix("/openapi/")?;
    let kind = match rest.trim_end_matches('/') {
        "v2" => Route::V2,
        "v3" => Route::Index,
        r => Route::V3(r.strip_prefix("v3/")?.to_string()),
    };
    if method != Method::GET && method != Method::HEAD {
        return Some(encode::error_response(
            &ApiError::method_not_allowed(),
            false,
        ));
    }
    let docs = docs(version);
    Some(match kind {
        Route::Index => index_response(&docs, headers),
        Route::V2 => v2_response(&docs, headers),
        Route::V3(key) => match docs.v3_doc(&key) {
            Some(doc) => v3_response(&key, doc, docs.built, query, headers),
            None => encode::error_response(&ApiError::page_not_found(), false),
        },
    })
}

enum Route {
    Index,
    V2,
    V3(String),
}

/// A body sent with `Content-Length` whatever its size (Go's `http.ServeContent`).
fn sized(bytes: Bytes) -> Body {
    Full::new(bytes).boxed_unsync()
}

fn http_date(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Whether `If-Modified-Since` covers `modified` (whole seconds, as Go compares).
fn not_modified_since(headers: &HeaderMap, modified: SystemTime) -> bool {
    let Some(ims) = header_str(headers, "if-modified-since") else {
        return false;
    };
    let Ok(ims) = chrono::DateTime::parse_from_rfc2822(ims) else {
        return false;
    };
    let modified: chrono::DateTime<chrono::Utc> = modified.into();
    modified.timestamp() <= ims.timestamp()
}

fn index_response(docs: &Docs, headers: &HeaderMap) -> Response<Body> {
    let last_modified = http_date(docs.built);
    let mut list = vec![
        ("Cache-Control", "no-cache, private".to_string()),
        ("Last-Modified", last_modified),
    ];
    if not_modified_since(headers, docs.built) {
        return respond(StatusCode::NOT_MODIFIED, list, encode::empty());
    }
    list.push(("Accept-Ranges", "bytes".into()));
    list.push(("Content-Length", docs.index.len().to_string()));
    list.push(("Content-Type", "text/plain; charset=utf-8".into()));
    respond(StatusCode::OK, list, sized(docs.index.clone()))
}

/// Whether the Accept header admits `application/json` (absent means `*/*`).
fn accepts_json(headers: &HeaderMap) -> bool {
    let accept = header_str(headers, "accept").unwrap_or("").trim();
    if accept.is_empty() {
        return true;
    }
    parse_accept(accept).iter().any(|m| {
        matches!(
            m.mime.as_str(),
            "application/json" | "application/*" | "*/*"
        )
    })
}

fn not_acceptable() -> Response<Body> {
    let list = vec![
        ("Cache-Control", "no-cache, private".to_string()),
        ("Content-Length", "0".to_string()),
        ("Vary", "Accept".to_string()),
    ];
    respond(StatusCode::NOT_ACCEPTABLE, list, encode::empty())
}

/// `http.ServeContent` with an ETag: 304 on `If-None-Match`/`If-Modified-Since`, else 200.
fn serve_content(
    doc: &Doc,
    built: SystemTime,
    mut list: Vec<(&'static str, String)>,
    headers: &HeaderMap,
    content_type: &str,
) -> Response<Body> {
    let etag = format!("\"{}\"", doc.hash);
    list.push(("Etag", etag.clone()));
    list.push(("Last-Modified", http_date(built)));
    list.push(("Vary", "Accept".into()));
    let inm = header_str(headers, "if-none-match");
    let fresh = match inm {
        Some(v) => v.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        None => not_modified_since(headers, built),
    };
    if fresh {
        return respond(StatusCode::NOT_MODIFIED, list, encode::empty());
    }
    list.push(("Accept-Ranges", "bytes".into()));
    list.push(("Content-Length", doc.bytes.len().to_string()));
    list.push(("Content-Type", content_type.into()));
    respond(StatusCode::OK, list, sized(doc.bytes.clone()))
}

fn v3_response(
    key: &str,
    doc: &Doc,
    built: SystemTime,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response<Body> {
    if !accepts_json(headers) {
        return not_acceptable();
    }
    match query_param(query, "hash") {
        Some(h) if h == doc.hash => {
            let expires: chrono::DateTime<chrono::Utc> = chrono::Utc::now()
                .checked_add_signed(chrono::Duration::days(365))
                .unwrap_or_else(chrono::Utc::now);
            let list = vec![
                ("Cache-Control", "public, immutable".to_string()),
                // Go formats this with time.RFC1123, hence "UTC" rather than "GMT".
                (
                    "Expires",
                    expires.format("%a, %d %b %Y %H:%M:%S UTC").to_string(),
                ),
            ];
            serve_content(doc, built, list, headers, "application/json")
        }
        Some(_) => {
            let list = vec![
                ("Cache-Control", "no-cache, private".to_string()),
                ("Content-Length", "0".to_string()),
                ("Content-Type", "application/json".to_string()),
                ("Etag", format!("\"{}\"", doc.hash)),
                ("Location", format!("/openapi/v3/{key}?hash={}", doc.hash)),
                ("Vary", "Accept".to_string()),
            ];
            respond(StatusCode::MOVED_PERMANENTLY, list, encode::empty())
        }
        None => {
            let list = vec![("Cache-Control", "no-cache, private".to_string())];
            serve_content(doc, built, list, headers, "application/json")
        }
    }
}

fn v2_response(docs: &Docs, headers: &HeaderMap) -> Response<Body> {
    // kube-openapi: the first Accept alternative (by q) that is JSON or gnostic protobuf wins.
    let accept = header_str(headers, "accept").unwrap_or("").trim();
    let accept = if accept.is_empty() { "*/*" } else { accept };
    let pick = parse_accept(accept)
        .into_iter()
        .find_map(|m| match m.mime.as_str() {
            "application/json" | "application/*" | "*/*" => Some((&docs.v2, "application/json")),
            PROTO_V2_ACCEPT | PROTO_V2 => Some((&docs.v2_pb, PROTO_V2)),
            _ => None,
        });
    let Some((doc, content_type)) = pick else {
        return not_acceptable();
    };
    let list = vec![("Cache-Control", "no-cache, private".to_string())];
    serve_content(doc, docs.built, list, headers, content_type)
}

/// What client-go asks for, and what kube-openapi answers (`@` is not valid in a Content-Type:
/// Go's `mime.ParseMediaType` rejects it).
const PROTO_V2_ACCEPT: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
const PROTO_V2: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
