//! Tests of the Table conversion against the bodies kube-apiserver v1.28.7 sent
//! (`testdata/*.json` are the captured bodies of `../shared/k8s-reference/table/*`, re-encoded
//! compactly; their sizes equal the captured Content-Length/chunk sizes, so they are the wire bytes).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::*;
use crate::encode::go_json;
use crate::resources::{find, ResourceDef};

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture must be JSON")
}

fn at(ts: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(ts)
        .expect("test timestamp must parse")
        .with_timezone(&Utc)
}

fn res(group: &str, version: &str, plural: &str) -> &'static ResourceDef {
    find(group, version, plural).expect("resource must be served")
}

fn wire(v: &Value) -> String {
    String::from_utf8(go_json(v, false)).expect("go_json must be UTF-8")
}

/// Stored objects rebuilt from a captured Table: each row's metadata plus `body(name)`
/// (spec/status), which is all the printers read besides metadata.
fn objects_like(
    expected: &Value,
    kind: &str,
    api_version: &str,
    body: impl Fn(&str) -> Value,
) -> Vec<Value> {
    let rows = expected["rows"].as_array().expect("captured rows");
    rows.iter()
        .map(|row| {
            let meta = row["object"]["metadata"].clone();
            let name = meta["name"].as_str().expect("captured name").to_string();
            let mut obj = json!({"kind": kind, "apiVersion": api_version, "metadata": meta});
            if let (Some(o), Value::Object(extra)) = (obj.as_object_mut(), body(&name)) {
                o.extend(extra);
            }
            obj
        })
        .collect()
}

/// The full pods of the `includeObject=Object` capture (pi-l42zn, web), as the store holds them.
fn captured_pods() -> Vec<Value> {
    let t = fixture(include_str!("testdata/pods-object.json"));
    let rows = t["rows"].as_array().expect("captured rows");
    rows.iter().map(|r| r["object"].clone()).collect()
}

fn rv(v: &str) -> Value {
    json!({ "resourceVersion": v })
}

// ---- captured Tables, byte for byte ---------------------------------------------------------

#[test]
fn pod_list_tables_match_capture_for_each_include_object() {
    let pods = res("", "v1", "pods");
    let cases = [
        (
            include_str!("testdata/pods-list.json"),
            IncludeObject::Metadata,
            "2026-11-25T21:20:32Z",
            "1510",
        ),
        (
            include_str!("testdata/pods-none.json"),
            IncludeObject::None,
            "2026-11-25T21:20:38Z",
            "1511",
        ),
        (
            include_str!("testdata/pods-object.json"),
            IncludeObject::Object,
            "2026-11-25T21:20:38Z",
            "1511",
        ),
    ];
    for (expected, include, now, list_rv) in cases {
        let got = list_table(pods, &captured_pods(), rv(list_rv), include, "v1", at(now));
        assert_eq!(wire(&got), expected, "{include:?}");
    }
}

#[test]
fn pod_list_with_limit_carries_continue_and_remaining_count() {
    let expected = include_str!("testdata/pods-limit1.json");
    let meta = json!({
        "resourceVersion": "1511",
        "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTUxMSwic3RhcnQiOiJwaS1sNDJ6blx1MDAwMCJ9",
        "remainingItemCount": 1,
    });
    let first = &captured_pods()[..1];
    let got = list_table(
        res("", "v1", "pods"),
        first,
        meta,
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:37Z"),
    );
    assert_eq!(wire(&got), expected);
    assert_eq!(go_json(&got, false).len(), 4695, "captured chunk size");
}

#[test]
fn empty_pod_list_keeps_columns_and_empty_rows() {
    let got = list_table(
        res("", "v1", "pods"),
        &[],
        rv("1511"),
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:39Z"),
    );
    assert_eq!(wire(&got), include_str!("testdata/pods-empty.json"));
    assert!(wire(&got).ends_with("\"priority\":1}],\"rows\":[]}\n"));
}

