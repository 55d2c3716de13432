//! PATCH bodies applied to a live object exactly as kube-apiserver 1.28 does: JSON patch
//! (RFC 6902, `application/json-patch+json`), JSON merge patch (RFC 7386,
//! `application/merge-patch+json`) and strategic merge patch
//! (`application/strategic-merge-patch+json`), with kube's error answers for bad bodies.
//!
//! Server-side apply (`application/apply-patch+yaml`) is only recognised here; its merge lives
//! in [`crate::managed`]. The caller checks `metadata.resourceVersion` preconditions on the
//! result, then decodes, defaults and validates it.

mod gojson;
mod jsonpatch;
mod merge;
mod schema;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::resources::ResourceDef;
use crate::status::ApiError;
use jsonpatch::OpError;
use strategic::SmpError;

/// The PATCH flavours kube-apiserver accepts, by request `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type of a request `Content-Type`; parameters after `;` are ignored, anything
    /// else (plain `application/json`, a missing header, `apply-patch+cbor`) is a 415.
    pub fn from_content_type(ct: Option<&str>) -> Result<Self, ApiError> {
        let ct = ct.unwrap_or("");
        // kube-apiserver cuts at the first ';' only when it is not the first byte.
        let base = match ct.find(';') {
            Some(i) if i > 0 => &ct[..i],
            _ => ct,
        };
        match base {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" => Ok(PatchType::Apply),
            _ => Err(ApiError::unsupported_patch()),
        }
    }

    /// The media type this patch type is sent with.
    pub fn media_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// kube-apiserver's limit on the number of operations in one JSON patch.
const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;
const MAP_TYPE: &str = "map[string]interface {}";

/// Apply a Json/Merge/Strategic patch body to `live` (the stored object, JSON) for resource
/// `res`; returns the patched object.
///
/// Errors as kube-apiserver answers them: an undecodable body → 400 (`error decoding patch: …`
/// for JSON and merge patches, Go's bare decoder message for strategic ones); a JSON patch
/// operation that does not apply (failed `test`, missing path…) → 422 `the server rejected our
/// request due to an error in our request`; an unknown `$patch` directive and other strategic
/// merge failures → 500 without a reason.
pub fn apply_patch(
    res: &ResourceDef,
    live: &Value,
    patch_type: PatchType,
    body: &[u8],
) -> Result<Value, ApiError> {
    match patch_type {
        PatchType::Json => json_patch(live, body),
        PatchType::Merge => merge_patch(live, body),
        PatchType::Strategic => strategic_patch(res, live, body),
        PatchType::Apply => Err(ApiError::internal_plain(
            "apply patches are handled by server-side apply",
        )),
    }
}

/// The 422 kube builds with `NewGenericServerResponse` (the detail is not shown).
fn rejected() -> ApiError {
    ApiError {
        details: Some(Map::new()),
        ..ApiError::unprocessable("the server rejected our request due to an error in our request")
    }
}

/// What kube-apiserver's panic recovery answers when the patch library panics.
fn go_panic() -> ApiError {
    ApiError {
        plain_text: true,
        ..ApiError::internal_plain(
            "This request caused apiserver to panic. Look in the logs for details.",
        )
    }
}

fn live_object(live: &Value) -> Result<Map<String, Value>, ApiError> {
    live.as_object()
        .cloned()
        .ok_or_else(|| ApiError::internal_plain("Invalid JSON Document"))
}

/// Decode a JSON patch like `kjson.UnmarshalStrict(body, &[]jsonPatchOp)`.
fn decode_json_patch(body: &[u8]) -> Result<Vec<Value>, String> {
    let ops = match gojson::decode(body)? {
        Value::Null => return Ok(Vec::new()),
        Value::Array(ops) => ops,
        other => return Err(gojson::type_error(&other, "[]handlers.jsonPatchOp")),
    };
    for op in &ops {
        match op {
            Value::Null => {}
            Value::Object(m) => {
                let bad = m.iter().find(|(k, v)| {
                    matches!(k.as_str(), "op" | "path" | "from") && !(v.is_string() || v.is_null())
                });
                if let Some((k, v)) = bad {
                    return Err(format!(
                        "json: cannot unmarshal {} into Go struct field jsonPatchOp.{k} of type string",
                        gojson::json_kind(v)
                    ));
                }
            }
            other => return Err(gojson::type_error(other, "handlers.jsonPatchOp")),
        }
    }
    Ok(ops)
}

fn json_patch(live: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let ops = decode_json_patch(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    if ops.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(ApiError {
            reason: Some("RequestEntityTooLarge"),
            code: 413,
            ..ApiError::bad_request(format!(
                "Request entity too large: The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {}",
                ops.len()
            ))
        });
    }
    let mut doc = live.clone();
    jsonpatch::apply(&mut doc, &ops).map_err(|e| match e {
        OpError::Failed(why) => {
            tracing::debug!("json patch rejected: {why}");
            rejected()
        }
        OpError::Panic => go_panic(),
    })?;
    Ok(doc)
}

fn merge_patch(live: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let decoding = |e: String| ApiError::bad_request(format!("error decoding patch: {e}"));
    let patch = match gojson::decode(body).map_err(decoding)? {
        Value::Object(m) => m,
        Value::Null => return Err(ApiError::bad_request("Invalid JSON Patch")),
        other => return Err(decoding(gojson::type_error(&other, MAP_TYPE))),
    };
    let mut doc = live_object(live)?;
    merge::merge_docs(&mut doc, patch);
    Ok(Value::Object(doc))
}

fn strategic_patch(res: &ResourceDef, live: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let patch = match gojson::decode(body).map_err(ApiError::bad_request)? {
        Value::Object(m) => m,
        // Go decodes `null` into a nil map: nothing to merge.
        Value::Null => Map::new(),
        other => return Err(ApiError::bad_request(gojson::type_error(&other, MAP_TYPE))),
    };
    let original = live_object(live)?;
    strategic::merge_map(original, patch, schema::for_kind(res.kind))
        .map(Value::Object)
        .map_err(|e| match e {
            SmpError::BadRequest(m) => ApiError::bad_request(m),
            SmpError::Unprocessable => rejected(),
            SmpError::Internal(m) => ApiError::internal_plain(m),
            SmpError::Panic => go_panic(),
        })
}
