//! Tests of label and field selectors against kube-apiserver's captured answers
//! (`crud/configmap.txt`, `crud/pod.txt`, …) and apimachinery's parser behaviour.

use serde_json::json;

use super::*;
use crate::resources::find;

fn labels(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn res(group: &str, plural: &str) -> &'static ResourceDef {
    find(group, "v1", plural).expect("resource must be served")
}

#[test]
fn label_selector_matching_table() {
    let cm1 = labels(json!({"app": "ref", "tier": "a"}));
    let cm2 = labels(json!({"app": "ref", "tier": "b"}));
    let none = labels(json!({"other": "x"}));
    let cases: &[(&str, [bool; 3])] = &[
        ("", [true, true, true]),
        ("tier=b", [false, true, false]),
        ("tier==b", [false, true, false]),
        ("app=ref,tier!=b", [true, false, false]),
        ("tier in (a,c)", [true, false, false]),
        ("tier notin (a)", [false, true, true]),
        ("tier", [true, true, false]),
        ("!tier", [false, false, true]),
        ("  app = ref ,  tier in ( a , b ) ", [true, true, false]),
        ("tier in (a,,c)", [true, false, false]),
        ("in in (in)", [false, false, false]),
    ];
    for (sel, want) in cases {
        let s = LabelSelector::parse(sel).expect(sel);
        let got = [
            s.matches(Some(&cm1)),
            s.matches(Some(&cm2)),
            s.matches(Some(&none)),
        ];
        assert_eq!(&got, want, "{sel:?}");
    }
    let s = LabelSelector::parse("!tier").expect("valid");
    assert!(s.matches(None));
    assert!(LabelSelector::parse("").expect("valid").is_empty());
    assert!(!LabelSelector::parse("a").expect("valid").is_empty());
}

#[test]
fn label_selector_gt_lt() {
    let l = labels(json!({"n": "5"}));
    assert!(LabelSelector::parse("n>3").expect("gt").matches(Some(&l)));
    assert!(!LabelSelector::parse("n<3").expect("lt").matches(Some(&l)));
}

