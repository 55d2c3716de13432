//! Tests of YAML → JSON against yaml.v2 / sigs.k8s.io/yaml behaviour (gopkg.in/yaml.v2 v2.4.0
//! `resolve.go`, `decode.go`; sigs.k8s.io/yaml `yaml.go`).

use serde_json::{json, Value};

use super::{to_json, Mode};

fn kube(src: &str) -> Value {
    match to_json(src.as_bytes(), Mode::Kube) {
        Ok(v) => v,
        Err(e) => panic!("{src:?}: {e}"),
    }
}

fn kube_err(src: &str) -> String {
    match to_json(src.as_bytes(), Mode::Kube) {
        Ok(v) => panic!("{src:?} read as {v}"),
        Err(e) => e.message,
    }
}

fn strict_err(src: &str) -> String {
    match to_json(src.as_bytes(), Mode::Strict) {
        Ok(v) => panic!("{src:?} read as {v} in strict mode"),
        Err(e) => e.message,
    }
}

/// Each plain scalar, as the value of `v:`, in both modes.
#[test]
fn plain_scalars_resolve_as_yaml_v2() {
    let table: &[(&str, Value)] = &[
        ("y", json!(true)),
        ("Y", json!(true)),
        ("yes", json!(true)),
        ("Yes", json!(true)),
        ("YES", json!(true)),
        ("true", json!(true)),
        ("True", json!(true)),
        ("TRUE", json!(true)),
        ("on", json!(true)),
        ("On", json!(true)),
        ("ON", json!(true)),
        ("n", json!(false)),
        ("N", json!(false)),
        ("no", json!(false)),
        ("No", json!(false)),
        ("NO", json!(false)),
        ("false", json!(false)),
        ("False", json!(false)),
        ("FALSE", json!(false)),
        ("off", json!(false)),
        ("Off", json!(false)),
        ("OFF", json!(false)),
        ("yEs", json!("yEs")),
        ("tRUE", json!("tRUE")),
        ("~", Value::Null),
        ("null", Value::Null),
        ("Null", Value::Null),
        ("NULL", Value::Null),
        ("", Value::Null),
        ("nULL", json!("nULL")),
        ("0", json!(0)),
        ("12", json!(12)),
        ("+12", json!(12)),
        ("-12", json!(-12)),
        ("1_000", json!(1000)),
        ("0x1F", json!(31)),
        ("0X1f", json!(31)),
        ("-0x10", json!(-16)),
        ("0777", json!(511)),
        ("0o17", json!(15)),
        ("0b101", json!(5)),
        ("-0b11", json!(-3)),
        ("08", json!(8)),
        ("9223372036854775807", json!(i64::MAX)),
        ("-9223372036854775808", json!(i64::MIN)),
        ("18446744073709551615", json!(u64::MAX)),
        ("0x", json!("0x")),
        ("1:20", json!("1:20")),
        ("_1", json!("_1")),
        ("1.5", json!(1.5)),
        ("1.0", json!(1)),
        ("-2.50", json!(-2.5)),
        (".5", json!(0.5)),
        ("1e3", json!(1000)),
        ("1.5E-3", json!(0.0015)),
        ("6.02e23", json!(6.02e23)),
        ("1e400", json!("1e400")),
        ("1.", json!(1)),
        ("+.5", json!(0.5)),
        ("inf", json!("inf")),
        ("nan", json!("nan")),
        ("0x1p3", json!("0x1p3")),
        ("2001-12-14", json!("2001-12-14")),
        ("2001-12-14T21:59:43.10Z", json!("2001-12-14T21:59:43.10Z")),
        ("<<", json!("<<")),
        ("hello world", json!("hello world")),
    ];
    for (scalar, want) in table {
        let src = format!("v: {scalar}\n");
        assert_eq!(kube(&src)["v"], *want, "{src:?}");
        let strict = to_json(src.as_bytes(), Mode::Strict);
        if *scalar != "<<" {
            assert_eq!(
                strict.map(|v| v["v"].clone()),
                Ok(want.clone()),
                "{src:?} strict"
            );
        }
    }
}

#[test]
fn security_fields_read_yaml_1_1_booleans() {
    let v = kube(
        "spec:\n  hostNetwork: yes\n  containers:\n  - securityContext:\n      privileged: on\n",
    );
    assert_eq!(v["spec"]["hostNetwork"], json!(true));
    assert_eq!(
        v["spec"]["containers"][0]["securityContext"]["privileged"],
        json!(true)
    );
    let v = kube("a: \"yes\"\nb: 'on'\nc: |\n  no\nd: \"0777\"\ne: '~'\n");
    assert_eq!(
        v,
        json!({"a": "yes", "b": "on", "c": "no\n", "d": "0777", "e": "~"})
    );
}

#[test]
fn infinities_and_nan_fail_like_json_marshal() {
    for (s, what) in [
        (".inf", "+Inf"),
        ("-.Inf", "-Inf"),
        ("+.INF", "+Inf"),
        (".nan", "NaN"),
        (".NaN", "NaN"),
    ] {
        assert_eq!(
            kube_err(&format!("v: {s}")),
            format!("json: unsupported value: {what}")
        );
        assert!(strict_err(&format!("v: {s}")).contains("unsupported value"));
    }
}

