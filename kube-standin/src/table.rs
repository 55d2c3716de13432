//! `meta.k8s.io/v1` (and `v1beta1`) Table responses, as kube-apiserver builds them for `kubectl get`.
//!
//! kube-apiserver converts objects to Tables server-side with the printers of
//! `pkg/printers/internalversion` (always in "wide" mode, so priority-1 columns are included and
//! kubectl hides them), then replaces each row's object according to `includeObject`. Kinds
//! without a printer get the default `Name` / `Created At` table. Everything here mirrors
//! `../shared/k8s-reference/table/*` byte for byte: key order, `"<none>"` cells, cell JSON types
//! that differ from the declared column type, and `"columnDefinitions": null` on later watch
//! events.

mod cells;
mod columns;
mod duration;
mod selector;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::resources::ResourceDef;
use crate::status::ApiError;

pub use duration::human_duration;

/// What each row carries in `object` (`?includeObject=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    /// `"object": null`.
    None,
    /// A `PartialObjectMetadata` with the object's metadata (the default).
    Metadata,
    /// The full object.
    Object,
}

impl IncludeObject {
    /// Parse the `includeObject` query parameter; absent or empty means `Metadata`.
    /// Unknown values are 400, as kube-apiserver answers them.
    // `ApiError` is the crate-wide error type; boxing it here alone would buy nothing.
    #[allow(clippy::result_large_err)]
    pub fn from_query(v: Option<&str>) -> Result<Self, ApiError> {
        match v.unwrap_or("") {
            "" | "Metadata" => Ok(IncludeObject::Metadata),
            "None" => Ok(IncludeObject::None),
            "Object" => Ok(IncludeObject::Object),
            other => Err(ApiError::bad_request(format!(
                "unrecognized includeObject value: {other:?}"
            ))),
        }
    }
}

/// Which Table version the Accept header asks for, if any: `Some("v1")` / `Some("v1beta1")` /
/// `None` (not a Table request).
///
/// Follows kube-apiserver's negotiation: clauses are tried in order of decreasing `q` (stable),
/// the first clause whose media type the server can produce decides. A clause asking for a
/// conversion the endpoint cannot do (`as=Foo`, a Table in protobuf, an unknown Table version) is
/// skipped; a plain clause (no `as`) means "not a Table".
pub fn table_version(accept: Option<&str>) -> Option<&'static str> {
    let mut clauses: Vec<Clause> = accept?.split(',').filter_map(Clause::parse).collect();
    // Stable sort: equal q keeps header order, like goautoneg's insertion sort for short lists.
    clauses.sort_by(|a, b| b.q.total_cmp(&a.q));
    for clause in &clauses {
        match clause.decide() {
            Decision::Skip => continue,
            Decision::Plain => return None,
            Decision::Table(v) => return Some(v),
        }
    }
    None
}

/// One `type/subtype;k=v;...` alternative of an Accept header.
struct Clause {
    media: String,
    q: f64,
    params: Vec<(String, String)>,
}

