//! `cargo bench --bench policy`: the per-request cost of the shipped policies (`policies/`)
//! on a typical Job as kubectl sends it (`matches` + `evaluate`, which clones nothing but
//! the object it mutates), an allowed Pod, and a denied privileged Deployment.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use kbatch_proxy::policy::{PolicySet, Subject, Target};
use serde_json::{json, Value};

/// A Job as `kubectl create -f job.yaml` sends it (two containers, env, resources, volumes).
fn typical_job() -> Value {
    let container = |name: &str| {
        json!({
            "name": name, "image": "ghcr.io/example/analysis:2024.10",
            "command": ["python", "-m", "analysis", "--input", "/data/in", "--output", "/data/out"],
            "env": [{"name": "OMP_NUM_THREADS", "value": "4"}, {"name": "MODE", "value": "batch"}],
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "4Gi"}},
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}
        })
    };
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"generateName": "analysis-", "labels": {"app": "analysis"}, "annotations": {"note": "nightly"}},
        "spec": {
            "backoffLimit": 2,
            "template": {
                "metadata": {"labels": {"app": "analysis"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [container("main"), container("sidecar")],
                    "initContainers": [{"name": "fetch", "image": "busybox", "command": ["true"]}],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}
                }
            }
        }
    })
}

fn bench(
    name: &str,
    set: &PolicySet,
    target: &Target,
    subject: &Subject,
    object: &Value,
    n: u32,
) -> f64 {
    // Warm up, then time n iterations; the clone of the input is measured separately.
    for _ in 0..n / 10 {
        black_box(set.evaluate(target, subject, object.clone()));
    }
    let started = Instant::now();
    for _ in 0..n {
        black_box(object.clone());
    }
    let clone_ns = started.elapsed().as_nanos() as f64 / f64::from(n);
    let started = Instant::now();
    for _ in 0..n {
        let matched = set.matches(black_box(target), subject);
        black_box(matched);
        black_box(set.evaluate(target, subject, object.clone()));
    }
    let total_ns = started.elapsed().as_nanos() as f64 / f64::from(n);
    let ns = total_ns - clone_ns;
    println!(
        "{name:<34} {:>9.1} µs/request (input clone {:.1} µs excluded)",
        ns / 1000.0,
        clone_ns / 1000.0
    );
    ns
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies");
    let set = PolicySet::load_dir(&dir).expect("shipped policies");
    let groups = vec!["students".to_string()];
    let subject = Subject {
        user: "test.user@example.org",
        namespace: "kbatch-test-user-example-org--bbb0df7",
        groups: &groups,
    };
    let job_target = Target {
        verb: "create",
        group: "batch",
        version: "v1",
        resource: "jobs",
        subresource: None,
    };
    let job = typical_job();
    let eval = set.evaluate(&job_target, &subject, job.clone());
    assert!(
        eval.denied.is_none() && eval.changed,
        "the typical job is allowed and labelled"
    );
    let n = std::env::var("POLICY_BENCH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    println!("shipped policies: {:?}; {n} iterations", set.names());
    bench(
        "create Job (allowed, mutated)",
        &set,
        &job_target,
        &subject,
        &job,
        n,
    );
    let pod_target = Target {
        resource: "pods",
        group: "",
        ..job_target
    };
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "m", "image": "busybox"}]}});
    bench(
        "create Pod (allowed, mutated)",
        &set,
        &pod_target,
        &subject,
        &pod,
        n,
    );
    let mut privileged = job.clone();
    privileged["kind"] = json!("Deployment");
    privileged["spec"]["template"]["spec"]["containers"][0]["securityContext"]["privileged"] =
        json!(true);
    let deploy_target = Target {
        group: "apps",
        resource: "deployments",
        verb: "patch",
        ..job_target
    };
    bench(
        "patch Deployment (denied)",
        &set,
        &deploy_target,
        &subject,
        &privileged,
        n,
    );
    let cm_target = Target {
        verb: "get",
        group: "",
        resource: "configmaps",
        ..job_target
    };
    let started = Instant::now();
    for _ in 0..n {
        black_box(set.matches(black_box(&cm_target), &subject));
    }
    println!(
        "{:<34} {:>9.1} µs/request",
        "matches() only (GET, no match)",
        started.elapsed().as_nanos() as f64 / f64::from(n) / 1000.0
    );
}