#[test]
fn single_pod_table_uses_the_object_resource_version() {
    let web = &captured_pods()[1];
    let got = object_table(
        res("", "v1", "pods"),
        web,
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:35Z"),
    );
    assert_eq!(wire(&got), include_str!("testdata/pod-get.json"));
}

fn job_body(_: &str) -> Value {
    json!({
        "spec": {
            "parallelism": 1,
            "completions": 3,
            "backoffLimit": 6,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "277fd809-41ae-4df1-9b14-5f2c9b9ccc31"}},
            "template": {
                "metadata": {"creationTimestamp": null},
                "spec": {"containers": [{"name": "pi", "image": "perl:5.34", "command": ["perl", "-e", "1"]}], "restartPolicy": "Never"}
            },
            "completionMode": "NonIndexed",
            "suspend": false
        },
        "status": {"startTime": "2026-11-25T21:20:30Z", "active": 1, "uncountedTerminatedPods": {}, "ready": 0}
    })
}

#[test]
fn job_tables_match_capture() {
    let jobs = res("batch", "v1", "jobs");
    let expected = include_str!("testdata/jobs-list.json");
    let objs = objects_like(&fixture(expected), "Job", "batch/v1", job_body);
    let got = list_table(
        jobs,
        &objs,
        rv("1510"),
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:33Z"),
    );
    assert_eq!(wire(&got), expected);

    let got = object_table(
        jobs,
        &objs[0],
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:39Z"),
    );
    assert_eq!(wire(&got), include_str!("testdata/job-get.json"));
}

