//! Protobuf object bytes → the JSON kube-apiserver renders for the decoded Go struct.
//!
//! Go semantics reproduced here: a value field that is absent on the wire is the Go zero value
//! (rendered unless `omitempty`; structs are never omitted), a nil pointer/slice/map is omitted
//! with `omitempty` and `null` without it, a present pointer is always rendered, and map keys are
//! sorted (as `encoding/json` does).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::schema::{Field, MsgId, Schema, Special, Wire};
use super::wire::{self, WireError, WireValue};
use crate::DecodeError;

/// The prefix of every Kubernetes protobuf body.
pub(crate) const MAGIC: &[u8] = b"k8s\x00";

/// Deeper nesting than any real object: a guard against stack exhaustion on hostile input.
const MAX_DEPTH: usize = 100;

/// Decodes `k8s\0` + `runtime.Unknown{typeMeta, raw}` and renders the object as JSON.
///
/// `strict`: refuse what two readers could take differently, instead of doing what gogo-protobuf
/// does with it: a field number the schema does not know (gogo skips it), a non-repeated field
/// sent more than once (gogo keeps the last scalar and merges messages), and a map key sent
/// twice (gogo keeps the last).
pub(crate) fn decode_envelope(s: &Schema, body: &[u8], strict: bool) -> Result<Value, DecodeError> {
    let mut d = Decoder {
        s,
        depth: 0,
        strict,
    };
    d.envelope(body)
}

struct Decoder<'s> {
    s: &'s Schema,
    depth: usize,
    strict: bool,
}

/// The `runtime.Unknown` envelope fields the decoder needs.
#[derive(Default)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

fn parse_envelope(body: &[u8]) -> Result<Envelope<'_>, WireError> {
    let mut env = Envelope::default();
    for (tag, v) in wire::parse(body)? {
        match (tag, v) {
            (1, WireValue::Bytes(type_meta)) => {
                for (tag, v) in wire::parse(type_meta)? {
                    match (tag, v) {
                        (1, WireValue::Bytes(b)) => env.api_version = lossy(b),
                        (2, WireValue::Bytes(b)) => env.kind = lossy(b),
                        _ => {}
                    }
                }
            }
            (2, WireValue::Bytes(raw)) => env.raw = raw,
            _ => {}
        }
    }
    Ok(env)
}