#[test]
fn label_selector_errors_match_kube() {
    let name_part = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let value_err = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let cases: Vec<(&str, String)> = vec![
        // captured: crud/configmap.txt "list bad labelSelector -> 400"
        (
            "tier===x",
            "unable to parse requirement: found '=', expected: identifier".into(),
        ),
        ("a===b", "unable to parse requirement: found '=', expected: identifier".into()),
        ("a=b c", "found 'c', expected: ',' or 'end of string'".into()),
        ("a,", "found '', expected: identifier after ','".into()),
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        (
            "a in b",
            "unable to parse requirement: found 'b' expected: '('".into(),
        ),
        (
            "a in (b c)",
            "unable to parse requirement: found 'c', expected: ',' or ')'".into(),
        ),
        (
            "a b",
            "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt".into(),
        ),
        (
            "a@b=c",
            format!("unable to parse requirement: <nil>: Invalid value: \"a@b\": {name_part}"),
        ),
        (
            "a=b@c",
            format!("unable to parse requirement: values[0][a]: Invalid value: \"b@c\": {value_err}"),
        ),
        (
            "a>x",
            "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
    ];
    for (sel, want) in cases {
        let err = LabelSelector::parse(sel).expect_err(sel);
        assert_eq!(err.code, 400, "{sel}");
        assert_eq!(err.reason, Some("BadRequest"));
        assert_eq!(err.message, want, "{sel}");
    }
}

#[test]
fn label_selector_error_renders_as_captured_status() {
    let err = LabelSelector::parse("tier===x").expect_err("bad");
    assert_eq!(
        serde_json::to_string(&err.to_status()).expect("json"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"unable to parse requirement: found '=', expected: identifier","reason":"BadRequest","code":400}"#
    );
}

#[test]
fn field_selector_unsupported_fields_match_kube() {
    let cases = [
        // captured: crud/configmap.txt
        (
            res("", "configmaps"),
            "data.key=value",
            r#""data.key" is not a known field selector: only "metadata.name", "metadata.namespace""#,
        ),
        // captured: crud/pod.txt
        (
            res("", "pods"),
            "spec.containers.image=busybox",
            "field label not supported: spec.containers.image",
        ),
        (
            res("", "namespaces"),
            "metadata.namespace=x",
            "field label not supported: metadata.namespace",
        ),
        (
            res("", "secrets"),
            "data=x",
            "field label not supported: data",
        ),
        (
            res("batch", "jobs"),
            "spec.x=1",
            r#"field label "spec.x" not supported for batchv1.Job"#,
        ),
        (
            res("batch", "cronjobs"),
            "spec.suspend=true",
            r#""spec.suspend" is not a known field selector: only "metadata.name", "metadata.namespace""#,
        ),
        (
            res("", "pods"),
            "novalue",
            "invalid selector: 'novalue'; can't understand 'novalue'",
        ),
        (
            res("", "pods"),
            "a=b=c",
            "invalid field selector: unescaped character in value: 61",
        ),
        (
            res("", "pods"),
            "a=b\\x",
            "invalid field selector: invalid escape sequence: \\x",
        ),
        (
            res("", "pods"),
            "a=b\\",
            "invalid field selector: invalid escape sequence: \\",
        ),
    ];
    for (r, sel, want) in cases {
        let err = FieldSelector::parse(r, sel).expect_err(sel);
        assert_eq!((err.code, err.message.as_str()), (400, want), "{sel}");
    }
}

#[test]
fn field_selector_matching_table() {
    let pods = res("", "pods");
    let p1 = json!({"metadata": {"name": "p1", "namespace": "ref-crud"}, "spec": {"restartPolicy": "Always"}, "status": {"phase": "Pending"}});
    let p2 = json!({"metadata": {"name": "p2", "namespace": "ref-crud"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}});
    let cases = [
        ("metadata.name=p1", [true, false]),
        ("metadata.name==p1", [true, false]),
        ("status.phase=Pending", [true, false]),
        ("status.phase=Running", [false, true]),
        ("spec.nodeName=", [true, false]),
        ("spec.host=n1", [false, true]),
        ("status.phase!=Failed,metadata.name=p2", [false, true]),
        ("metadata.namespace=ref-crud", [true, true]),
        ("spec.hostNetwork=false", [true, true]),
        ("", [true, true]),
    ];
    for (sel, want) in cases {
        let s = FieldSelector::parse(pods, sel).expect(sel);
        assert_eq!([s.matches(&p1), s.matches(&p2)], want, "{sel}");
    }
    let s = FieldSelector::parse(pods, "status.phase!=Failed,metadata.name=p2").expect("valid");
    assert_eq!(s.required("metadata.name"), Some("p2"));
    assert_eq!(s.required("status.phase"), None);
}

#[test]
fn field_selector_escapes_and_kinds() {
    let cm = res("", "configmaps");
    let s = FieldSelector::parse(cm, r"metadata.name=a\,b\=c\\d").expect("escaped");
    assert_eq!(s.required("metadata.name"), Some(r"a,b=c\d"));

    let events = res("", "events");
    let ev = json!({"metadata": {"name": "e", "namespace": "ref-conv"}, "involvedObject": {"kind": "Job", "name": "x", "namespace": "ref-conv", "uid": "5ef5c6d8"}, "reason": "SuccessfulCreate", "source": {"component": "job-controller"}, "type": "Normal"});
    // captured: kubectl describe job x (kubectl-conversations/12-describe-job.txt)
    let s = FieldSelector::parse(
        events,
        "involvedObject.name=x,involvedObject.namespace=ref-conv,involvedObject.kind=Job,involvedObject.uid=5ef5c6d8",
    )
    .expect("events");
    assert!(s.matches(&ev));
    assert!(FieldSelector::parse(events, "source=job-controller")
        .expect("source")
        .matches(&ev));
    assert!(!FieldSelector::parse(events, "type=Warning")
        .expect("type")
        .matches(&ev));

    let job = json!({"metadata": {"name": "j"}, "status": {}});
    let s = FieldSelector::parse(res("batch", "jobs"), "status.successful=0").expect("job");
    assert!(s.matches(&job));
    let ns = json!({"metadata": {"name": "ref-ns1"}, "status": {"phase": "Active"}});
    let s = FieldSelector::parse(res("", "namespaces"), "status.phase=Active").expect("ns");
    assert!(s.matches(&ns));
    let secret = json!({"metadata": {"name": "s"}, "type": "Opaque"});
    let s = FieldSelector::parse(res("", "secrets"), "type=Opaque").expect("secret");
    assert!(s.matches(&secret));
}
