//! Encodes the swagger 2.0 JSON document as the gnostic `openapi.v2.Document` protobuf
//! (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`), which kubectl 1.27/1.28
//! fetch for `explain` and (1.27) client-side validation. Field numbers follow gnostic's
//! `openapiv2/OpenAPIv2.proto`; vendor extensions and free-form values travel as `Any.yaml`
//! (JSON text, which YAML parsers accept), as kube-openapi reads them.

use serde_json::{Map, Value};

/// A protobuf message being written.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: Option<&str>) {
        if let Some(s) = s.filter(|s| !s.is_empty()) {
            self.bytes(field, s.as_bytes());
        }
    }

    fn msg(&mut self, field: u32, m: Pb) {
        self.bytes(field, &m.0);
    }

    fn boolean(&mut self, field: u32, b: Option<bool>) {
        if b == Some(true) {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, v: Option<i64>) {
        if let Some(v) = v.filter(|v| *v != 0) {
            self.key(field, 0);
            self.varint(v as u64);
        }
    }

    fn double(&mut self, field: u32, v: Option<f64>) {
        if let Some(v) = v {
            self.key(field, 1);
            self.0.extend_from_slice(&v.to_le_bytes());
        }
    }

    fn strings(&mut self, field: u32, v: Option<&Value>) {
        for s in v.and_then(Value::as_array).into_iter().flatten() {
            if let Some(s) = s.as_str() {
                self.bytes(field, s.as_bytes());
            }
        }
    }
}

/// `Any { yaml = 2 }` holding `v` as JSON text.
fn any(v: &Value) -> Pb {
    let mut p = Pb::default();
    p.string(2, Some(&v.to_string()));
    p
}

/// `NamedAny` entries for the `x-…` keys of an object.
fn vendor_extensions(p: &mut Pb, field: u32, obj: &Map<String, Value>) {
    for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
        let mut named = Pb::default();
        named.string(1, Some(k));
        named.msg(2, any(v));
        p.msg(field, named);
    }
}

/// The whole document.
pub fn encode_document(doc: &Value) -> Vec<u8> {
    let mut p = Pb::default();
    p.string(1, doc["swagger"].as_str());
    let mut info = Pb::default();
    info.string(1, doc["info"]["title"].as_str());
    info.string(2, doc["info"]["version"].as_str());
    p.msg(2, info);
    let mut paths = Pb::default();
    for (name, item) in doc["paths"].as_object().into_iter().flatten() {
        let mut named = Pb::default();
        named.string(1, Some(name));
        named.msg(2, path_item(item));
        paths.msg(2, named);
    }
    p.msg(8, paths);
    let mut defs = Pb::default();
    for (name, schema) in doc["definitions"].as_object().into_iter().flatten() {
        defs.msg(1, named_schema(name, schema));
    }
    p.msg(9, defs);
    let mut req = Pb::default();
    let mut named = Pb::default();
    named.string(1, Some("BearerToken"));
    named.msg(2, Pb::default());
    req.msg(1, named);
    p.msg(12, req);
    let mut sec = Pb::default();
    let mut api_key = Pb::default();
    api_key.string(1, Some("apiKey"));
    api_key.string(2, Some("authorization"));
    api_key.string(3, Some("header"));
    api_key.string(4, Some("Bearer Token authentication"));
    let mut item = Pb::default();
    item.msg(2, api_key);
    let mut named = Pb::default();
    named.string(1, Some("BearerToken"));
    named.msg(2, item);
    sec.msg(1, named);
    p.msg(13, sec);
    p.0
}

fn path_item(item: &Value) -> Pb {
    let mut p = Pb::default();
    for (method, field) in [
        ("get", 2),
        ("put", 3),
        ("post", 4),
        ("delete", 5),
        ("patch", 8),
    ] {
        if let Some(op) = item.get(method) {
            p.msg(field, operation(op));
        }
    }
    for param in item["parameters"].as_array().into_iter().flatten() {
        p.msg(9, parameters_item(param));
    }
    p
}

fn operation(op: &Value) -> Pb {
    let mut p = Pb::default();
    p.strings(1, op.get("tags"));
    p.string(3, op["description"].as_str());
    p.string(5, op["operationId"].as_str());
    p.strings(6, op.get("produces"));
    p.strings(7, op.get("consumes"));
    for param in op["parameters"].as_array().into_iter().flatten() {
        p.msg(8, parameters_item(param));
    }
    let mut responses = Pb::default();
    for (code, r) in op["responses"].as_object().into_iter().flatten() {
        let mut resp = Pb::default();
        resp.string(1, r["description"].as_str());
        if let Some(s) = r.get("schema") {
            let mut item = Pb::default();
            item.msg(1, schema(s));
            resp.msg(2, item);
        }
        let mut value = Pb::default();
        value.msg(1, resp);
        let mut named = Pb::default();
        named.string(1, Some(code));
        named.msg(2, value);
        responses.msg(1, named);
    }
    p.msg(9, responses);
    p.strings(10, op.get("schemes"));
    if let Some(obj) = op.as_object() {
        vendor_extensions(&mut p, 13, obj);
    }
    p
}

