//! Protobuf request bodies → JSON and kube-apiserver's JSON key order: the stand-in's view of the
//! shared `k8s-protojson` crate, with its decode errors mapped to the API errors kube-apiserver
//! answers (415 for an unknown kind, 400 for malformed bytes).

use serde_json::Value;

pub use k8s_protojson::{order_keys, order_keys_as};

use crate::status::ApiError;

/// Decodes a protobuf request body into the JSON kube-apiserver would render for the object
/// (see [`k8s_protojson::decode`]).
///
/// Errors: an unknown (apiVersion, kind) → 415 [`ApiError::unsupported_body`]; malformed bytes →
/// 400 [`ApiError::bad_request`].
#[allow(clippy::result_large_err)] // ApiError is the crate-wide error type
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    k8s_protojson::decode(body).map_err(|e| match e {
        k8s_protojson::DecodeError::UnknownKind(..) => ApiError::unsupported_body(),
        k8s_protojson::DecodeError::Malformed(m) => ApiError::bad_request(m),
    })
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decode_errors_map_to_415_and_400() {
        // k8s\0 + Unknown{typeMeta{apiVersion "batch/v1", kind "Nope"}}
        let mut unknown = b"k8s\x00\x0a\x10\x0a\x08batch/v1\x12\x04Nope".to_vec();
        unknown.extend_from_slice(b"\x12\x00");
        let cases: [(&[u8], u16); 3] = [
            (&unknown, 415),
            (b"{\"kind\":\"Job\"}", 400),
            (b"k8s\x00\x0a\x20", 400),
        ];
        for (body, code) in cases {
            let err = decode(body).expect_err("must fail");
            assert_eq!(err.code, code, "{err}");
        }
    }
}
