//! Tests reproducing the managedFields and apply answers captured from kube-apiserver
//! (`crud/*.txt`, `patch/02-server-side-apply.txt`, `patch/04-kubectl-apply-server-side.txt`).

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::resources::find;

fn at(s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 21, 20, s)
        .single()
        .expect("valid time")
}

fn mf(obj: &Value) -> String {
    serde_json::to_string(&obj["metadata"]["managedFields"]).expect("json")
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).expect("test JSON must parse")
}

const MGR1: &str = r#"{"manager":"mgr1","operation":"Apply","apiVersion":"batch/v1","time":"2026-11-25T21:20:15Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:app":{},"f:owner":{}}},"f:spec":{"f:suspend":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},"f:command":{},"f:image":{},"f:name":{}}},"f:restartPolicy":{}}}}}}"#;
const MGR1_NO_OWNER: &str = r#"{"manager":"mgr1","operation":"Apply","apiVersion":"batch/v1","time":"2026-11-25T21:20:15Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:suspend":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},"f:command":{},"f:image":{},"f:name":{}}},"f:restartPolicy":{}}}}}}"#;
const KCM: &str = r#"{"manager":"kube-controller-manager","operation":"Update","apiVersion":"batch/v1","time":"2026-11-25T21:20:15Z","fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{},"f:ready":{},"f:uncountedTerminatedPods":{}}},"subresource":"status"}"#;

/// The ssa-job as the server holds it (defaults, selector and status elided where irrelevant).
fn ssa_job(labels: Value, managed: &[&str]) -> Value {
    let managed: Vec<Value> = managed.iter().map(|m| parse(m)).collect();
    json!({
        "kind": "Job", "apiVersion": "batch/v1",
        "metadata": {"name": "ssa-job", "namespace": "ref-patch", "uid": "f80babb9", "resourceVersion": "1448",
            "generation": 1, "creationTimestamp": "2026-11-25T21:20:15Z", "labels": labels, "managedFields": managed},
        "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 6,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "f80babb9"}},
            "template": {"metadata": {"creationTimestamp": null, "labels": {"job-name": "ssa-job"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"], "resources": {},
                    "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent"}],
                    "restartPolicy": "Never", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
                    "securityContext": {}, "schedulerName": "default-scheduler"}},
            "completionMode": "NonIndexed", "suspend": true},
        "status": {"conditions": [{"type": "Suspended", "status": "True"}], "uncountedTerminatedPods": {}, "ready": 0}
    })
}

fn jobs() -> &'static ResourceDef {
    find("batch", "v1", "jobs").expect("jobs")
}

fn ssa_config() -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "ssa-job", "labels": {"app": "ref", "owner": "mgr1"}},
        "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox:1.36", "command": ["true"]}]}}}})
}

#[test]
fn manager_names() {
    let cases = [
        (Some("kubectl"), Some("x/1"), "kubectl"),
        (
            None,
            Some("kubectl/v1.32.5 (linux/amd64) kubernetes/9894294"),
            "kubectl",
        ),
        (
            None,
            Some("OpenAPI-Generator/32.0.1/python"),
            "OpenAPI-Generator",
        ),
        (Some(""), Some("ref-capture/1.0"), "ref-capture"),
        (None, None, "unknown"),
        (None, Some(""), "unknown"),
    ];
    for (fm, ua, want) in cases {
        assert_eq!(manager_name(fm, ua), want, "{fm:?} {ua:?}");
    }
}

#[test]
fn create_configmap_records_update_entry() {
    // crud/configmap.txt #1 (POST by User-Agent ref-capture/1.0)
    let mut cm = json!({"kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"name": "cm1", "namespace": "ref-crud", "labels": {"app": "ref", "tier": "a"}},
        "data": {"key": "value"}});
    let now = Utc
        .with_ymd_and_hms(2026, 11, 25, 21, 19, 9)
        .single()
        .expect("time");
    update_managed_fields(None, &mut cm, "ref-capture", "v1", None, now);
    assert_eq!(
        mf(&cm),
        r#"[{"manager":"ref-capture","operation":"Update","apiVersion":"v1","time":"2026-11-25T21:19:09Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:key":{}},"f:metadata":{"f:labels":{".":{},"f:app":{},"f:tier":{}}}}}]"#
    );

    // generateName is owned too (crud/configmap.txt #3)
    let mut gen = json!({"kind": "ConfigMap", "metadata": {"generateName": "cm-gen-", "labels": {"app": "ref"}}, "data": {"k": "v"}});
    update_managed_fields(None, &mut gen, "ref-capture", "v1", None, now);
    assert_eq!(
        gen["metadata"]["managedFields"][0]["fieldsV1"],
        parse(
            r#"{"f:data":{".":{},"f:k":{}},"f:metadata":{"f:generateName":{},"f:labels":{".":{},"f:app":{}}}}"#
        )
    );
}

