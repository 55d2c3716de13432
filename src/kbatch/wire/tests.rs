//! Unit tests of the wire format: names, maps, timestamps, nulls, merge.

use super::*;
use serde_json::json;

#[test]
fn key_names_follow_the_python_client() {
    // (python attribute, Kubernetes name)
    let cases = [
        ("api_version", "apiVersion"),
        ("ttl_seconds_after_finished", "ttlSecondsAfterFinished"),
        ("pod_i_ps", "podIPs"),
        ("host_i_ps", "hostIPs"),
        ("pod_ip", "podIP"),
        ("host_ip", "hostIP"),
        ("host_pid", "hostPID"),
        ("container_id", "containerID"),
        ("fields_v1", "fieldsV1"),
        ("se_linux_options", "seLinuxOptions"),
        ("set_hostname_as_fqdn", "setHostnameAsFQDN"),
        ("_exec", "exec"),
        ("_continue", "continue"),
        ("_from", "from"),
        ("qos_class", "qosClass"),
        ("working_dir", "workingDir"),
        ("name", "name"),
        ("downward_api", "downwardAPI"),
        ("scale_io", "scaleIO"),
        ("time_zone", "timeZone"),
    ];
    for (snake, camel) in cases {
        assert_eq!(camel_key(snake), camel, "{snake} → camel");
        assert_eq!(snake_key(camel), snake, "{camel} → snake");
        // camelCase input is accepted as is.
        assert_eq!(camel_key(camel), camel, "{camel} stays");
    }
}

#[test]
fn to_kube_renames_keys_but_not_map_keys_and_drops_nulls() {
    let cases = [
        (
            json!({"metadata": {"generate_name": "x-", "labels": {"my_label": "v", "null_one": null}, "annotations": {"a_b": "c"}, "name": null}}),
            json!({"metadata": {"generateName": "x-", "labels": {"my_label": "v"}, "annotations": {"a_b": "c"}}}),
        ),
        (
            json!({"spec": {"template": {"spec": {"node_selector": {"kubernetes.io/os_x": "linux"}, "containers": [{"working_dir": "/code", "resources": {"limits": {"nvidia.com/gpu_x": 1}}}]}}}}),
            json!({"spec": {"template": {"spec": {"nodeSelector": {"kubernetes.io/os_x": "linux"}, "containers": [{"workingDir": "/code", "resources": {"limits": {"nvidia.com/gpu_x": 1}}}]}}}}),
        ),
        // camelCase and a mix; snake_case wins over its camelCase twin
        (
            json!({"spec": {"jobTemplate": {"spec": {"backoffLimit": 1}}, "starting_deadline_seconds": 3, "startingDeadlineSeconds": 4}}),
            json!({"spec": {"jobTemplate": {"spec": {"backoffLimit": 1}}, "startingDeadlineSeconds": 3}}),
        ),
        (
            json!({"binary_data": {"code": "UEsD"}, "data": null}),
            json!({"binaryData": {"code": "UEsD"}}),
        ),
        (json!([1, null, "x"]), json!([1, null, "x"])),
    ];
    for (input, want) in cases {
        assert_eq!(to_kube(&input), want, "{input}");
    }
}

#[test]
fn to_dict_is_snake_case_with_python_timestamps() {
    let kube = json!({
        "apiVersion": "batch/v1",
        "metadata": {"creationTimestamp": "2021-11-03T13:49:41Z", "labels": {"batch.kubernetes.io/job-name": "j"},
                     "managedFields": [{"fieldsV1": {"f:metadata": {}}, "time": "2021-11-03T13:49:41Z"}]},
        "status": {"startTime": "2021-11-03T13:49:41Z", "podIPs": [{"ip": "1"}],
                   "conditions": [{"lastTransitionTime": "2021-11-03T13:49:41.5Z", "type": "Complete"}]},
        "spec": {"template": {"spec": {"containers": [{"args": ["2021-11-03T13:49:41Z"]}]}}}
    });
    let d = to_dict(&kube);
    assert_eq!(d["api_version"], "batch/v1");
    assert_eq!(
        d["metadata"]["creation_timestamp"],
        "2021-11-03T13:49:41+00:00"
    );
    assert_eq!(d["metadata"]["labels"]["batch.kubernetes.io/job-name"], "j");
    assert_eq!(
        d["metadata"]["managed_fields"][0]["fields_v1"],
        json!({"f:metadata": {}})
    );
    assert_eq!(
        d["metadata"]["managed_fields"][0]["time"],
        "2021-11-03T13:49:41+00:00"
    );
    assert_eq!(d["status"]["start_time"], "2021-11-03T13:49:41+00:00");
    assert_eq!(d["status"]["pod_i_ps"][0]["ip"], "1");
    assert_eq!(
        d["status"]["conditions"][0]["last_transition_time"],
        "2021-11-03T13:49:41.500000+00:00"
    );
    // Not a time field: untouched.
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["args"][0],
        "2021-11-03T13:49:41Z"
    );
}

