//! Tests of [`super::decode`] and [`super::order_keys`] against the reference captures.

use serde_json::{json, Value};

use super::decode::go_duration;
use super::{decode, order_keys, order_keys_as, DecodeError};

/// Protobuf bodies as shown in the captures, each followed by the JSON rendering shown there.
const CAPTURES: &str = include_str!("testdata/captures.txt");
/// kube-apiserver JSON responses (compact, key order as sent), one per kind.
const ORDERED: &str = include_str!("testdata/ordered.jsonl");

/// The capture escaping: `\xNN` is a byte, `\n` at a line end is a newline byte, and any other
/// text is its UTF-8.
fn unescape(lines: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        let (text, newline) = match line.strip_suffix("\\n") {
            Some(t) => (t, true),
            None => (*line, false),
        };
        let mut rest = text;
        while !rest.is_empty() {
            let hex = rest.strip_prefix("\\x").and_then(|h| h.get(..2));
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    rest = &rest[4..];
                }
                None => {
                    let c = rest.chars().next().expect("non-empty");
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        if newline {
            out.push(b'\n');
        }
    }
    out
}

/// Puts back a string of the right length where the capture shows `<redacted>` (the varint
/// before it still gives the original length), so that the enclosing lengths add up again.
fn unredact(mut b: Vec<u8>) -> Vec<u8> {
    const MARK: &[u8] = b"<redacted>";
    while let Some(i) = b.windows(MARK.len()).position(|w| w == MARK) {
        let len = match (b[i - 2], b[i - 1]) {
            (hi, lo) if hi >= 0x80 => usize::from(hi & 0x7f) | usize::from(lo) << 7,
            (_, lo) => usize::from(lo),
        };
        b.splice(i..i + MARK.len(), std::iter::repeat_n(b'x', len));
    }
    b
}

/// (source, body bytes, expected JSON) for every protobuf body in the captures.
fn captures() -> Vec<(String, Vec<u8>, Value)> {
    let mut out = Vec::new();
    let mut lines = CAPTURES.lines().filter(|l| !l.starts_with('#')).peekable();
    while let Some(header) = lines.next() {
        let Some(source) = header.strip_prefix("=== ") else {
            continue;
        };
        let mut body = Vec::new();
        while let Some(l) = lines.next_if(|l| *l != "=== json") {
            body.push(l);
        }
        lines.next();
        let expected = serde_json::from_str(lines.next().expect("json line")).expect("json");
        out.push((source.to_owned(), unredact(unescape(&body)), expected));
    }
    out
}

