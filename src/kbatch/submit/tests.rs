//! Unit tests of the submission pipeline: the CLI's real bodies, templates, and the odd
//! inputs the Python original answers with a 500.

use super::*;
use serde_json::json;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/kbatch/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("json")
}

const CALLER: Caller<'static> = Caller {
    name: "Test.User@example.org",
    namespace: "kbatch-test-user-example-org--5ad1014",
    token: Some("abc"),
};

fn settings() -> KbatchSettings {
    KbatchSettings {
        extra_env: BTreeMap::from([(
            "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE".to_string(),
            "{JUPYTER_IMAGE_SPEC}".to_string(),
        )]),
        ..KbatchSettings::default()
    }
}

fn build(kind: SubmitKind, body: &Value, s: &KbatchSettings) -> Result<Built, ProxyError> {
    let p = prepare(kind, body, s)?;
    let name = p.name_with("abcde")?;
    p.build(&name, &CALLER, s)
}

fn secret_value(b: &Built, key: &str) -> String {
    use base64::Engine;
    let v = b.secret.as_ref().expect("secret")["data"][key]
        .as_str()
        .expect("key")
        .to_string();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(v)
            .expect("base64"),
    )
    .expect("utf8")
}

#[test]
fn a_cli_job_with_code_becomes_job_secret_and_configmap() {
    let b = build(SubmitKind::Job, &fixture("submit_job_05.json"), &settings()).expect("builds");
    let job = &b.object;
    let label = crate::identity::username_label(CALLER.name);
    assert_eq!(job["metadata"]["name"], "myjob-abcde");
    assert!(job["metadata"].get("generateName").is_none());
    assert_eq!(job["metadata"]["namespace"], CALLER.namespace);
    assert_eq!(job["metadata"]["annotations"][USERNAME_KEY], CALLER.name);
    assert_eq!(job["metadata"]["labels"][USERNAME_KEY], label.as_str());
    assert_eq!(
        job["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kbatch"
    );
    assert_eq!(job["spec"]["suspend"], true);
    assert!(!b.client_suspended);
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
    assert_eq!(job["spec"]["backoffLimit"], 0);
    let tmeta = &job["spec"]["template"]["metadata"];
    assert_eq!(tmeta["annotations"][USERNAME_KEY], CALLER.name);
    assert_eq!(tmeta["labels"][USERNAME_KEY], label.as_str());
    assert_eq!(tmeta["namespace"], CALLER.namespace);
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["workingDir"], "/code");
    assert_eq!(c["resources"]["limits"]["cpu"], "2");
    assert_eq!(pod["tolerations"][0]["key"], "k");
    // every env value comes from the Secret, in kbatch's order
    let names: Vec<&str> = c["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| e["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "FOO",
            "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE",
            "JUPYTER_IMAGE",
            "JUPYTER_IMAGE_SPEC",
            "JUPYTERHUB_API_TOKEN"
        ]
    );
    for e in c["env"].as_array().expect("env") {
        assert!(e.get("value").is_none(), "{e}");
        assert_eq!(e["valueFrom"]["secretKeyRef"]["name"], "myjob-abcde");
    }
    assert_eq!(secret_value(&b, "FOO"), "bar");
    assert_eq!(
        secret_value(&b, "DASK_GATEWAY__CLUSTER__OPTIONS__IMAGE"),
        "{JUPYTER_IMAGE_SPEC}"
    );
    assert_eq!(secret_value(&b, "JUPYTER_IMAGE"), "alpine");
    assert_eq!(secret_value(&b, "JUPYTERHUB_API_TOKEN"), "abc");
    let secret = b.secret.as_ref().expect("secret");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["metadata"]["name"], "myjob-abcde");
    assert_eq!(secret["metadata"]["labels"][USERNAME_KEY], label.as_str());
    // code: init container first, volumes appended, mount at /code
    assert_eq!(pod["initContainers"][0]["name"], "myjob--init");
    assert_eq!(pod["initContainers"][0]["image"], "busybox");
    assert_eq!(pod["initContainers"][0]["args"][1], UNZIP_SCRIPT);
    assert_eq!(
        pod["volumes"],
        json!([
            {"name": "code-source-volume", "configMap": {"name": "myjob-abcde-code", "optional": false, "items": [{"key": "code", "path": "code.b64"}]}},
            {"name": "code-volume", "emptyDir": {}}
        ])
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "code-volume", "mountPath": "/code"}])
    );
    let cm = b.config_map.as_ref().expect("configmap");
    assert_eq!(cm["metadata"]["name"], "myjob-abcde-code");
    assert_eq!(cm["metadata"]["namespace"], CALLER.namespace);
    assert!(cm["binaryData"]["code"]
        .as_str()
        .is_some_and(|s| s.starts_with("UEsD")));
}

