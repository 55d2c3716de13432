//! Discovery tests against the v1.28.7 captures (`k8s-reference/discovery/01..03`); the
//! `testdata/*.json` files are the captured documents filtered to the entries we serve.

use super::*;
use http::HeaderValue;
use http_body_util::BodyExt;

const AGG_ACCEPT_132: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

fn v128() -> ServerVersion {
    ServerVersion::parse("v1.28.7").expect("valid version")
}

fn get(path: &str, headers: &[(&'static str, &str)], version: &ServerVersion) -> Response<Body> {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.append(*k, HeaderValue::from_str(v).expect("header value"));
    }
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    handle(&Method::GET, path, query, &map, version).expect("a discovery path")
}

fn body(resp: Response<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let (parts, body) = resp.into_parts();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let bytes = rt
        .block_on(body.collect())
        .expect("infallible body")
        .to_bytes();
    (parts.status, parts.headers, bytes.to_vec())
}

fn text(resp: Response<Body>) -> (StatusCode, HeaderMap, String) {
    let (s, h, b) = body(resp);
    (s, h, String::from_utf8(b).expect("utf-8 body"))
}

#[test]
fn version_is_pretty_without_newline_like_the_capture() {
    let mut v = v128();
    v.git_tree_state = "archive".into();
    v.build_date = "2026-11-25T20:15:46Z".into();
    let (status, headers, text) = text(get("/version", &[("user-agent", "ref-capture/1.0")], &v));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let expected = "{\n  \"major\": \"1\",\n  \"minor\": \"28\",\n  \"gitVersion\": \"v1.28.7\",\n  \"gitCommit\": \"c8dcb00be9961ec36d141d2e4103f85f92bcf291\",\n  \"gitTreeState\": \"archive\",\n  \"buildDate\": \"2026-11-25T20:15:46Z\",\n  \"goVersion\": \"go1.21.13\",\n  \"compiler\": \"gc\",\n  \"platform\": \"linux/amd64\"\n}";
    assert_eq!(text, expected);
    assert_eq!(text.len(), 266);
    // Python's VersionApi GETs /version/ with a trailing slash.
    let (status, _, _) = text_of("/version/");
    assert_eq!(status, StatusCode::OK);
}

fn text_of(path: &str) -> (StatusCode, HeaderMap, String) {
    text(get(path, &[("accept", "application/json")], &v128()))
}

#[test]
fn server_version_parse_and_default() {
    let d = ServerVersion::default();
    assert_eq!((d.major.as_str(), d.minor.as_str()), ("1", "33"));
    assert!(d.git_version.starts_with("v1.33."));
    let p = ServerVersion::parse("1.29.3").expect("parses");
    assert_eq!(p.git_version, "v1.29.3");
    assert_eq!(p.minor, "29");
    assert_eq!(p.git_commit.len(), 40);
    assert_eq!(
        ServerVersion::parse("1.30").map(|v| v.git_version),
        Some("v1.30.0".into())
    );
    for bad in ["", "x.y", "1", "1.2.3.4", "v1.a.3"] {
        assert_eq!(ServerVersion::parse(bad), None, "{bad}");
    }
}

#[test]
fn legacy_documents_match_the_capture_bytes() {
    let cases: &[(&str, &str)] = &[
        (
            "/api",
            "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"127.0.0.1:6443\"}]}\n",
        ),
        (
            "/apis/batch",
            "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"batch\",\"versions\":[{\"groupVersion\":\"batch/v1\",\"version\":\"v1\"}],\"preferredVersion\":{\"groupVersion\":\"batch/v1\",\"version\":\"v1\"}}\n",
        ),
        (
            "/apis/batch/v1",
            "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"batch/v1\",\"resources\":[{\"name\":\"cronjobs\",\"singularName\":\"cronjob\",\"namespaced\":true,\"kind\":\"CronJob\",\"verbs\":[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"],\"shortNames\":[\"cj\"],\"categories\":[\"all\"],\"storageVersionHash\":\"sd5LIXh4Fjs=\"},{\"name\":\"cronjobs/status\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"CronJob\",\"verbs\":[\"get\",\"patch\",\"update\"]},{\"name\":\"jobs\",\"singularName\":\"job\",\"namespaced\":true,\"kind\":\"Job\",\"verbs\":[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"],\"categories\":[\"all\"],\"storageVersionHash\":\"mudhfqk/qZY=\"},{\"name\":\"jobs/status\",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"Job\",\"verbs\":[\"get\",\"patch\",\"update\"]}]}\n",
        ),
        (
            "/apis/authentication.k8s.io/v1",
            "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"authentication.k8s.io/v1\",\"resources\":[{\"name\":\"selfsubjectreviews\",\"singularName\":\"selfsubjectreview\",\"namespaced\":false,\"kind\":\"SelfSubjectReview\",\"verbs\":[\"create\"]},{\"name\":\"tokenreviews\",\"singularName\":\"tokenreview\",\"namespaced\":false,\"kind\":\"TokenReview\",\"verbs\":[\"create\"]}]}\n",
        ),
        (
            "/apis/authorization.k8s.io/v1",
            "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"authorization.k8s.io/v1\",\"resources\":[{\"name\":\"localsubjectaccessreviews\",\"singularName\":\"localsubjectaccessreview\",\"namespaced\":true,\"kind\":\"LocalSubjectAccessReview\",\"verbs\":[\"create\"]},{\"name\":\"selfsubjectaccessreviews\",\"singularName\":\"selfsubjectaccessreview\",\"namespaced\":false,\"kind\":\"SelfSubjectAccessReview\",\"verbs\":[\"create\"]},{\"name\":\"selfsubjectrulesreviews\",\"singularName\":\"selfsubjectrulesreview\",\"namespaced\":false,\"kind\":\"SelfSubjectRulesReview\",\"verbs\":[\"create\"]},{\"name\":\"subjectaccessreviews\",\"singularName\":\"subjectaccessreview\",\"namespaced\":false,\"kind\":\"SubjectAccessReview\",\"verbs\":[\"create\"]}]}\n",
        ),
        ("/api/v1", concat!(include_str!("testdata/api_v1.json"), "\n")),
        ("/apis", concat!(include_str!("testdata/apis.json"), "\n")),
        ("/apis/apps/v1", concat!(include_str!("testdata/apps_v1.json"), "\n")),
    ];
    for (path, expected) in cases {
        let headers = [("accept", "application/json"), ("host", "127.0.0.1:6443")];
        let (status, h, got) = text(get(path, &headers, &v128()));
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(h["content-type"], "application/json", "{path}");
        assert_eq!(h["cache-control"], "no-cache, private", "{path}");
        assert_eq!(&got, expected, "{path}");
    }
}

