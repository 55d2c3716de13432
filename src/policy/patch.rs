//! Mutations (pure): RFC 6902 operations parsed with the `json-patch` crate's types, with
//! a path alias (`$podMetadata/labels/x`), an `ifAbsent` flag and placeholders, applied with
//! lenient semantics:
//!
//! - `add` creates missing parent objects (an array when the next token is `-`), and with
//!   `ifAbsent: true` leaves a present (non-null) value alone;
//! - `remove` of a missing path is a no-op; `replace` of a missing path adds it;
//! - a failing `test` skips the policy's whole mutation (a guard, not an error);
//! - `move`/`copy` from a missing path, or a path through a scalar, is an error.

use json_patch::PatchOperation;
use serde_json::{Map, Value};

use super::kinds::Shape;
use super::path::Alias;

/// Values substituted for placeholders in string values of a mutation.
#[derive(Debug, Clone)]
pub struct Placeholders<'a> {
    /// `{username}`.
    pub username: &'a str,
    /// `{username_label}`.
    pub username_label: &'a str,
    /// `{namespace}`.
    pub namespace: &'a str,
    /// `{groups}` (comma-separated).
    pub groups: &'a str,
}

impl Placeholders<'_> {
    /// `value` with every placeholder in every string expanded.
    pub fn expand(&self, value: &Value) -> Value {
        match value {
            Value::String(s) if s.contains('{') => Value::String(
                s.replace("{username}", self.username)
                    .replace("{username_label}", self.username_label)
                    .replace("{namespace}", self.namespace)
                    .replace("{groups}", self.groups),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.expand(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.expand(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// One mutation operation of a policy.
#[derive(Debug, Clone)]
pub struct Mutation {
    alias: Alias,
    op: PatchOperation,
    if_absent: bool,
}

/// Keys a mutation entry may have.
const OP_KEYS: [&str; 5] = ["op", "path", "value", "from", "ifAbsent"];

impl Mutation {
    /// Parse one entry of `mutate:` (a JSON patch operation, optionally with a `$alias`
    /// before the path's first `/` and `ifAbsent: true`).
    pub fn parse(entry: &Value) -> Result<Mutation, String> {
        let Some(map) = entry.as_object() else {
            return Err("a mutation must be a map with op and path".into());
        };
        if let Some(k) = map.keys().find(|k| !OP_KEYS.contains(&k.as_str())) {
            return Err(format!("unknown key {k:?} in mutation"));
        }
        let mut map: Map<String, Value> = map.clone();
        let if_absent = match map.remove("ifAbsent") {
            None => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err("ifAbsent must be true or false".into()),
        };
        let mut alias = Alias::Root;
        if let Some(Value::String(path)) = map.get("path") {
            if let Some(after) = path.strip_prefix('$') {
                let end = after.find('/').unwrap_or(after.len());
                alias = match Alias::from_name(&after[..end]) {
                    Some(Alias::Containers) | None => {
                        return Err(format!(
                            "unknown path alias ${} (known: $podSpec, $podMetadata, $jobSpec, $jobMetadata)",
                            &after[..end]
                        ))
                    }
                    Some(a) => a,
                };
                let rest = after[end..].to_string();
                map.insert("path".into(), Value::String(rest));
            }
        }
        if let Some(Value::String(from)) = map.get("from") {
            if from.starts_with('$') {
                return Err("aliases are not allowed in from".into());
            }
        }
        let op: PatchOperation =
            serde_json::from_value(Value::Object(map)).map_err(|e| e.to_string())?;
        if if_absent && !matches!(op, PatchOperation::Add(_)) {
            return Err("ifAbsent is only allowed on add".into());
        }
        Ok(Mutation {
            alias,
            op,
            if_absent,
        })
    }
}

/// Why a mutation stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every operation ran; `changed` tells whether the object differs.
    Applied {
        /// Whether any operation changed the object.
        changed: bool,
    },
    /// A `test` failed: the mutation does not apply.
    Skipped,
}

/// Whether `ops` may stop half-way (a `test`, `move` or `copy`), so they must be applied
/// to a copy to stay all-or-nothing. `add`, `remove` and `replace` fail only on a path
/// through a scalar, which refuses the request in enforce mode anyway.
pub fn may_stop_half_way(ops: &[Mutation]) -> bool {
    ops.iter().any(|m| {
        matches!(
            m.op,
            PatchOperation::Test(_) | PatchOperation::Move(_) | PatchOperation::Copy(_)
        )
    })
}

/// Apply `ops` to `doc` (of `shape`) with lenient semantics.
pub fn apply(
    doc: &mut Value,
    shape: Shape,
    ops: &[Mutation],
    ph: &Placeholders,
) -> Result<Outcome, String> {
    let mut changed = false;
    for m in ops {
        let bases = m.alias.bases(doc, shape);
        for base in bases {
            let path = join(&base, m.op.path());
            match &m.op {
                PatchOperation::Add(op) => {
                    let current = get(doc, &path);
                    if m.if_absent && current.is_some_and(|v| !v.is_null()) {
                        continue;
                    }
                    let value = ph.expand(&op.value);
                    let appends = path.last().is_some_and(|t| t == "-");
                    if appends || current != Some(&value) {
                        add(doc, &path, value)?;
                        changed = true;
                    }
                }
                PatchOperation::Remove(_) => {
                    changed |= remove(doc, &path).is_some();
                }
                PatchOperation::Replace(op) => {
                    let value = ph.expand(&op.value);
                    match get_mut(doc, &path) {
                        Some(slot) if *slot == value => {}
                        Some(slot) => {
                            *slot = value;
                            changed = true;
                        }
                        None => {
                            add(doc, &path, value)?;
                            changed = true;
                        }
                    }
                }
                PatchOperation::Move(op) => {
                    let from = join(&base, &op.from);
                    if from == path {
                        continue;
                    }
                    let value = remove(doc, &from)
                        .ok_or_else(|| format!("move: nothing at {}", op.from))?;
                    add(doc, &path, value)?;
                    changed = true;
                }
                PatchOperation::Copy(op) => {
                    let from = join(&base, &op.from);
                    let value = get(doc, &from)
                        .cloned()
                        .ok_or_else(|| format!("copy: nothing at {}", op.from))?;
                    if get(doc, &path) != Some(&value) || path.last().is_some_and(|t| t == "-") {
                        add(doc, &path, value)?;
                        changed = true;
                    }
                }
                PatchOperation::Test(op) => {
                    if get(doc, &path) != Some(&ph.expand(&op.value)) {
                        return Ok(Outcome::Skipped);
                    }
                }
            }
        }
    }
    Ok(Outcome::Applied { changed })
}

/// `base` followed by the decoded tokens of `pointer`.
fn join(base: &[String], pointer: &json_patch::jsonptr::Pointer) -> Vec<String> {
    let mut out = base.to_vec();
    out.extend(pointer.tokens().map(|t| t.decoded().into_owned()));
    out
}

/// The value at `path`, if any.
fn get<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, t| match v {
        Value::Object(m) => m.get(t),
        Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => None,
    })
}

/// The value at `path`, mutably, if any.
fn get_mut<'a>(doc: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |v, t| match v {
        Value::Object(m) => m.get_mut(t),
        Value::Array(a) => t.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
        _ => None,
    })
}