#[test]
fn a_cli_cronjob_is_patched_in_its_job_template() {
    let b = build(
        SubmitKind::CronJob,
        &fixture("submit_cronjob_05.json"),
        &settings(),
    )
    .expect("builds");
    let cj = &b.object;
    assert_eq!(cj["metadata"]["name"], "mycron-cron-abcde");
    assert_eq!(cj["spec"]["schedule"], "*/5 * * * *");
    assert_eq!(cj["spec"]["suspend"], true);
    assert_eq!(cj["metadata"]["annotations"][USERNAME_KEY], CALLER.name);
    let jt = &cj["spec"]["jobTemplate"];
    assert!(jt["metadata"].get("generateName").is_none());
    assert_eq!(
        jt["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kbatch"
    );
    assert_eq!(jt["spec"]["ttlSecondsAfterFinished"], 3600);
    let env = &jt["spec"]["template"]["spec"]["containers"][0]["env"];
    assert_eq!(
        env[0]["valueFrom"]["secretKeyRef"]["name"],
        "mycron-cron-abcde"
    );
    assert_eq!(secret_value(&b, "A"), "1");
    assert!(b.config_map.is_none());
}

fn minimal_job() -> Value {
    json!({"job": {"metadata": {"generate_name": "j-"}, "spec": {"template": {"spec": {"containers": [{"name": "job", "image": "alpine"}]}}}}})
}

#[test]
fn inputs_the_python_original_crashes_on_are_accepted() {
    let s = KbatchSettings::default();
    type Check = Box<dyn Fn(&Built)>;
    let cases: Vec<(&str, Value, Check)> = vec![
        (
            "booleans",
            json!({"job": {"metadata": {"generate_name": "j-"}, "spec": {"suspend": false, "template": {"spec": {"host_network": false, "containers": [{"name": "job", "image": "a", "security_context": {"privileged": false, "read_only_root_filesystem": true}}]}}}}}),
            Box::new(|b: &Built| {
                assert_eq!(
                    b.object["spec"]["template"]["spec"]["containers"][0]["securityContext"]
                        ["readOnlyRootFilesystem"],
                    true
                )
            }),
        ),
        (
            "int-or-string",
            json!({"job": {"metadata": {"generate_name": "j-"}, "spec": {"template": {"spec": {"containers": [{"name": "job", "image": "a", "liveness_probe": {"http_get": {"port": "http", "path": "/"}}, "readiness_probe": {"tcp_socket": {"port": 8080}}}]}}}}}),
            Box::new(|b: &Built| {
                let c = &b.object["spec"]["template"]["spec"]["containers"][0];
                assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
                assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], 8080);
            }),
        ),
        (
            "unknown keys dropped",
            json!({"job": {"metadata": {"generate_name": "j-", "bogus": 1}, "bogus": 2, "spec": {"template": {"spec": {"containers": [{"name": "job", "image": "a", "bogus": 3}]}}}}}),
            Box::new(|b: &Built| {
                assert!(b.object.get("bogus").is_none());
                assert!(b.object["spec"]["template"]["spec"]["containers"][0]
                    .get("bogus")
                    .is_none());
            }),
        ),
        (
            "null annotations and labels",
            json!({"job": {"metadata": {"generate_name": "j-", "annotations": null, "labels": null}, "spec": {"template": {"metadata": null, "spec": {"containers": [{"name": "job", "image": "a"}]}}}}}),
            Box::new(|b: &Built| {
                assert_eq!(
                    b.object["spec"]["template"]["metadata"]["annotations"][USERNAME_KEY],
                    CALLER.name
                )
            }),
        ),
        (
            "camelCase",
            json!({"job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"generateName": "j-"}, "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "job", "image": "a", "workingDir": "/x"}]}}}}}),
            Box::new(|b: &Built| {
                assert_eq!(
                    b.object["spec"]["template"]["spec"]["containers"][0]["workingDir"],
                    "/x"
                )
            }),
        ),
        (
            "only a name",
            json!({"job": {"metadata": {"name": "fixed"}, "spec": {"template": {"spec": {"containers": [{"name": "job", "image": "a"}]}}}}}),
            Box::new(|b: &Built| {
                assert_eq!(b.object["metadata"]["name"], "fixed");
            }),
        ),
        (
            "client suspended",
            json!({"job": {"metadata": {"name": "s"}, "spec": {"suspend": true, "template": {"spec": {"containers": [{"name": "job", "image": "a"}]}}}}}),
            Box::new(|b: &Built| assert!(b.client_suspended)),
        ),
        (
            "other namespace overridden",
            json!({"job": {"metadata": {"name": "n", "namespace": "kube-system"}, "spec": {"template": {"spec": {"containers": [{"name": "job", "image": "a"}]}}}}}),
            Box::new(|b: &Built| assert_eq!(b.object["metadata"]["namespace"], CALLER.namespace)),
        ),
        (
            "valueFrom env kept",
            json!({"job": {"metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": [{"name": "job", "image": "a", "env": [{"name": "P", "value_from": {"field_ref": {"field_path": "metadata.name"}}}]}]}}}}}),
            Box::new(|b: &Built| {
                let env = &b.object["spec"]["template"]["spec"]["containers"][0]["env"];
                assert_eq!(
                    env[0]["valueFrom"]["fieldRef"]["fieldPath"],
                    "metadata.name"
                );
            }),
        ),
    ];
    for (what, body, check) in cases {
        let b = build(SubmitKind::Job, &body, &s).unwrap_or_else(|e| panic!("{what}: {e}"));
        check(&b);
    }
    // the code ConfigMap in camelCase too
    let mut body = minimal_job();
    body["code"] =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "binaryData": {"code": "UEsDBA=="}});
    assert!(build(SubmitKind::Job, &body, &s)
        .expect("builds")
        .config_map
        .is_some());
    // CronJob with camelCase jobTemplate (a 500 in the original)
    let cron = json!({"job": {"metadata": {"name": "c"}, "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": "a"}]}}}}}}});
    assert!(build(SubmitKind::CronJob, &cron, &s).is_ok());
}

