//! The generated message schema (`proto_schema.json`), parsed once and indexed for fast lookups.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The schema file written by `tools/gen_proto_schema.py`.
const SCHEMA_JSON: &str = include_str!("../proto_schema.json");

/// A message's index in [`Schema::messages`].
pub(crate) type MsgId = usize;

/// The protobuf wire shape of a field as declared in `generated.proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    String,
    Bool,
    Int32,
    Int64,
    Double,
    Bytes,
    Message,
    MapString,
    MapBytes,
    MapMessage,
}

/// Messages with a custom Go JSON form instead of an object of their fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// `metav1.Time`: RFC 3339 seconds, `null` when zero.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with 6 fraction digits, `null` when zero.
    MicroTime,
    /// `metav1.Duration`: Go duration string (`1h0m0s`).
    Duration,
    /// `resource.Quantity`: its string.
    Quantity,
    /// `intstr.IntOrString`: a number or a string.
    IntOrString,
    /// `runtime.RawExtension`, `metav1.FieldsV1`: embedded raw JSON.
    Raw,
    /// A Go named slice (`type ExtraValue []string`): the array of its `items`.
    Array,
}

/// One field of a message, in Go struct order.
#[derive(Debug)]
pub(crate) struct Field {
    pub tag: u32,
    /// JSON name (empty for an inline field).
    pub json: String,
    pub wire: Wire,
    /// The message type of a message field or of a map's values.
    pub msg: Option<MsgId>,
    pub repeated: bool,
    /// `json:",omitempty"`.
    pub omitempty: bool,
    /// A Go pointer, slice or map (absent means nil, not a zero value).
    pub nillable: bool,
    /// `json:",inline"`: the sub-message's keys are spliced into this object.
    pub inline: bool,
}

/// How a JSON key of a message is ordered and what its value holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyInfo {
    /// Position in kube-apiserver's key order.
    pub rank: usize,
    /// Message type of the value (or of its elements / map values); `None` for scalars.
    pub msg: Option<MsgId>,
    pub repeated: bool,
    /// A Go map: its keys are sorted.
    pub map: bool,
}

/// One protobuf message type.
#[derive(Debug)]
pub(crate) struct Message {
    pub special: Special,
    pub fields: Vec<Field>,
    /// The (apiVersion, kind) when this message is a top-level kind.
    pub kind: Option<(String, String)>,
    /// Field index by protobuf tag.
    pub by_tag: HashMap<u32, usize>,
    /// JSON keys (inline fields flattened, `kind`/`apiVersion` first for kinds).
    pub keys: HashMap<String, KeyInfo>,
}

/// All messages, indexed by OpenAPI name and by (apiVersion, kind).
#[derive(Debug)]
pub(crate) struct Schema {
    pub messages: Vec<Message>,
    names: HashMap<String, MsgId>,
    kinds: HashMap<(String, String), MsgId>,
    /// Kinds by name alone, `None` when the name is used by several groups.
    kind_names: HashMap<String, Option<MsgId>>,
}

impl Schema {
    /// The message with this OpenAPI name (`io.k8s.api.batch.v1.Job`).
    pub fn by_name(&self, name: &str) -> Option<MsgId> {
        self.names.get(name).copied()
    }

    /// The message for a top-level (apiVersion, kind).
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<MsgId> {
        self.kinds
            .get(&(api_version.to_owned(), kind.to_owned()))
            .copied()
    }

    /// The message for a kind name used by a single group (for objects without `apiVersion`,
    /// such as the discovery `APIResourceList`).
    pub fn by_kind_name(&self, kind: &str) -> Option<MsgId> {
        self.kind_names.get(kind).copied().flatten()
    }
}

/// The parsed schema (built on first use).
pub(crate) fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let raw: RawSchema =
            serde_json::from_str(SCHEMA_JSON).expect("proto_schema.json must be valid");
        build(raw)
    })
}