#[test]
fn explicit_tags() {
    let v = kube("a: !!str 123\nb: !!int \"42\"\nc: !!bool \"yes\"\nd: !!float 1\ne: !!null ~\nf: !!binary aGVsbG8=\ng: !custom 12\nh: !!timestamp 2001-12-14\ni: !!str\nj: !!set {x: 1}\n");
    assert_eq!(
        v,
        json!({"a": "123", "b": 42, "c": true, "d": 1, "e": null, "f": "hello", "g": "12",
               "h": "2001-12-14", "i": "", "j": {"x": 1}})
    );
    assert_eq!(kube("v: !!binary /w==\n")["v"], json!("\u{FFFD}"));
    assert_eq!(
        kube_err("v: !!int yes"),
        "yaml: cannot decode !!bool `yes` as a !!int"
    );
    assert_eq!(
        kube_err("v: !!null foo"),
        "yaml: cannot decode !!str `foo` as a !!null"
    );
    assert_eq!(
        kube_err("v: !!timestamp soon"),
        "yaml: cannot decode !!str `soon` as a !!timestamp"
    );
    assert_eq!(
        kube_err("v: !!binary a b"),
        "yaml: !!binary value contains invalid base64 data"
    );
    for src in ["a: !!str x", "a: !foo x", "a: !!map {b: 1}", "- !!int 1"] {
        assert!(strict_err(src).contains("tag"), "{src}");
    }
}

#[test]
fn non_string_keys_print_as_go_does() {
    let v = kube("1: a\ntrue: b\n1.5: c\n1.0: d\n0x10: e\n1e6: f\n0.00001: g\n3.14159265358979: h\n.inf: i\nno: j\n");
    assert_eq!(
        v,
        json!({"1": "d", "true": "b", "1.5": "c", "16": "e", "1e+06": "f", "1e-05": "g",
               "3.1415927": "h", ".inf": "i", "false": "j"})
    );
    assert_eq!(
        kube_err("~: a"),
        "unsupported map key of type: <nil>, key: <nil>, value: \"a\""
    );
    assert!(kube_err("18446744073709551615: a").starts_with("unsupported map key of type: uint64"));
    assert!(kube_err("? [a]\n: b\n").starts_with("yaml: invalid map key: []interface {}"));
    assert!(strict_err("? [a]\n: b\n").contains("not a scalar"));
}

#[test]
fn object_keys_come_out_sorted_like_json_marshal() {
    let v = kube("b: 1\na: 2\nc: 3\n");
    let keys: Vec<&String> = v
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["a", "b", "c"]);
}

#[test]
fn anchors_and_aliases() {
    let src = "base: &b {image: nginx, ports: [80]}\nc1: *b\nlist: &l [1, 2]\nc2: *l\nname: &n web\nc3: *n\n";
    let v = kube(src);
    assert_eq!(v["c1"], json!({"image": "nginx", "ports": [80]}));
    assert_eq!(v["c2"], json!([1, 2]));
    assert_eq!(v["c3"], json!("web"));
    assert!(strict_err(src).contains("anchor"));
    assert!(strict_err("a: &x 1\nb: *x").contains("anchor"));
    assert!(strict_err("a: *x").contains("unknown anchor"));
    assert_eq!(kube_err("a: *x"), "yaml: unknown anchor 'x' referenced");
    assert_eq!(
        kube_err("a: &x [*x]"),
        "yaml: anchor 'x' value contains itself"
    );
    // A redefined anchor: later aliases see the later node.
    assert_eq!(
        kube("a: &x 1\nb: *x\nc: &x 2\nd: *x\n"),
        json!({"a": 1, "b": 1, "c": 2, "d": 2})
    );
}

#[test]
fn merge_keys_apply_in_yaml_v2_order() {
    let v = kube("d: &d {a: 1, b: 2}\ne: &e {b: 3, c: 4}\nm:\n  <<: [*d, *e]\n  c: 5\n");
    assert_eq!(v["m"], json!({"a": 1, "b": 2, "c": 5}));
    // yaml.v2 lets a merge overwrite the keys written before it.
    assert_eq!(
        kube("d: &d {a: 1}\nm: {a: 0, <<: *d}\n")["m"],
        json!({"a": 1})
    );
    // (`y` is a YAML 1.1 boolean, so this key is "true".)
    assert_eq!(
        kube("m: {<<: {x: 1}, y: 2}\n")["m"],
        json!({"x": 1, "true": 2})
    );
    assert_eq!(kube("m: {\"<<\": 1}\n")["m"], json!({"<<": 1}));
    assert_eq!(kube("m: {!!merge <<: {x: 1}}\n")["m"], json!({"x": 1}));
    assert_eq!(
        kube_err("m: {<<: 1}"),
        "yaml: map merge requires map or sequence of maps as the value"
    );
    assert!(strict_err("m: {<<: {x: 1}}").contains("merge key"));
    assert_eq!(
        to_json(b"m: {\"<<\": 1}", Mode::Strict),
        Ok(json!({"m": {"<<": 1}}))
    );
}

