//! `kbatch-proxy policy check` run as the built binary against the shipped policies:
//! mutated YAML on stdout and exit 0 for allowed manifests, the policy's message and exit 1
//! for a denied one, exit 2 for usage, manifest and policy errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// Run `kbatch-proxy policy check ARGS` with `manifest` on stdin (`-f -`) unless `-f` is given.
fn check(args: &[&str], manifest: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kbatch-proxy"));
    cmd.arg("policy").arg("check").args(args);
    if !args.contains(&"-f") {
        cmd.args(["-f", "-"]);
    }
    let mut child = cmd
        .env_remove("KBATCH_POLICIES_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kbatch-proxy");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifest.as_bytes())
        .expect("write manifest");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const JOB_AND_CONFIGMAP: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: hello
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          command: ["echo", "hi"]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
"#;

const PRIVILEGED_DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: owner
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: main
          image: busybox
          securityContext: {privileged: true}
      volumes:
        - name: root
          hostPath: {path: /}
"#;

#[test]
fn allowed_manifests_print_the_mutated_objects() {
    let dir = shipped();
    let out = check(
        &[
            "--dir",
            dir.to_str().expect("utf-8"),
            "--user",
            "Test.User@Example.org",
            "--group",
            "students",
        ],
        JOB_AND_CONFIGMAP,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&stdout)
        .map(|d| serde::Deserialize::deserialize(d).expect("YAML output"))
        .collect();
    assert_eq!(docs.len(), 2, "{stdout}");
    let label = kbatch_proxy::identity::username_label("Test.User@Example.org");
    let job = &docs[0];
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
    assert_eq!(
        job["metadata"]["labels"]["kbatch.jupyter.org/username"],
        label.as_str()
    );
    assert_eq!(
        job["spec"]["template"]["metadata"]["annotations"]["kbatch.jupyter.org/username"],
        "Test.User@Example.org"
    );
    assert_eq!(
        docs[1]["metadata"]["labels"]["kbatch.jupyter.org/username"],
        label.as_str()
    );
    assert!(stderr.contains("Job/hello: allowed (mutated)"), "{stderr}");
    assert!(
        stderr.contains("ConfigMap/settings: allowed (mutated)"),
        "{stderr}"
    );
}

#[test]
fn denied_manifest_exits_1_with_the_policy_message() {
    let dir = shipped();
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        file.path(),
        format!("{JOB_AND_CONFIGMAP}---{PRIVILEGED_DEPLOYMENT}"),
    )
    .expect("write");
    let out = check(
        &[
            "--dir",
            dir.to_str().expect("utf-8"),
            "--user",
            "alice",
            "--verb",
            "update",
            "-f",
            file.path().to_str().expect("utf-8"),
        ],
        "",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("Deployment/owner: DENIED: policy pod-security-baseline: privileged containers are not allowed (spec.template.spec.containers[0].securityContext.privileged: true)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hostPath volumes are not allowed"),
        "{stderr}"
    );
    // On update the TTL policy does not apply (create only), while the username label is kept
    // on every write.
    assert!(stderr.contains("Job/hello: allowed (mutated)"), "{stderr}");
    assert!(
        stdout.contains("kbatch.jupyter.org/username: alice"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("owner"),
        "denied objects are not printed: {stdout}"
    );
    assert!(!stdout.contains("ttlSecondsAfterFinished"), "{stdout}");
}

#[test]
fn warnings_are_printed_and_allow() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("warn.yaml"),
        "name: latest-tag\nmode: warn\nmatch: {resources: [pods]}\ndeny:\n  - {path: $containers.image, matches: ':latest$|^[^:]*$', message: pin the image tag}\n",
    )
    .expect("write");
    let out = check(
        &["--dir", dir.path().to_str().expect("utf-8"), "--user", "bob"],
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: m, image: busybox}]}\n",
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Pod/p: Warning: policy latest-tag: pin the image tag (spec.containers[0].image: \"busybox\")"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("image: busybox"));
}

#[test]
fn usage_and_load_errors_exit_2() {
    let dir = shipped();
    let d = dir.to_str().expect("utf-8");
    let bad_dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(bad_dir.path().join("bad.yaml"), "name: x\nmatch: {}\n").expect("write");
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["--dir", d], "x: 1", "--user"),
        (
            vec!["--dir", "/nonexistent/policies", "--user", "a"],
            "kind: Pod",
            "/nonexistent/policies",
        ),
        (
            vec![
                "--dir",
                bad_dir.path().to_str().expect("utf-8"),
                "--user",
                "a",
            ],
            "kind: Pod",
            "bad.yaml",
        ),
        (
            vec!["--dir", d, "--user", "a"],
            "kind: Pod\n",
            "no apiVersion",
        ),
        (vec!["--dir", d, "--user", "a"], "- 1\n", "not an object"),
        (vec!["--dir", d, "--user", "a"], "", "no objects"),
        (
            vec!["--dir", d, "--user", "a", "-f", "/nonexistent.yaml"],
            "",
            "/nonexistent.yaml",
        ),
    ];
    for (args, manifest, fragment) in cases {
        let out = check(&args, manifest);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(fragment), "{args:?}: {stderr}");
    }
}

const PRIVILEGED_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: root
spec:
  containers:
    - name: main
      image: busybox
      securityContext:
        privileged: true
"#;

/// Without `--dir` the built-in set (the proxy's default) judges; `--dir none` judges nothing.
#[test]
fn without_dir_the_built_in_policies_apply_and_none_turns_them_off() {
    let out = check(&["--user", "alice"], PRIVILEGED_POD);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "Pod/root: DENIED: policy pod-security-baseline: privileged containers are not allowed (spec.containers[0].securityContext.privileged: true)"
        ),
        "{stderr}"
    );
    let out = check(&["--dir", "none", "--user", "alice"], PRIVILEGED_POD);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("Pod/root: no policy applies") && stderr.contains("allowed (unchanged)"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("privileged: true"));
}

#[test]
fn help_exits_0_and_the_server_stays_the_default() {
    let out = Command::new(env!("CARGO_BIN_EXE_kbatch-proxy"))
        .args(["policy", "check", "--help"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--dir"));
    let out = Command::new(env!("CARGO_BIN_EXE_kbatch-proxy"))
        .arg("--help")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(
        help.contains("--policies-dir") && help.contains("--listen"),
        "{help}"
    );
    assert!(Path::new(env!("CARGO_BIN_EXE_kbatch-proxy")).exists());
}
