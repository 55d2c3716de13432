//! JSON read with every object member kept, in order (pure). serde_json keeps only the last
//! of two equal keys and compares keys exactly; kube-apiserver reads a body's type meta with
//! Go's case-insensitive `encoding/json` and reports duplicate fields in strict decoding, so a
//! reader that wants to see what the API server sees must keep every member. [`Node`] does;
//! [`type_meta`] reads `apiVersion`/`kind` as kube-apiserver's `SimpleMetaFactory` does,
//! [`duplicates`] lists what sigs.k8s.io/json's strict decoding reports, and [`ambiguities`]
//! lists every key two readers could take differently.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::fold::fold;

/// One object member: key and value.
pub type Member = (String, Node);

/// A JSON value whose objects keep every member, duplicates included, in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Node>),
    /// An object: every member in order.
    Object(Vec<(String, Node)>),
}

/// A body that is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

/// Parse `body` (one JSON value, surrounding whitespace allowed), keeping every member.
pub fn parse(body: &[u8]) -> Result<Node, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let node = Node::deserialize(&mut de).map_err(|e| JsonError(e.to_string()))?;
    de.end().map_err(|e| JsonError(e.to_string()))?;
    Ok(node)
}

impl Node {
    /// The value Go's decoders produce: of equal keys the last wins (in the first key's place,
    /// as serde_json's ordered map keeps it).
    pub fn to_value(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Number(n) => Value::Number(n.clone()),
            Node::String(s) => Value::String(s.clone()),
            Node::Array(a) => Value::Array(a.iter().map(Node::to_value).collect()),
            Node::Object(members) => {
                let mut m = Map::new();
                for (k, v) in members {
                    m.insert(k.clone(), v.to_value());
                }
                Value::Object(m)
            }
        }
    }

    /// The members of an object (`None` for other values).
    pub fn members(&self) -> Option<&[(String, Node)]> {
        match self {
            Node::Object(m) => Some(m),
            _ => None,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "bool",
            Node::Number(_) => "number",
            Node::String(_) => "string",
            Node::Array(_) => "array",
            Node::Object(_) => "object",
        }
    }
}

impl From<&Value> for Node {
    /// A value's members in its map's order (a `Value` has no duplicate keys).
    fn from(v: &Value) -> Node {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            Value::Number(n) => Node::Number(n.clone()),
            Value::String(s) => Node::String(s.clone()),
            Value::Array(a) => Node::Array(a.iter().map(Node::from).collect()),
            Value::Object(m) => {
                Node::Object(m.iter().map(|(k, v)| (k.clone(), Node::from(v))).collect())
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Node, E> {
        Number::from_f64(v)
            .map(Node::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Node>()? {
            out.push(v);
        }
        Ok(Node::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, Node>()? {
            out.push((k, v));
        }
        Ok(Node::Object(out))
    }
}

/// The type meta of an object as kube-apiserver finds it before decoding
/// (`SimpleMetaFactory.Interpret`: Go's `encoding/json` into `{apiVersion, kind}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeMeta {
    /// The `apiVersion` Go reads (`None`: absent or null).
    pub api_version: Option<String>,
    /// The `kind` Go reads.
    pub kind: Option<String>,
    /// The key spellings that supplied them when they are not exactly `apiVersion` / `kind`
    /// (`Kind`, `\u{212a}ind`, `APIVERSION`): kube-apiserver takes them for the type meta, while
    /// its case-sensitive decoding of the object itself does not.
    pub odd_spellings: Vec<String>,
}

/// Why the type meta cannot be read (kube-apiserver answers 400
/// `couldn't get version/kind; json parse error: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TypeMetaError(pub String);

/// Read the type meta of `node` as Go's `encoding/json` does: every top-level key that folds
/// to `apiversion` or `kind` sets that field, in document order, so the last one wins; a `null`
/// leaves the field as it was; any other non-string value is an error.
pub fn type_meta(node: &Node) -> Result<TypeMeta, TypeMetaError> {
    let Node::Object(members) = node else {
        return Err(TypeMetaError(format!(
            "json: cannot unmarshal {} into Go value of type struct {{ APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }}",
            node.type_name()
        )));
    };
    let api_version = fold("apiVersion");
    let kind = fold("kind");
    let mut out = TypeMeta::default();
    for (k, v) in members {
        let folded = fold(k);
        let (slot, exact, field) = if folded == api_version {
            (&mut out.api_version, "apiVersion", "apiVersion")
        } else if folded == kind {
            (&mut out.kind, "kind", "kind")
        } else {
            continue;
        };
        match v {
            Node::Null => {}
            Node::String(s) => *slot = Some(s.clone()),
            other => {
                return Err(TypeMetaError(format!(
                    "json: cannot unmarshal {} into Go struct field .{field} of type string",
                    other.type_name()
                )))
            }
        }
        if k != exact {
            out.odd_spellings.push(k.clone());
        }
    }
    Ok(out)
}

/// One place where a body can be read two ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ambiguity {
    /// The same key twice in one object (`path` names the key, sigs.k8s.io/json style:
    /// `metadata.name`, `spec.containers[0].image`).
    Duplicate {
        /// Where.
        path: String,
    },
    /// Two keys of one object that differ but fold alike (`spec.hostNetwork` and
    /// `spec.HostNetwork`): Go's case-insensitive readers take them for one field.
    Folded {
        /// The first key's path.
        path: String,
        /// The other spelling.
        other: String,
    },
}

impl fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ambiguity::Duplicate { path } => write!(f, "duplicate field \"{path}\""),
            Ambiguity::Folded { path, other } => write!(
                f,
                "fields \"{path}\" and \"{other}\" differ only in case (Go reads them as one)"
            ),
        }
    }
}

