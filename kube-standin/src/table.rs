//! TODO(table) stub until the real module lands.
use crate::resources::ResourceDef;
use crate::status::ApiError;
use serde_json::{json, Value};
/// Stub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /** */
    None,
    /** */
    Metadata,
    /** */
    Object,
}
impl IncludeObject {
    /// Stub.
    pub fn from_query(_v: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self::Metadata)
    }
}
/// Stub.
pub fn table_version(accept: Option<&str>) -> Option<&'static str> {
    accept.filter(|a| a.contains("as=Table")).map(|_| "v1")
}
/// Stub.
pub fn list_table(
    _res: &ResourceDef,
    objects: &[Value],
    list_meta: Value,
    _include: IncludeObject,
    version: &str,
    _now: chrono::DateTime<chrono::Utc>,
) -> Value {
    json!({"kind": "Table", "apiVersion": format!("meta.k8s.io/{version}"), "metadata": list_meta, "columnDefinitions": [{"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0}], "rows": objects.iter().map(|o| json!({"cells": [o["metadata"]["name"]], "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})).collect::<Vec<_>>()})
}
/// Stub.
pub fn object_table(
    res: &ResourceDef,
    object: &Value,
    include: IncludeObject,
    version: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    list_table(
        res,
        std::slice::from_ref(object),
        json!({"resourceVersion": object["metadata"]["resourceVersion"]}),
        include,
        version,
        now,
    )
}
/// Stub.
pub fn watch_event_table(
    res: &ResourceDef,
    object: &Value,
    include: IncludeObject,
    version: &str,
    _with_columns: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    object_table(res, object, include, version, now)
}