#[test]
fn create_pod_owns_decoded_defaults() {
    // crud/pod.txt #1: the object as decoded and defaulted, before admission
    let mut pod = json!({"kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "p1", "namespace": "ref-crud", "labels": {"app": "ref"}},
        "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"], "resources": {},
            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "Always"}],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "securityContext": {}, "schedulerName": "default-scheduler", "enableServiceLinks": true},
        "status": {}});
    update_managed_fields(None, &mut pod, "ref-capture", "v1", None, at(0));
    assert_eq!(
        serde_json::to_string(&pod["metadata"]["managedFields"][0]["fieldsV1"]).expect("json"),
        r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},"f:command":{},"f:image":{},"f:imagePullPolicy":{},"f:name":{},"f:resources":{},"f:terminationMessagePath":{},"f:terminationMessagePolicy":{}}},"f:dnsPolicy":{},"f:enableServiceLinks":{},"f:restartPolicy":{},"f:schedulerName":{},"f:securityContext":{},"f:terminationGracePeriodSeconds":{}}}"#
    );
}

#[test]
fn finalizers_are_a_set_and_env_is_keyed() {
    let old = json!({"kind": "ConfigMap", "metadata": {"name": "h"}});
    let mut new =
        json!({"kind": "ConfigMap", "metadata": {"name": "h", "finalizers": ["example.com/hold"]}});
    update_managed_fields(Some(&old), &mut new, "ref-capture", "v1", None, at(0));
    assert_eq!(
        new["metadata"]["managedFields"][0]["fieldsV1"],
        parse(r#"{"f:metadata":{"f:finalizers":{".":{},"v:\"example.com/hold\"":{}}}}"#)
    );
    let mut pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "c", "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 80}]}]}});
    update_managed_fields(None, &mut pod, "m", "v1", None, at(0));
    assert_eq!(
        pod["metadata"]["managedFields"][0]["fieldsV1"],
        parse(
            r#"{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:env":{".":{},"k:{\"name\":\"A\"}":{".":{},"f:name":{},"f:value":{}}},"f:name":{},"f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}"#
        )
    );
}

#[test]
fn apply_creates_with_apply_entry() {
    // patch/02-server-side-apply.txt #1 and #10
    let out = server_side_apply(jobs(), None, &ssa_config(), "mgr1", false, at(15)).expect("apply");
    assert_eq!(mf(&out), format!("[{MGR1}]"));
    assert_eq!(out["spec"]["suspend"], json!(true));
    let cms = find("", "v1", "configmaps").expect("configmaps");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-cm"}, "data": {"k": "v"}});
    let out = server_side_apply(cms, None, &cm, "mgr1", true, at(17)).expect("apply");
    assert_eq!(
        mf(&out),
        r#"[{"manager":"mgr1","operation":"Apply","apiVersion":"v1","time":"2026-11-25T21:20:17Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{"f:k":{}}}}]"#
    );
    // #11: the same manager changes its own value: no conflict
    let v2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa-cm"}, "data": {"k": "v2"}});
    let again = server_side_apply(cms, Some(&out), &v2, "mgr1", false, at(17)).expect("reapply");
    assert_eq!(again["data"]["k"], json!("v2"));
}

#[test]
fn reapply_unchanged_is_a_no_op() {
    // #2: re-applying the same config keeps the object (and the entry's time)
    let live = ssa_job(json!({"app": "ref", "owner": "mgr1"}), &[MGR1, KCM]);
    let out = server_side_apply(jobs(), Some(&live), &ssa_config(), "mgr1", false, at(40))
        .expect("apply");
    assert_eq!(out, live);
}

#[test]
fn apply_conflict_is_409_as_captured() {
    // #4: mgr2 sets labels.owner, owned by mgr1
    let live = ssa_job(json!({"app": "ref", "owner": "mgr1"}), &[MGR1, KCM]);
    let cfg = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ssa-job", "labels": {"owner": "mgr2"}}});
    let err =
        server_side_apply(jobs(), Some(&live), &cfg, "mgr2", false, at(16)).expect_err("conflict");
    assert_eq!(
        serde_json::to_string(&err.to_status()).expect("json"),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Apply failed with 1 conflict: conflict with \"mgr1\": .metadata.labels.owner","reason":"Conflict","details":{"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"mgr1\"","field":".metadata.labels.owner"}]},"code":409}"#
    );
}

