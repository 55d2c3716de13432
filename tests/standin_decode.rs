//! How the API (stand-in or real) reads request bodies, checked over HTTP as its admin: the
//! kind is found case-insensitively (Go's `encoding/json`: `Kind`, U+212A KELVIN SIGN, last
//! key wins) while the object is decoded case-sensitively (so such a key is an unknown field),
//! duplicate fields are strict-decoding errors, and YAML is read with YAML 1.1 rules
//! (`yes` is true, aliases and merge keys are expanded). The proxy's decoding is judged
//! against this behaviour, so the stand-in must have it.

mod support;

use serde_json::Value;
use support::cluster::Cluster;

struct Api {
    c: Cluster,
    agent: ureq::Agent,
}

impl Api {
    fn start() -> Api {
        let c = Cluster::start();
        let agent = support::envtest::tls_agent(&c.ca_pem).expect("agent");
        Api { c, agent }
    }

    /// POST `body` to `path`: (status, warnings, body as JSON).
    fn post(&self, path: &str, content_type: &str, body: &str) -> (u16, Vec<String>, Value) {
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{}{path}", self.c.url))
            .header("Authorization", format!("Bearer {}", self.c.admin_token))
            .header("Content-Type", content_type)
            .header("Accept", "application/json")
            .body(body.as_bytes().to_vec())
            .expect("request");
        let mut r = self.agent.run(req).expect("POST");
        let warnings = r
            .headers()
            .get_all("warning")
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().expect("body");
        (
            status,
            warnings,
            serde_json::from_str(&text).expect("json answer"),
        )
    }

    fn namespace(&self) -> String {
        let name = Cluster::unique_name("decode");
        let (s, _, b) = self.post(
            "/api/v1/namespaces",
            "application/json",
            &format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#),
        );
        assert_eq!(s, 201, "{b}");
        name
    }
}

#[test]
fn the_kind_is_found_case_insensitively_and_the_object_read_case_sensitively() {
    let api = Api::start();
    let ns = api.namespace();
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let pod = |name: &str, type_meta: &str| {
        format!(
            r#"{{{type_meta},"metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"c","image":"busybox"}}]}}}}"#
        )
    };
    // `Kind` after `kind` wins the type lookup: the body is a Pod, and `Kind` an unknown field.
    let (s, _, b) = api.post(
        &format!("{pods}?fieldValidation=Strict"),
        "application/json",
        &pod(
            "strict",
            r#""apiVersion":"v1","kind":"Secret","Kind":"Pod""#,
        ),
    );
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["message"],
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"Kind\""
    );
    let (s, warnings, b) = api.post(
        &format!("{pods}?fieldValidation=Warn"),
        "application/json",
        &pod(
            "kelvin",
            "\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"\u{212a}ind\":\"Pod\"",
        ),
    );
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["kind"], "Pod");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("unknown field \\\"\u{212a}ind\\\"")),
        "{warnings:?}"
    );
    // The other order: `kind` last wins, and a Secret cannot be handled as a Pod.
    let (s, _, b) = api.post(
        &pods,
        "application/json",
        &pod(
            "secret",
            r#""apiVersion":"v1","Kind":"Pod","kind":"Secret""#,
        ),
    );
    assert_eq!(s, 400, "{b}");
    assert!(
        b["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Secret in version \"v1\" cannot be handled as a Pod")),
        "{b}"
    );
}

#[test]
fn duplicate_fields_are_strict_decoding_errors() {
    let api = Api::start();
    let ns = api.namespace();
    let cms = format!("/api/v1/namespaces/{ns}/configmaps");
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","name":"dup"},"data":{"k":"1","k":"2"}}"#;
    let (s, _, b) = api.post(
        &format!("{cms}?fieldValidation=Strict"),
        "application/json",
        body,
    );
    assert_eq!(s, 400, "{b}");
    assert_eq!(
        b["message"],
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"metadata.name\", duplicate field \"data.k\""
    );
    // Warn (the default): the last of each wins, with a warning per duplicate.
    let (s, warnings, b) = api.post(&cms, "application/json", body);
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["metadata"]["name"], "dup");
    assert_eq!(b["data"]["k"], "2");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
}
