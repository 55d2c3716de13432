//! Kubernetes protobuf bodies → JSON, and kube-apiserver's JSON key order for any object. Shared
//! by the API stand-in (`kube-standin`) and kbatch-proxy (which judges decoded bodies).
//!
//! kubectl's typed clients send some bodies as `application/vnd.kubernetes.protobuf`
//! (`create job`, `create token`, `auth can-i`, `auth whoami`; see observation 15 of the
//! reference captures). [`decode`] turns such a body into the JSON kube-apiserver would render for
//! the same object, so its users only ever see JSON. [`order_keys`] puts the keys of
//! a JSON object into Go struct order (what `encoding/json` produces), so answers built from
//! arbitrary JSON input are byte-identical to kube-apiserver's.
//!
//! Both are driven by one generated schema (`proto_schema.json`, made by
//! `tools/gen_proto_schema.py` from k8s-pb, k8s-openapi and the Go types); there is no per-kind code.

mod decode;
mod order;
mod schema;
mod wire;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The envelope names an (apiVersion, kind) the schema does not know (kube-apiserver: 415).
    #[error("no protobuf schema for kind {1} in version {0}")]
    UnknownKind(String, String),
    /// The bytes are not a valid Kubernetes protobuf body (kube-apiserver: 400); the message is
    /// kube-apiserver's wording.
    #[error("{0}")]
    Malformed(String),
}

/// Decodes a protobuf request body (magic `k8s\0` + `runtime.Unknown` envelope) into the JSON
/// kube-apiserver would render for the object: `kind` and `apiVersion` first, then the fields in Go
/// struct order with Go's `omitempty`/`null` rules, timestamps as RFC 3339, `IntOrString` as a
/// number or string, `Quantity` as its string, byte fields as base64, `RawExtension`/`FieldsV1` as
/// embedded JSON.
///
/// Errors: an unknown (apiVersion, kind) → [`DecodeError::UnknownKind`]; malformed bytes →
/// [`DecodeError::Malformed`].
pub fn decode(body: &[u8]) -> Result<Value, DecodeError> {
    decode::decode_envelope(schema::schema(), body, false)
}

/// Like [`decode`], but a body gogo-protobuf would read with loss is refused
/// ([`DecodeError::Malformed`]): an unknown field number (gogo skips it), a non-repeated field
/// sent more than once (gogo keeps the last scalar and merges repeated messages, so a reader
/// that keeps only the last message judges less than is stored), a map key sent twice. For
/// kbatch-proxy, which must judge exactly what kube-apiserver stores.
pub fn decode_strict(body: &[u8]) -> Result<Value, DecodeError> {
    decode::decode_envelope(schema::schema(), body, true)
}

/// Reorders the keys of `v` (recursively) into kube-apiserver's order, choosing the type from the
/// top-level `apiVersion`/`kind`: `kind, apiVersion`, then Go field order; Go map fields sorted by
/// key; keys the schema does not know kept after the known ones, in their current order.
/// `<Kind>List` (typed or the generic `v1` `List`) orders each item as its own kind. A value of
/// unknown kind, or not an object, is left alone.
pub fn order_keys(v: &mut Value) {
    order::order_by_kind(schema::schema(), v);
}

/// Like [`order_keys`] but with the type given by its OpenAPI name, e.g.
/// `io.k8s.api.core.v1.PodSpec` (useful for values without `kind`, such as list items or
/// sub-objects). An unknown type name leaves `v` alone.
pub fn order_keys_as(v: &mut Value, type_name: &str) {
    let s = schema::schema();
    if let Some(id) = s.by_name(type_name) {
        order::order_message(s, id, v);
    }
}
