//! Field sets as structured-merge-diff keeps them (`fieldpath.Set`), their `FieldsV1` JSON form
//! (`f:name`, `k:{"name":"c"}`, `v:"x"`, `i:0`, `.` for the node itself) and the set algebra
//! ownership tracking needs.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathElement {
    /// A named field or map key (`f:name`).
    Field(String),
    /// An associative-list item by its key fields, sorted by name (`k:{"name":"c"}`).
    Key(Vec<(String, Value)>),
    /// A set-list item by value (`v:"x"`).
    Value(Value),
    /// A list item by position (`i:0`).
    Index(usize),
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// A total order on JSON values (like SMD's `value.Compare` for the cases that occur).
fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        _ if type_rank(a) != type_rank(b) => type_rank(a).cmp(&type_rank(b)),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key for this element.
    pub(crate) fn to_key(&self) -> String {
        match self {
            PathElement::Field(f) => format!("f:{f}"),
            PathElement::Key(fields) => {
                let m: Map<String, Value> = fields.iter().cloned().collect();
                format!("k:{}", Value::Object(m))
            }
            PathElement::Value(v) => format!("v:{v}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key (`None` for `.` or anything unknown).
    pub(crate) fn from_key(key: &str) -> Option<Self> {
        let (prefix, rest) = key.split_at_checked(2)?;
        match prefix {
            "f:" => Some(PathElement::Field(rest.to_string())),
            "k:" => {
                let Value::Object(m) = serde_json::from_str(rest).ok()? else {
                    return None;
                };
                let mut fields: Vec<(String, Value)> = m.into_iter().collect();
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                Some(PathElement::Key(fields))
            }
            "v:" => serde_json::from_str(rest).ok().map(PathElement::Value),
            "i:" => rest.parse().ok().map(PathElement::Index),
            _ => None,
        }
    }

    /// The element as SMD prints paths in conflict messages (`.name`, `[name="c"]`).
    pub(crate) fn display(&self) -> String {
        match self {
            PathElement::Field(f) => format!(".{f}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            }
            PathElement::Value(v) => format!("[={v}]"),
            PathElement::Index(i) => format!("[{i}]"),
        }
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => {
                for ((ka, va), (kb, vb)) in a.iter().zip(b) {
                    let c = ka.cmp(kb).then_with(|| compare_values(va, vb));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A set of field paths, as a tree: `members` end at this node, `children` continue below.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// Adds `path` (the empty path is ignored: the root is never owned).
    pub(crate) fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` itself is in the set.
    pub(crate) fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether the set has no paths.
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Every path, members of a node before its children (SMD's `Set.Iterate` order).
    pub(crate) fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Paths in either set.
    pub(crate) fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths of `self` not in `other` (exact paths; descendants are not implied).
    pub(crate) fn difference(&self, other: &FieldSet) -> FieldSet {
        self.combine(other, |a, b| !b.contains(a), FieldSet::difference, false)
    }

    /// Paths in both sets.
    pub(crate) fn intersection(&self, other: &FieldSet) -> FieldSet {
        self.combine(other, |a, b| b.contains(a), FieldSet::intersection, true)
    }

    fn combine(
        &self,
        other: &FieldSet,
        keep: impl Fn(&PathElement, &BTreeSet<PathElement>) -> bool,
        rec: fn(&FieldSet, &FieldSet) -> FieldSet,
        need_other_child: bool,
    ) -> FieldSet {
        let members = self
            .members
            .iter()
            .filter(|m| keep(m, &other.members))
            .cloned()
            .collect();
        let children = self
            .children
            .iter()
            .filter_map(|(pe, c)| {
                let r = match other.children.get(pe) {
                    Some(o) => rec(c, o),
                    None if need_other_child => return None,
                    None => c.clone(),
                };
                (!r.is_empty()).then(|| (pe.clone(), r))
            })
            .collect();
        FieldSet { members, children }
    }

    /// Paths of `self` that neither are in `other` nor lie below a path of `other`.
    pub(crate) fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self
            .members
            .iter()
            .filter(|m| !other.members.contains(*m))
            .cloned()
            .collect();
        let children = self
            .children
            .iter()
            .filter(|(pe, _)| !other.members.contains(*pe))
            .filter_map(|(pe, c)| {
                let r = match other.children.get(pe) {
                    Some(o) => c.recursive_difference(o),
                    None => c.clone(),
                };
                (!r.is_empty()).then(|| (pe.clone(), r))
            })
            .collect();
        FieldSet { members, children }
    }

    /// The `FieldsV1` object: `.` first when the node is also a member, then elements in
    /// SMD order (fields, keys, values, indexes).
    pub(crate) fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self {
            out.insert(".".into(), Value::Object(Map::new()));
        }
        let mut keys: BTreeSet<&PathElement> = self.members.iter().collect();
        keys.extend(self.children.keys());
        for pe in keys {
            let body = match self.children.get(pe) {
                Some(child) if !child.is_empty() => child.emit(self.members.contains(pe)),
                _ => Map::new(),
            };
            out.insert(pe.to_key(), Value::Object(body));
        }
        out
    }

    /// Parses a `FieldsV1` object (unknown keys are skipped).
    pub(crate) fn from_fields_v1(v: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        if let Value::Object(m) = v {
            for (k, body) in m {
                let Some(pe) = PathElement::from_key(k) else {
                    continue;
                };
                let child = FieldSet::from_fields_v1(body);
                let is_leaf = body.as_object().is_none_or(|b| b.is_empty());
                let has_dot = body.get(".").is_some();
                if is_leaf || has_dot {
                    set.members.insert(pe.clone());
                }
                if !child.is_empty() {
                    set.children.insert(pe, child);
                }
            }
        }
        set
    }
}

/// A path as SMD prints it (`.metadata.labels.owner`).
pub(crate) fn path_string(path: &[PathElement]) -> String {
    path.iter().map(PathElement::display).collect()
}
