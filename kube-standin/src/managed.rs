//! TODO(managed) stub until the real module lands.
use crate::resources::ResourceDef;
use crate::status::ApiError;
/// Stub.
pub const MISSING_FIELD_MANAGER: &str = "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch";
/// Stub.
pub fn manager_name(field_manager: Option<&str>, user_agent: Option<&str>) -> String {
    field_manager
        .map(str::to_string)
        .or_else(|| user_agent.map(|u| u.split('/').next().unwrap_or("").to_string()))
        .unwrap_or_else(|| "unknown".into())
}
/// Stub.
pub fn update_managed_fields(
    _old: Option<&serde_json::Value>,
    _new: &mut serde_json::Value,
    _manager: &str,
    _api_version: &str,
    _subresource: Option<&str>,
    _now: chrono::DateTime<chrono::Utc>,
) {
}
/// Stub.
pub fn server_side_apply(
    _res: &ResourceDef,
    live: Option<&serde_json::Value>,
    applied: &serde_json::Value,
    _manager: &str,
    _force: bool,
    _now: chrono::DateTime<chrono::Utc>,
) -> Result<serde_json::Value, ApiError> {
    let mut l = live.cloned().unwrap_or(serde_json::json!({}));
    json_patch::merge(&mut l, applied);
    Ok(l)
}
