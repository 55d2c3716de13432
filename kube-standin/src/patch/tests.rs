//! Tests for [`super`]: every PATCH of the reference captures replayed (live object, body,
//! answer), then strategic-merge, JSON-patch and decoding edge cases checked against
//! kube-apiserver 1.28's code paths.

use serde_json::{json, Value};

use super::*;
use crate::resources::by_kind;

/// One captured PATCH (generated from `shared/k8s-reference`, see `testdata/captures.json`).
#[derive(serde::Deserialize)]
struct Case {
    source: String,
    kind: String,
    content_type: String,
    body: String,
    live: Value,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    error: Option<String>,
    subresource: String,
}

fn res(kind: &str) -> &'static ResourceDef {
    let group = match kind {
        "Job" | "CronJob" => "batch",
        "Deployment" => "apps",
        _ => "",
    };
    by_kind(group, kind).expect("kind must be served")
}

/// The object without what the server changes on every write.
fn comparable(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v["metadata"].as_object_mut() {
        for k in ["resourceVersion", "generation", "managedFields"] {
            m.shift_remove(k);
        }
    }
    v
}

/// The container defaults kube-apiserver adds after a patch (the caller's defaulting step),
/// so that captured answers can be compared with a patch result.
fn default_containers(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(cs)) = m.get_mut("containers") {
                for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
                    let tagged = image.rsplit('/').next().is_some_and(|i| i.contains(':'));
                    let pull = if tagged && !image.ends_with(":latest") {
                        "IfNotPresent"
                    } else {
                        "Always"
                    };
                    let defaults = [
                        ("resources", json!({})),
                        ("terminationMessagePath", json!("/dev/termination-log")),
                        ("terminationMessagePolicy", json!("File")),
                        ("imagePullPolicy", json!(pull)),
                    ];
                    for (k, d) in defaults {
                        c.entry(k).or_insert(d);
                    }
                }
            }
            m.values_mut().for_each(default_containers);
        }
        Value::Array(a) => a.iter_mut().for_each(default_containers),
        _ => {}
    }
}

fn status_json(e: &ApiError) -> String {
    serde_json::to_string(&e.to_status()).expect("a Status serialises")
}

fn check_case(c: &Case) {
    let pt = PatchType::from_content_type(Some(&c.content_type)).expect("patch media type");
    let got = apply_patch(res(&c.kind), &c.live, pt, c.body.as_bytes());
    match (&c.expected, &c.error) {
        (Some(exp), _) => {
            let mut got = got.unwrap_or_else(|e| panic!("{}: {e}", c.source));
            default_containers(&mut got);
            if c.subresource == "status" {
                // The status strategy keeps everything but `.status` from the live object.
                assert_eq!(got["status"], exp["status"], "{}", c.source);
            } else {
                assert_eq!(comparable(&got), comparable(exp), "{}", c.source);
            }
        }
        (None, Some(err)) if err.contains(r#""reason":"Conflict""#) => {
            // A stale resourceVersion inside the patch survives; the caller answers the 409.
            let got = got.unwrap_or_else(|e| panic!("{}: {e}", c.source));
            assert_eq!(got["metadata"]["resourceVersion"], "1", "{}", c.source);
            assert_ne!(c.live["metadata"]["resourceVersion"], "1", "{}", c.source);
        }
        (None, Some(err)) => {
            let e = got.expect_err(&c.source);
            assert_eq!(&status_json(&e), err, "{}", c.source);
        }
        (None, None) => panic!("{}: case without an answer", c.source),
    }
}

#[test]
fn replays_every_captured_patch() {
    let cases: Vec<Case> =
        serde_json::from_str(include_str!("testdata/captures.json")).expect("fixture parses");
    assert_eq!(cases.len(), 41);
    for c in &cases {
        check_case(c);
    }
}