#[test]
fn duplicate_keys() {
    assert_eq!(kube("a: 1\na: 2\n"), json!({"a": 2}));
    assert!(strict_err("a: 1\nb: 0\na: 2\n").contains("line 3"));
    assert!(strict_err("1: a\n\"1\": b\n").contains("collides"));
    assert!(strict_err("1: a\n1.0: b\n").contains("collides"));
    assert!(strict_err("true: a\n\"true\": b\n").contains("collides"));
    assert!(strict_err("yes: a\ntrue: b\n").contains("already set"));
}

#[test]
fn documents() {
    assert_eq!(kube("a: 1\n---\nb: 2\n"), json!({"a": 1}));
    assert_eq!(kube("---\na: 1\n...\n"), json!({"a": 1}));
    assert_eq!(kube(""), Value::Null);
    assert_eq!(kube("# only a comment\n"), Value::Null);
    assert_eq!(kube("---\n"), Value::Null);
    assert!(strict_err("a: 1\n---\nb: 2\n").contains("more than one YAML document"));
    assert!(strict_err("a: 1\n---\n").contains("more than one"));
    for src in ["", "  \n", "~", "null", "---\n", "# c\n"] {
        assert_eq!(strict_err(src), "the request body is empty", "{src:?}");
    }
    assert_eq!(
        to_json(b"---\na: 1\n...\n", Mode::Strict),
        Ok(json!({"a": 1}))
    );
}

#[test]
fn syntax_errors_read_like_yaml_v2() {
    assert_eq!(
        kube_err("a: b: c"),
        "yaml: line 1: mapping values are not allowed in this context"
    );
    assert_eq!(
        kube_err("a:\n  b: 1\n c: 2\n"),
        "yaml: line 2: did not find expected key"
    );
    assert!(kube_err("a: [1, 2").starts_with("yaml: "));
    assert_eq!(
        to_json(b"a: \xff", Mode::Kube).map_err(|e| e.message),
        Err("yaml: invalid leading UTF-8 octet".to_string())
    );
}

#[test]
fn alias_bombs_fail_cleanly() {
    let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        src.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    assert_eq!(kube_err(&src), "yaml: document contains excessive aliasing");
    assert!(strict_err(&src).contains("anchor"));
    // Modest reuse is fine.
    assert_eq!(
        kube("a: &a [1, 2]\nb: [*a, *a, *a]\n")["b"],
        json!([[1, 2], [1, 2], [1, 2]])
    );
}

#[test]
fn deep_nesting_is_bounded() {
    let ok = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    assert!(to_json(ok.as_bytes(), Mode::Strict).is_ok());
    let deep = format!(
        "{}1{}",
        "[".repeat(super::MAX_DEPTH + 1),
        "]".repeat(super::MAX_DEPTH + 1)
    );
    let msg = kube_err(&deep);
    assert!(
        msg.contains("nests deeper") || msg.contains("recursion limit"),
        "{msg}"
    );
    let hostile = "[".repeat(200_000);
    assert!(to_json(hostile.as_bytes(), Mode::Kube).is_err());
    // Aliases re-nest: depth counts after expansion.
    let nest = |inner: &str| format!("{}{inner}{}", "[".repeat(100), "]".repeat(100));
    let mut src = format!("a0: &a0 {}\n", nest("1"));
    for i in 1..=3 {
        src.push_str(&format!("a{i}: &a{i} {}\n", nest(&format!("*a{}", i - 1))));
    }
    assert!(kube_err(&src).contains("nests deeper"));
}

const POD_YAML: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: user-alice
  labels:
    app: web
    tier: "1"
  annotations:
    note: >-
      folded
      text
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 30
  containers:
  - name: web
    image: nginx:1.25
    command: ["sh", "-c", "echo hi && sleep 10"]
    ports:
    - containerPort: 8080
      protocol: TCP
    resources:
      limits: {cpu: 500m, memory: 128Mi}
    env:
    - name: DEBUG
      value: "false"
    - name: EMPTY
      value: ""
    securityContext:
      runAsNonRoot: true
      runAsUser: 1000
  tolerations: []
"#;

#[test]
fn pod_manifest_equals_its_json() {
    let want = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "user-alice",
                     "labels": {"app": "web", "tier": "1"}, "annotations": {"note": "folded text"}},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
                 "containers": [{"name": "web", "image": "nginx:1.25",
                                 "command": ["sh", "-c", "echo hi && sleep 10"],
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                                 "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                                 "env": [{"name": "DEBUG", "value": "false"}, {"name": "EMPTY", "value": ""}],
                                 "securityContext": {"runAsNonRoot": true, "runAsUser": 1000}}],
                 "tolerations": []}
    });
    assert_eq!(to_json(POD_YAML.as_bytes(), Mode::Kube), Ok(want.clone()));
    assert_eq!(to_json(POD_YAML.as_bytes(), Mode::Strict), Ok(want.clone()));
    // JSON is YAML: the JSON text of the same manifest reads the same.
    let text = want.to_string();
    assert_eq!(to_json(text.as_bytes(), Mode::Strict), Ok(want));
}