/// Asserts equal JSON with the same key order; an expected `"<redacted>"` matches any string.
fn assert_same(expected: &Value, got: &Value, path: &str) {
    match (expected, got) {
        (Value::String(e), Value::String(_)) if e == "<redacted>" => {}
        (Value::Object(e), Value::Object(g)) => {
            let ek: Vec<&String> = e.keys().collect();
            let gk: Vec<&String> = g.keys().collect();
            assert_eq!(ek, gk, "keys of {path}");
            for (k, v) in e {
                assert_same(v, &g[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(g)) => {
            assert_eq!(e.len(), g.len(), "length of {path}");
            for (i, (ev, gv)) in e.iter().zip(g).enumerate() {
                assert_same(ev, gv, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(expected, got, "value of {path}"),
    }
}

#[test]
fn captured_protobuf_bodies_decode_like_kube_apiserver() {
    let cases = captures();
    assert!(cases.len() >= 30, "only {} capture bodies", cases.len());
    for (source, body, expected) in &cases {
        let got = decode(body).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert_same(expected, &got, source);
    }
}

#[test]
fn create_job_request_body_decodes_to_exact_json() {
    let (_, body, _) = captures()
        .into_iter()
        .find(|(s, _, _)| s.starts_with("kubectl-conversations/06-create-job.txt:33"))
        .expect("create job body");
    let got = serde_json::to_string(&decode(&body).expect("decodes")).expect("json");
    assert_eq!(
        got,
        r#"{"kind":"Job","apiVersion":"batch/v1","metadata":{"name":"x2","creationTimestamp":null},"spec":{"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":[{"name":"x2","image":"busybox","command":["true"],"resources":{}}],"restartPolicy":"Never"}}},"status":{}}"#
    );
}

/// Builds a body: magic + Unknown{typeMeta{apiVersion, kind}, raw}.
fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    let mut type_meta = field_bytes(1, api_version.as_bytes());
    type_meta.extend(field_bytes(2, kind.as_bytes()));
    let mut body = b"k8s\x00".to_vec();
    body.extend(field_bytes(1, &type_meta));
    body.extend(field_bytes(2, raw));
    body
}

fn field_bytes(tag: u8, data: &[u8]) -> Vec<u8> {
    let len = u8::try_from(data.len()).expect("short test field");
    let mut out = vec![tag << 3 | 2, len];
    out.extend_from_slice(data);
    out
}

#[test]
fn errors_unknown_kind_is_415_and_malformed_is_400() {
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("no magic", b"{\"kind\":\"Job\"}".to_vec(), 400),
        ("unknown kind", envelope("batch/v1", "Nope", b""), 415),
        ("unknown group", envelope("nope/v1", "Job", b""), 415),
        (
            "truncated object",
            envelope("batch/v1", "Job", b"\x0a\x05ab"),
            400,
        ),
        (
            "wrong wire type",
            envelope("v1", "ConfigMap", b"\x0a\x02\x08\x01"),
            400,
        ),
        (
            "illegal wire type",
            envelope("v1", "ConfigMap", b"\x0f"),
            400,
        ),
        ("truncated envelope", b"k8s\x00\x0a\x20".to_vec(), 400),
    ];
    for (name, body, code) in cases {
        let err = decode(&body).expect_err(name);
        let got = match err {
            DecodeError::UnknownKind(..) => 415,
            DecodeError::Malformed(_) => 400,
        };
        assert_eq!(got, code, "{name}: {err}");
    }
    let err = decode(&envelope("batch/v1", "Job", b"\x0a\x05ab")).expect_err("bad");
    assert_eq!(
        err.to_string(),
        "Job in version \"v1\" cannot be handled as a Job: unexpected EOF"
    );
}

#[test]
fn unknown_field_numbers_are_skipped() {
    // ConfigMap{metadata{name: "a", tag 99: varint}, tag 50: string}
    let raw = b"\x0a\x06\x0a\x01a\x98\x06\x01\x92\x03\x01z";
    let got = decode(&envelope("v1", "ConfigMap", raw)).expect("decodes");
    assert_eq!(
        got,
        json!({"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a","creationTimestamp":null}})
    );
}

#[test]
fn special_types_render_like_go() {
    // Secret{data{"k": "\x00\xff"}, immutable=false(pointer → kept), type=""(omitempty → dropped)}
    let secret = b"\x12\x07\x0a\x01k\x12\x02\x00\xff\x28\x00\x1a\x00";
    let got = decode(&envelope("v1", "Secret", secret)).expect("secret");
    assert_eq!(got["data"], json!({"k": "AP8="}));
    assert_eq!(got["immutable"], json!(false));
    assert!(got.get("type").is_none());
    // Event{eventTime: MicroTime{seconds 1, nanos 1234567}, firstTimestamp: Time{seconds 2}}
    let event = b"\x52\x06\x08\x01\x10\x87\xad\x4b\x32\x02\x08\x02";
    let got = decode(&envelope("v1", "Event", event)).expect("event");
    assert_eq!(got["eventTime"], json!("1970-01-01T00:00:01.001234Z"));
    assert_eq!(got["firstTimestamp"], json!("1970-01-01T00:00:02Z"));
    assert_eq!(got["lastTimestamp"], Value::Null);
}

#[test]
fn int_or_string_and_quantity() {
    // Container{name "c", ports..., resources{limits{"cpu": "500m"}}, livenessProbe{httpGet{port}}}
    let probe_int = b"\x0a\x06\x12\x04\x12\x02\x10\x50"; // ProbeHandler.httpGet.port = 80
    let probe_str = b"\x0a\x0a\x12\x08\x12\x06\x08\x01\x1a\x02ab"; // port = "ab"
    let limits = b"\x0a\x0b\x0a\x03cpu\x12\x04\x0a\x02\x31\x6d"; // limits{"cpu": "1m"}
    let mut container = b"\x0a\x01c".to_vec();
    container.extend(field_bytes(8, limits));
    container.extend(field_bytes(10, probe_int));
    container.extend(field_bytes(11, probe_str));
    let spec = field_bytes(2, &container);
    let pod = field_bytes(2, &spec);
    let got = decode(&envelope("v1", "Pod", &pod)).expect("pod");
    let c = &got["spec"]["containers"][0];
    assert_eq!(c["resources"], json!({"limits": {"cpu": "1m"}}));
    assert_eq!(c["livenessProbe"], json!({"httpGet": {"port": 80}}));
    assert_eq!(c["readinessProbe"], json!({"httpGet": {"port": "ab"}}));
}

#[test]
fn go_duration_strings() {
    let cases = [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (2_000_000, "2ms"),
        (1_000_000_000, "1s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_723_500_000_000, "1h2m3.5s"),
        (-61_000_000_000, "-1m1s"),
    ];
    for (d, want) in cases {
        assert_eq!(go_duration(d), want, "{d}");
    }
}

/// Recursively reverses the key order of every object (but not inside `fieldsV1`, whose raw
/// bytes the server keeps as they are).
fn scramble(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.reverse();
            for (k, x) in &mut entries {
                if k != "fieldsV1" {
                    scramble(x);
                }
            }
            m.extend(entries);
        }
        Value::Array(items) => items.iter_mut().for_each(scramble),
        _ => {}
    }
}

#[test]
fn order_keys_restores_captured_responses() {
    let mut lines = ORDERED.lines();
    let mut n = 0;
    while let Some(line) = lines.next() {
        let Some(source) = line.strip_prefix("# ").filter(|s| s.contains(".txt:")) else {
            continue;
        };
        let captured = lines.next().expect("json line");
        let mut v: Value = serde_json::from_str(captured).expect("json");
        scramble(&mut v);
        assert_ne!(
            serde_json::to_string(&v).expect("json"),
            captured,
            "{source}"
        );
        order_keys(&mut v);
        assert_eq!(
            serde_json::to_string(&v).expect("json"),
            captured,
            "{source}"
        );
        n += 1;
    }
    assert!(n >= 10, "only {n} responses");
}

#[test]
fn order_keys_keeps_unknown_keys_last_and_sorts_maps() {
    let mut v = json!({
        "zeta": 1, "data": {"b": "2", "a": "1"}, "alpha": 2,
        "metadata": {"labels": {"z": "", "a": ""}, "name": "x"}, "apiVersion": "v1", "kind": "ConfigMap"
    });
    order_keys(&mut v);
    assert_eq!(
        serde_json::to_string(&v).expect("json"),
        r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","labels":{"a":"","z":""}},"data":{"a":"1","b":"2"},"zeta":1,"alpha":2}"#
    );
}

#[test]
fn order_keys_handles_generic_list_status_and_unknown_kinds() {
    let mut list = json!({"items": [{"spec": {}, "metadata": {}, "apiVersion": "batch/v1", "kind": "Job"}],
                          "metadata": {"resourceVersion": "1"}, "apiVersion": "v1", "kind": "List"});
    order_keys(&mut list);
    assert_eq!(
        serde_json::to_string(&list).expect("json"),
        r#"{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[{"kind":"Job","apiVersion":"batch/v1","metadata":{},"spec":{}}]}"#
    );
    let mut status = json!({"code": 404, "details": {"kind": "jobs", "name": "x"}, "reason": "NotFound",
                            "message": "m", "status": "Failure", "metadata": {}, "apiVersion": "v1", "kind": "Status"});
    order_keys(&mut status);
    assert_eq!(
        serde_json::to_string(&status).expect("json"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"m","reason":"NotFound","details":{"name":"x","kind":"jobs"},"code":404}"#
    );
    let mut unknown = json!({"b": 1, "kind": "Nope", "a": 2});
    let before = unknown.to_string();
    order_keys(&mut unknown);
    assert_eq!(unknown.to_string(), before);
}

#[test]
fn order_keys_as_orders_a_sub_object_and_inline_fields() {
    let mut v = json!({"secret": {"secretName": "s"}, "name": "v"});
    order_keys_as(&mut v, "io.k8s.api.core.v1.Volume");
    assert_eq!(v.to_string(), r#"{"name":"v","secret":{"secretName":"s"}}"#);
    let mut env = json!({"optional": true, "name": "cm"});
    order_keys_as(&mut env, "io.k8s.api.core.v1.ConfigMapEnvSource");
    assert_eq!(env.to_string(), r#"{"name":"cm","optional":true}"#);
}