#[test]
fn isoformat_cases() {
    let cases = [
        ("2021-11-03T13:49:41Z", "2021-11-03T13:49:41+00:00"),
        ("2021-11-03T13:49:41.000000Z", "2021-11-03T13:49:41+00:00"),
        (
            "2021-11-03T13:49:41.123456789Z",
            "2021-11-03T13:49:41.123456+00:00",
        ),
        ("2021-11-03T13:49:41+00:00", "2021-11-03T13:49:41+00:00"),
        ("garbage", "garbage"),
        ("Z", "Z"),
        ("", ""),
    ];
    for (input, want) in cases {
        assert_eq!(isoformat(input), want, "{input}");
    }
}

#[test]
fn filled_objects_have_every_key_the_clis_read() {
    // A job just created: no status at all.
    let job = object_to_dict(Kind::Job, &json!({"metadata": {"name": "j"}}));
    for k in [
        "succeeded",
        "failed",
        "ready",
        "active",
        "start_time",
        "completion_time",
        "conditions",
    ] {
        assert!(
            job["status"].get(k).is_some_and(Value::is_null),
            "status.{k}"
        );
    }
    assert!(job["metadata"]["creation_timestamp"].is_null());
    let with_cond = object_to_dict(
        Kind::Job,
        &json!({"status": {"conditions": [{"type": "Failed"}]}}),
    );
    assert!(with_cond["status"]["conditions"][0]["last_transition_time"].is_null());
    let cron = object_to_dict(Kind::CronJob, &json!({"spec": {"schedule": "* * * * *"}}));
    assert_eq!(cron["spec"]["schedule"], "* * * * *");
    assert!(cron["spec"]["job_template"].is_null());
    let pod = object_to_dict(Kind::Pod, &json!({"status": "weird"}));
    assert!(pod["status"]["phase"].is_null());
    let list = list_to_dict(
        Kind::Job,
        &json!({"kind": "JobList", "metadata": {"continue": "x"}, "items": [{}]}),
    );
    assert_eq!(list["metadata"]["_continue"], "x");
    assert!(list["items"][0]["status"]["ready"].is_null());
    let empty = list_to_dict(Kind::Pod, &json!({"items": null}));
    assert_eq!(empty["items"], json!([]));
}

#[test]
fn remove_empty_and_merge_follow_kbatch() {
    assert_eq!(
        remove_empty(
            &json!({"a": null, "b": [], "c": {}, "d": {"e": {}}, "f": [{}, null], "g": 0, "h": false})
        ),
        json!({"f": [{}, null], "g": 0, "h": false})
    );
    let cases = [
        // template scalar wins (also over the user's value), lists append, objects merge
        (
            json!({"backoffLimit": 4, "x": 1}),
            json!({"backoffLimit": 0}),
            json!({"backoffLimit": 0, "x": 1}),
        ),
        (
            json!({"tolerations": [1]}),
            json!({"tolerations": [2]}),
            json!({"tolerations": [1, 2]}),
        ),
        (
            json!({"m": {"a": 1}}),
            json!({"m": {"b": 2}}),
            json!({"m": {"a": 1, "b": 2}}),
        ),
        (
            json!({"m": null}),
            json!({"m": {"b": 2}}),
            json!({"m": {"b": 2}}),
        ),
        (json!({}), json!({"n": [1]}), json!({"n": [1]})),
    ];
    for (user, template, want) in cases {
        assert_eq!(merge(&user, &template), want, "{user} + {template}");
    }
}

#[test]
fn delete_status_shapes() {
    let s = delete_status(
        "jobs",
        "batch",
        &json!({"kind": "Job", "metadata": {"name": "j", "uid": "u"}}),
    );
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["status"], "Success");
    assert_eq!(s["details"]["name"], "j");
    assert!(s["details"]["retry_after_seconds"].is_null());
    let passed = delete_status(
        "jobs",
        "batch",
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}),
    );
    assert_eq!(passed["code"], 200);
    assert!(passed["message"].is_null());
}

#[test]
fn parse_errors_are_client_errors() {
    let cases = [
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "A", "value": 1}]}]}}}}),
        json!({"spec": {"backoffLimit": "many"}}),
        json!({"metadata": "x"}),
    ];
    for c in cases {
        let e = parse::<k8s_openapi::api::batch::v1::Job>("job", c.clone()).expect_err("invalid");
        assert_eq!(e.status().as_u16(), 422, "{c}");
    }
}