#[derive(Deserialize)]
struct RawSchema {
    kinds: Vec<(String, String, String)>,
    messages: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawMessage {
    special: Option<String>,
    fields: Vec<(u32, String, String, String, String)>,
}

fn build(raw: RawSchema) -> Schema {
    let names: HashMap<String, MsgId> = raw
        .messages
        .keys()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    let mut messages: Vec<Message> = raw
        .messages
        .into_iter()
        .map(|(name, v)| {
            let m: RawMessage = serde_json::from_value(v)
                .unwrap_or_else(|e| panic!("proto_schema.json message {name} must parse: {e}"));
            build_message(m, &names)
        })
        .collect();
    let mut kinds = HashMap::new();
    let mut kind_names = HashMap::new();
    for (api_version, kind, name) in raw.kinds {
        let id = names[&name];
        messages[id].kind = Some((api_version.clone(), kind.clone()));
        kind_names
            .entry(kind.clone())
            .and_modify(|e| *e = None)
            .or_insert(Some(id));
        kinds.insert((api_version, kind), id);
    }
    for id in 0..messages.len() {
        let mut keys = HashMap::new();
        if messages[id].kind.is_some() {
            for k in ["kind", "apiVersion"] {
                let info = KeyInfo {
                    rank: keys.len(),
                    msg: None,
                    repeated: false,
                    map: false,
                };
                keys.insert(k.to_owned(), info);
            }
        }
        collect_keys(&messages, id, &mut keys);
        messages[id].keys = keys;
    }
    Schema {
        messages,
        names,
        kinds,
        kind_names,
    }
}

fn build_message(m: RawMessage, names: &HashMap<String, MsgId>) -> Message {
    let fields: Vec<Field> = m
        .fields
        .into_iter()
        .map(|(tag, json, wire, reference, flags)| Field {
            tag,
            json,
            wire: parse_wire(&wire),
            msg: (!reference.is_empty()).then(|| names[&reference]),
            repeated: flags.contains('r'),
            omitempty: flags.contains('o'),
            nillable: flags.contains('n'),
            inline: flags.contains('i'),
        })
        .collect();
    let by_tag = fields.iter().enumerate().map(|(i, f)| (f.tag, i)).collect();
    Message {
        special: parse_special(m.special.as_deref()),
        fields,
        kind: None,
        by_tag,
        keys: HashMap::new(),
    }
}

/// Flattens a message's JSON keys in order, descending into inline fields.
fn collect_keys(messages: &[Message], id: MsgId, keys: &mut HashMap<String, KeyInfo>) {
    for f in &messages[id].fields {
        match (f.inline, f.msg) {
            (true, Some(sub)) => collect_keys(messages, sub, keys),
            _ => {
                let info = KeyInfo {
                    rank: keys.len(),
                    msg: f.msg,
                    repeated: f.repeated,
                    map: matches!(f.wire, Wire::MapString | Wire::MapBytes | Wire::MapMessage),
                };
                keys.entry(f.json.clone()).or_insert(info);
            }
        }
    }
}

fn parse_wire(s: &str) -> Wire {
    match s {
        "string" => Wire::String,
        "bool" => Wire::Bool,
        "int32" => Wire::Int32,
        "int64" => Wire::Int64,
        "double" => Wire::Double,
        "bytes" => Wire::Bytes,
        "message" => Wire::Message,
        "map<string,string>" => Wire::MapString,
        "map<string,bytes>" => Wire::MapBytes,
        "map<string,message>" => Wire::MapMessage,
        other => panic!("proto_schema.json: unknown wire type {other}"),
    }
}

fn parse_special(s: Option<&str>) -> Special {
    match s {
        Some("time") => Special::Time,
        Some("microtime") => Special::MicroTime,
        Some("duration") => Special::Duration,
        Some("quantity") => Special::Quantity,
        Some("intorstring") => Special::IntOrString,
        Some("raw") => Special::Raw,
        Some("array") => Special::Array,
        _ => Special::None,
    }
}
