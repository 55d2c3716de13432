//! The node tree → JSON, as yaml.v2 decodes into `interface{}` and sigs.k8s.io/yaml then
//! makes that JSON-able (`convertToJSONableObject` + `json.Marshal`): aliases expanded under
//! yaml.v2's alias-ratio rule, `<<` merges applied in yaml.v2's order (a merge overwrites the
//! keys before it), last duplicate wins, non-string keys printed as strings, keys sorted.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::gofmt::{float_key, go_sharp_v, json_number};
use super::resolve::{self, Scalar, MERGE};
use super::tree::{too_deep, Doc, Kind};
use super::{YamlError, MAX_ALIAS_NODES, MAX_DEPTH};

/// A Go map key as yaml.v2 stores it: keys of different Go types are different keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    /// The bits of a float (0.0 and -0.0 are one key, as in Go).
    Float(u64),
    Str(String),
}

/// A Go `map[interface{}]interface{}` being filled: entries in first-insertion order.
#[derive(Default)]
struct GoMap {
    entries: Vec<(Key, Value, usize)>,
    index: HashMap<Key, usize>,
}

pub(super) struct Converter<'d> {
    doc: &'d Doc,
    strict: bool,
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
    /// Aliases being expanded (an anchor inside its own value would never end).
    active: Vec<usize>,
    depth: usize,
}

impl<'d> Converter<'d> {
    pub(super) fn new(doc: &'d Doc, strict: bool) -> Self {
        Converter {
            doc,
            strict,
            decode_count: 0,
            alias_count: 0,
            alias_depth: 0,
            active: Vec::new(),
            depth: 0,
        }
    }

    /// yaml.v2's `decoder.unmarshal` bookkeeping: fail on excessive aliasing.
    fn count(&mut self) -> Result<(), YamlError> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        #[allow(clippy::cast_precision_loss)]
        let ratio = self.alias_count as f64 / self.decode_count as f64;
        if (self.alias_count > 100
            && self.decode_count > 1000
            && ratio > allowed_alias_ratio(self.decode_count))
            || self.alias_count > MAX_ALIAS_NODES
        {
            return Err(YamlError::new("yaml: document contains excessive aliasing"));
        }
        Ok(())
    }

    /// Follow an alias (with yaml.v2's self-reference check) and run `f` on its target.
    fn through_alias<T>(
        &mut self,
        id: usize,
        f: impl FnOnce(&mut Self, usize) -> Result<T, YamlError>,
    ) -> Result<T, YamlError> {
        let Kind::Alias { target, name } = &self.doc.nodes[id].kind else {
            return f(self, id);
        };
        if self.active.contains(&id) {
            return Err(YamlError::new(format!(
                "yaml: anchor '{name}' value contains itself"
            )));
        }
        self.active.push(id);
        self.alias_depth += 1;
        let out = f(self, *target);
        self.alias_depth -= 1;
        self.active.pop();
        out
    }

    pub(super) fn value(&mut self, id: usize) -> Result<Value, YamlError> {
        self.count()?;
        let node = &self.doc.nodes[id];
        match &node.kind {
            Kind::Alias { .. } => self.through_alias(id, Self::value),
            Kind::Scalar { value, plain } => {
                let s = resolve::scalar(value, *plain, node.tag.as_deref())
                    .map_err(|m| YamlError::new(format!("yaml: {m}")))?;
                scalar_json(s, node.line, self.strict)
            }
            Kind::Seq(items) => {
                self.descend(node.line)?;
                let out = items
                    .iter()
                    .map(|&i| self.value(i))
                    .collect::<Result<Vec<_>, _>>();
                self.depth -= 1;
                Ok(Value::Array(out?))
            }
            Kind::Map(_) => {
                self.descend(node.line)?;
                let mut m = GoMap::default();
                let filled = self.fill(id, &mut m);
                self.depth -= 1;
                filled?;
                m.into_json(self.strict)
            }
        }
    }

    fn descend(&mut self, line: usize) -> Result<(), YamlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(too_deep(line));
        }
        Ok(())
    }

    /// Decode mapping node `id` into `m` (yaml.v2's `decoder.mapping` into an existing map).
    fn fill(&mut self, id: usize, m: &mut GoMap) -> Result<(), YamlError> {
        let Kind::Map(pairs) = &self.doc.nodes[id].kind else {
            return Err(want_map());
        };
        for &(k, v) in pairs {
            if self.is_merge(k) {
                if self.strict {
                    let line = self.doc.nodes[k].line;
                    return Err(YamlError::new(format!(
                        "yaml: line {line}: merge key `<<` is not allowed in a request body (only plain YAML data is accepted)"
                    )));
                }
                self.merge(v, m)?;
                continue;
            }
            let key = self.key(k)?;
            let value = self.value(v)?;
            m.insert(key, value, self.doc.nodes[k].line, self.strict)?;
        }
        Ok(())
    }

    fn is_merge(&self, id: usize) -> bool {
        let node = &self.doc.nodes[id];
        matches!(&node.kind, Kind::Scalar { value, plain } if value == "<<"
            && ((*plain && node.tag.is_none()) || node.tag.as_deref() == Some(MERGE)))
    }

    /// yaml.v2's `decoder.merge`: a mapping, an alias of one, or a sequence of those (applied
    /// last to first, so earlier ones win among themselves).
    fn merge(&mut self, id: usize, m: &mut GoMap) -> Result<(), YamlError> {
        let is_map = |c: &Self, i: usize| match &c.doc.nodes[i].kind {
            Kind::Map(_) => true,
            Kind::Alias { target, .. } => matches!(c.doc.nodes[*target].kind, Kind::Map(_)),
            _ => false,
        };
        match &self.doc.nodes[id].kind {
            Kind::Map(_) | Kind::Alias { .. } if is_map(self, id) => self.merge_one(id, m),
            Kind::Seq(items) => {
                for &i in items.iter().rev() {
                    if !is_map(self, i) {
                        return Err(want_map());
                    }
                    self.merge_one(i, m)?;
                }
                Ok(())
            }
            _ => Err(want_map()),
        }
    }

    fn merge_one(&mut self, id: usize, m: &mut GoMap) -> Result<(), YamlError> {
        self.count()?;
        self.through_alias(id, |c, target| {
            if target != id {
                c.count()?;
            }
            c.descend(c.doc.nodes[target].line)?;
            let out = c.fill(target, m);
            c.depth -= 1;
            out
        })
    }

    /// A mapping key decoded into `interface{}`: a scalar, never a mapping or sequence.
    fn key(&mut self, id: usize) -> Result<Key, YamlError> {
        self.count()?;
        self.through_alias(id, |c, target| {
            if target != id {
                c.count()?;
            }
            let node = &c.doc.nodes[target];
            let Kind::Scalar { value, plain } = &node.kind else {
                let v = c.value(target)?;
                return Err(YamlError::new(format!(
                    "yaml: invalid map key: {}",
                    go_sharp_v(&v)
                )));
            };
            let s = resolve::scalar(value, *plain, node.tag.as_deref())
                .map_err(|m| YamlError::new(format!("yaml: {m}")))?;
            Ok(match s {
                Scalar::Null => Key::Null,
                Scalar::Bool(b) => Key::Bool(b),
                Scalar::Int(i) => Key::Int(i),
                Scalar::Uint(u) => Key::Uint(u),
                Scalar::Float(f) => Key::Float(if f == 0.0 { 0 } else { f.to_bits() }),
                Scalar::Str(s) => Key::Str(s),
            })
        })
    }
}