#[test]
fn apply_conflicts_with_update_managers_and_counts_them() {
    let mut live = ssa_job(json!({"app": "ref", "owner": "mgr1"}), &[MGR1, KCM]);
    update_managed_fields(
        Some(&live.clone()),
        {
            live["metadata"]["labels"]["team"] = json!("a");
            &mut live
        },
        "mgr3",
        "batch/v1",
        None,
        at(17),
    );
    let cfg = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ssa-job",
        "labels": {"owner": "x", "team": "b"}}});
    let err =
        server_side_apply(jobs(), Some(&live), &cfg, "mgr9", false, at(18)).expect_err("conflicts");
    assert_eq!(
        err.message,
        "Apply failed with 2 conflicts: conflicts with \"mgr1\":\n- .metadata.labels.owner\nconflicts with \"mgr3\" using batch/v1:\n- .metadata.labels.team"
    );
    let causes = &err.to_status()["details"]["causes"];
    assert_eq!(
        causes[1]["message"],
        json!("conflict with \"mgr3\" using batch/v1")
    );
}

#[test]
fn apply_shares_then_force_moves_ownership_and_prunes() {
    // #5: a new label only -> shared object, mgr2 entry after mgr1's (sorted by operation, time)
    let live = ssa_job(json!({"app": "ref", "owner": "mgr1"}), &[MGR1, KCM]);
    let cfg = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ssa-job", "labels": {"extra": "x"}}});
    let live = server_side_apply(jobs(), Some(&live), &cfg, "mgr2", false, at(16)).expect("apply");
    assert_eq!(
        live["metadata"]["labels"],
        json!({"app": "ref", "owner": "mgr1", "extra": "x"})
    );
    let mgr2_extra = r#"{"manager":"mgr2","operation":"Apply","apiVersion":"batch/v1","time":"2026-11-25T21:20:16Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:extra":{}}}}}"#;
    assert_eq!(mf(&live), format!("[{MGR1},{mgr2_extra},{KCM}]"));

    // #6: force=true takes labels.owner from mgr1; "extra", no longer applied by mgr2, goes
    let cfg = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ssa-job", "labels": {"owner": "mgr2"}}});
    let live = server_side_apply(jobs(), Some(&live), &cfg, "mgr2", true, at(16)).expect("force");
    assert_eq!(
        live["metadata"]["labels"],
        json!({"app": "ref", "owner": "mgr2"})
    );
    let mgr2_owner = r#"{"manager":"mgr2","operation":"Apply","apiVersion":"batch/v1","time":"2026-11-25T21:20:16Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:owner":{}}}}}"#;
    assert_eq!(mf(&live), format!("[{MGR1_NO_OWNER},{mgr2_owner},{KCM}]"));

    // #7: a merge patch by mgr3 (an Update) takes the label without conflict; mgr2's entry empties
    let mut patched = live.clone();
    patched["metadata"]["labels"]["owner"] = json!("mgr3");
    update_managed_fields(Some(&live), &mut patched, "mgr3", "batch/v1", None, at(17));
    let mgr3 = r#"{"manager":"mgr3","operation":"Update","apiVersion":"batch/v1","time":"2026-11-25T21:20:17Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:labels":{"f:owner":{}}}}}"#;
    assert_eq!(mf(&patched), format!("[{MGR1_NO_OWNER},{KCM},{mgr3}]"));
}

#[test]
fn apply_of_nothing_prunes_what_the_manager_owned() {
    // #8: mgr1 applies `metadata: {}`: its containers, suspend, restartPolicy and labels go
    let live = ssa_job(json!({"app": "ref", "owner": "mgr1"}), &[MGR1, KCM]);
    let cfg = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {}});
    let out = server_side_apply(jobs(), Some(&live), &cfg, "mgr1", false, at(17)).expect("apply");
    assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([]));
    assert!(out["spec"].get("suspend").is_none());
    assert!(out["spec"]["template"]["spec"]
        .get("restartPolicy")
        .is_none());
    assert!(out["metadata"].get("labels").is_none());
    assert_eq!(mf(&out), format!("[{KCM}]"));
}

