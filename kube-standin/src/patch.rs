//! TODO(patch) stub until the real module lands.
use crate::resources::ResourceDef;
use crate::status::ApiError;
/// Stub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /** */
    Json,
    /** */
    Merge,
    /** */
    Strategic,
    /** */
    Apply,
}
impl PatchType {
    /// Stub.
    pub fn from_content_type(ct: Option<&str>) -> Result<Self, ApiError> {
        match ct.unwrap_or("").split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_patch()),
        }
    }
}
/// Stub.
pub fn apply_patch(
    _res: &ResourceDef,
    live: &serde_json::Value,
    _t: PatchType,
    body: &[u8],
) -> Result<serde_json::Value, ApiError> {
    let p: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut l = live.clone();
    json_patch::merge(&mut l, &p);
    Ok(l)
}
