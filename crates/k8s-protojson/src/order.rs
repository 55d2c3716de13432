//! Reorders JSON object keys into the order Go's `encoding/json` writes the typed struct.

use serde_json::{Map, Value};

use super::schema::{KeyInfo, MsgId, Schema, Special};

/// Orders a top-level object by its `apiVersion`/`kind` (including `<Kind>List` and `List`).
pub(crate) fn order_by_kind(s: &Schema, v: &mut Value) {
    let (api_version, kind) = match v {
        Value::Object(m) => (str_of(m, "apiVersion"), str_of(m, "kind")),
        _ => return,
    };
    let id = match api_version.as_str() {
        "" => s.by_kind_name(&kind),
        _ => s.by_kind(&api_version, &kind),
    };
    if let Some(id) = id {
        order_message(s, id, v);
    } else if kind.ends_with("List") {
        order_generic_list(s, v, &api_version, &kind);
    }
}

/// Orders `v` as the message `id`, recursively.
pub(crate) fn order_message(s: &Schema, id: MsgId, v: &mut Value) {
    let msg = &s.messages[id];
    match msg.special {
        Special::None => {}
        // Embedded objects (`RawExtension`) are ordered as their own kind, when they have one.
        Special::Raw => return order_by_kind(s, v),
        _ => return, // JSON scalars
    }
    let Value::Object(map) = v else { return };
    let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
    // Unknown keys sort after all known ones and keep their relative order (stable sort).
    entries.sort_by_key(|(k, _)| msg.keys.get(k).map_or(usize::MAX, |info| info.rank));
    for (k, value) in &mut entries {
        if let Some(info) = msg.keys.get(k) {
            order_value(s, info, value);
        }
    }
    map.extend(entries);
}

/// Orders a field value per its schema: message, array of messages, or Go map.
fn order_value(s: &Schema, info: &KeyInfo, v: &mut Value) {
    match v {
        Value::Object(map) if info.map => {
            sort_map(map);
            if let Some(id) = info.msg {
                map.values_mut().for_each(|x| order_message(s, id, x));
            }
        }
        Value::Array(items) if info.repeated => {
            if let Some(id) = info.msg {
                items.iter_mut().for_each(|x| order_message(s, id, x));
            }
        }
        Value::Object(_) => {
            if let Some(id) = info.msg {
                order_message(s, id, v);
            }
        }
        _ => {}
    }
}

/// A list kind the schema does not name (e.g. `v1` `List`): `kind, apiVersion, metadata,
/// items`, each item ordered by its own kind, or as `<Kind>` from `<Kind>List`.
fn order_generic_list(s: &Schema, v: &mut Value, api_version: &str, kind: &str) {
    let Value::Object(map) = v else { return };
    let rank = |k: &str| match k {
        "kind" => 0,
        "apiVersion" => 1,
        "metadata" => 2,
        "items" => 3,
        _ => 4,
    };
    let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
    entries.sort_by_key(|(k, _)| rank(k));
    let item_kind = kind.strip_suffix("List").unwrap_or_default();
    let item_id = s.by_kind(api_version, item_kind);
    let list_meta = s.by_name("io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta");
    for (k, value) in &mut entries {
        match (k.as_str(), value) {
            ("metadata", meta) => {
                if let Some(id) = list_meta {
                    order_message(s, id, meta);
                }
            }
            ("items", Value::Array(items)) => {
                for item in items {
                    match item_id {
                        Some(id) => order_message(s, id, item),
                        None => order_by_kind(s, item),
                    }
                }
            }
            _ => {}
        }
    }
    map.extend(entries);
}

/// Go's `encoding/json` writes map keys sorted bytewise.
fn sort_map(map: &mut Map<String, Value>) {
    let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    map.extend(entries);
}

fn str_of(m: &Map<String, Value>, key: &str) -> String {
    m.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}
