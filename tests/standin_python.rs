//! Fidelity of the API stand-in as the real Python `kubernetes` client (32.0.1) sees it: each
//! test runs one script (or one section of a script) from `tests/python/` with the test venv's
//! interpreter against a fresh stand-in (or the real kube-apiserver when `KUBEBUILDER_ASSETS`
//! is set). The scripts assert on what the client returns and raises; a failing script prints
//! the failed check and its traceback, which this harness shows.

mod support;

use std::fs::File;
use std::process::Command;
use std::time::{Duration, Instant};

use support::cluster::Cluster;
use support::tools::{repo_root, venv_python};

/// Longest a script may run (the slowest takes about 10 s).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether the script needs pods that really run (logs, exec): only the stand-in has a
/// kubelet; envtest's kube-apiserver leaves every pod Pending.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    Api,
    RunningPods,
}

/// Run `tests/python/<script>.py [section]` against a fresh cluster in a new namespace.
fn run_script(script: &str, section: Option<&str>) {
    run_script_needing(script, section, Needs::Api);
}

fn run_script_needing(script: &str, section: Option<&str>, needs: Needs) {
    let cluster = Cluster::start();
    if needs == Needs::RunningPods && !cluster.is_standin {
        eprintln!("skipped {script} {section:?}: this cluster has no kubelet to run pods");
        return;
    }
    let ns = Cluster::unique_name("py");
    let kubeconfig = cluster.admin_kubeconfig(Some(&ns));
    let path = repo_root()
        .join("tests/python")
        .join(format!("{script}.py"));
    let mut cmd = Command::new(venv_python());
    cmd.arg(&path)
        .args(section)
        .env("KUBECONFIG", &kubeconfig)
        .env("TEST_NS", &ns)
        .env(
            "TEST_IS_STANDIN",
            if cluster.is_standin { "1" } else { "0" },
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    let out_path = cluster.dir.path().join("stdout.txt");
    let err_path = cluster.dir.path().join("stderr.txt");
    let mut child = cmd
        .stdout(File::create(&out_path).expect("stdout file must be creatable"))
        .stderr(File::create(&err_path).expect("stderr file must be creatable"))
        .spawn()
        .expect("the venv python must start");
    let started = Instant::now();
    // A hung stream (watch, log follow, exec) must fail the test, not hang it.
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for python must work") {
            break Some(status);
        }
        if started.elapsed() > SCRIPT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "{} {} failed ({}, after {:?}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        path.display(),
        section.unwrap_or(""),
        status.map_or_else(
            || format!("killed after {SCRIPT_TIMEOUT:?}"),
            |s| s.to_string()
        ),
        started.elapsed(),
        read(&out_path),
        read(&err_path)
    );
}

#[test]
fn kubeconfig_version_and_access_review() {
    run_script("misc", None);
}

#[test]
fn configmap_crud_patch_and_errors() {
    run_script("configmap", None);
}

#[test]
fn secret_string_data_becomes_base64_data() {
    run_script("secret", None);
}

#[test]
fn list_selectors_and_paging() {
    run_script("listing", None);
}

#[test]
fn pod_crud_and_delete() {
    run_script("workloads", Some("pod"));
}

#[test]
fn job_crud_and_propagation() {
    run_script("workloads", Some("job"));
}

#[test]
fn cronjob_crud() {
    run_script("workloads", Some("cronjob"));
}

#[test]
fn deployment_crud() {
    run_script("workloads", Some("deployment"));
}

#[test]
fn watch_sees_changes_from_another_thread() {
    run_script("watching", Some("events"));
}

#[test]
fn watch_resumes_from_resource_version() {
    run_script("watching", Some("resume"));
}

#[test]
fn watch_too_old_resource_version_raises_410() {
    run_script("watching", Some("expired"));
}

#[test]
fn pod_log_plain_and_follow() {
    run_script_needing("logs", None, Needs::RunningPods);
}

#[test]
fn exec_echo() {
    run_script_needing("exec", Some("echo"), Needs::RunningPods);
}

#[test]
fn exec_interactive_stdin() {
    run_script_needing("exec", Some("stdin"), Needs::RunningPods);
}
