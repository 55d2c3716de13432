//! TODO(proto) stub until the real module lands.
use crate::status::ApiError;
use serde_json::Value;
/// Stub.
pub fn decode(_body: &[u8]) -> Result<Value, ApiError> {
    Err(ApiError::unsupported_body())
}
/// Stub.
pub fn order_keys(_v: &mut Value) {}