/// The duplicate fields sigs.k8s.io/json's strict decoding reports, in document order.
pub fn duplicates(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    walk(node, &mut String::new(), &mut |path, members| {
        let mut seen: HashMap<&str, ()> = HashMap::new();
        for (k, _) in members {
            if seen.insert(k, ()).is_some() {
                let p = join(path, k);
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    });
    out
}

/// Keys of free-form string maps, where keys that differ only in case are distinct entries
/// for every reader (labels `App` and `app`, ConfigMap files `README` and `readme`).
const STRING_MAPS: &[&str] = &[
    "labels",
    "annotations",
    "data",
    "binaryData",
    "stringData",
    "nodeSelector",
    "matchLabels",
    "selector",
];

/// Every duplicate key, and every pair of keys that fold alike, anywhere in `node` — except
/// case variants inside free-form string maps (an object under `labels`, `annotations`,
/// `data`, `binaryData`, `stringData`, `nodeSelector`, `matchLabels` or `selector` whose values
/// are all strings), which no reader merges.
pub fn ambiguities(node: &Node) -> Vec<Ambiguity> {
    let mut out = Vec::new();
    walk(node, &mut String::new(), &mut |path, members| {
        let mut exact: HashMap<&str, ()> = HashMap::new();
        let mut folded: HashMap<String, &str> = HashMap::new();
        let string_map = STRING_MAPS.iter().any(|m| last_key(path) == *m)
            && members.iter().all(|(_, v)| matches!(v, Node::String(_)));
        for (k, _) in members {
            if exact.insert(k, ()).is_some() {
                out.push(Ambiguity::Duplicate {
                    path: join(path, k),
                });
                continue;
            }
            if string_map {
                continue;
            }
            if let Some(first) = folded.insert(fold(k), k) {
                out.push(Ambiguity::Folded {
                    path: join(path, first),
                    other: join(path, k),
                });
            }
        }
    });
    out
}

/// The last key of a sigs.k8s.io/json-style path (`spec.template.metadata.labels` → `labels`).
fn last_key(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Calls `f(path, members)` for every object in `node`, depth first.
fn walk(node: &Node, path: &mut String, f: &mut dyn FnMut(&str, &[Member])) {
    match node {
        Node::Object(members) => {
            f(path, members);
            for (k, v) in members {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk(v, path, f);
                path.truncate(len);
            }
        }
        Node::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk(v, path, f);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_every_member_and_last_wins() {
        let n = parse(br#" {"a":1,"b":[true,null,"x",1.5],"a":2} "#).expect("json");
        assert_eq!(
            n.members().map(|m| m.len()),
            Some(3),
            "both `a` members kept"
        );
        assert_eq!(n.to_value(), json!({"a": 2, "b": [true, null, "x", 1.5]}));
        for bad in [&b""[..], b"{", b"{}x", b"[1,]", b"{\"a\":1e400}", b"nul"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn type_meta_is_read_like_go() {
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                r#"{"apiVersion":"v1","kind":"Pod"}"#,
                Some("v1"),
                Some("Pod"),
                vec![],
            ),
            (
                r#"{"kind":"Secret","Kind":"Pod"}"#,
                None,
                Some("Pod"),
                vec!["Kind"],
            ),
            (
                r#"{"Kind":"Pod","kind":"Secret"}"#,
                None,
                Some("Secret"),
                vec!["Kind"],
            ),
            (
                "{\"kind\":\"ConfigMap\",\"\u{212a}ind\":\"Pod\"}",
                None,
                Some("Pod"),
                vec!["\u{212a}ind"],
            ),
            (
                r#"{"KIND":"Pod","kind":null}"#,
                None,
                Some("Pod"),
                vec!["KIND"],
            ),
            (
                r#"{"APIVERSION":"apps/v1","apiversion":"v1"}"#,
                Some("v1"),
                None,
                vec!["APIVERSION", "apiversion"],
            ),
            (
                "{\"apiVer\u{17f}ion\":\"v1\"}",
                Some("v1"),
                None,
                vec!["apiVer\u{17f}ion"],
            ),
            (
                r#"{"kinds":"Pod","kin":"Pod","k ind":"Pod"}"#,
                None,
                None,
                vec![],
            ),
            (r#"{"spec":{"kind":"Pod"}}"#, None, None, vec![]),
        ];
        for (body, av, kind, odd) in cases {
            let tm = type_meta(&parse(body.as_bytes()).expect("json")).expect(body);
            assert_eq!(tm.api_version.as_deref(), av, "{body}");
            assert_eq!(tm.kind.as_deref(), kind, "{body}");
            assert_eq!(tm.odd_spellings, odd, "{body}");
        }
        for bad in [r#"[]"#, r#"{"kind":1}"#, r#"{"Kind":{}}"#, r#""Pod""#] {
            assert!(
                type_meta(&parse(bad.as_bytes()).expect("json")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn duplicates_and_folded_keys() {
        let body = r#"{"kind":"Pod","metadata":{"name":"a","name":"b","labels":{"App":"x","app":"y"}},
            "spec":{"containers":[{"image":"a","image":"b"}],"hostNetwork":false,"HostNetwork":true,
            "nodeSelector":{"Disk":"ssd","disk":"hdd"}},"Kind":"Pod","data":{"A":{},"a":{}}}"#;
        let n = parse(body.as_bytes()).expect("json");
        assert_eq!(
            duplicates(&n),
            vec!["metadata.name", "spec.containers[0].image"]
        );
        let found: Vec<String> = ambiguities(&n).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            vec![
                "fields \"kind\" and \"Kind\" differ only in case (Go reads them as one)",
                "duplicate field \"metadata.name\"",
                "fields \"spec.hostNetwork\" and \"spec.HostNetwork\" differ only in case (Go reads them as one)",
                "duplicate field \"spec.containers[0].image\"",
                "fields \"data.A\" and \"data.a\" differ only in case (Go reads them as one)",
            ]
        );
        let clean = parse(
            br#"{"metadata":{"labels":{"A":"1","a":"2"}},"data":{"README":"x","readme":"y"}}"#,
        )
        .expect("json");
        assert!(ambiguities(&clean).is_empty());
    }
}