#[test]
fn client_mistakes_are_422() {
    let s = KbatchSettings::default();
    let cases: Vec<(&str, SubmitKind, Value)> = vec![
        ("no job key", SubmitKind::Job, json!({"jobs": {}})),
        ("job not an object", SubmitKind::Job, json!({"job": "x"})),
        ("body not an object", SubmitKind::Job, json!([1])),
        (
            "non-string env value",
            SubmitKind::Job,
            json!({"job": {"metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": [{"name": "job", "env": [{"name": "A", "value": 1}]}]}}}}}),
        ),
        (
            "no containers",
            SubmitKind::Job,
            json!({"job": {"metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": []}}}}}),
        ),
        (
            "no spec",
            SubmitKind::Job,
            json!({"job": {"metadata": {"name": "n"}}}),
        ),
        (
            "no name",
            SubmitKind::Job,
            json!({"job": {"metadata": {}, "spec": {"template": {"spec": {"containers": [{"name": "job"}]}}}}}),
        ),
        (
            "cronjob kind on jobs",
            SubmitKind::Job,
            json!({"job": {"kind": "CronJob", "metadata": {"name": "n"}}}),
        ),
        (
            "wrong apiVersion",
            SubmitKind::Job,
            json!({"job": {"apiVersion": "v1", "metadata": {"name": "n"}}}),
        ),
        (
            "cronjob without jobTemplate",
            SubmitKind::CronJob,
            json!({"job": {"metadata": {"name": "n"}, "spec": {"schedule": "@daily"}}}),
        ),
        (
            "wrong type",
            SubmitKind::Job,
            json!({"job": {"metadata": {"name": "n"}, "spec": {"backoff_limit": "x", "template": {"spec": {"containers": [{"name": "job"}]}}}}}),
        ),
        (
            "code without code key",
            SubmitKind::Job,
            json!({"job": minimal_job()["job"], "code": {"binary_data": {"other": "UEsD"}}}),
        ),
        (
            "code not an object",
            SubmitKind::Job,
            json!({"job": minimal_job()["job"], "code": "zip"}),
        ),
        (
            "code not base64",
            SubmitKind::Job,
            json!({"job": minimal_job()["job"], "code": {"binary_data": {"code": "!!!"}}}),
        ),
    ];
    for (what, kind, body) in cases {
        let e = build(kind, &body, &s).expect_err(what);
        assert_eq!(e.status().as_u16(), 422, "{what}: {e}");
    }
}