#[test]
fn noop_apply_by_new_manager_has_no_time_and_sorts_first() {
    // patch/04-kubectl-apply-server-side.txt #3 (kubectl-last-applied re-applies the annotation)
    let csa = r#"{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"batch/v1","time":"2026-11-25T21:20:19Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{".":{},"f:a":{}}}}}"#;
    let mut live = ssa_job(json!({"app": "ref"}), &[MGR1, csa]);
    live["metadata"]["annotations"] = json!({"a": "1"});
    let cfg = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ssa-job", "annotations": {"a": "1"}}});
    let out = server_side_apply(
        jobs(),
        Some(&live),
        &cfg,
        "kubectl-last-applied",
        false,
        at(22),
    )
    .expect("apply");
    let entries = out["metadata"]["managedFields"]
        .as_array()
        .expect("entries");
    assert_eq!(
        serde_json::to_string(&entries[0]).expect("json"),
        r#"{"manager":"kubectl-last-applied","operation":"Apply","apiVersion":"batch/v1","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{"f:annotations":{"f:a":{}}}}}"#
    );
    // shared ownership: the Update manager keeps the annotation
    assert_eq!(entries[2]["manager"], json!("kubectl-client-side-apply"));
    assert_eq!(
        entries[2]["fieldsV1"],
        parse(r#"{"f:metadata":{"f:annotations":{".":{},"f:a":{}}}}"#)
    );
}

#[test]
fn status_writes_record_subresource_and_ignore_other_half() {
    let live = ssa_job(json!({"app": "ref"}), &[MGR1]);
    let mut new = live.clone();
    new["status"]["active"] = json!(1);
    update_managed_fields(
        Some(&live),
        &mut new,
        "kube-controller-manager",
        "batch/v1",
        Some("status"),
        at(30),
    );
    let e = &new["metadata"]["managedFields"][1];
    assert_eq!(e["subresource"], json!("status"));
    assert_eq!(e["fieldsV1"], parse(r#"{"f:status":{"f:active":{}}}"#));
    // a main-resource write does not own status
    let mut main = live.clone();
    main["status"]["active"] = json!(2);
    update_managed_fields(Some(&live), &mut main, "x", "batch/v1", None, at(31));
    assert_eq!(
        main["metadata"]["managedFields"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn list_keys_table() {
    let spec = ["spec", "template", "spec", "containers"];
    assert_eq!(list_keys(&spec, "Job"), Some(&["name"][..]));
    assert_eq!(
        list_keys(&["spec", "containers", "ports"], "Pod"),
        Some(&["containerPort", "protocol"][..])
    );
    assert_eq!(
        list_keys(&["spec", "ports"], "Service"),
        Some(&["port", "protocol"][..])
    );
    assert_eq!(
        list_keys(&["spec", "containers", "env"], "Pod"),
        Some(&["name"][..])
    );
    assert_eq!(list_keys(&["spec", "containers", "command"], "Pod"), None);
    assert_eq!(list_keys(&["spec", "tolerations"], "Pod"), None);
    assert_eq!(list_keys(&["status", "conditions"], "Job"), None);
    assert_eq!(list_type(&["metadata", "finalizers"], "Pod"), ListType::Set);
}

#[test]
fn fields_v1_round_trips() {
    for s in [MGR1, KCM] {
        let v = parse(s);
        let set = FieldSet::from_fields_v1(&v["fieldsV1"]);
        assert_eq!(set.to_fields_v1(), v["fieldsV1"]);
    }
}

#[test]
fn kubectl_apply_keeps_last_applied_annotation_in_sync() {
    let mut live = ssa_job(json!({"app": "ref"}), &[MGR1]);
    live["metadata"]["annotations"] = json!({LAST_APPLIED: "{}\n"});
    let cfg = json!({"kind": "Job", "apiVersion": "batch/v1", "metadata": {"name": "ssa-job", "labels": {"app": "ref"}}});
    let out =
        server_side_apply(jobs(), Some(&live), &cfg, "kubectl", false, at(22)).expect("apply");
    assert_eq!(
        out["metadata"]["annotations"][LAST_APPLIED],
        json!("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"labels\":{\"app\":\"ref\"},\"name\":\"ssa-job\"}}\n")
    );
    // another manager name leaves it alone
    let out = server_side_apply(jobs(), Some(&live), &cfg, "mine", false, at(22)).expect("apply");
    assert_eq!(out["metadata"]["annotations"][LAST_APPLIED], json!("{}\n"));
}