#[test]
fn captured_error_bodies_are_exact() {
    let cm = json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cm"}, "data": {"a": "10"}});
    let r = res("ConfigMap");
    let test_fail = br#"[{"op": "test", "path": "/data/a", "value": "nope"}, {"op": "replace", "path": "/data/a", "value": "x"}]"#;
    let e = apply_patch(r, &cm, PatchType::Json, test_fail).expect_err("test fails");
    assert_eq!(e.code, 422);
    assert_eq!(
        status_json(&e),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server rejected our request due to an error in our request","reason":"Invalid","details":{},"code":422}"#
    );
    let e = apply_patch(r, &cm, PatchType::Json, br#"{"op": "add"}"#).expect_err("not a list");
    assert_eq!(
        status_json(&e),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp","reason":"BadRequest","code":400}"#
    );
}

#[test]
fn content_types() {
    use PatchType::*;
    let table: &[(Option<&str>, Option<PatchType>)] = &[
        (Some("application/json-patch+json"), Some(Json)),
        (Some("application/merge-patch+json"), Some(Merge)),
        (
            Some("application/strategic-merge-patch+json"),
            Some(Strategic),
        ),
        (
            Some("application/strategic-merge-patch+json; charset=utf-8"),
            Some(Strategic),
        ),
        (Some("application/apply-patch+yaml"), Some(Apply)),
        (Some("application/apply-patch+cbor"), None),
        (Some("application/json"), None),
        (Some("Application/Merge-Patch+JSON"), None),
        (Some("application/merge-patch+json ;x=y"), None),
        (Some(""), None),
        (None, None),
    ];
    for (ct, want) in table {
        let got = PatchType::from_content_type(*ct);
        match want {
            Some(t) => {
                assert_eq!(got.as_ref().ok(), Some(t), "{ct:?}");
                assert_eq!(
                    t.media_type(),
                    ct.and_then(|c| c.split(';').next()).unwrap_or("")
                );
            }
            None => assert_eq!(got.expect_err("415").code, 415, "{ct:?}"),
        }
    }
    let e = PatchType::from_content_type(Some("application/json")).expect_err("415");
    assert_eq!(
        status_json(&e),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"415: Unsupported Media Type","reason":"UnsupportedMediaType","details":{},"code":415}"#
    );
}

fn smp(kind: &str, live: Value, patch: Value) -> Result<Value, ApiError> {
    apply_patch(
        res(kind),
        &live,
        PatchType::Strategic,
        patch.to_string().as_bytes(),
    )
}

fn pod(spec: Value) -> Value {
    json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": spec})
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v["name"].as_str().unwrap_or("?"))
        .collect()
}

#[test]
fn smp_list_merge_order_matches_kube() {
    let live =
        pod(json!({"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}));
    // (patch containers, resulting order): a new element goes before the live ones after it.
    let table = [
        (json!([{"name": "c", "image": "z"}]), vec!["c", "a", "b"]),
        (
            json!([{"name": "b", "image": "w"}, {"name": "c"}]),
            vec!["a", "b", "c"],
        ),
        (
            json!([{"name": "c"}, {"name": "a", "image": "q"}]),
            vec!["c", "a", "b"],
        ),
        (json!([{"name": "b"}, {"name": "a"}]), vec!["b", "a"]),
    ];
    for (patch, want) in table {
        let out = smp("Pod", live.clone(), json!({"spec": {"containers": patch}})).expect("merges");
        assert_eq!(names(&out["spec"]["containers"]), want, "{patch}");
    }
    let out = smp(
        "Pod",
        live,
        json!({"spec": {"containers": [{"name": "b", "image": "w"}]}}),
    )
    .expect("merges");
    assert_eq!(
        out["spec"]["containers"][1],
        json!({"name": "b", "image": "w"})
    );
    assert_eq!(
        out["spec"]["containers"][0],
        json!({"name": "a", "image": "x"})
    );
}

#[test]
fn smp_set_element_order_and_delete() {
    let live = pod(json!({"containers": [
        {"name": "a", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]},
        {"name": "b"},
        {"name": "c"}
    ]}));
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
        "containers": [
            {"name": "a", "$setElementOrder/env": [{"name": "C"}, {"name": "A"}],
             "env": [{"name": "B", "$patch": "delete"}]},
            {"name": "b", "$patch": "delete"}
        ]
    }});
    let out = smp("Pod", live, patch).expect("merges");
    let containers = &out["spec"]["containers"];
    assert_eq!(names(containers), vec!["c", "a"]);
    assert_eq!(names(&containers[1]["env"]), vec!["C", "A"]);
}