#[test]
fn templates_merge_into_jobs_and_into_cronjob_job_templates() {
    let raw = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"labels": {"team": "t"}},
        "spec": {"backoffLimit": 3, "template": {"spec": {
            "tolerations": [{"key": "tpl", "operator": "Exists"}],
            "automountServiceAccountToken": false,
            "affinity": {"node_affinity": {"required_during_scheduling_ignored_during_execution": {"node_selector_terms": [{"match_expressions": [{"key": "hub.jupyter.org/node-purpose", "operator": "In", "values": ["user"]}]}]}}}
        }}}
    });
    let template = load_template(&raw).expect("valid template");
    let s = KbatchSettings {
        job_template: Some(template),
        ..KbatchSettings::default()
    };
    let mut job = minimal_job();
    job["job"]["spec"]["backoff_limit"] = json!(4);
    job["job"]["spec"]["template"]["spec"]["tolerations"] =
        json!([{"key": "user", "operator": "Exists"}]);
    let b = build(SubmitKind::Job, &job, &s).expect("builds");
    let spec = &b.object["spec"];
    assert_eq!(spec["backoffLimit"], 3, "template scalar wins");
    let tol: Vec<&str> = spec["template"]["spec"]["tolerations"]
        .as_array()
        .expect("tolerations")
        .iter()
        .map(|t| t["key"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(tol, ["user", "tpl"], "lists append");
    assert_eq!(
        spec["template"]["spec"]["automountServiceAccountToken"],
        false
    );
    assert_eq!(
        spec["template"]["spec"]["affinity"]["nodeAffinity"]
            ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
            ["matchExpressions"][0]["key"],
        "hub.jupyter.org/node-purpose"
    );
    assert_eq!(b.object["metadata"]["labels"]["team"], "t");
    assert_eq!(
        b.secret.as_ref().expect("secret")["metadata"]["labels"]["team"],
        "t"
    );
    // CronJob: the template reaches the job template's pod spec, the kind stays CronJob.
    let cron = json!({"job": {"api_version": "batch/v1", "kind": "CronJob", "metadata": {"generate_name": "c-cron-"}, "spec": {"schedule": "@daily", "job_template": {"metadata": {}, "spec": {"backoff_limit": 0, "template": {"spec": {"containers": [{"name": "job", "image": "a"}]}}}}}}});
    let b = build(SubmitKind::CronJob, &cron, &s).expect("builds");
    let jt = &b.object["spec"]["jobTemplate"];
    assert_eq!(jt["spec"]["backoffLimit"], 3);
    assert_eq!(
        jt["spec"]["template"]["spec"]["tolerations"][0]["key"],
        "tpl"
    );
    assert_eq!(jt["metadata"]["labels"]["team"], "t");
    assert_eq!(b.object["metadata"]["labels"]["team"], "t");
    assert!(b.object.get("kind").is_none() || b.object["kind"] == "CronJob");
    // A template that is not Job-shaped is refused at start.
    assert!(load_template(&json!({"spec": {"backoffLimit": "x"}})).is_err());
    assert!(load_template(&json!(["x"])).is_err());
}

#[test]
fn names_and_secret_keys() {
    let s = KbatchSettings::default();
    let mut long = minimal_job();
    long["job"]["metadata"]["generate_name"] = json!("a".repeat(70));
    let p = prepare(SubmitKind::Job, &long, &s).expect("prepared");
    let name = p.name_with("bcdfg").expect("name");
    assert_eq!(name.len(), 63);
    assert!(name.ends_with("bcdfg"));
    assert_eq!(random_suffix(0).len(), 5);
    assert_ne!(random_suffix(1), random_suffix(2));
    assert!(random_suffix(u64::MAX)
        .bytes()
        .all(|b| SUFFIX_ALPHABET.contains(&b)));
    // Conflicting duplicate names and names that cannot be Secret keys.
    let body = json!({"job": {"metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "i", "env": [{"name": "X", "value": "1"}, {"name": "X", "value": "2"}, {"name": "bad name", "value": "3"}]},
        {"name": "b", "image": "i", "env": [{"name": "X", "value": "1"}]}
    ]}}}}});
    let b = build(SubmitKind::Job, &body, &KbatchSettings::default()).expect("builds");
    let containers = &b.object["spec"]["template"]["spec"]["containers"];
    let key = |c: usize, e: usize| {
        containers[c]["env"][e]["valueFrom"]["secretKeyRef"]["key"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(key(0, 0), "X");
    assert_ne!(key(0, 1), "X");
    assert_eq!(secret_value(&b, &key(0, 1)), "2");
    assert_eq!(secret_value(&b, &key(0, 2)), "3");
    assert_eq!(key(1, 0), "X", "same value shares the key");
    // no token, no image → no JUPYTERHUB_API_TOKEN, no JUPYTER_IMAGE
    let p = prepare(SubmitKind::Job, &json!({"job": {"metadata": {"name": "n"}, "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}}), &s).expect("prepared");
    let caller = Caller {
        token: None,
        ..CALLER
    };
    let b = p.build("n", &caller, &s).expect("builds");
    assert!(b.secret.is_none());
    assert!(b.object["spec"]["template"]["spec"]["containers"][0]
        .get("env")
        .is_none_or(|e| e.as_array().is_some_and(|a| a.is_empty())));
}
