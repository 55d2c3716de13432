//! The one error type of the stand-in and its rendering as a Kubernetes `Status` object.
//!
//! Constructors mirror kube-apiserver's `k8s.io/apimachinery/pkg/api/errors` helpers so that
//! messages, reasons, `details` and key order match what real clients parse
//! (`../shared/k8s-reference/crud/*`, observation 1 and 2 of its README).

use serde_json::{json, Map, Value};

use crate::resources::ResourceDef;

/// One `details.causes[]` entry of an `Invalid` (or other) Status.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, …
    pub reason: String,
    /// Human message, e.g. `Invalid value: "Bad_Name": a lowercase RFC 1123 …`.
    pub message: String,
    /// Field path, e.g. `metadata.name`.
    pub field: String,
}

impl Cause {
    /// A cause with the given reason, message and field.
    pub fn new(reason: &str, message: impl Into<String>, field: impl Into<String>) -> Self {
        Cause {
            reason: reason.to_string(),
            message: message.into(),
            field: field.into(),
        }
    }
}

/// An API error: everything a failed request answers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code} {reason:?}: {message}")]
pub struct ApiError {
    /// HTTP status code (also `code` in the body).
    pub code: u16,
    /// `reason`, omitted from the body when `None` (kube-apiserver does that for some 500s).
    pub reason: Option<&'static str>,
    /// `message`.
    pub message: String,
    /// `details`; `None` omits the key, `Some({})` renders `"details":{}`.
    pub details: Option<Map<String, Value>>,
    /// Render as `text/plain` instead of a JSON Status (unknown group-version 404, some 500s).
    pub plain_text: bool,
    /// Extra headers (`Retry-After`).
    pub headers: Vec<(&'static str, String)>,
}

fn resource_details(res: &ResourceDef, name: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    if !res.group.is_empty() {
        d.insert("group".into(), json!(res.group));
    }
    d.insert("kind".into(), json!(res.plural));
    d
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: Some(reason),
            message: message.into(),
            details: None,
            plain_text: false,
            headers: Vec::new(),
        }
    }

    fn with_details(mut self, details: Map<String, Value>) -> Self {
        self.details = Some(details);
        self
    }

    /// 404 `configmaps "x" not found` / `jobs.batch "x" not found`.
    pub fn not_found(res: &ResourceDef, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", res.qualified_plural(), name),
        )
        .with_details(resource_details(res, name))
    }

    /// 404 for a namespace that does not exist when creating in it.
    pub fn namespace_not_found(ns: &str) -> Self {
        let mut d = Map::new();
        d.insert("name".into(), json!(ns));
        d.insert("kind".into(), json!("namespaces"));
        Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found")).with_details(d)
    }

    /// 404 `the server could not find the requested resource` with `"details":{}`.
    pub fn unknown_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(Map::new())
    }

    /// 404 text/plain `404 page not found` (unknown group-version or path).
    pub fn page_not_found() -> Self {
        ApiError {
            plain_text: true,
            ..Self::new(404, "NotFound", "404 page not found")
        }
    }

    /// 409 `configmaps "x" already exists`.
    pub fn already_exists(res: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", res.qualified_plural(), name),
        )
        .with_details(resource_details(res, name))
    }

    /// 409 optimistic-concurrency conflict.
    pub fn conflict(res: &ResourceDef, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                res.qualified_plural(),
                name
            ),
        )
        .with_details(resource_details(res, name))
    }

    /// 409 Conflict with a custom message and causes (server-side apply conflicts).
    pub fn conflict_with(
        res: &ResourceDef,
        name: &str,
        message: impl Into<String>,
        causes: Vec<Cause>,
    ) -> Self {
        let mut d = resource_details(res, name);
        d.insert("causes".into(), causes_json(&causes));
        Self::new(409, "Conflict", message).with_details(d)
    }

    /// 422 `<Kind> "name" is invalid: [a, b]` (details.kind is the Kind here).
    pub fn invalid(res: &ResourceDef, name: &str, causes: Vec<Cause>) -> Self {
        let summary: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let joined = if summary.len() == 1 {
            summary[0].clone()
        } else {
            format!("[{}]", summary.join(", "))
        };
        let mut d = Map::new();
        if !name.is_empty() {
            d.insert("name".into(), json!(name));
        }
        if !res.group.is_empty() {
            d.insert("group".into(), json!(res.group));
        }
        d.insert("kind".into(), json!(res.kind));
        d.insert("causes".into(), causes_json(&causes));
        Self::new(
            422,
            "Invalid",
            format!("{} \"{}\" is invalid: {}", kind_group(res), name, joined),
        )
        .with_details(d)
    }

    /// 403 Forbidden about a resource (RBAC-style message built by the caller).
    pub fn forbidden(res: &ResourceDef, name: &str, message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message).with_details(resource_details(res, name))
    }

    /// 403 Forbidden with a custom message and details.
    pub fn forbidden_details(message: impl Into<String>, details: Map<String, Value>) -> Self {
        Self::new(403, "Forbidden", message).with_details(details)
    }

    /// 401 Unauthorized (bad credentials).
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 400 BadRequest without details (decode errors).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(Map::new())
    }

    /// 415 for a body in an unknown format (create/update).
    pub fn unsupported_body() -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )
    }

    /// 415 for a PATCH with a non-patch content type.
    pub fn unsupported_patch() -> Self {
        Self::new(415, "UnsupportedMediaType", "415: Unsupported Media Type")
            .with_details(Map::new())
    }

    /// 406 for an Accept the server cannot satisfy.
    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        )
    }

    /// 410 Gone / Expired (too old resourceVersion or continue token).
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 504 Timeout with `Retry-After: 1` (too large resourceVersion on a list).
    pub fn too_large_resource_version() -> Self {
        let mut d = Map::new();
        let cause = Cause::new("ResourceVersionTooLarge", "Too large resource version", "");
        d.insert(
            "causes".into(),
            json!([{"reason": cause.reason, "message": cause.message}]),
        );
        d.insert("retryAfterSeconds".into(), json!(1));
        ApiError {
            headers: vec![("Retry-After", "1".into())],
            ..Self::new(504, "Timeout", "Timeout: Too large resource version").with_details(d)
        }
    }

    /// 500 InternalError with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        let m = message.into();
        let mut d = Map::new();
        d.insert("causes".into(), json!([{"message": m.clone()}]));
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {m}"),
        )
        .with_details(d)
    }

    /// 500 without a reason (as kube-apiserver answers some decode failures).
    pub fn internal_plain(message: impl Into<String>) -> Self {
        ApiError {
            reason: None,
            ..Self::new(500, "InternalError", message)
        }
    }

    /// 503 ServiceUnavailable (a proxy target that cannot be reached).
    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// 422 with a free-form message (unprocessable requests that are not field validation).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// The `Status` object this error renders as, with kube-apiserver's key order.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        if let Some(reason) = self.reason {
            m.insert("reason".into(), json!(reason));
        }
        if let Some(details) = &self.details {
            m.insert("details".into(), Value::Object(details.clone()));
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

/// `Kind` or `Kind.group`, as Invalid messages name the kind.
fn kind_group(res: &ResourceDef) -> String {
    if res.group.is_empty() {
        res.kind.to_string()
    } else {
        format!("{}.{}", res.kind, res.group)
    }
}

fn causes_json(causes: &[Cause]) -> Value {
    Value::Array(
        causes
            .iter()
            .map(|c| {
                let mut m = Map::new();
                m.insert("reason".into(), json!(c.reason));
                m.insert("message".into(), json!(c.message));
                if !c.field.is_empty() {
                    m.insert("field".into(), json!(c.field));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// The `Status` a successful delete of `res`/`name` answers (no `code`, no `message`).
pub fn success_status(res: &ResourceDef, name: &str, uid: &str) -> Value {
    let mut d = resource_details(res, name);
    d.insert("uid".into(), json!(uid));
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": d,
    })
}

/// Result alias used across the stand-in.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::find;

    #[test]
    fn not_found_matches_kube_apiserver() {
        let cm = find("", "v1", "configmaps").expect("configmaps");
        let s =
            serde_json::to_string(&ApiError::not_found(cm, "nope").to_status()).expect("serialise");
        assert_eq!(
            s,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"nope\" not found","reason":"NotFound","details":{"name":"nope","kind":"configmaps"},"code":404}"#
        );
        let job = find("batch", "v1", "jobs").expect("jobs");
        let s = serde_json::to_string(&ApiError::not_found(job, "nope").to_status())
            .expect("serialise");
        assert!(s.contains(r#""message":"jobs.batch \"nope\" not found""#));
        assert!(s.contains(r#""details":{"name":"nope","group":"batch","kind":"jobs"}"#));
    }

    #[test]
    fn invalid_uses_kind_in_details() {
        let cm = find("", "v1", "configmaps").expect("configmaps");
        let e = ApiError::invalid(
            cm,
            "Bad_Name",
            vec![Cause::new(
                "FieldValueInvalid",
                "Invalid value: \"Bad_Name\"",
                "metadata.name",
            )],
        );
        assert_eq!(e.code, 422);
        assert_eq!(
            e.message,
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        );
        assert_eq!(e.to_status()["details"]["kind"], "ConfigMap");
    }
}