impl Decoder<'_> {
    fn envelope(&mut self, body: &[u8]) -> Result<Value, DecodeError> {
        let inner = body.strip_prefix(MAGIC).ok_or_else(|| {
            DecodeError::Malformed(
                "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
                    .to_owned(),
            )
        })?;
        let env = parse_envelope(inner).map_err(|e| DecodeError::Malformed(e.0))?;
        let id = self
            .s
            .by_kind(&env.api_version, &env.kind)
            .ok_or_else(|| DecodeError::UnknownKind(env.api_version.clone(), env.kind.clone()))?;
        let fields = self.object(id, env.raw).map_err(|e| {
            let version = env.api_version.rsplit('/').next().unwrap_or_default();
            DecodeError::Malformed(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: {err}",
                kind = env.kind,
                err = e.0
            ))
        })?;
        let mut out = Map::new();
        out.insert("kind".into(), Value::String(env.kind));
        out.insert("apiVersion".into(), Value::String(env.api_version));
        out.extend(fields);
        Ok(Value::Object(out))
    }

    /// Renders one message, honouring the special Go JSON forms.
    fn message(&mut self, id: MsgId, bytes: &[u8]) -> Result<Value, WireError> {
        if self.depth >= MAX_DEPTH {
            return Err(WireError("proto: message nested too deeply".to_owned()));
        }
        self.depth += 1;
        let out = match self.s.messages[id].special {
            Special::None => self.object(id, bytes).map(Value::Object),
            special => self.special(special, bytes),
        };
        self.depth -= 1;
        out
    }

    /// A message as a JSON object with its fields in Go order.
    fn object(&mut self, id: MsgId, bytes: &[u8]) -> Result<Map<String, Value>, WireError> {
        let s = self.s;
        let msg = &s.messages[id];
        let mut per_field: Vec<Vec<WireValue<'_>>> = vec![Vec::new(); msg.fields.len()];
        for (tag, v) in wire::parse(bytes)? {
            // Unknown field numbers are skipped, as gogo-protobuf does.
            if let Some(&i) = msg.by_tag.get(&tag) {
                per_field[i].push(v);
            } else if self.strict {
                return Err(WireError(format!(
                    "proto: field number {tag} is not a field of this object"
                )));
            }
        }
        if self.strict {
            for (f, vals) in msg.fields.iter().zip(&per_field) {
                let many_ok = f.repeated
                    || matches!(f.wire, Wire::MapString | Wire::MapBytes | Wire::MapMessage);
                if vals.len() > 1 && !many_ok {
                    return Err(WireError(format!(
                        "proto: field {} is sent {} times; it holds one value",
                        f.json,
                        vals.len()
                    )));
                }
            }
        }
        let mut out = Map::new();
        for (f, vals) in msg.fields.iter().zip(&per_field) {
            self.put_field(&mut out, f, vals)?;
        }
        Ok(out)
    }

    fn put_field(
        &mut self,
        out: &mut Map<String, Value>,
        f: &Field,
        vals: &[WireValue<'_>],
    ) -> Result<(), WireError> {
        if f.inline {
            let bytes = merged_bytes(f, vals)?;
            let sub = self.object(sub_msg(f)?, &bytes)?;
            out.extend(sub);
            return Ok(());
        }
        if matches!(f.wire, Wire::MapString | Wire::MapBytes | Wire::MapMessage) {
            if vals.is_empty() {
                put_nil(out, f);
            } else {
                let map = self.map(f, vals)?;
                out.insert(f.json.clone(), map);
            }
            return Ok(());
        }
        if f.repeated {
            let items = self.repeated(f, vals)?;
            if items.is_empty() {
                put_nil(out, f);
            } else {
                out.insert(f.json.clone(), Value::Array(items));
            }
            return Ok(());
        }
        if f.wire == Wire::Message && vals.len() > 1 {
            // A message sent more than once is merged (protobuf's rule, which gogo-protobuf's
            // generated code follows): parsing the concatenated bytes is exactly that merge.
            let bytes = merged_bytes(f, vals)?;
            let value = self.message(sub_msg(f)?, &bytes)?;
            out.insert(f.json.clone(), value);
            return Ok(());
        }
        match vals.last() {
            Some(v) => {
                let value = self.single(f, *v)?;
                if !omit_present(f, &value) {
                    out.insert(f.json.clone(), value);
                }
            }
            None => self.put_absent(out, f)?,
        }
        Ok(())
    }

    /// A field not on the wire: the Go zero value of its type.
    fn put_absent(&mut self, out: &mut Map<String, Value>, f: &Field) -> Result<(), WireError> {
        if f.nillable {
            put_nil(out, f);
        } else if f.wire == Wire::Message {
            // encoding/json never omits a struct value, even with omitempty.
            let v = self.message(sub_msg(f)?, &[])?;
            out.insert(f.json.clone(), v);
        } else if !f.omitempty {
            out.insert(f.json.clone(), zero(f.wire));
        }
        Ok(())
    }

    fn single(&mut self, f: &Field, v: WireValue<'_>) -> Result<Value, WireError> {
        match (f.wire, v) {
            (Wire::String, WireValue::Bytes(b)) => Ok(Value::String(lossy(b))),
            (Wire::Bytes, WireValue::Bytes(b)) => Ok(Value::String(base64(b))),
            (Wire::Message, WireValue::Bytes(b)) => self.message(sub_msg(f)?, b),
            (Wire::Bool, WireValue::Varint(x)) => Ok(Value::Bool(x != 0)),
            (Wire::Int32, WireValue::Varint(x)) => Ok(Value::from(x as u32 as i32)),
            (Wire::Int64, WireValue::Varint(x)) => Ok(Value::from(x as i64)),
            (Wire::Double, WireValue::Fixed64(x)) => Number::from_f64(f64::from_bits(x))
                .map(Value::Number)
                .ok_or_else(|| WireError(format!("json: unsupported value for {}", f.json))),
            _ => Err(wrong_wire_type(f, v)),
        }
    }

    /// The elements of a repeated field (scalars may be packed).
    fn repeated(&mut self, f: &Field, vals: &[WireValue<'_>]) -> Result<Vec<Value>, WireError> {
        let mut items = Vec::with_capacity(vals.len());
        for v in vals {
            match (f.wire, v) {
                (Wire::Bool | Wire::Int32 | Wire::Int64, WireValue::Bytes(b)) => {
                    for x in wire::unpack_varints(b)? {
                        items.push(self.single(f, WireValue::Varint(x))?);
                    }
                }
                (Wire::Double, WireValue::Bytes(b)) if b.len() % 8 == 0 => {
                    for c in b.chunks_exact(8) {
                        let x = u64::from_le_bytes(c.try_into().expect("8-byte chunk"));
                        items.push(self.single(f, WireValue::Fixed64(x))?);
                    }
                }
                _ => items.push(self.single(f, *v)?),
            }
        }
        Ok(items)
    }

    /// A `map<string, …>` field: entries are messages {key = 1, value = 2}; keys sorted.
    fn map(&mut self, f: &Field, vals: &[WireValue<'_>]) -> Result<Value, WireError> {
        let mut entries = BTreeMap::new();
        for v in vals {
            let WireValue::Bytes(entry) = v else {
                return Err(wrong_wire_type(f, *v));
            };
            let (mut key, mut value) = (String::new(), None);
            for (tag, ev) in wire::parse(entry)? {
                match (tag, ev) {
                    (1, WireValue::Bytes(b)) => key = lossy(b),
                    (2, WireValue::Bytes(b)) => value = Some(b),
                    (1 | 2, other) => return Err(wrong_wire_type(f, other)),
                    _ => {}
                }
            }
            let value = value.unwrap_or_default();
            let rendered = match f.wire {
                Wire::MapString => Value::String(lossy(value)),
                Wire::MapBytes => Value::String(base64(value)),
                _ => self.message(sub_msg(f)?, value)?,
            };
            if entries.insert(key.clone(), rendered).is_some() && self.strict {
                return Err(WireError(format!(
                    "proto: map field {} has the key {key:?} twice",
                    f.json
                )));
            }
        }
        Ok(Value::Object(entries.into_iter().collect()))
    }

    fn special(&mut self, special: Special, bytes: &[u8]) -> Result<Value, WireError> {
        let records = wire::parse(bytes)?;
        let varint = |tag: u32| {
            records.iter().rev().find_map(|(t, v)| match v {
                WireValue::Varint(x) if *t == tag => Some(*x),
                _ => None,
            })
        };
        let bytes_of = |tag: u32| {
            records.iter().rev().find_map(|(t, v)| match v {
                WireValue::Bytes(b) if *t == tag => Some(*b),
                _ => None,
            })
        };
        match special {
            Special::Time | Special::MicroTime if bytes.is_empty() => Ok(Value::Null),
            Special::Time => time(varint(1).unwrap_or(0) as i64, 0, false),
            Special::MicroTime => {
                let nanos = varint(2).unwrap_or(0) as u32 as i32;
                time(varint(1).unwrap_or(0) as i64, nanos, true)
            }
            Special::Duration => Ok(Value::String(go_duration(varint(1).unwrap_or(0) as i64))),
            Special::Quantity => Ok(Value::String(match bytes_of(1) {
                Some(b) if !b.is_empty() => lossy(b),
                _ => "0".to_owned(),
            })),
            Special::IntOrString => Ok(match varint(1) {
                Some(1) => Value::String(bytes_of(3).map(lossy).unwrap_or_default()),
                _ => Value::from(varint(2).unwrap_or(0) as u32 as i32),
            }),
            Special::Raw => self.raw(bytes_of(1)),
            Special::Array => Ok(match records.is_empty() {
                true => Value::Null,
                false => Value::Array(
                    records
                        .iter()
                        .filter_map(|(t, v)| match v {
                            WireValue::Bytes(b) if *t == 1 => Some(Value::String(lossy(b))),
                            _ => None,
                        })
                        .collect(),
                ),
            }),
            Special::None => Err(WireError("internal: not a special message".to_owned())),
        }
    }

    /// `RawExtension`/`FieldsV1` bytes: embedded JSON, or a nested protobuf object.
    fn raw(&mut self, raw: Option<&[u8]>) -> Result<Value, WireError> {
        match raw {
            None | Some([]) => Ok(Value::Null),
            Some(b) if b.starts_with(MAGIC) => {
                self.envelope(b).map_err(|e| WireError(e.to_string()))
            }
            Some(b) => serde_json::from_slice(b).map_err(|e| WireError(e.to_string())),
        }
    }
}

/// Go's `omitempty` on a value that is on the wire: only non-pointer zero scalars (and empty
/// byte slices) are dropped; a set pointer is rendered even when it points at a zero value.
fn omit_present(f: &Field, v: &Value) -> bool {
    if !f.omitempty || f.wire == Wire::Message || (f.nillable && f.wire != Wire::Bytes) {
        return false;
    }
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn put_nil(out: &mut Map<String, Value>, f: &Field) {
    if !f.omitempty {
        out.insert(f.json.clone(), Value::Null);
    }
}

fn zero(w: Wire) -> Value {
    match w {
        Wire::String | Wire::Bytes => Value::String(String::new()),
        Wire::Bool => Value::Bool(false),
        Wire::Int32 | Wire::Int64 | Wire::Double => Value::from(0),
        Wire::Message | Wire::MapString | Wire::MapBytes | Wire::MapMessage => Value::Null,
    }
}

fn sub_msg(f: &Field) -> Result<MsgId, WireError> {
    f.msg
        .ok_or_else(|| WireError(format!("internal: field {} has no message type", f.json)))
}

/// The occurrences of a message field, concatenated: parsed once, they are the protobuf merge
/// of the occurrences (later scalars win, repeated fields append, sub-messages merge).
fn merged_bytes(f: &Field, vals: &[WireValue<'_>]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::new();
    for v in vals {
        match v {
            WireValue::Bytes(b) => out.extend_from_slice(b),
            other => return Err(wrong_wire_type(f, *other)),
        }
    }
    Ok(out)
}

fn wrong_wire_type(f: &Field, v: WireValue<'_>) -> WireError {
    let w = match v {
        WireValue::Varint(_) => 0,
        WireValue::Fixed64(_) => 1,
        WireValue::Bytes(_) => 2,
        WireValue::Fixed32(_) => 5,
    };
    WireError(format!("proto: wrong wireType = {w} for field {}", f.json))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn base64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `metav1.Time` (seconds, `Z`) or `metav1.MicroTime` (6 fraction digits) as Go renders it.
fn time(seconds: i64, nanos: i32, micro: bool) -> Result<Value, WireError> {
    let micros = u32::try_from(nanos / 1000).unwrap_or(0) * 1000;
    let t = chrono::DateTime::from_timestamp(seconds, if micro { micros } else { 0 }).ok_or_else(
        || {
            WireError(format!(
                "Time.MarshalJSON: year outside of range ({seconds})"
            ))
        },
    )?;
    let format = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Value::String(t.format(format).to_string()))
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn go_duration(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".to_owned(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (int, frac) = split_frac(u, prec);
        format!("{int}{frac}{unit}")
    } else {
        let (secs, frac) = split_frac(u, 9);
        u = secs;
        let mut s = format!("{}{frac}s", u % 60);
        u /= 60;
        if u > 0 {
            s = format!("{}m{s}", u % 60);
            u /= 60;
            if u > 0 {
                s = format!("{u}h{s}");
            }
        }
        s
    };
    if neg {
        format!("-{body}")
    } else {
        body
    }
}

/// Splits `v` into `v / 10^prec` and the fraction as `.ddd` without trailing zeros.
fn split_frac(v: u64, prec: u32) -> (u64, String) {
    let scale = 10u64.pow(prec);
    let frac = v % scale;
    if frac == 0 {
        return (v / scale, String::new());
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (v / scale, format!(".{}", digits.trim_end_matches('0')))
}