/// Remove and return the value at `path` (nothing if missing).
fn remove(doc: &mut Value, path: &[String]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut cur = doc;
    for t in parents {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match cur {
        Value::Object(m) => m.remove(last),
        Value::Array(a) => {
            let i = last.parse::<usize>().ok().filter(|i| *i < a.len())?;
            Some(a.remove(i))
        }
        _ => None,
    }
}

/// Add `value` at `path`, creating missing parents.
fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let mut cur = doc;
    for (i, t) in parents.iter().enumerate() {
        let next_is_append = path.get(i + 1).is_some_and(|n| n == "-");
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
        cur = match cur {
            Value::Object(m) => m.entry(t.clone()).or_insert_with(|| {
                if next_is_append {
                    Value::Array(Vec::new())
                } else {
                    Value::Object(Map::new())
                }
            }),
            Value::Array(a) => {
                let len = a.len();
                let idx = if t == "-" {
                    None
                } else {
                    t.parse::<usize>().ok().filter(|i| *i < len)
                };
                match idx {
                    Some(i) => &mut a[i],
                    None => {
                        return Err(format!(
                            "no array element {t} at /{}",
                            parents[..i].join("/")
                        ))
                    }
                }
            }
            _ => {
                return Err(format!(
                    "cannot add below a scalar at /{}",
                    parents[..=i].join("/")
                ))
            }
        };
        if cur.is_null() {
            *cur = if next_is_append {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
        }
    }
    match cur {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            match last.parse::<usize>() {
                Ok(i) if i <= a.len() => {
                    a.insert(i, value);
                    Ok(())
                }
                _ => Err(format!(
                    "array index {last} out of range at /{}",
                    path.join("/")
                )),
            }
        }
        _ => Err(format!("cannot add below a scalar at /{}", path.join("/"))),
    }
}