#[test]
fn cronjob_table_matches_capture_with_string_suspend_and_numeric_active() {
    let expected = include_str!("testdata/cronjobs-list.json");
    let objs = objects_like(&fixture(expected), "CronJob", "batch/v1", |_| {
        json!({
            "spec": {
                "schedule": "0 3 * * *",
                "concurrencyPolicy": "Allow",
                "suspend": false,
                "jobTemplate": {"metadata": {"creationTimestamp": null}, "spec": {"template": {
                    "metadata": {"creationTimestamp": null},
                    "spec": {"containers": [{"name": "m", "image": "busybox"}], "restartPolicy": "OnFailure"}
                }}},
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1
            },
            "status": {}
        })
    });
    let got = list_table(
        res("batch", "v1", "cronjobs"),
        &objs,
        rv("1510"),
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:33Z"),
    );
    assert_eq!(wire(&got), expected);
    assert!(wire(&got).contains(r#""cells":["nightly","0 3 * * *","False",0,"\u003cnone\u003e","3s","m","busybox","\u003cnone\u003e"]"#));
}

fn configmap_body(name: &str) -> Value {
    match name {
        "kube-root-ca.crt" => json!({"data": {"ca.crt": "-----BEGIN CERTIFICATE-----\n"}}),
        _ => json!({"data": {"color": "blue", "size": "L"}}),
    }
}

#[test]
fn configmap_tables_match_capture_in_v1_and_v1beta1() {
    let cms = res("", "v1", "configmaps");
    for (expected, version, now, list_rv) in [
        (
            include_str!("testdata/configmaps-list.json"),
            "v1",
            "2026-11-25T21:20:33Z",
            "1510",
        ),
        (
            include_str!("testdata/configmaps-v1beta1.json"),
            "v1beta1",
            "2026-11-25T21:20:39Z",
            "1511",
        ),
    ] {
        let objs = objects_like(&fixture(expected), "ConfigMap", "v1", configmap_body);
        let got = list_table(
            cms,
            &objs,
            rv(list_rv),
            IncludeObject::Metadata,
            version,
            at(now),
        );
        assert_eq!(wire(&got), expected, "{version}");
    }
}

#[test]
fn event_table_matches_capture_with_numeric_count() {
    let expected = include_str!("testdata/events-list.json");
    let objs = objects_like(&fixture(expected), "Event", "v1", |_| {
        json!({
            "involvedObject": {"kind": "Job", "namespace": "ref-table", "name": "pi", "uid": "277fd809-41ae-4df1-9b14-5f2c9b9ccc31", "apiVersion": "batch/v1", "resourceVersion": "1504"},
            "reason": "SuccessfulCreate",
            "message": "Created pod: pi-l42zn",
            "source": {"component": "job-controller"},
            "firstTimestamp": "2026-11-25T21:20:30Z",
            "lastTimestamp": "2026-11-25T21:20:30Z",
            "count": 1,
            "type": "Normal",
            "eventTime": null,
            "reportingComponent": "job-controller",
            "reportingInstance": ""
        })
    });
    let got = list_table(
        res("", "v1", "events"),
        &objs,
        rv("1510"),
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:34Z"),
    );
    assert_eq!(wire(&got), expected);
}

#[test]
fn secret_table_matches_capture() {
    let expected = include_str!("testdata/secrets-list.json");
    let objs = objects_like(
        &fixture(expected),
        "Secret",
        "v1",
        |_| json!({"data": {"password": "czNjcjN0", "username": "YWRtaW4="}, "type": "Opaque"}),
    );
    let got = list_table(
        res("", "v1", "secrets"),
        &objs,
        rv("1510"),
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:34Z"),
    );
    assert_eq!(wire(&got), expected);
}

fn namespace_body(_: &str) -> Value {
    json!({"spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

#[test]
fn namespace_tables_match_capture() {
    let nss = res("", "v1", "namespaces");
    let expected = include_str!("testdata/namespace-get.json");
    let ns = &objects_like(&fixture(expected), "Namespace", "v1", namespace_body)[0];
    let got = object_table(
        nss,
        ns,
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:36Z"),
    );
    assert_eq!(wire(&got), expected);

    // Ages in minutes ("46m", "29m") and a continue token with remainingItemCount.
    let expected = include_str!("testdata/namespaces-limit2.json");
    let objs = objects_like(&fixture(expected), "Namespace", "v1", namespace_body);
    let meta = json!({
        "resourceVersion": "1511",
        "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTUxMSwic3RhcnQiOiJrYmF0Y2gtYWNjZXB0YW5jZVx1MDAwMCJ9",
        "remainingItemCount": 16,
    });
    let got = list_table(
        nss,
        &objs,
        meta,
        IncludeObject::Metadata,
        "v1",
        at("2026-11-25T21:20:39Z"),
    );
    assert_eq!(wire(&got), expected);
}

// ---- watch events ---------------------------------------------------------------------------

fn watch_line(kind: &str, table: Value) -> String {
    wire(&json!({"type": kind, "object": table}))
}

#[test]
fn watch_events_match_capture_columns_only_on_the_first() {
    let pods = res("", "v1", "pods");
    let web = &captured_pods()[1];
    let pod_from = |line: &str, template: &Value| {
        let mut pod = template.clone();
        pod["metadata"] = fixture(line)["object"]["rows"][0]["object"]["metadata"].clone();
        pod
    };
    let temp_template = json!({
        "kind": "Pod", "apiVersion": "v1", "metadata": {},
        "spec": {"containers": [{"name": "m", "image": "busybox"}]},
        "status": {"phase": "Pending", "qosClass": "BestEffort"}
    });
    let cases = [
        (
            include_str!("testdata/watch-2-0.json"),
            "MODIFIED",
            web,
            true,
            "2026-11-25T21:20:41Z",
        ),
        (
            include_str!("testdata/watch-2-1.json"),
            "ADDED",
            &temp_template,
            false,
            "2026-11-25T21:20:42Z",
        ),
        (
            include_str!("testdata/watch-2-2.json"),
            "MODIFIED",
            &temp_template,
            false,
            "2026-11-25T21:20:42Z",
        ),
        (
            include_str!("testdata/watch-2-3.json"),
            "DELETED",
            &temp_template,
            false,
            "2026-11-25T21:20:42Z",
        ),
    ];
    for (line, kind, template, first, now) in cases {
        let pod = pod_from(line, template);
        let table = watch_event_table(pods, &pod, IncludeObject::Metadata, "v1", first, at(now));
        assert_eq!(watch_line(kind, table), line, "{kind} at {now}");
    }
    assert!(include_str!("testdata/watch-2-2.json").contains(r#""Terminating""#));
}

// ---- negotiation and query ------------------------------------------------------------------

#[test]
fn table_version_follows_accept_negotiation() {
    let kubectl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let cases: &[(Option<&str>, Option<&str>)] = &[
        (Some(kubectl), Some("v1")),
        (Some("application/json;as=Table;v=v1beta1;g=meta.k8s.io"), Some("v1beta1")),
        (Some("application/json"), None),
        (None, None),
        (Some("*/*"), None),
        (Some("application/json, application/json;as=Table;v=v1;g=meta.k8s.io"), None),
        // A Table in protobuf or an unknown Table version is skipped, not fatal.
        (Some("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io"), Some("v1")),
        (Some("application/json;as=Table;v=v2;g=meta.k8s.io,application/json"), None),
        (Some("text/html,application/json;as=Table;v=v1;g=meta.k8s.io"), Some("v1")),
        (Some("application/json;q=0.5,application/json;as=Table;v=v1;g=meta.k8s.io"), Some("v1")),
        (Some("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json"), None),
        (Some("application/json; as=Table; v=v1; g=meta.k8s.io"), Some("v1")),
        (Some("application/*;as=Table;v=v1;g=meta.k8s.io"), Some("v1")),
        (Some("application/json;as=Table;v=v1"), None),
    ];
    for (accept, want) in cases {
        assert_eq!(table_version(*accept), *want, "{accept:?}");
    }
}

#[test]
fn include_object_parses_the_query_and_rejects_unknown_values() {
    assert_eq!(IncludeObject::from_query(None), Ok(IncludeObject::Metadata));
    assert_eq!(
        IncludeObject::from_query(Some("")),
        Ok(IncludeObject::Metadata)
    );
    assert_eq!(
        IncludeObject::from_query(Some("Metadata")),
        Ok(IncludeObject::Metadata)
    );
    assert_eq!(
        IncludeObject::from_query(Some("None")),
        Ok(IncludeObject::None)
    );
    assert_eq!(
        IncludeObject::from_query(Some("Object")),
        Ok(IncludeObject::Object)
    );
    let err = IncludeObject::from_query(Some("object")).expect_err("case matters");
    assert_eq!(err.code, 400);
    assert_eq!(err.message, r#"unrecognized includeObject value: "object""#);
}

// ---- HumanDuration --------------------------------------------------------------------------

#[test]
fn human_duration_follows_apimachinery() {
    let s = Duration::seconds;
    let h = Duration::hours;
    let cases = [
        (Duration::milliseconds(-2500), "<invalid>"),
        (s(-2), "<invalid>"),
        (Duration::milliseconds(-1900), "0s"),
        (s(-1), "0s"),
        (s(0), "0s"),
        (Duration::milliseconds(1999), "1s"),
        (s(3), "3s"),
        (s(70), "70s"),
        (s(119), "119s"),
        (s(120), "2m"),
        (s(125), "2m5s"),
        (s(190), "3m10s"),
        (s(599), "9m59s"),
        (s(600), "10m"),
        (Duration::minutes(70), "70m"),
        (Duration::minutes(179), "179m"),
        (Duration::minutes(180), "3h"),
        (Duration::minutes(210), "3h30m"),
        (h(5), "5h"),
        (h(8), "8h"),
        (h(47), "47h"),
        (h(48), "2d"),
        (h(49), "2d1h"),
        (h(72), "3d"),
        (h(8 * 24 + 2), "8d"),
        (h(367 * 24), "367d"),
        (h(365 * 2 * 24 + 25), "2y1d"),
        (h(365 * 3 * 24), "3y"),
        (h(365 * 8 * 24 + 2), "8y"),
        (h(365 * 20 * 24), "20y"),
        (Duration::days(365 * 400), "292y"),
    ];
    for (d, want) in cases {
        assert_eq!(human_duration(d), want, "{d:?}");
    }
}

// ---- printers not in the captures -----------------------------------------------------------

fn cells_of(group: &str, version: &str, plural: &str, obj: Value, now: &str) -> Value {
    let t = object_table(
        res(group, version, plural),
        &obj,
        IncludeObject::None,
        "v1",
        at(now),
    );
    t["rows"][0]["cells"].clone()
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "ns", "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z"})
}

#[test]
fn pod_status_column_follows_kube_reason_logic() {
    let now = "2026-01-01T01:00:00Z";
    let running = json!({"ready": true, "restartCount": 0, "state": {"running": {"startedAt": "2026-01-01T00:00:05Z"}}});
    let crash = json!({"ready": false, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T00:55:00Z"}}});
    let done = json!({"ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}});
    let killed = json!({"ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 137, "signal": 9}}});
    let two = json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]);
    let cases = [
        (
            json!({"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [running, running]}),
            ["2/2", "Running", "0", "10.0.0.5"],
        ),
        (
            json!({"phase": "Running", "podIPs": [{"ip": "10.0.0.6"}], "containerStatuses": [running, crash]}),
            ["1/2", "CrashLoopBackOff", "3 (5m ago)", "10.0.0.6"],
        ),
        (
            json!({"phase": "Succeeded", "containerStatuses": [done, done]}),
            ["0/2", "Completed", "0", "<none>"],
        ),
        (
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}], "containerStatuses": [running, done]}),
            ["1/2", "NotReady", "0", "<none>"],
        ),
        (
            json!({"phase": "Failed", "containerStatuses": [killed, killed]}),
            ["0/2", "Signal:9", "0", "<none>"],
        ),
        (
            json!({"phase": "Pending", "reason": "Evicted"}),
            ["0/2", "Evicted", "0", "<none>"],
        ),
        (
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
            ["0/2", "SchedulingGated", "0", "<none>"],
        ),
    ];
    for (status, [ready, reason, restarts, ip]) in cases {
        let pod = json!({"metadata": meta("p"), "spec": {"containers": two, "nodeName": "n1"}, "status": status});
        let got = cells_of("", "v1", "pods", pod, now);
        assert_eq!(
            got,
            json!(["p", ready, reason, restarts, "60m", ip, "n1", "<none>", "<none>"]),
            "{status}"
        );
    }
}

#[test]
fn pod_init_containers_terminating_and_completion_conditions() {
    let now = "2026-01-01T00:00:30Z";
    let init = json!([{"name": "i1", "image": "x"}, {"name": "i2", "image": "x"}]);
    let one = json!([{"name": "c", "image": "x"}]);
    let cases = [
        (
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "restartCount": 0, "state": {"running": {}}}]}),
            "Init:0/2",
        ),
        (
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0}}},
            {"name": "i2", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}),
            "Init:ImagePullBackOff",
        ),
        (
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]}),
            "Init:ExitCode:2",
        ),
        (
            json!({"phase": "Pending", "initContainerStatuses": [{"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}),
            "Init:Error",
        ),
    ];
    for (status, reason) in cases {
        let pod = json!({"metadata": meta("p"), "spec": {"initContainers": init, "containers": one}, "status": status});
        assert_eq!(cells_of("", "v1", "pods", pod, now)[2], json!(reason));
    }

    let mut m = meta("p");
    m["deletionTimestamp"] = json!("2026-01-01T00:00:20Z");
    let pod = json!({"metadata": m, "spec": {"containers": one}, "status": {"phase": "Running"}});
    assert_eq!(
        cells_of("", "v1", "pods", pod, now)[2],
        json!("Terminating")
    );

    let pod = json!({"metadata": meta("p"), "spec": {"containers": one}, "status": {"phase": "Succeeded"}});
    let t = list_table(
        res("", "v1", "pods"),
        &[pod],
        rv("9"),
        IncludeObject::None,
        "v1",
        at(now),
    );
    assert_eq!(
        wire(&t["rows"][0]),
        r#"{"cells":["p","0/1","Succeeded","0","30s","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e","\u003cnone\u003e"],"conditions":[{"type":"Completed","status":"True","reason":"Succeeded","message":"The pod has completed successfully."}],"object":null}"#.to_owned() + "\n"
    );
}

#[test]
fn job_completions_and_duration_variants() {
    let now = "2026-01-01T00:10:00Z";
    let containers = json!([{"name": "a", "image": "x:1"}, {"name": "b", "image": "y"}]);
    let cases = [
        (
            json!({"completions": 2}),
            json!({"succeeded": 2, "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:02:05Z"}),
            "2/2",
            "2m5s",
        ),
        (
            json!({"parallelism": 3}),
            json!({"startTime": "2026-01-01T00:05:00Z"}),
            "0/1 of 3",
            "5m",
        ),
        (json!({"parallelism": 1}), json!({}), "0/1", ""),
    ];
    for (spec_extra, status, completions, duration) in cases {
        let mut spec = json!({"template": {"spec": {"containers": containers}}, "selector": {"matchLabels": {"b": "2", "a": "1"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}});
        if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
            s.extend(extra.clone());
        }
        let job = json!({"metadata": meta("j"), "spec": spec, "status": status});
        let got = cells_of("batch", "v1", "jobs", job, now);
        assert_eq!(
            got,
            json!([
                "j",
                completions,
                duration,
                "10m",
                "a,b",
                "x:1,y",
                "a=1,b=2,env in (dev,prod)"
            ])
        );
    }
}

#[test]
fn cronjob_suspend_active_and_last_schedule() {
    let cj = json!({
        "metadata": meta("c"),
        "spec": {"schedule": "*/5 * * * *", "suspend": true, "jobTemplate": {"spec": {
            "selector": {"matchExpressions": [{"key": "x", "operator": "Exists"}, {"key": "a", "operator": "DoesNotExist"}]},
            "template": {"spec": {"containers": [{"name": "m", "image": "busybox"}]}}}}},
        "status": {"active": [{"name": "c-1"}, {"name": "c-2"}], "lastScheduleTime": "2026-01-03T00:00:00Z"}
    });
    let got = cells_of("batch", "v1", "cronjobs", cj, "2026-01-03T00:04:00Z");
    assert_eq!(
        got,
        json!([
            "c",
            "*/5 * * * *",
            "True",
            2,
            "4m",
            "2d",
            "m",
            "busybox",
            "!a,x"
        ])
    );
}

#[test]
fn service_cells_for_each_type() {
    let now = "2026-01-01T00:00:42Z";
    let cases = [
        (
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}], "selector": {"k8s-app": "dns", "a": "b"}}),
            json!({}),
            [
                "ClusterIP",
                "10.96.0.10",
                "<none>",
                "53/UDP,53/TCP",
                "a=b,k8s-app=dns",
            ],
        ),
        (
            json!({"type": "NodePort", "clusterIP": "10.96.0.11", "externalIPs": ["1.2.3.4"], "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
            json!({}),
            [
                "NodePort",
                "10.96.0.11",
                "1.2.3.4",
                "80:30080/TCP",
                "<none>",
            ],
        ),
        (
            json!({"type": "LoadBalancer", "clusterIP": "None", "ports": []}),
            json!({"loadBalancer": {}}),
            ["LoadBalancer", "None", "<pending>", "<none>", "<none>"],
        ),
        (
            json!({"type": "LoadBalancer", "clusterIPs": ["10.0.0.1"], "externalIPs": ["9.9.9.9"]}),
            json!({"loadBalancer": {"ingress": [{"ip": "5.5.5.5"}, {"hostname": "lb.example"}]}}),
            [
                "LoadBalancer",
                "10.0.0.1",
                "5.5.5.5,lb.example,9.9.9.9",
                "<none>",
                "<none>",
            ],
        ),
        (
            json!({"type": "ExternalName", "externalName": "db.example"}),
            json!({}),
            ["ExternalName", "<none>", "db.example", "<none>", "<none>"],
        ),
    ];
    for (spec, status, [kind, ip, external, ports, selector]) in cases {
        let svc = json!({"metadata": meta("s"), "spec": spec, "status": status});
        let got = cells_of("", "v1", "services", svc, now);
        assert_eq!(
            got,
            json!(["s", kind, ip, external, ports, "42s", selector])
        );
    }
}

