//! Walks over JSON objects guided by the list/map hints of [`super::list_type`]: the field set
//! of an applied configuration (`ToFieldSet`), the comparison of two objects (`Compare`, with
//! SMD's rule that a non-leaf node appearing or disappearing is itself added/removed), the
//! apply merge, and removal of a path.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};
use super::{is_atomic_map, list_type, ListType};

/// Where a walk is: the field names from the root (list items skipped) and the full path.
struct Cursor<'a> {
    kind: &'a str,
    names: Vec<String>,
    path: Vec<PathElement>,
}

impl<'a> Cursor<'a> {
    fn new(kind: &'a str) -> Self {
        Cursor {
            kind,
            names: Vec::new(),
            path: Vec::new(),
        }
    }

    fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }

    fn list_type(&self) -> ListType {
        list_type(&self.names(), self.kind)
    }

    fn atomic_map(&self) -> bool {
        is_atomic_map(&self.names(), self.kind)
    }

    fn push_field(&mut self, name: &str) {
        self.names.push(name.to_string());
        self.path.push(PathElement::Field(name.to_string()));
    }

    fn pop_field(&mut self) {
        self.names.pop();
        self.path.pop();
    }
}

/// The path element of a list item (`None` for items that cannot be keyed).
pub(crate) fn item_element(list: &ListType, index: usize, item: &Value) -> PathElement {
    match list {
        ListType::Map(keys) => {
            let Some(obj) = item.as_object() else {
                return PathElement::Index(index);
            };
            let mut fields: Vec<(String, Value)> = keys
                .iter()
                .filter_map(|k| match obj.get(*k) {
                    Some(v) => Some((k.to_string(), v.clone())),
                    // the schema default SMD fills in for a missing key field
                    None if *k == "protocol" => Some((k.to_string(), Value::from("TCP"))),
                    None => None,
                })
                .collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            PathElement::Key(fields)
        }
        ListType::Set => PathElement::Value(item.clone()),
        ListType::Atomic => PathElement::Index(index),
    }
}

/// `ToFieldSet` of an applied configuration: leaves, empty maps, atomic lists/maps and list
/// items (which appear as `.` next to their children).
pub(crate) fn to_set(value: &Value, kind: &str) -> FieldSet {
    let mut out = FieldSet::default();
    to_set_at(value, &mut Cursor::new(kind), &mut out);
    out
}

fn to_set_at(value: &Value, cur: &mut Cursor, out: &mut FieldSet) {
    match value {
        Value::Object(m) if !m.is_empty() && !cur.atomic_map() => {
            for (k, v) in m {
                cur.push_field(k);
                to_set_at(v, cur, out);
                cur.pop_field();
            }
        }
        Value::Array(items) => match cur.list_type() {
            ListType::Atomic => out.insert(&cur.path),
            lt => {
                for (i, item) in items.iter().enumerate() {
                    cur.path.push(item_element(&lt, i, item));
                    out.insert(&cur.path);
                    if matches!(lt, ListType::Map(_)) {
                        if let Value::Object(m) = item {
                            for (k, v) in m {
                                cur.push_field(k);
                                to_set_at(v, cur, out);
                                cur.pop_field();
                            }
                        }
                    }
                    cur.path.pop();
                }
            }
        },
        _ => out.insert(&cur.path),
    }
}

/// Fields added, modified and removed going from one object to another.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub(crate) added: FieldSet,
    pub(crate) modified: FieldSet,
    pub(crate) removed: FieldSet,
}

impl Comparison {
    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, path: &[PathElement]) {
        match (lhs, rhs) {
            (None, Some(_)) => self.added.insert(path),
            (Some(_), None) => self.removed.insert(path),
            (Some(a), Some(b)) if a != b => self.modified.insert(path),
            _ => {}
        }
    }

    /// SMD's post-item hook: a non-leaf node that appears or disappears is itself a change.
    fn node(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, path: &[PathElement]) {
        match (lhs, rhs) {
            (None, Some(_)) => self.added.insert(path),
            (Some(_), None) => self.removed.insert(path),
            _ => {}
        }
    }
}

/// Compares `lhs` (old) with `rhs` (new).
pub(crate) fn compare(lhs: &Value, rhs: &Value, kind: &str) -> Comparison {
    let mut c = Comparison::default();
    compare_at(Some(lhs), Some(rhs), &mut Cursor::new(kind), &mut c);
    c
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn compare_at(lhs: Option<&Value>, rhs: Option<&Value>, cur: &mut Cursor, c: &mut Comparison) {
    let shape = rhs.filter(|v| !v.is_null()).or(lhs).unwrap_or(&Value::Null);
    let both_empty = is_empty_container(lhs) && is_empty_container(rhs);
    match shape {
        Value::Object(_) if !cur.atomic_map() && !both_empty => {
            let (lm, rm) = (
                lhs.and_then(Value::as_object),
                rhs.and_then(Value::as_object),
            );
            for k in union_keys(lm, rm) {
                cur.push_field(&k);
                compare_at(
                    lm.and_then(|m| m.get(&k)),
                    rm.and_then(|m| m.get(&k)),
                    cur,
                    c,
                );
                cur.pop_field();
            }
            c.node(lhs, rhs, &cur.path);
        }
        Value::Array(_) if !both_empty => match cur.list_type() {
            ListType::Atomic => c.leaf(lhs, rhs, &cur.path),
            lt => {
                compare_items(&lt, lhs, rhs, cur, c);
                c.node(lhs, rhs, &cur.path);
            }
        },
        _ => c.leaf(lhs, rhs, &cur.path),
    }
}

fn union_keys(a: Option<&Map<String, Value>>, b: Option<&Map<String, Value>>) -> Vec<String> {
    let mut keys: Vec<String> = a.map(|m| m.keys().cloned().collect()).unwrap_or_default();
    for k in b.into_iter().flat_map(|m| m.keys()) {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys
}

fn index_items<'v>(lt: &ListType, list: Option<&'v Value>) -> Vec<(PathElement, &'v Value)> {
    let mut out: Vec<(PathElement, &Value)> = Vec::new();
    for (i, item) in list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pe = item_element(lt, i, item);
        // like SMD, a repeated key keeps its first occurrence
        if !out.iter().any(|(p, _)| *p == pe) {
            out.push((pe, item));
        }
    }
    out
}