#[test]
fn smp_nested_templates_of_jobs_and_cronjobs() {
    let template = json!({"spec": {"containers": [
        {"name": "main", "image": "busybox", "env": [{"name": "A", "value": "1"}],
         "ports": [{"containerPort": 80, "name": "http"}],
         "volumeMounts": [{"mountPath": "/a", "name": "v"}]}
    ]}});
    let patch_spec = json!({"containers": [{"name": "main",
        "env": [{"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "volumeMounts": [{"mountPath": "/b", "name": "w"}]}]});
    let job =
        json!({"kind": "Job", "metadata": {"name": "j"}, "spec": {"template": template.clone()}});
    let out = smp(
        "Job",
        job,
        json!({"spec": {"template": {"spec": patch_spec.clone()}}}),
    )
    .expect("merges");
    let c = &out["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(names(&c["env"]), vec!["B", "A"]);
    assert_eq!(
        c["ports"],
        json!([{"containerPort": 80, "name": "http", "protocol": "TCP"}])
    );
    assert_eq!(c["volumeMounts"].as_array().map(Vec::len), Some(2));
    assert_eq!(c["image"], "busybox");

    let cj = json!({"kind": "CronJob", "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": template}}}});
    let patch = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": patch_spec}}}}});
    let out = smp("CronJob", cj, patch).expect("merges");
    let c = &out["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(names(&c["env"]), vec!["B", "A"]);
    assert_eq!(c["image"], "busybox");

    // A Deployment's template merges the same way; a ConfigMap has no such field: replaced.
    let dep = json!({"kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}});
    let out = smp(
        "Deployment",
        dep,
        json!({"spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}}),
    )
    .expect("merges");
    assert_eq!(
        names(&out["spec"]["template"]["spec"]["containers"]),
        vec!["b", "a"]
    );
    let cm = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {"containers": [{"name": "a"}]}});
    let out = smp(
        "ConfigMap",
        cm,
        json!({"spec": {"containers": [{"name": "b"}]}}),
    )
    .expect("merges");
    assert_eq!(names(&out["spec"]["containers"]), vec!["b"]);
}

#[test]
fn smp_lists_by_kind() {
    // (kind, live, patch, path to the list, expected list)
    let table = [
        (
            "Service",
            json!({"spec": {"ports": [{"port": 80, "name": "a"}]}}),
            json!({"spec": {"ports": [{"port": 443, "name": "b"}]}}),
            "/spec/ports",
            json!([{"port": 443, "name": "b"}, {"port": 80, "name": "a"}]),
        ),
        (
            "ServiceAccount",
            json!({"secrets": [{"name": "s1"}]}),
            json!({"secrets": [{"name": "s2"}]}),
            "/secrets",
            json!([{"name": "s2"}, {"name": "s1"}]),
        ),
        (
            "ServiceAccount",
            json!({"imagePullSecrets": [{"name": "s1"}]}),
            json!({"imagePullSecrets": [{"name": "s2"}]}),
            "/imagePullSecrets",
            json!([{"name": "s2"}]),
        ),
        (
            "Pod",
            json!({"spec": {"tolerations": [{"key": "a"}]}}),
            json!({"spec": {"tolerations": [{"key": "b"}]}}),
            "/spec/tolerations",
            json!([{"key": "b"}]),
        ),
        (
            "Pod",
            json!({"spec": {"imagePullSecrets": [{"name": "a"}]}}),
            json!({"spec": {"imagePullSecrets": [{"name": "b"}]}}),
            "/spec/imagePullSecrets",
            json!([{"name": "b"}, {"name": "a"}]),
        ),
        (
            "Pod",
            json!({"spec": {"containers": [{"name": "a", "envFrom": [{"prefix": "x"}]}]}}),
            json!({"spec": {"containers": [{"name": "a", "envFrom": [{"prefix": "y"}]}]}}),
            "/spec/containers/0/envFrom",
            json!([{"prefix": "y"}]),
        ),
        (
            "Pod",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
            json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            "/status/conditions",
            json!([{"type": "Ready", "status": "True"}]),
        ),
        (
            "Job",
            json!({"status": {"conditions": [{"type": "Suspended", "status": "True"}]}}),
            json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}),
            "/status/conditions",
            json!([{"type": "Complete", "status": "True"}, {"type": "Suspended", "status": "True"}]),
        ),
        (
            "Namespace",
            json!({"spec": {"finalizers": ["kubernetes"]}}),
            json!({"spec": {"finalizers": ["x"]}}),
            "/spec/finalizers",
            json!(["x"]),
        ),
        (
            "ConfigMap",
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}}),
            json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "b"}, {"uid": "2"}]}}),
            "/metadata/ownerReferences",
            json!([{"uid": "1", "name": "b"}, {"uid": "2"}]),
        ),
    ];
    for (kind, live, patch, path, want) in table {
        let out = smp(kind, live, patch).expect("merges");
        assert_eq!(out.pointer(path), Some(&want), "{kind} {path}");
    }
}

