//! Request bodies → JSON (pure), read exactly as kube-apiserver reads them, and refused where
//! two readers could read them differently: JSON (and every `+json` patch type), YAML (and
//! `apply-patch+yaml`), Kubernetes protobuf — decoded into a `serde_json::Value` so policies
//! judge one representation and the proxy forwards its own JSON encoding of it.
//!
//! Refused with 400: duplicate keys and keys that differ only in case (Go's case-insensitive
//! readers take `kind` and `Kind`, or `K` and U+212A KELVIN SIGN, for one key) anywhere in a
//! JSON or YAML body except inside free-form string maps ([`kube_decode::json::ambiguities`]);
//! YAML anchors, aliases, merge keys, tags and multiple documents; protobuf fields the schema
//! does not know and non-repeated fields sent twice. [`check_type_meta`] then holds the body's
//! `apiVersion`/`kind`, read the way kube-apiserver finds them, to the endpoint's.
//! CBOR and protobuf kinds the schema does not know are refused with 415, asking for JSON.

use kube_decode::json::{ambiguities, type_meta, Node};
use serde_json::Value;

use crate::error::ProxyError;
use crate::policy::Target;

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
        Format::Json => {
            let node = kube_decode::json::parse(body).map_err(|e| {
                ProxyError::BadRequest(format!("the request body is not valid JSON: {e}"))
            })?;
            unambiguous(&node)?;
            Ok(node.to_value())
        }
        Format::Yaml => {
            let value = yaml(body)?;
            unambiguous(&Node::from(&value))?;
            Ok(value)
        }
        Format::Protobuf => k8s_protojson::decode_strict(body).map_err(|e| match e {
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

/// At most this many ambiguities are named in a refusal.
const NAMED: usize = 5;

/// Refuse a body with duplicate or case-folded keys (400).
pub fn unambiguous(node: &Node) -> Result<(), ProxyError> {
    let found = ambiguities(node);
    if found.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = found.iter().take(NAMED).map(ToString::to_string).collect();
    let more = match found.len().saturating_sub(NAMED) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Err(ProxyError::BadRequest(format!(
        "the request body can be read more than one way: {}{more}; kbatch-proxy judges bodies \
         exactly as the API server decodes them and refuses keys that are repeated or differ \
         only in case",
        named.join(", ")
    )))
}

/// The kind and group-version an endpoint decodes its body as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointKind {
    /// The kind (`Pod`, `Scale`, `Binding`).
    pub kind: &'static str,
    /// The `apiVersion` values the endpoint accepts in a body.
    pub api_versions: Vec<String>,
}

/// What the create/update endpoint of `info` decodes its body as, when the proxy knows:
/// the resource's own kind for the resource and its `status` and `ephemeralcontainers`
/// subresources, `Scale` (autoscaling/v1) for `scale`, `Binding` for `pods/binding`, `Eviction`
/// for `pods/eviction`; `None` for resources the proxy does not know (custom resources) and
/// other subresources.
pub fn endpoint_kind(info: &Target) -> Option<EndpointKind> {
    let own = || {
        let kind = crate::policy::kinds::kind_for_resource(info.group, info.resource)?;
        let gv = if info.group.is_empty() {
            info.version.to_owned()
        } else {
            format!("{}/{}", info.group, info.version)
        };
        Some(EndpointKind {
            kind,
            api_versions: vec![gv],
        })
    };
    match (info.group, info.resource, info.subresource) {
        (_, _, None | Some("status")) => own(),
        ("", "pods", Some("ephemeralcontainers")) => own(),
        (_, _, Some("scale")) => Some(EndpointKind {
            kind: "Scale",
            api_versions: vec!["autoscaling/v1".into()],
        }),
        ("", "pods", Some("binding")) => Some(EndpointKind {
            kind: "Binding",
            api_versions: vec!["v1".into()],
        }),
        ("", "pods", Some("eviction")) => Some(EndpointKind {
            kind: "Eviction",
            api_versions: vec!["policy/v1".into(), "policy/v1beta1".into(), "v1".into()],
        }),
        _ => None,
    }
}

/// Check a create/update body's type meta, read as kube-apiserver reads it (Go's
/// case-insensitive `encoding/json`, last key wins), against the endpoint (`info`):
///
/// - the body must be an object whose `apiVersion` and `kind` keys are spelled exactly so
///   (`Kind` or `\u{212a}ind` is taken for the kind by kube-apiserver's type lookup but not by
///   its case-sensitive decoding of the object: refused);
/// - a `List` (or any `…List`) is refused: create and update take one object;
/// - where the endpoint's kind is known ([`endpoint_kind`]), a `kind` other than it and an
///   `apiVersion` the endpoint does not accept are refused, with kube-apiserver's wording.
///
/// Absent `apiVersion`/`kind` are fine: kube-apiserver takes the endpoint's.
pub fn check_type_meta(object: &Value, info: &Target) -> Result<(), ProxyError> {
    if !object.is_object() {
        return Err(ProxyError::BadRequest(format!(
            "the object provided is unrecognized: the request body is a JSON {}, not an object",
            json_type(object)
        )));
    }
    // Only the top-level keys that fold to a type-meta key matter: convert just those.
    let type_keys = object
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            kube_decode::fold::equal_fold(k, "kind")
                || kube_decode::fold::equal_fold(k, "apiVersion")
        })
        .map(|(k, v)| (k.clone(), Node::from(v)))
        .collect();
    let tm = type_meta(&Node::Object(type_keys)).map_err(|e| {
        ProxyError::BadRequest(format!(
            "the object provided is unrecognized: couldn't get version/kind; json parse error: {e}"
        ))
    })?;
    if let Some(odd) = tm.odd_spellings.first() {
        let exact = if kube_decode::fold::equal_fold(odd, "kind") {
            "kind"
        } else {
            "apiVersion"
        };
        return Err(ProxyError::BadRequest(format!(
            "the request body spells {exact:?} as {odd:?}, which the API server reads as \
             {exact:?} only in some places; spell it {exact:?}"
        )));
    }
    let body_kind = tm.kind.as_deref().unwrap_or("");
    if body_kind == "List" || body_kind.ends_with("List") && body_kind.len() > 4 {
        return Err(ProxyError::BadRequest(format!(
            "a {body_kind} cannot be created or updated: send one object per request \
             (kubectl create -f splits lists itself)"
        )));
    }
    let Some(want) = endpoint_kind(info) else {
        return Ok(());
    };
    let version = |av: &str| av.rsplit('/').next().unwrap_or("").to_owned();
    if !body_kind.is_empty() && body_kind != want.kind {
        let v = tm
            .api_version
            .as_deref()
            .map(version)
            .unwrap_or_else(|| info.version.to_owned());
        return Err(ProxyError::BadRequest(format!(
            "{body_kind} in version \"{v}\" cannot be handled as a {}: the {} endpoint takes a \
             {}",
            want.kind,
            endpoint_name(info),
            want.kind
        )));
    }
    if let Some(av) = tm.api_version.as_deref() {
        if !want.api_versions.iter().any(|a| a == av) {
            return Err(ProxyError::BadRequest(format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: no kind \"{kind}\" is \
                 registered for version \"{av}\" at the {} endpoint (it takes {})",
                endpoint_name(info),
                want.api_versions.join(", "),
                kind = want.kind,
                v = info.version,
            )));
        }
    }
    Ok(())
}