enum Decision {
    Skip,
    Plain,
    Table(&'static str),
}

impl Clause {
    fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split(';');
        let media = parts.next()?.trim().to_ascii_lowercase();
        if media.is_empty() {
            return None;
        }
        let mut q = 1.0;
        let mut params = Vec::new();
        for p in parts {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let (k, v) = (k.trim(), v.trim());
            if k == "q" {
                q = v.parse().unwrap_or(0.0);
            } else {
                params.push((k.to_string(), v.to_string()));
            }
        }
        Some(Clause { media, q, params })
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn decide(&self) -> Decision {
        // The serializers kube-apiserver offers, in its preference order; wildcards pick JSON.
        let json_like = matches!(
            self.media.as_str(),
            "application/json" | "application/*" | "*/*"
        );
        let known = json_like
            || matches!(
                self.media.as_str(),
                "application/yaml" | "application/vnd.kubernetes.protobuf"
            );
        if !known {
            return Decision::Skip;
        }
        let (kind, group, version) = (self.param("as"), self.param("g"), self.param("v"));
        if kind.is_none() && group.is_none() && version.is_none() {
            return Decision::Plain;
        }
        match (kind, group, version) {
            (Some("Table"), Some("meta.k8s.io"), Some("v1")) if json_like => Decision::Table("v1"),
            (Some("Table"), Some("meta.k8s.io"), Some("v1beta1")) if json_like => {
                Decision::Table("v1beta1")
            }
            // PartialObjectMetadata(List) conversions are allowed but are not Tables.
            (
                Some("PartialObjectMetadata" | "PartialObjectMetadataList"),
                Some("meta.k8s.io"),
                _,
            ) => Decision::Plain,
            _ => Decision::Skip,
        }
    }
}

/// Table for a list of objects (already filtered/sorted by the caller). `list_meta` is the list's
/// metadata (`{"resourceVersion": "..", "continue": .., "remainingItemCount": ..}`).
pub fn list_table(
    res: &ResourceDef,
    objects: &[Value],
    list_meta: Value,
    include: IncludeObject,
    version: &str,
    now: DateTime<Utc>,
) -> Value {
    let printer = cells::Printer::for_resource(res);
    let mut ordered: Vec<&Value> = objects.iter().collect();
    if printer == Some(cells::Printer::FlowSchema) {
        // The FlowSchema list printer sorts by precedence, then name.
        ordered.sort_by(|a, b| cells::flow_schema_order(a, b));
    }
    let rows: Vec<Value> = ordered
        .into_iter()
        .map(|o| row(printer, res, o, include, version, now))
        .collect();
    // The default convertor appends to a nil slice, so an empty list serializes as `null`.
    let rows = if rows.is_empty() && printer.is_none() {
        Value::Null
    } else {
        Value::Array(rows)
    };
    let columns = columns::for_printer(printer);
    table(version, table_list_meta(&list_meta), Some(columns), rows)
}

/// Table for a single object (GET of a named object).
pub fn object_table(
    res: &ResourceDef,
    object: &Value,
    include: IncludeObject,
    version: &str,
    now: DateTime<Utc>,
) -> Value {
    watch_event_table(res, object, include, version, true, now)
}

/// The Table carried by one watch event: the first event has `columnDefinitions`, later ones
/// `"columnDefinitions": null`.
pub fn watch_event_table(
    res: &ResourceDef,
    object: &Value,
    include: IncludeObject,
    version: &str,
    with_columns: bool,
    now: DateTime<Utc>,
) -> Value {
    let printer = cells::Printer::for_resource(res);
    let mut meta = Map::new();
    let rv = object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str);
    meta.insert("resourceVersion".into(), json!(rv.unwrap_or("")));
    let rows = json!([row(printer, res, object, include, version, now)]);
    let columns = with_columns.then(|| columns::for_printer(printer));
    table(version, meta, columns, rows)
}

/// Assemble the Table object in Go's field order.
fn table(
    version: &str,
    metadata: Map<String, Value>,
    columns: Option<&[columns::Column]>,
    rows: Value,
) -> Value {
    let columns = match columns {
        Some(cols) => Value::Array(cols.iter().map(columns::Column::to_json).collect()),
        None => Value::Null,
    };
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// The Table's ListMeta: `resourceVersion`, then `continue` and `remainingItemCount` when set.
fn table_list_meta(list_meta: &Value) -> Map<String, Value> {
    let mut meta = Map::new();
    let rv = list_meta.get("resourceVersion").and_then(Value::as_str);
    meta.insert("resourceVersion".into(), json!(rv.unwrap_or("")));
    if let Some(c) = list_meta
        .get("continue")
        .filter(|c| c.as_str().is_some_and(|s| !s.is_empty()))
    {
        meta.insert("continue".into(), c.clone());
    }
    if let Some(n) = list_meta
        .get("remainingItemCount")
        .filter(|n| n.is_i64() || n.is_u64())
    {
        meta.insert("remainingItemCount".into(), n.clone());
    }
    meta
}

/// One row: `cells`, `conditions` (only when the printer sets them), `object`.
fn row(
    printer: Option<cells::Printer>,
    res: &ResourceDef,
    obj: &Value,
    include: IncludeObject,
    version: &str,
    now: DateTime<Utc>,
) -> Value {
    let (cells, conditions) = cells::cells(printer, obj, now);
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells));
    if let Some(c) = conditions {
        row.insert("conditions".into(), c);
    }
    row.insert("object".into(), row_object(res, obj, include, version));
    Value::Object(row)
}

fn row_object(res: &ResourceDef, obj: &Value, include: IncludeObject, version: &str) -> Value {
    match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": format!("meta.k8s.io/{version}"),
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => with_type_meta(res, obj),
    }
}

/// The full object with `kind` and `apiVersion` first (ConvertToVersion always sets them).
fn with_type_meta(res: &ResourceDef, obj: &Value) -> Value {
    let Some(map) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    out.insert("kind".into(), json!(res.kind));
    out.insert("apiVersion".into(), json!(res.api_version()));
    for (k, v) in map {
        if k != "kind" && k != "apiVersion" {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests;