#[test]
fn smp_primitive_lists_and_parallel_deletion() {
    let live = json!({"metadata": {"name": "c", "finalizers": ["a", "b"]}});
    let table = [
        (
            json!({"metadata": {"finalizers": ["c"]}}),
            json!(["c", "a", "b"]),
        ),
        (
            json!({"metadata": {"finalizers": ["b", "c"]}}),
            json!(["a", "b", "c"]),
        ),
        (
            json!({"metadata": {"finalizers": ["a"]}}),
            json!(["a", "b"]),
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            json!(["b"]),
        ),
        (
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["d"]}}),
            json!(["d", "b"]),
        ),
        (
            json!({"metadata": {"$setElementOrder/finalizers": ["b", "a"]}}),
            json!(["b", "a"]),
        ),
        (json!({"metadata": {"finalizers": null}}), Value::Null),
    ];
    for (patch, want) in table {
        let out = smp("ConfigMap", live.clone(), patch.clone()).expect("merges");
        assert_eq!(out["metadata"]["finalizers"], want, "{patch}");
    }
    // Deleting from a list the object does not have does not create it.
    let out = smp(
        "ConfigMap",
        json!({"metadata": {}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    )
    .expect("merges");
    assert_eq!(out, json!({"metadata": {}}));
}

#[test]
fn smp_map_directives_and_nulls() {
    let live =
        json!({"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}, "data": {"x": "1"}});
    let table = [
        (
            json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
            json!({"c": "3"}),
        ),
        (
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
            json!({}),
        ),
        (
            json!({"metadata": {"labels": {"a": null, "z": null}}}),
            json!({"b": "2"}),
        ),
        (
            json!({"metadata": {"labels": {"c": "3"}}}),
            json!({"a": "1", "b": "2", "c": "3"}),
        ),
    ];
    for (patch, want) in table {
        let out = smp("ConfigMap", live.clone(), patch.clone()).expect("merges");
        assert_eq!(out["metadata"]["labels"], want, "{patch}");
    }
    // Nulls inside a new value are dropped, and `$patch` maps inside it vanish.
    let out = smp(
        "ConfigMap",
        live.clone(),
        json!({"binaryData": {"k": null, "j": "x"}, "extra": {"$patch": "delete"}}),
    )
    .expect("merges");
    assert_eq!(out["binaryData"], json!({"j": "x"}));
    assert!(out.get("extra").is_none());
    // A top-level `$patch: replace` replaces the whole object.
    let out = smp(
        "ConfigMap",
        live.clone(),
        json!({"$patch": "replace", "data": {"y": "2"}}),
    )
    .expect("replaces");
    assert_eq!(out, json!({"data": {"y": "2"}}));
    // `null` as the whole patch changes nothing.
    let out = apply_patch(res("ConfigMap"), &live, PatchType::Strategic, b"null").expect("no-op");
    assert_eq!(out, live);
}

#[test]
fn smp_retain_keys() {
    let dep = json!({"kind": "Deployment", "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    let out = smp("Deployment", dep.clone(), patch).expect("retains");
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    let bad = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}});
    let e = smp("Deployment", dep, bad).expect_err("key not retained");
    assert_eq!(
        (e.code, e.message.as_str()),
        (400, "invalid patch format of retainKeys")
    );
}

#[test]
fn smp_errors() {
    let live = pod(json!({"containers": [{"name": "a"}], "tolerations": []}));
    let plain = |m: &str| (500, m.to_string(), None);
    let bad = |m: &str| (400, m.to_string(), Some("BadRequest"));
    let table = [
        (json!({"spec": {"containers": [{"name": "a", "$patch": "explode"}]}}),
         plain("unknown patch type: explode in map: map[$patch:explode name:a]")),
        (json!({"spec": {"containers": [{"$patch": "merge"}]}}),
         plain("merging lists cannot yet be specified in the patch")),
        (json!({"spec": {"containers": [{"$patch": "delete"}]}}),
         plain("map: map[$patch:delete] does not contain declared merge key: name")),
        (json!({"spec": {"containers": [{"image": "x"}]}}),
         plain("map: map[image:x] does not contain declared merge key: name")),
        (json!({"spec": {"$patch": true}}),
         plain("unknown patch type: %!s(bool=true) in map: map[$patch:true]")),
        (json!({"spec": {"containers": ["a"]}}),
         plain("list element types are not identical: [[map[name:a]] [a]]")),
        (json!({"spec": {"$setElementOrder/containers": "x"}}),
         plain("expected a []interface {}, but received a string")),
        (json!({"spec": {"$setElementOrder/containers": [{"name": "b"}], "containers": [{"name": "a"}]}}),
         plain("The order in patch list:\n[map[name:a]]\n doesn't match $setElementOrder list:\n[map[name:b]]\n")),
        (json!({"spec": {"$setElementOrderX": []}}), bad("invalid patch format of setElementOrder list")),
        (json!({"spec": {"$deleteFromPrimitiveList": []}}), bad("invalid patch format of primitive list")),
        (json!({"spec": {"$retainKeys": "x"}}), bad("invalid patch format of retainKeys")),
    ];
    for (patch, (code, msg, reason)) in table {
        let e = smp("Pod", live.clone(), patch.clone()).expect_err("fails");
        assert_eq!(
            (e.code, e.message.clone(), e.reason),
            (code, msg, reason),
            "{patch}"
        );
        assert!(e.details.is_none());
    }
    let e = smp(
        "Pod",
        pod(json!({"containers": [[1]]})),
        json!({"spec": {"containers": [[2]]}}),
    )
    .expect_err("lists of lists");
    assert_eq!((e.code, e.reason), (422, Some("Invalid")));
}

#[test]
fn decode_errors_by_patch_type() {
    let cm = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let r = res("ConfigMap");
    let table: &[(PatchType, &[u8], &str)] = &[
        (PatchType::Strategic, b"metadata:\n  labels:\n    a: b\n", "invalid character 'm' looking for beginning of value"),
        (PatchType::Strategic, b"[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (PatchType::Strategic, b"", "unexpected end of JSON input"),
        (PatchType::Merge, b"[1]", "error decoding patch: json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (PatchType::Merge, b"\"x\"", "error decoding patch: json: cannot unmarshal string into Go value of type map[string]interface {}"),
        (PatchType::Merge, b"null", "Invalid JSON Patch"),
        (PatchType::Merge, b"{\"a\":}", "error decoding patch: invalid character '}' looking for beginning of value"),
        (PatchType::Json, b"[{\"op\": 1}]", "error decoding patch: json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string"),
        (PatchType::Json, b"[\"add\"]", "error decoding patch: json: cannot unmarshal string into Go value of type handlers.jsonPatchOp"),
        (PatchType::Json, b"true", "error decoding patch: json: cannot unmarshal bool into Go value of type []handlers.jsonPatchOp"),
        (PatchType::Json, b"[{", "error decoding patch: unexpected end of JSON input"),
    ];
    for (pt, body, msg) in table {
        let e = apply_patch(r, &cm, *pt, body).expect_err("bad body");
        assert_eq!(
            (e.code, e.message.as_str(), e.reason),
            (400, *msg, Some("BadRequest")),
            "{pt:?} {body:?}"
        );
    }
    let e = apply_patch(r, &cm, PatchType::Apply, b"{}").expect_err("not ours");
    assert_eq!(e.code, 500);
}

#[test]
fn go_syntax_messages() {
    let table: &[(&str, &str)] = &[
        ("{", "unexpected end of JSON input"),
        ("x", "invalid character 'x' looking for beginning of value"),
        ("{\"a\" 1}", "invalid character '1' after object key"),
        (
            "{\"a\":1 \"b\":2}",
            "invalid character '\"' after object key:value pair",
        ),
        ("[1 2]", "invalid character '2' after array element"),
        (
            "{1:2}",
            "invalid character '1' looking for beginning of object key string",
        ),
        ("{}x", "invalid character 'x' after top-level value"),
        (
            "tru",
            "invalid character ' ' in literal true (expecting 'e')",
        ),
        (
            "nul!",
            "invalid character '!' in literal null (expecting 'l')",
        ),
        (
            "1.",
            "invalid character ' ' after decimal point in numeric literal",
        ),
        ("-a", "invalid character 'a' in numeric literal"),
        (
            "1e+",
            "invalid character ' ' in exponent of numeric literal",
        ),
        ("01", "invalid character '1' after top-level value"),
        ("\"\\x\"", "invalid character 'x' in string escape code"),
        (
            "\"\\u12g4\"",
            "invalid character 'g' in \\u hexadecimal character escape",
        ),
        ("\"a\nb\"", "invalid character '\\n' in string literal"),
        (
            "'a'",
            "invalid character '\\'' looking for beginning of value",
        ),
        (
            "[1,]",
            "invalid character ']' looking for beginning of value",
        ),
    ];
    for (input, msg) in table {
        assert_eq!(
            gojson::check_valid(input.as_bytes()),
            Err(msg.to_string()),
            "{input:?}"
        );
    }
    for ok in [
        "{}",
        " [ ] ",
        "1",
        "-0.5e-3",
        "\"\\u00e9\"",
        "null",
        "{\"a\":[true,false,null]}",
    ] {
        assert_eq!(gojson::check_valid(ok.as_bytes()), Ok(()), "{ok:?}");
    }
}

#[test]
fn go_value_rendering() {
    let v = json!({"b": [1, 2.5, null, true], "a": {"y": "s", "x": 1e21}, "c": 1234567.0});
    assert_eq!(
        gojson::go_v(&v),
        "map[a:map[x:1e+21 y:s] b:[1 2.5 <nil> true] c:1.234567e+06]"
    );
    assert_eq!(gojson::go_s(&json!([1, null])), "[%!s(int64=1) %!s(<nil>)]");
}

fn jp(live: &Value, ops: Value) -> Result<Value, ApiError> {
    apply_patch(
        res("ConfigMap"),
        live,
        PatchType::Json,
        ops.to_string().as_bytes(),
    )
}

#[test]
fn json_patch_follows_evanphx_v4() {
    let live = json!({"metadata": {"name": "c"}, "data": {"a": "1"}, "list": [1, 2, 3]});
    let ok = [
        (
            json!([{"op": "add", "path": "/list/-", "value": 4}]),
            "/list",
            json!([1, 2, 3, 4]),
        ),
        (
            json!([{"op": "add", "path": "/list/3", "value": 4}]),
            "/list",
            json!([1, 2, 3, 4]),
        ),
        (
            json!([{"op": "add", "path": "/list/-1", "value": 9}]),
            "/list",
            json!([1, 2, 3, 9]),
        ),
        (
            json!([{"op": "remove", "path": "/list/-1"}]),
            "/list",
            json!([1, 2]),
        ),
        (
            json!([{"op": "replace", "path": "/list/0", "value": 0}]),
            "/list",
            json!([0, 2, 3]),
        ),
        (
            json!([{"op": "replace", "path": "/data/new", "value": "x"}]),
            "/data/new",
            json!("x"),
        ),
        (
            json!([{"op": "add", "path": "/data/n"}]),
            "/data/n",
            Value::Null,
        ),
        (
            json!([{"op": "copy", "from": "/data/zz", "path": "/data/c"}]),
            "/data/c",
            Value::Null,
        ),
        (
            json!([{"op": "move", "from": "/data/a", "path": "/data/b"}]),
            "/data",
            json!({"b": "1"}),
        ),
        (
            json!([{"op": "copy", "from": "/list", "path": "/data/l"}]),
            "/data/l",
            json!([1, 2, 3]),
        ),
        (
            json!([{"op": "test", "path": "/data/zz", "value": null}]),
            "/data",
            json!({"a": "1"}),
        ),
        (
            json!([{"op": "test", "path": "/list", "value": [1, 2, 3]}]),
            "/list",
            json!([1, 2, 3]),
        ),
        (
            json!([{"op": "add", "path": "/data/a~1b~0", "value": "s"}]),
            "/data/a~1b~0",
            json!("s"),
        ),
        (json!(null), "/data", json!({"a": "1"})),
    ];
    for (ops, path, want) in ok {
        let out = jp(&live, ops.clone()).unwrap_or_else(|e| panic!("{ops}: {e}"));
        assert_eq!(out.pointer(path), Some(&want), "{ops}");
    }
    let rejected = [
        json!([{"op": "add", "path": "/list/5", "value": 4}]),
        json!([{"op": "add", "path": "/nope/x", "value": 4}]),
        json!([{"op": "add", "path": "/data/a/x", "value": 4}]),
        json!([{"op": "add", "path": "", "value": 4}]),
        json!([{"op": "remove", "path": "/data/zzz"}]),
        json!([{"op": "remove", "path": "/list/3"}]),
        json!([{"op": "replace", "path": "/list/x", "value": 1}]),
        json!([{"op": "move", "from": "/data/zz", "path": "/data/b"}]),
        json!([{"op": "test", "path": "/data/a", "value": "2"}]),
        json!([{"op": "test", "path": "/data/a"}]),
        json!([{"op": "bogus", "path": "/data/a"}]),
        json!([{"path": "/data/a"}]),
        json!([{"op": "add", "value": 1}]),
        json!([null]),
    ];
    for ops in rejected {
        let e = jp(&live, ops.clone()).expect_err("rejected");
        assert_eq!((e.code, e.reason), (422, Some("Invalid")), "{ops}");
    }
    let e = jp(&live, json!([{"op": "test", "path": "/data/zz"}])).expect_err("Go panics");
    assert_eq!((e.code, e.plain_text), (500, true));
    let many: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/data/a", "value": "1"}))
        .collect();
    let e = jp(&live, Value::Array(many)).expect_err("too many");
    assert_eq!((e.code, e.reason), (413, Some("RequestEntityTooLarge")));
    assert_eq!(e.message, "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001");
}

#[test]
fn merge_patch_follows_rfc7386_as_evanphx() {
    let live = json!({"metadata": {"name": "c"}, "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}, "s": "str"});
    let table = [
        // The live value is not an object: nulls inside the new list are pruned.
        (
            json!({"spec": {"containers": [{"name": "a", "image": null}]}}),
            "/spec/containers",
            json!([{"name": "a"}]),
        ),
        (json!({"s": {"k": null, "v": 1}}), "/s", json!({"v": 1})),
        (
            json!({"new": {"k": null, "n": {"m": null}}}),
            "/new",
            json!({"n": {}}),
        ),
        (
            json!({"new": [{"k": null}, null]}),
            "/new",
            json!([{}, null]),
        ),
        (json!({"spec": null}), "/spec", Value::Null),
        (
            json!({"spec": [ {"k": null} ]}),
            "/spec",
            json!([{"k": null}]),
        ),
    ];
    for (patch, path, want) in table {
        let out = apply_patch(
            res("Pod"),
            &live,
            PatchType::Merge,
            patch.to_string().as_bytes(),
        )
        .expect("merges");
        assert_eq!(out.pointer(path).unwrap_or(&Value::Null), &want, "{patch}");
    }
}