fn endpoint_name(info: &Target) -> String {
    let mut s = info.resource.to_owned();
    if !info.group.is_empty() {
        s = format!("{s}.{}", info.group);
    }
    if let Some(sub) = info.subresource {
        s = format!("{s}/{sub}");
    }
    s
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// One YAML document → JSON, resolved as kube-apiserver resolves it (YAML 1.1 scalars:
/// `yes`/`on` are `true`), with every construct two readers could take differently refused
/// (anchors, aliases, merge keys, tags, duplicate keys, more than one document); an empty body
/// is an error, as for JSON.
fn yaml(body: &[u8]) -> Result<Value, ProxyError> {
    kube_decode::yaml::to_json(body, kube_decode::yaml::Mode::Strict).map_err(|e| {
        if e.message.contains("empty") {
            ProxyError::BadRequest(e.message)
        } else {
            ProxyError::BadRequest(format!("the request body is not valid YAML: {e}"))
        }
    })
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
    fn ambiguous_bodies_are_refused() {
        let cases: Vec<(&str, &str, &str)> = vec![
            (
                "application/json",
                r#"{"kind":"Secret","Kind":"Pod"}"#,
                "\"kind\" and \"Kind\"",
            ),
            (
                "application/json",
                "{\"kind\":\"ConfigMap\",\"\u{212a}ind\":\"Pod\"}",
                "differ only in case",
            ),
            (
                "application/json",
                r#"{"spec":{"hostNetwork":false,"hostNetwork":true}}"#,
                "duplicate field \"spec.hostNetwork\"",
            ),
            (
                "application/json",
                r#"{"spec":{"hostNetwork":false,"HostNetwork":true}}"#,
                "spec.HostNetwork",
            ),
            (
                "application/merge-patch+json",
                r#"{"spec":{"a":1,"a":2}}"#,
                "duplicate field \"spec.a\"",
            ),
            (
                "application/json-patch+json",
                r#"[{"op":"add","path":"/a","path":"/metadata/resourceVersion","value":1}]"#,
                "duplicate field \"[0].path\"",
            ),
            (
                "application/yaml",
                "kind: Pod\nKind: Secret\n",
                "differ only in case",
            ),
        ];
        for (ct, body, says) in cases {
            let e = decode(Some(ct), body.as_bytes()).expect_err(body);
            assert_eq!(e.status().as_u16(), 400, "{body}: {e}");
            assert!(e.to_string().contains(says), "{body}: {e}");
        }
        // Case variants inside string maps are distinct entries for every reader.
        let ok =
            r#"{"metadata":{"labels":{"App":"a","app":"b"}},"data":{"README":"x","readme":"y"}}"#;
        assert!(decode(Some("application/json"), ok.as_bytes()).is_ok());
    }

    #[test]
    fn protobuf_is_read_strictly() {
        // ConfigMap{metadata{name: "a"}} twice: gogo would merge the two metadata messages.
        let meta = b"\x0a\x03\x0a\x01a";
        let twice = envelope("v1", "ConfigMap", &[&meta[..], &meta[..]].concat());
        let e = decode(Some("application/vnd.kubernetes.protobuf"), &twice).expect_err("twice");
        assert!(e.to_string().contains("metadata is sent 2 times"), "{e}");
        // Field 15 is not a ConfigMap field.
        let unknown = envelope("v1", "ConfigMap", &[&meta[..], b"\x78\x01"].concat());
        let e = decode(Some("application/vnd.kubernetes.protobuf"), &unknown).expect_err("unknown");
        assert!(e.to_string().contains("field number 15"), "{e}");
        // data {k: v} twice.
        let entry = b"\x12\x06\x0a\x01k\x12\x01v";
        let dup = envelope("v1", "ConfigMap", &[&meta[..], entry, entry].concat());
        let e = decode(Some("application/vnd.kubernetes.protobuf"), &dup).expect_err("dup key");
        assert!(e.to_string().contains("twice"), "{e}");
        let once = envelope("v1", "ConfigMap", &[&meta[..], entry].concat());
        let v = decode(Some("application/vnd.kubernetes.protobuf"), &once).expect("once");
        assert_eq!(v["data"], json!({"k": "v"}));
        // The API stand-in reads like gogo-protobuf: no refusal.
        assert!(k8s_protojson::decode(&twice).is_ok());
    }

    fn t<'a>(group: &'a str, resource: &'a str, sub: Option<&'a str>) -> Target<'a> {
        Target {
            verb: "create",
            group,
            version: "v1",
            resource,
            subresource: sub,
        }
    }

    #[test]
    fn type_meta_against_the_endpoint() {
        let pods = t("", "pods", None);
        let deployments = t("apps", "deployments", None);
        let ok: Vec<(Target, Value)> = vec![
            (pods, json!({"apiVersion": "v1", "kind": "Pod"})),
            (pods, json!({"metadata": {"name": "no-type-meta"}})),
            (pods, json!({"kind": "Pod"})),
            (
                deployments,
                json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
            ),
            (
                t("apps", "deployments", Some("scale")),
                json!({"apiVersion": "autoscaling/v1", "kind": "Scale"}),
            ),
            (
                t("", "pods", Some("ephemeralcontainers")),
                json!({"apiVersion": "v1", "kind": "Pod"}),
            ),
            (
                t("", "pods", Some("eviction")),
                json!({"apiVersion": "policy/v1", "kind": "Eviction"}),
            ),
            (
                t("example.com", "widgets", None),
                json!({"apiVersion": "example.com/v1", "kind": "Widget"}),
            ),
        ];
        for (target, body) in ok {
            check_type_meta(&body, &target).unwrap_or_else(|e| panic!("{body}: {e}"));
        }
        let refused: Vec<(Target, Value, &str)> = vec![
            (
                pods,
                json!({"apiVersion": "v1", "kind": "Secret"}),
                "Secret in version \"v1\" cannot be handled as a Pod",
            ),
            (pods, json!({"Kind": "Pod"}), "spells \"kind\" as \"Kind\""),
            (pods, json!({"\u{212a}ind": "Pod"}), "spells \"kind\""),
            (pods, json!({"APIVERSION": "v1"}), "spells \"apiVersion\""),
            (
                pods,
                json!({"apiVersion": "apps/v1", "kind": "Pod"}),
                "no kind \"Pod\" is registered for version \"apps/v1\"",
            ),
            (
                deployments,
                json!({"apiVersion": "extensions/v1beta1", "kind": "Deployment"}),
                "registered for version",
            ),
            (
                deployments,
                json!({"apiVersion": "v1", "kind": "List", "items": []}),
                "a List cannot be created",
            ),
            (
                pods,
                json!({"apiVersion": "v1", "kind": "PodList", "items": []}),
                "a PodList cannot",
            ),
            (pods, json!([{"kind": "Pod"}]), "not an object"),
            (pods, json!({"kind": 7}), "couldn't get version/kind"),
            (
                t("apps", "deployments", Some("scale")),
                json!({"apiVersion": "apps/v1", "kind": "Deployment"}),
                "cannot be handled as a Scale",
            ),
        ];
        for (target, body, says) in refused {
            let e = check_type_meta(&body, &target).expect_err(&body.to_string());
            assert_eq!(e.status().as_u16(), 400, "{body}");
            assert!(e.to_string().contains(says), "{body}: {e}");
        }
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