fn parameters_item(param: &Value) -> Pb {
    let mut parameter = Pb::default();
    if param["in"] == "body" {
        let mut body = Pb::default();
        body.string(1, param["description"].as_str());
        body.string(2, param["name"].as_str());
        body.string(3, Some("body"));
        body.boolean(4, param["required"].as_bool());
        if let Some(s) = param.get("schema") {
            body.msg(5, schema(s));
        }
        parameter.msg(1, body);
    } else {
        // Query and path sub-schemas share the first fields; `type`/`uniqueItems` differ.
        let path = param["in"] == "path";
        let mut sub = Pb::default();
        sub.boolean(1, param["required"].as_bool());
        sub.string(2, param["in"].as_str());
        sub.string(3, param["description"].as_str());
        sub.string(4, param["name"].as_str());
        sub.string(if path { 5 } else { 6 }, param["type"].as_str());
        sub.boolean(if path { 19 } else { 20 }, param["uniqueItems"].as_bool());
        let mut non_body = Pb::default();
        non_body.msg(if path { 4 } else { 3 }, sub);
        parameter.msg(2, non_body);
    }
    let mut item = Pb::default();
    item.msg(1, parameter);
    item
}

fn named_schema(name: &str, s: &Value) -> Pb {
    let mut named = Pb::default();
    named.string(1, Some(name));
    named.msg(2, schema(s));
    named
}

fn schema(s: &Value) -> Pb {
    let mut p = Pb::default();
    let Some(obj) = s.as_object() else {
        return p;
    };
    p.string(1, obj.get("$ref").and_then(Value::as_str));
    p.string(2, obj.get("format").and_then(Value::as_str));
    p.string(3, obj.get("title").and_then(Value::as_str));
    p.string(4, obj.get("description").and_then(Value::as_str));
    if let Some(d) = obj.get("default") {
        p.msg(5, any(d));
    }
    p.double(7, obj.get("maximum").and_then(Value::as_f64));
    p.double(9, obj.get("minimum").and_then(Value::as_f64));
    p.int64(11, obj.get("maxLength").and_then(Value::as_i64));
    p.int64(12, obj.get("minLength").and_then(Value::as_i64));
    p.string(13, obj.get("pattern").and_then(Value::as_str));
    p.int64(14, obj.get("maxItems").and_then(Value::as_i64));
    p.int64(15, obj.get("minItems").and_then(Value::as_i64));
    p.boolean(16, obj.get("uniqueItems").and_then(Value::as_bool));
    p.strings(19, obj.get("required"));
    for e in obj
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.msg(20, any(e));
    }
    match obj.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Pb::default();
            item.key(2, 0);
            item.varint(u64::from(*b));
            p.msg(21, item);
        }
        Some(v @ Value::Object(_)) => {
            let mut item = Pb::default();
            item.msg(1, schema(v));
            p.msg(21, item);
        }
        _ => {}
    }
    match obj.get("type") {
        Some(Value::String(t)) => {
            let mut ty = Pb::default();
            ty.string(1, Some(t));
            p.msg(22, ty);
        }
        Some(v @ Value::Array(_)) => {
            let mut ty = Pb::default();
            ty.strings(1, Some(v));
            p.msg(22, ty);
        }
        _ => {}
    }
    match obj.get("items") {
        Some(Value::Array(list)) => {
            let mut items = Pb::default();
            list.iter().for_each(|i| items.msg(1, schema(i)));
            p.msg(23, items);
        }
        Some(i @ Value::Object(_)) => {
            let mut items = Pb::default();
            items.msg(1, schema(i));
            p.msg(23, items);
        }
        _ => {}
    }
    for a in obj
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        p.msg(24, schema(a));
    }
    if let Some(props) = obj.get("properties").and_then(Value::as_object) {
        let mut pp = Pb::default();
        for (name, ps) in props {
            pp.msg(1, named_schema(name, ps));
        }
        p.msg(25, pp);
    }
    p.boolean(27, obj.get("readOnly").and_then(Value::as_bool));
    if let Some(e) = obj.get("example") {
        p.msg(30, any(e));
    }
    vendor_extensions(&mut p, 31, obj);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format_basics() {
        let mut p = Pb::default();
        p.varint(300);
        assert_eq!(p.0, [0xac, 0x02]);
        let doc = json!({"swagger": "2.0", "info": {"title": "K", "version": "v1"}, "paths": {}, "definitions": {}});
        let bytes = encode_document(&doc);
        // field 1 (swagger) "2.0", then field 2 (info) {1: "K", 2: "v1"}.
        assert_eq!(&bytes[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert_eq!(&bytes[5..13], &[0x12, 7, 0x0a, 1, b'K', 0x12, 2, b'v']);
    }

    #[test]
    fn schema_ref_type_and_extensions() {
        let s = json!({"$ref": "#/definitions/X", "type": "object", "x-a": "b"});
        let got = schema(&s).0;
        let mut want = Pb::default();
        want.string(1, Some("#/definitions/X"));
        let mut ty = Pb::default();
        ty.string(1, Some("object"));
        want.msg(22, ty);
        let mut named = Pb::default();
        named.string(1, Some("x-a"));
        named.msg(2, any(&json!("b")));
        want.msg(31, named);
        assert_eq!(got, want.0);
    }
}
