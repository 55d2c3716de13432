//! Request bodies → JSON (pure): what kube-apiserver accepts — JSON (and every `+json` patch
//! type), YAML (and `apply-patch+yaml`), Kubernetes protobuf — decoded into a
//! `serde_json::Value` so policies judge one representation and the proxy forwards JSON.
//! CBOR and protobuf kinds the schema does not know are refused with 415, asking for JSON.

use serde_json::Value;

use crate::error::ProxyError;

/// How a body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/json` and `application/*+json` (merge, strategic-merge and JSON patches).
    Json,
    /// `application/yaml` and `application/apply-patch+yaml`.
    Yaml,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
    /// `application/cbor`, `application/apply-patch+cbor`: not decoded.
    Cbor,
    /// Anything else.
    Unknown,
}

/// The media type of a `Content-Type` value: lower case, parameters (`; charset=utf-8`) removed.
/// A missing header is `application/json`, as kube-apiserver assumes.
pub fn media_type(content_type: Option<&str>) -> String {
    let ct = content_type.unwrap_or("").split(';').next().unwrap_or("");
    let ct = ct.trim().to_ascii_lowercase();
    if ct.is_empty() {
        "application/json".to_owned()
    } else {
        ct
    }
}

/// The encoding of a media type (from [`media_type`]).
pub fn format_of(media_type: &str) -> Format {
    match media_type {
        "application/json" | "application/apply-patch+json" => Format::Json,
        "application/yaml" | "application/apply-patch+yaml" => Format::Yaml,
        "application/vnd.kubernetes.protobuf" => Format::Protobuf,
        "application/cbor" | "application/apply-patch+cbor" => Format::Cbor,
        m if m.starts_with("application/") && m.ends_with("+json") => Format::Json,
        _ => Format::Unknown,
    }
}

/// What to tell a client whose body cannot be judged.
const SEND_JSON: &str = "kbatch-proxy checks request bodies against its policies and cannot \
decode this one: send it as JSON (Content-Type: application/json; client-go: \
rest.Config.ContentType = \"application/json\"; kubectl: create the object from a JSON or YAML \
manifest with `kubectl create -f` or `kubectl apply -f`)";

/// Decode `body` sent with `content_type` into JSON.
///
/// Errors: CBOR, an unknown media type or a protobuf kind the schema does not know →
/// [`ProxyError::UnsupportedMediaType`] (415) naming the problem and asking for JSON; malformed
/// JSON, YAML or protobuf → [`ProxyError::BadRequest`] (400).
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<Value, ProxyError> {
    let media = media_type(content_type);
    match format_of(&media) {
        Format::Json => serde_json::from_slice(body).map_err(|e| {
            ProxyError::BadRequest(format!("the request body is not valid JSON: {e}"))
        }),
        Format::Yaml => yaml(body),
        Format::Protobuf => k8s_protojson::decode(body).map_err(|e| match e {
            k8s_protojson::DecodeError::UnknownKind(api_version, kind) => {
                ProxyError::UnsupportedMediaType(format!(
                    "the protobuf body holds {kind} in version {api_version}, which {SEND_JSON}"
                ))
            }
            k8s_protojson::DecodeError::Malformed(m) => ProxyError::BadRequest(m),
        }),
        Format::Cbor => Err(ProxyError::UnsupportedMediaType(format!(
            "the request body is CBOR ({media}); {SEND_JSON}"
        ))),
        Format::Unknown => Err(ProxyError::UnsupportedMediaType(format!(
            "the request body has an unsupported media type ({media}); {SEND_JSON}"
        ))),
    }
}