#[test]
fn api_server_address_comes_from_host_and_trailing_slash_is_served() {
    let (_, _, got) = text(get("/api/", &[("host", "10.0.0.7:8443")], &v128()));
    assert!(got.contains("\"serverAddress\":\"10.0.0.7:8443\""), "{got}");
    let (status, _, got) = text_of("/apis/batch/v1/");
    assert_eq!(status, StatusCode::OK);
    assert!(got.starts_with("{\"kind\":\"APIResourceList\""));
}

#[test]
fn pretty_for_curl_and_query() {
    let (_, _, got) = text(get("/apis/batch", &[("user-agent", "curl/8.5.0")], &v128()));
    assert!(got.starts_with("{\n  \"kind\": \"APIGroup\",\n"), "{got}");
    let (_, _, got) = text(get("/apis/batch?pretty=true", &[], &v128()));
    assert!(got.starts_with("{\n  \"kind\""), "{got}");
    let (_, _, got) = text(get(
        "/apis/batch",
        &[("user-agent", "kubectl/v1.32.5")],
        &v128(),
    ));
    assert!(got.starts_with("{\"kind\":\"APIGroup\""), "{got}");
}

#[test]
fn unknown_paths() {
    // Unknown group: text/plain (capture 03 #3).
    let (status, h, got) = text_of("/apis/nonexistent.example.com/v1");
    assert_eq!(
        (status, got.as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
    assert_eq!(h["content-type"], "text/plain; charset=utf-8");
    let (status, _, got) = text_of("/apis/nonexistent.example.com");
    assert_eq!(
        (status, got.as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
    // Unknown version of a served group: JSON Status (capture 03 #6).
    let (status, h, got) = text_of("/apis/batch/v2");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(got, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"the server could not find the requested resource\",\"reason\":\"NotFound\",\"details\":{},\"code\":404}\n");
    // Not discovery at all: the router continues.
    for path in ["/apis/batch/v1/jobs", "/api/v1/pods", "/healthz", "/"] {
        assert!(
            handle(&Method::GET, path, None, &HeaderMap::new(), &v128()).is_none(),
            "{path}"
        );
    }
}

#[test]
fn accept_negotiation_table() {
    const V2: &[&str] = &["v2", "v2beta1"];
    const V2BETA1: &[&str] = &["v2beta1"];
    let kubectl_128 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    let cases: &[(Option<&str>, &[&'static str], Option<Variant>)] = &[
        (None, V2, Some(Variant::Json)),
        (Some(""), V2, Some(Variant::Json)),
        (Some(AGG_ACCEPT_132), V2, Some(Variant::Aggregated("v2"))),
        (Some(AGG_ACCEPT_132), V2BETA1, Some(Variant::Aggregated("v2beta1"))),
        (Some(kubectl_128), V2, Some(Variant::Aggregated("v2beta1"))),
        (Some(AGG_ACCEPT_132), &[], Some(Variant::Json)),
        // 1.28 with only v2 then json → plain (capture 02 #3); only v2 → 406 (capture 02 #4).
        (Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"), V2BETA1, Some(Variant::Json)),
        (Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"), V2BETA1, None),
        // q-values reorder alternatives.
        (Some("application/json;q=0.5,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"), V2, Some(Variant::Aggregated("v2"))),
        (Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0,application/json"), V2, Some(Variant::Json)),
        // Protobuf aggregated is skipped; plain protobuf is answered with JSON.
        (Some("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"), V2, Some(Variant::Aggregated("v2"))),
        (Some("application/vnd.kubernetes.protobuf,application/json"), V2, Some(Variant::Json)),
        (Some("application/json, */*"), V2, Some(Variant::Json)),
        (Some("*/*"), V2, Some(Variant::Json)),
        (Some("application/yaml"), V2, Some(Variant::Yaml)),
        (Some("text/html"), V2, None),
        (Some("application/json;as=Table;v=v1;g=meta.k8s.io"), V2, None),
    ];
    for (accept, served, expected) in cases {
        assert_eq!(
            negotiate(*accept, served),
            *expected,
            "{accept:?} {served:?}"
        );
    }
}

#[test]
fn aggregated_v2beta1_for_128_matches_the_capture() {
    for (path, expected) in [
        ("/api", include_str!("testdata/agg_api.json")),
        ("/apis", include_str!("testdata/agg_apis.json")),
    ] {
        let (status, h, got) = text(get(path, &[("accept", AGG_ACCEPT_132)], &v128()));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            h["content-type"],
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
        );
        assert_eq!(h["cache-control"], "public");
        assert_eq!(h["vary"], "Accept");
        assert_eq!(got, format!("{expected}\n"), "{path}");
        let etag = h["etag"].to_str().expect("ascii");
        let expected_tag = format!("\"{}\"", etag_of(expected.as_bytes()));
        assert_eq!(etag, expected_tag);
        assert_eq!(etag.len(), 130, "quoted SHA-512 hex like the capture");
    }
}

#[test]
fn aggregated_v2_for_133_and_etag_revalidation() {
    let v = ServerVersion::default();
    let (status, h, got) = text(get("/apis", &[("accept", AGG_ACCEPT_132)], &v));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    assert!(got.starts_with(
        "{\"kind\":\"APIGroupDiscoveryList\",\"apiVersion\":\"apidiscovery.k8s.io/v2\","
    ));
    let etag = h["etag"].to_str().expect("ascii").to_string();
    let (status, h, got) = text(get(
        "/apis",
        &[("accept", AGG_ACCEPT_132), ("if-none-match", &etag)],
        &v,
    ));
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(got, "");
    assert_eq!(h["etag"], etag.as_str());
    assert_eq!(h["cache-control"], "public");
    assert!(h.get("content-type").is_none());
    let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "audit-id",
            "cache-control",
            "etag",
            "vary",
            "x-kubernetes-pf-flowschema-uid",
            "x-kubernetes-pf-prioritylevel-uid"
        ]
    );
    // A stale tag gets the full document again.
    let (status, _, _) = text(get(
        "/apis",
        &[("accept", AGG_ACCEPT_132), ("if-none-match", "\"0000\"")],
        &v,
    ));
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn not_acceptable_is_pretty_like_the_capture() {
    let (status, h, got) = text(get(
        "/apis",
        &[
            (
                "accept",
                "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            ),
            ("user-agent", "ref-capture/1.0"),
        ],
        &v128(),
    ));
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(h["content-type"], "application/json");
    let expected = "{\n  \"kind\": \"Status\",\n  \"apiVersion\": \"v1\",\n  \"metadata\": {},\n  \"status\": \"Failure\",\n  \"message\": \"only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf\",\n  \"reason\": \"NotAcceptable\",\n  \"code\": 406\n}";
    assert_eq!(got, expected);
    assert_eq!(got.len(), 262);
}

#[test]
fn non_get_is_method_not_allowed() {
    let resp = handle(&Method::POST, "/apis", None, &HeaderMap::new(), &v128()).expect("discovery");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}