fn want_map() -> YamlError {
    YamlError::new("yaml: map merge requires map or sequence of maps as the value")
}

/// yaml.v2's `allowedAliasRatio`.
fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LOW: usize = 400_000;
    const HIGH: usize = 4_000_000;
    match decode_count {
        n if n <= LOW => 0.99,
        n if n >= HIGH => 0.10,
        #[allow(clippy::cast_precision_loss)]
        n => 0.99 - 0.89 * ((n - LOW) as f64 / (HIGH - LOW) as f64),
    }
}

/// A resolved scalar as `json.Marshal` writes it (NaN and infinities are errors there).
fn scalar_json(s: Scalar, line: usize, strict: bool) -> Result<Value, YamlError> {
    Ok(match s {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => Value::from(i),
        Scalar::Uint(u) => Value::from(u),
        Scalar::Str(s) => Value::String(s),
        Scalar::Float(f) => match json_number(f) {
            Some(n) => Value::Number(n),
            None => {
                let what = if f.is_nan() {
                    "NaN"
                } else if f > 0.0 {
                    "+Inf"
                } else {
                    "-Inf"
                };
                let msg = format!("json: unsupported value: {what}");
                return Err(YamlError::new(if strict {
                    format!("yaml: line {line}: {msg}")
                } else {
                    msg
                }));
            }
        },
    })
}

impl GoMap {
    fn insert(
        &mut self,
        key: Key,
        value: Value,
        line: usize,
        strict: bool,
    ) -> Result<(), YamlError> {
        if let Some(&i) = self.index.get(&key) {
            if strict {
                return Err(YamlError::new(format!(
                    "yaml: line {line}: mapping key {} already set in map",
                    key_text(&key, &value).unwrap_or_else(|e| e.message)
                )));
            }
            self.entries[i].1 = value;
        } else {
            self.index.insert(key.clone(), self.entries.len());
            self.entries.push((key, value, line));
        }
        Ok(())
    }

    /// sigs.k8s.io/yaml's key conversion, then `json.Marshal`'s sorted keys. Two Go keys that
    /// print alike (`1` and `"1"`) collide: Go keeps one at random; we keep the later one.
    fn into_json(self, strict: bool) -> Result<Value, YamlError> {
        let mut out = std::collections::BTreeMap::new();
        for (key, value, line) in self.entries {
            let text = key_text(&key, &value)?;
            if strict && out.contains_key(&text) {
                return Err(YamlError::new(format!(
                    "yaml: line {line}: mapping key {text:?} collides with another key once keys are JSON strings"
                )));
            }
            out.insert(text, value);
        }
        Ok(Value::Object(
            out.into_iter().collect::<Map<String, Value>>(),
        ))
    }
}

fn key_text(key: &Key, value: &Value) -> Result<String, YamlError> {
    Ok(match key {
        Key::Str(s) => s.clone(),
        Key::Int(i) => i.to_string(),
        Key::Bool(b) => b.to_string(),
        Key::Float(bits) => float_key(f64::from_bits(*bits)),
        Key::Uint(u) => {
            return Err(YamlError::new(format!(
                "unsupported map key of type: uint64, key: 0x{u:x}, value: {}",
                go_sharp_v(value)
            )))
        }
        Key::Null => {
            return Err(YamlError::new(format!(
                "unsupported map key of type: <nil>, key: <nil>, value: {}",
                go_sharp_v(value)
            )))
        }
    })
}