fn compare_items(
    lt: &ListType,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    cur: &mut Cursor,
    c: &mut Comparison,
) {
    let (li, ri) = (index_items(lt, lhs), index_items(lt, rhs));
    let mut pes: Vec<&PathElement> = li.iter().map(|(p, _)| p).collect();
    for (p, _) in &ri {
        if !pes.contains(&p) {
            pes.push(p);
        }
    }
    for pe in pes {
        let l = li.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
        let r = ri.iter().find(|(p, _)| p == pe).map(|(_, v)| *v);
        cur.path.push(pe.clone());
        if matches!(lt, ListType::Map(_)) {
            let (lm, rm) = (l.and_then(Value::as_object), r.and_then(Value::as_object));
            for k in union_keys(lm, rm) {
                cur.push_field(&k);
                compare_at(
                    lm.and_then(|m| m.get(&k)),
                    rm.and_then(|m| m.get(&k)),
                    cur,
                    c,
                );
                cur.pop_field();
            }
            c.node(l, r, &cur.path);
        } else {
            c.leaf(l, r, &cur.path);
        }
        cur.path.pop();
    }
}

/// Merges an applied configuration into a live object: maps recursively, associative lists
/// by key, set lists by value; atomic values and scalars are replaced; `null` removes.
pub(crate) fn merge(live: &Value, config: &Value, kind: &str) -> Value {
    merge_at(live, config, &mut Cursor::new(kind))
}

fn merge_at(live: &Value, config: &Value, cur: &mut Cursor) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(cfg)) if !cur.atomic_map() => {
            let mut out = l.clone();
            for (k, v) in cfg {
                if v.is_null() {
                    out.remove(k);
                    continue;
                }
                cur.push_field(k);
                let merged = match l.get(k) {
                    Some(lv) => merge_at(lv, v, cur),
                    None => strip_nulls(v),
                };
                cur.pop_field();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(cfg)) => match cur.list_type() {
            ListType::Atomic => strip_nulls(config),
            lt => Value::Array(merge_items(&lt, l, cfg, cur)),
        },
        _ => strip_nulls(config),
    }
}

fn merge_items(lt: &ListType, live: &[Value], cfg: &[Value], cur: &mut Cursor) -> Vec<Value> {
    let mut out: Vec<Value> = live.to_vec();
    for (i, item) in cfg.iter().enumerate() {
        let pe = item_element(lt, i, item);
        let pos = out
            .iter()
            .enumerate()
            .position(|(j, v)| item_element(lt, j, v) == pe);
        match pos {
            Some(j) => {
                let merged = merge_at(&out[j], item, cur);
                out[j] = merged;
            }
            None => out.push(strip_nulls(item)),
        }
    }
    out
}

/// A copy without `null` map values (kube drops them when decoding into typed objects).
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Maps that kube leaves out when they become empty (`omitempty` maps of strings).
const OMIT_WHEN_EMPTY: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "nodeSelector",
    "matchLabels",
];

/// Removes the node at `path` from `obj`; returns whether something was removed.
pub(crate) fn remove_path(obj: &mut Value, path: &[PathElement], kind: &str) -> bool {
    remove_at(obj, path, &mut Cursor::new(kind))
}

fn remove_at(obj: &mut Value, path: &[PathElement], cur: &mut Cursor) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    match (first, obj) {
        (PathElement::Field(f), Value::Object(m)) => {
            if rest.is_empty() {
                return m.shift_remove(f).is_some();
            }
            cur.push_field(f);
            let removed = m
                .get_mut(f)
                .is_some_and(|child| remove_at(child, rest, cur));
            cur.pop_field();
            let now_empty = m
                .get(f)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty);
            if removed && now_empty && OMIT_WHEN_EMPTY.contains(&f.as_str()) {
                m.shift_remove(f);
            }
            removed
        }
        (pe, Value::Array(items)) => {
            let lt = cur.list_type();
            let Some(pos) = items
                .iter()
                .enumerate()
                .position(|(i, v)| item_element(&lt, i, v) == *pe)
            else {
                return false;
            };
            if rest.is_empty() {
                items.remove(pos);
                return true;
            }
            remove_at(&mut items[pos], rest, cur)
        }
        _ => false,
    }
}