#[test]
fn deployment_serviceaccount_and_their_columns() {
    let d = json!({
        "metadata": meta("web"),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
        "status": {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}
    });
    let now = "2026-01-01T05:00:00Z";
    assert_eq!(
        cells_of("apps", "v1", "deployments", d, now),
        json!(["web", "2/3", 3, 2, "5h", "nginx", "nginx:1.25", "app=web"])
    );
    let t = object_table(
        res("apps", "v1", "deployments"),
        &json!({"metadata": meta("x")}),
        IncludeObject::None,
        "v1",
        at(now),
    );
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    assert_eq!(
        t["rows"][0]["cells"],
        json!(["x", "0/1", 0, 0, "5h", "", "", ""])
    );

    let sa = json!({"metadata": meta("default"), "secrets": [{"name": "t"}]});
    assert_eq!(
        cells_of("", "v1", "serviceaccounts", sa, "2026-01-04T00:00:00Z"),
        json!(["default", 1, "3d"])
    );
}

#[test]
fn event_series_and_source_fallbacks() {
    let ev = json!({
        "metadata": meta("e.1"),
        "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
        "reason": "BackOff", "message": "  Back-off restarting  \n", "type": "Warning",
        "eventTime": "2026-01-01T00:00:00.500000Z",
        "series": {"count": 7, "lastObservedTime": "2026-01-01T00:01:00.000000Z"},
        "reportingComponent": "kubelet", "reportingInstance": "node-1"
    });
    let got = cells_of("", "v1", "events", ev, "2026-01-01T00:02:00Z");
    assert_eq!(
        got,
        json!([
            "60s",
            "Warning",
            "BackOff",
            "pod/p",
            "spec.containers{c}",
            "kubelet, node-1",
            "Back-off restarting",
            "119s",
            7,
            "e.1"
        ])
    );

    let ev = json!({"metadata": meta("e.2"), "involvedObject": {"kind": "Node"}, "source": {"component": "c", "host": "h"}, "firstTimestamp": "2026-01-01T00:00:00Z"});
    let got = cells_of("", "v1", "events", ev, "2026-01-01T00:00:09Z");
    assert_eq!(
        got,
        json!(["9s", "", "", "node", "", "c, h", "", "9s", 1, "e.2"])
    );
}