/// One YAML document → JSON (an empty body is an error, as for JSON).
fn yaml(body: &[u8]) -> Result<Value, ProxyError> {
    let v: Value = serde_yaml::from_slice(body)
        .map_err(|e| ProxyError::BadRequest(format!("the request body is not valid YAML: {e}")))?;
    if v.is_null() {
        return Err(ProxyError::BadRequest("the request body is empty".into()));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `k8s\0` + Unknown{typeMeta{apiVersion, kind}, raw}.
    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut tm = vec![0x0a, api_version.len() as u8];
        tm.extend_from_slice(api_version.as_bytes());
        tm.push(0x12);
        tm.push(kind.len() as u8);
        tm.extend_from_slice(kind.as_bytes());
        let mut out = b"k8s\x00".to_vec();
        out.push(0x0a);
        out.push(tm.len() as u8);
        out.extend_from_slice(&tm);
        out.push(0x12);
        out.push(raw.len() as u8);
        out.extend_from_slice(raw);
        out
    }

    #[test]
    fn media_types() {
        let cases = [
            (None, "application/json", Format::Json),
            (Some(""), "application/json", Format::Json),
            (
                Some("application/json; charset=utf-8"),
                "application/json",
                Format::Json,
            ),
            (Some("Application/JSON"), "application/json", Format::Json),
            (
                Some("application/merge-patch+json"),
                "application/merge-patch+json",
                Format::Json,
            ),
            (
                Some("application/strategic-merge-patch+json"),
                "application/strategic-merge-patch+json",
                Format::Json,
            ),
            (
                Some("application/json-patch+json"),
                "application/json-patch+json",
                Format::Json,
            ),
            (
                Some("application/apply-patch+yaml"),
                "application/apply-patch+yaml",
                Format::Yaml,
            ),
            (Some("application/yaml"), "application/yaml", Format::Yaml),
            (
                Some("application/vnd.kubernetes.protobuf"),
                "application/vnd.kubernetes.protobuf",
                Format::Protobuf,
            ),
            (Some("application/cbor"), "application/cbor", Format::Cbor),
            (
                Some("application/apply-patch+cbor"),
                "application/apply-patch+cbor",
                Format::Cbor,
            ),
            (Some("text/plain"), "text/plain", Format::Unknown),
        ];
        for (ct, media, format) in cases {
            assert_eq!(media_type(ct), media, "{ct:?}");
            assert_eq!(format_of(&media_type(ct)), format, "{ct:?}");
        }
    }

    #[test]
    fn decodes_json_yaml_and_protobuf() {
        let want = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "a"}});
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "application/json",
                br#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}"#.to_vec(),
            ),
            (
                "application/merge-patch+json",
                br#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}"#.to_vec(),
            ),
            (
                "application/yaml",
                b"kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n".to_vec(),
            ),
            (
                "application/apply-patch+yaml",
                b"kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n".to_vec(),
            ),
            (
                "application/apply-patch+yaml",
                br#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"}}"#.to_vec(),
            ),
        ];
        for (ct, body) in cases {
            assert_eq!(decode(Some(ct), &body).expect(ct), want, "{ct}");
        }
        // ConfigMap{metadata{name: "a"}}
        let pb = envelope("v1", "ConfigMap", b"\x0a\x03\x0a\x01a");
        let got = decode(Some("application/vnd.kubernetes.protobuf"), &pb).expect("protobuf");
        assert_eq!(got["kind"], "ConfigMap");
        assert_eq!(got["metadata"]["name"], "a");
        let patch = decode(
            Some("application/json-patch+json"),
            br#"[{"op":"add","path":"/a","value":1}]"#,
        )
        .expect("json patch");
        assert!(patch.is_array());
    }

    #[test]
    fn refusals() {
        let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
            ("application/cbor", vec![0xa0], 415, "send it as JSON"),
            (
                "application/apply-patch+cbor",
                vec![0xa0],
                415,
                "send it as JSON",
            ),
            ("text/plain", b"x".to_vec(), 415, "unsupported media type"),
            (
                "application/vnd.kubernetes.protobuf",
                envelope("example.com/v1", "Widget", b""),
                415,
                "Widget in version example.com/v1",
            ),
            (
                "application/vnd.kubernetes.protobuf",
                b"{}".to_vec(),
                400,
                "expected prefix",
            ),
            ("application/json", b"{".to_vec(), 400, "not valid JSON"),
            ("application/yaml", b"a: [".to_vec(), 400, "not valid YAML"),
            ("application/yaml", b"".to_vec(), 400, "empty"),
        ];
        for (ct, body, code, says) in cases {
            let e = decode(Some(ct), &body).expect_err(ct);
            assert_eq!(e.status().as_u16(), code, "{ct}: {e}");
            assert!(e.to_string().contains(says), "{ct}: {e}");
        }
    }
}