#[test]
fn node_status_roles_and_wide_cells_follow_print_node() {
    let now = "2026-01-03T00:00:00Z";
    let ready = |s: &str| json!({"type": "Ready", "status": s});
    let pressure = json!({"type": "MemoryPressure", "status": "False"});
    let info = json!({"kubeletVersion": "v1.28.7", "osImage": "Debian GNU/Linux 12 (bookworm)",
        "kernelVersion": "6.1.0-28-amd64", "containerRuntimeVersion": "containerd://1.7.18"});
    let addresses = json!([{"type": "Hostname", "address": "n"}, {"type": "InternalIP", "address": "172.18.0.2"},
        {"type": "ExternalIP", "address": "203.0.113.7"}, {"type": "InternalIP", "address": "10.0.0.9"}]);
    // (labels, spec, conditions, STATUS, ROLES)
    let cases = [
        (
            json!({}),
            json!({}),
            json!([pressure, ready("True")]),
            "Ready",
            "<none>",
        ),
        (
            json!({}),
            json!({"unschedulable": true}),
            json!([ready("True")]),
            "Ready,SchedulingDisabled",
            "<none>",
        ),
        (
            json!({}),
            json!({}),
            json!([ready("False")]),
            "NotReady",
            "<none>",
        ),
        (
            json!({}),
            json!({}),
            json!([ready("Unknown")]),
            "NotReady",
            "<none>",
        ),
        (
            json!({}),
            json!({"unschedulable": true}),
            json!([pressure]),
            "Unknown,SchedulingDisabled",
            "<none>",
        ),
        // kube maps conditions by type: the last Ready one counts.
        (
            json!({}),
            json!({}),
            json!([ready("False"), ready("True")]),
            "Ready",
            "<none>",
        ),
        (
            json!({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
                "node-role.kubernetes.io/": "x", "kubernetes.io/role": "gpu"}),
            json!({}),
            json!([ready("True")]),
            "Ready",
            "control-plane,gpu,worker",
        ),
        (
            json!({"kubernetes.io/role": "", "node-role.kubernetes.io/infra": "true"}),
            json!({}),
            json!([]),
            "Unknown",
            "infra",
        ),
    ];
    for (labels, spec, conditions, status, roles) in cases {
        let mut m = meta("n");
        m["labels"] = labels;
        let node = json!({"metadata": m, "spec": spec,
            "status": {"conditions": conditions, "addresses": addresses, "nodeInfo": info}});
        assert_eq!(
            cells_of("", "v1", "nodes", node, now),
            json!([
                "n",
                status,
                roles,
                "2d",
                "v1.28.7",
                "172.18.0.2",
                "203.0.113.7",
                "Debian GNU/Linux 12 (bookworm)",
                "6.1.0-28-amd64",
                "containerd://1.7.18"
            ]),
            "{status} {roles}"
        );
    }
    let bare = json!({"metadata": meta("bare")});
    assert_eq!(
        cells_of("", "v1", "nodes", bare, now),
        json!([
            "bare",
            "Unknown",
            "<none>",
            "2d",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ])
    );
    let t = object_table(
        res("", "v1", "nodes"),
        &json!({"metadata": meta("n")}),
        IncludeObject::None,
        "v1",
        at(now),
    );
    let cols: Vec<(&str, i64)> = t["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["name"].as_str()?, c["priority"].as_i64()?)))
        .collect();
    assert_eq!(
        cols,
        [
            ("Name", 0),
            ("Status", 0),
            ("Roles", 0),
            ("Age", 0),
            ("Version", 0),
            ("Internal-IP", 1),
            ("External-IP", 1),
            ("OS-Image", 1),
            ("Kernel-Version", 1),
            ("Container-Runtime", 1),
        ]
    );
}

#[test]
fn kinds_without_printer_get_the_default_table() {
    let reviews = crate::resources::RESOURCES
        .iter()
        .find(|r| cells::Printer::for_resource(r).is_none())
        .expect("some resource has no printer");
    let obj = json!({"metadata": {"name": "x", "resourceVersion": "3", "creationTimestamp": "2026-02-03T04:05:06Z"}});
    let t = object_table(
        reviews,
        &obj,
        IncludeObject::None,
        "v1",
        at("2026-02-03T04:05:09Z"),
    );
    let cols: Vec<(&str, &str)> = t["columnDefinitions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["name"].as_str()?, c["type"].as_str()?)))
        .collect();
    assert_eq!(cols, [("Name", "string"), ("Created At", "date")]);
    assert_eq!(t["rows"][0]["cells"], json!(["x", "2026-02-03T04:05:06Z"]));
    // The default convertor leaves rows nil for an empty list.
    let empty = list_table(
        reviews,
        &[],
        rv("3"),
        IncludeObject::Metadata,
        "v1",
        at("2026-02-03T04:05:09Z"),
    );
    assert_eq!(empty["rows"], Value::Null);
}

#[test]
fn include_object_object_adds_missing_type_meta_first() {
    let pod =
        json!({"metadata": meta("p"), "spec": {"containers": []}, "status": {"phase": "Pending"}});
    let t = object_table(
        res("", "v1", "pods"),
        &pod,
        IncludeObject::Object,
        "v1",
        at("2026-01-01T00:00:01Z"),
    );
    let keys: Vec<&String> = t["rows"][0]["object"]
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .collect();
    assert_eq!(keys, ["kind", "apiVersion", "metadata", "spec", "status"]);
    assert_eq!(t["rows"][0]["object"]["kind"], "Pod");
}
