//! Admission policies end to end: real kubectl (1.27, 1.32, 1.33) and the real Python client
//! through kbatch-proxy to the API stand-in, with the shipped `policies/` (and test-only policy
//! files in temporary directories): refusals kubectl prints, warnings, mutations of objects
//! created as JSON, YAML and protobuf, every patch type judged on its result, exec refused,
//! policies reloaded while a watch stays open, and the built-in set in force without a
//! policies flag (`--policies-dir none` turns it off).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cluster::{Cluster, Kubectl};
use support::hub::Hub;
use support::proxy::Proxy;

const USERNAME_KEY: &str = "kbatch.jupyter.org/username";

/// The shipped policies.
fn shipped() -> PathBuf {
    support::tools::repo_root().join("policies")
}

/// A fresh directory holding copies of the shipped policies plus `extra` (file name, text).
fn policy_dir(c: &Cluster, extra: &[(&str, &str)]) -> PathBuf {
    let dir = c
        .dir
        .path()
        .join(format!("policies-{}", support::tools::unique_suffix()));
    std::fs::create_dir_all(&dir).expect("policy dir");
    for entry in std::fs::read_dir(shipped()).expect("policies/") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            std::fs::copy(&p, dir.join(p.file_name().expect("name"))).expect("copy policy");
        }
    }
    for (name, text) in extra {
        std::fs::write(dir.join(name), text).expect("write policy");
    }
    dir
}

fn start(c: &Cluster, dir: &Path, extra: &[&str]) -> Proxy {
    let mut args = vec!["--policies-dir", dir.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    Proxy::start(c, &Hub::shared().api_url(), &args)
}

fn write(c: &Cluster, name: &str, text: &str) -> String {
    let p = c
        .dir
        .path()
        .join(format!("{}-{name}", support::tools::unique_suffix()));
    std::fs::write(&p, text).expect("write manifest");
    p.display().to_string()
}

fn get_json(k: &Kubectl, ns: &str, what: &str) -> Value {
    serde_json::from_str(&k.ok(&["get", what, "-n", ns, "-o", "json"])).expect("json")
}

fn pod_manifest(name: &str, extra_spec: &str, container_extra: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  restartPolicy: Never\n{extra_spec}  containers:\n  - name: main\n    image: busybox\n    command: [\"sleep\", \"600\"]\n{container_extra}"
    )
}

fn assert_forbidden_by(err: &str, policy: &str, message: &str) {
    assert!(
        err.contains("Error from server (Forbidden):")
            && err.contains(&format!("policy {policy}: {message}")),
        "expected a Forbidden naming policy {policy} ({message}); kubectl said: {err}"
    );
}

fn assert_policy_message(err: &str, policy: &str, message: &str) {
    assert!(
        err.contains("is forbidden: ") && err.contains(&format!("policy {policy}: {message}")),
        "expected a refusal naming policy {policy} ({message}); kubectl said: {err}"
    );
}

#[test]
fn privileged_pods_and_host_path_volumes_are_refused_with_the_policy_message() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &[]);
    let u = Hub::shared().kbatch_user("priv");
    for v in ["1.27", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, &u.namespace);
        let tag = v.replace('.', "-");
        let privileged = write(
            &c,
            "privileged.yaml",
            &pod_manifest(
                &format!("privileged-{tag}"),
                "",
                "    securityContext:\n      privileged: true\n",
            ),
        );
        let err = k.fails(&["create", "-n", &u.namespace, "-f", &privileged]);
        assert_forbidden_by(
            &err,
            "pod-security-baseline",
            "privileged containers are not allowed",
        );
        assert!(
            err.contains(&format!("pods \"privileged-{tag}\" is forbidden")),
            "{err}"
        );
        let host_path = write(
            &c,
            "hostpath.yaml",
            &pod_manifest(
                &format!("hostpath-{tag}"),
                "  volumes:\n  - name: root\n    hostPath:\n      path: /\n",
                "",
            ),
        );
        let err = k.fails(&["apply", "-n", &u.namespace, "-f", &host_path]);
        assert_forbidden_by(
            &err,
            "pod-security-baseline",
            "hostPath volumes are not allowed",
        );
        // Nothing was created.
        let names = k.ok(&["get", "pods", "-n", &u.namespace, "-o", "name"]);
        assert!(
            !names.contains("privileged-") && !names.contains("hostpath-"),
            "{names}"
        );
        // An ordinary pod passes.
        let fine = write(
            &c,
            "fine.yaml",
            &pod_manifest(&format!("fine-{tag}"), "", ""),
        );
        k.ok(&["create", "-n", &u.namespace, "-f", &fine]);
    }
}

/// A CronJob: its pod template may change after creation (a Job's is immutable, so the API
/// server itself refuses such a patch with 422 before any policy could).
fn cronjob_manifest(name: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: {name}\nspec:\n  schedule: \"0 0 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: main\n            image: busybox\n            command: [\"echo\", \"hi\"]\n"
    )
}

#[test]
fn patches_that_make_a_pod_template_privileged_are_refused_for_every_patch_type() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &[]);
    let u = Hub::shared().kbatch_user("patcher");
    let ns = u.namespace.as_str();
    for v in ["1.27", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, ns);
        let name = format!("cron-{}", v.replace('.', "-"));
        let file = write(&c, "cron.yaml", &cronjob_manifest(&name));
        k.ok(&["create", "-n", ns, "-f", &file]);
        let container = "/spec/jobTemplate/spec/template/spec/containers/0";
        let json_patch = format!(
            r#"[{{"op":"add","path":"{container}/securityContext","value":{{"privileged":true}}}}]"#
        );
        let merge =
            r#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"hostNetwork":true}}}}}}"#;
        let strategic = r#"{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"main","securityContext":{"privileged":true}}]}}}}}}"#;
        let cases = [
            (
                "json",
                json_patch.as_str(),
                "privileged containers are not allowed",
            ),
            (
                "merge",
                merge,
                "sharing the host network (hostNetwork) is not allowed",
            ),
            (
                "strategic",
                strategic,
                "privileged containers are not allowed",
            ),
        ];
        for (kind, patch, message) in cases {
            let err = k.fails(&[
                "patch",
                "cronjob",
                &name,
                "-n",
                ns,
                &format!("--type={kind}"),
                "-p",
                patch,
            ]);
            assert_forbidden_by(&err, "pod-security-baseline", message);
        }
        // A Job's pod template is immutable: the dry run's 422 reaches the client unchanged.
        let job = format!("{name}-job");
        k.ok(&[
            "create",
            "job",
            &job,
            "-n",
            ns,
            "--image=busybox",
            "--",
            "echo",
            "hi",
        ]);
        let err = k.fails(&[
            "patch",
            "job",
            &job,
            "-n",
            ns,
            "--type=json",
            "-p",
            &json_patch.replace("/spec/jobTemplate/spec/template", "/spec/template"),
        ]);
        assert!(
            err.contains("is invalid") && err.contains("field is immutable"),
            "{err}"
        );
        // Server-side apply of the same object made privileged.
        let privileged = cronjob_manifest(&name).replace(
            "            command: [\"echo\", \"hi\"]\n",
            "            command: [\"echo\", \"hi\"]\n            securityContext:\n              privileged: true\n",
        );
        let file = write(&c, "cron-priv.yaml", &privileged);
        let err = k.fails(&["apply", "--server-side", "-n", ns, "-f", &file]);
        assert_forbidden_by(
            &err,
            "pod-security-baseline",
            "privileged containers are not allowed",
        );
        // Nothing changed; harmless patches of every type still pass (and keep the labels).
        let cj = get_json(&k, ns, &format!("cronjob/{name}"));
        let spec = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert!(
            spec["containers"][0].get("securityContext").is_none(),
            "{cj}"
        );
        assert!(spec.get("hostNetwork").is_none(), "{cj}");
        k.ok(&[
            "patch",
            "cronjob",
            &name,
            "-n",
            ns,
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/metadata/labels/step","value":"json"}]"#,
        ]);
        k.ok(&[
            "patch",
            "cronjob",
            &name,
            "-n",
            ns,
            "--type=merge",
            "-p",
            r#"{"metadata":{"labels":{"step":"merge"}}}"#,
        ]);
        k.ok(&[
            "patch",
            "cronjob",
            &name,
            "-n",
            ns,
            "--type=strategic",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ]);
        let cj = get_json(&k, ns, &format!("cronjob/{name}"));
        assert_eq!(cj["metadata"]["labels"]["step"], "merge", "{cj}");
        assert_eq!(cj["spec"]["suspend"], true, "{cj}");
        assert_eq!(
            cj["metadata"]["labels"][USERNAME_KEY],
            u.name.as_str(),
            "{cj}"
        );
    }
}

#[test]
fn server_side_apply_that_creates_is_judged_and_mutated_as_a_create() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &[]);
    let u = Hub::shared().kbatch_user("ssa");
    let ns = u.namespace.as_str();
    let k = proxy.kubectl(&c, "1.33", &u.token, ns);
    let file = write(
        &c,
        "job.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: applied\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: busybox\n        command: [\"echo\", \"hi\"]\n",
    );
    k.ok(&["apply", "--server-side", "-n", ns, "-f", &file]);
    let job = get_json(&k, ns, "job/applied");
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600, "{job}");
    assert_eq!(
        job["metadata"]["labels"][USERNAME_KEY],
        u.name.as_str(),
        "{job}"
    );
    // Applying again (an update now) keeps working.
    k.ok(&["apply", "--server-side", "-n", ns, "-f", &file]);
    let bad = write(
        &c,
        "bad.yaml",
        &pod_manifest("applied-pod", "  hostPID: true\n", ""),
    );
    let err = k.fails(&["apply", "--server-side", "-n", ns, "-f", &bad]);
    assert_forbidden_by(
        &err,
        "pod-security-baseline",
        "sharing the host PID namespace (hostPID) is not allowed",
    );
}

#[test]
fn jobs_created_by_kubectl_get_the_username_label_annotation_and_ttl() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &[]);
    let u = Hub::shared().kbatch_user("labels");
    let ns = u.namespace.as_str();
    // kubectl 1.32 sends `create job` as protobuf (reference capture 93-experiment-no-protobuf).
    for v in ["1.27", "1.32", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, ns);
        let name = format!("made-{}", v.replace('.', "-"));
        k.ok(&[
            "create",
            "job",
            &name,
            "-n",
            ns,
            "--image=busybox",
            "--",
            "echo",
            "hi",
        ]);
        let job = get_json(&k, ns, &format!("job/{name}"));
        assert_eq!(
            job["metadata"]["labels"][USERNAME_KEY],
            u.name.as_str(),
            "{job}"
        );
        assert_eq!(
            job["metadata"]["annotations"][USERNAME_KEY],
            u.name.as_str(),
            "{job}"
        );
        assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600, "{job}");
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"][USERNAME_KEY],
            u.name.as_str(),
            "{job}"
        );
        // The job runs (the forwarded JSON is a valid Job) and its pod carries the label.
        k.ok(&[
            "wait",
            "--for=condition=complete",
            &format!("job/{name}"),
            "-n",
            ns,
            "--timeout=30s",
        ]);
        let pods = k.ok(&[
            "get",
            "pods",
            "-n",
            ns,
            "-l",
            &format!("{USERNAME_KEY}={},job-name={name}", u.name),
            "-o",
            "name",
        ]);
        assert!(pods.starts_with("pod/"), "{pods}");
        // A TTL the user chose is kept.
        let file = write(
            &c,
            "ttl.yaml",
            &format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}-ttl\nspec:\n  ttlSecondsAfterFinished: 60\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: busybox\n"),
        );
        k.ok(&["create", "-n", ns, "-f", &file]);
        let job = get_json(&k, ns, &format!("job/{name}-ttl"));
        assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 60, "{job}");
    }
}

#[test]
fn jobs_created_by_the_python_client_get_the_label_and_ttl() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &[]);
    // An e-mail-like name: the label value must still be valid (kbatch's escaping is not).
    let u = Hub::shared().kbatch_user("py.user@example.org");
    let kubeconfig = proxy.user_kubeconfig(&c, &u.token, &u.namespace);
    let root = support::tools::repo_root();
    let out = Command::new(support::tools::venv_python())
        .arg(root.join("tests/python/policy_labels.py"))
        .env("KUBECONFIG", &kubeconfig)
        .env("TEST_NS", &u.namespace)
        .env("TEST_USER", &u.name)
        .env("TEST_IS_STANDIN", if c.is_standin { "1" } else { "0" })
        .env("PYTHONPATH", root.join("tests/python"))
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

const WARN_POLICY: &str = "name: configmap-team\nmode: warn\nmatch:\n  verbs: [create]\n  apiGroups: [\"\"]\n  resources: [configmaps]\ndeny:\n  - path: metadata.labels.team\n    absent: true\n    message: configmaps should carry a team label\n";

#[test]
fn warn_mode_policies_pass_the_request_and_kubectl_prints_the_warning() {
    let c = Cluster::start();
    let dir = policy_dir(&c, &[("warn.yaml", WARN_POLICY)]);
    let proxy = start(&c, &dir, &[]);
    let u = Hub::shared().kbatch_user("warned");
    let ns = u.namespace.as_str();
    for v in ["1.27", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, ns);
        let name = format!("warned-{}", v.replace('.', "-"));
        let out = k.run_with_stdin(
            &["create", "configmap", &name, "-n", ns, "--from-literal=a=b"],
            None,
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains("Warning: policy configmap-team: configmaps should carry a team label"),
            "{stderr}"
        );
        let cm = get_json(&k, ns, &format!("configmap/{name}"));
        assert_eq!(cm["data"]["a"], "b", "{cm}");
        // With the label, no warning.
        let file = write(
            &c,
            "cm.yaml",
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-team\n  labels:\n    team: x\n"),
        );
        let out = k.run_with_stdin(&["create", "-n", ns, "-f", &file], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("Warning"), "{stderr}");
    }
}

const NO_EXEC_POLICY: &str = "name: no-exec\nmode: enforce\nmatch:\n  verbs: [create]\n  apiGroups: [\"\"]\n  resources: [pods]\n  subresources: [exec, attach]\ndeny:\n  - message: exec into pods is disabled on this hub\n";

#[test]
fn exec_is_refused_by_a_policy_denying_it() {
    let c = Cluster::start();
    let dir = policy_dir(&c, &[("no-exec.yaml", NO_EXEC_POLICY)]);
    let proxy = start(&c, &dir, &[]);
    let u = Hub::shared().kbatch_user("noexec");
    let ns = u.namespace.as_str();
    let k = proxy.kubectl(&c, "1.33", &u.token, ns);
    k.ok(&[
        "run",
        "shell",
        "-n",
        ns,
        "--image=busybox",
        "--restart=Never",
        "--command",
        "--",
        "sleep",
        "600",
    ]);
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/shell",
        "-n",
        ns,
        "--timeout=20s",
    ]);
    // 1.33 asks over WebSocket (GET), 1.27 over SPDY (POST): both are judged before the upgrade.
    for v in ["1.27", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, ns);
        let out = k.run_with_stdin(&["exec", "shell", "-n", ns, "--", "echo", "hi"], None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "exec must be refused ({v})");
        assert!(
            stderr.contains("exec into pods is disabled on this hub"),
            "{v}: {stderr}"
        );
        assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    }
    // Logs (not covered by the policy) still work.
    k.ok(&["logs", "shell", "-n", ns]);
}

const BLOCK_POLICY: &str = "name: block-names\nmode: enforce\nmatch:\n  verbs: [create]\n  apiGroups: [\"\"]\n  resources: [configmaps]\ndeny:\n  - path: metadata.name\n    matches: \"^blocked-\"\n    message: configmaps named blocked-* are not allowed\n";

fn spawn_line_reader(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn wait_for_line(rx: &std::sync::mpsc::Receiver<String>, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            if l.contains("ADDED") && l.contains(what) {
                return;
            }
            seen.push(l);
        }
    }
    panic!("no ADDED {what} within {within:?}; saw {seen:?}");
}

/// Try creating configmap `name` until the answer is `refused` (or time runs out).
fn eventually(k: &Kubectl, ns: &str, name_prefix: &str, refused: bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut i = 0;
    loop {
        let name = format!("{name_prefix}{i}");
        let out = k.run_with_stdin(&["create", "configmap", &name, "-n", ns], None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if refused != out.status.success() {
            if refused {
                // `kubectl create configmap` words server errors as `error: failed to create…`.
                assert_policy_message(
                    &stderr,
                    "block-names",
                    "configmaps named blocked-* are not allowed",
                );
            }
            return;
        }
        assert!(
            Instant::now() < deadline,
            "creating {name}: still {} after 20 s: {stderr}",
            if refused { "allowed" } else { "refused" }
        );
        i += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn policies_reload_while_a_watch_stays_open_and_an_invalid_set_keeps_the_old_one() {
    let c = Cluster::start();
    let dir = policy_dir(&c, &[]);
    let proxy = start(&c, &dir, &["--policy-reload-interval", "1"]);
    let u = Hub::shared().kbatch_user("reload");
    let ns = u.namespace.as_str();
    let k = proxy.kubectl(&c, "1.33", &u.token, ns);
    let mut watch = k
        .command(&["get", "configmaps", "-n", ns, "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let lines = spawn_line_reader(watch.stdout.take().expect("piped"));
    k.ok(&["create", "configmap", "blocked-before", "-n", ns]);
    wait_for_line(&lines, "blocked-before", Duration::from_secs(20));

    // A new policy takes effect without a restart; the watch keeps streaming.
    std::fs::write(dir.join("block.yaml"), BLOCK_POLICY).expect("write policy");
    eventually(&k, ns, "blocked-", true);
    k.ok(&["create", "configmap", "after-new-set", "-n", ns]);
    wait_for_line(&lines, "after-new-set", Duration::from_secs(20));

    // An invalid set is refused: the previous one stays in force.
    std::fs::write(
        dir.join("block.yaml"),
        "name: block-names\nmode: sometimes\n",
    )
    .expect("write invalid policy");
    std::thread::sleep(Duration::from_secs(4));
    let err = k.fails(&["create", "configmap", "blocked-still", "-n", ns]);
    assert_policy_message(
        &err,
        "block-names",
        "configmaps named blocked-* are not allowed",
    );

    // Removing the file is a valid change again: the policy is gone.
    std::fs::remove_file(dir.join("block.yaml")).expect("remove policy");
    eventually(&k, ns, "blocked-again-", false);
    k.ok(&["create", "configmap", "after-removal", "-n", ns]);
    wait_for_line(&lines, "after-removal", Duration::from_secs(20));
    assert!(
        watch.try_wait().expect("watch status").is_none(),
        "the watch is still open"
    );
    let _ = watch.kill();
    let _ = watch.wait();
}

/// Send one raw request to the proxy (Python's http.client: any body bytes, any content type,
/// optionally chunked) and return the status and body.
fn raw(
    proxy: &Proxy,
    c: &Cluster,
    token: &str,
    (method, path, content_type): (&str, &str, &str),
    body: &[u8],
    chunked: bool,
) -> (u16, String) {
    let ca = c
        .dir
        .path()
        .join(format!("proxy-ca-{}.pem", support::tools::unique_suffix()));
    std::fs::write(&ca, &proxy.ca_pem).expect("write CA");
    let body_file = c
        .dir
        .path()
        .join(format!("body-{}", support::tools::unique_suffix()));
    std::fs::write(&body_file, body).expect("write body");
    let script = r#"
import http.client, ssl, sys, urllib.parse
url, ca, token, method, path, ctype, body_file, chunked = sys.argv[1:9]
u = urllib.parse.urlparse(url)
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
body = open(body_file, "rb").read()
headers = {"Authorization": "Bearer " + token, "Content-Type": ctype, "Accept": "application/json"}
if chunked == "1":
    conn.request(method, path, body=iter([body[i:i + 1024] for i in range(0, len(body), 1024)]),
                 headers=headers, encode_chunked=True)
else:
    conn.request(method, path, body=body, headers=headers)
r = conn.getresponse()
sys.stdout.write(str(r.status) + "\n" + r.read().decode())
"#;
    let out = Command::new(support::tools::venv_python())
        .args(["-c", script, &proxy.url])
        .arg(&ca)
        .args([token, method, path, content_type])
        .arg(&body_file)
        .arg(if chunked { "1" } else { "0" })
        .output()
        .expect("python");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, body) = text.split_once('\n').unwrap_or_else(|| {
        panic!(
            "no answer: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (status.parse().expect("status"), body.to_owned())
}

#[test]
fn yaml_bodies_are_judged_and_forwarded_as_json_and_undecodable_ones_get_415() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &["--max-request-body", "8192"]);
    let u = Hub::shared().kbatch_user("raw");
    let ns = u.namespace.as_str();
    let cms = format!("/api/v1/namespaces/{ns}/configmaps");
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        ("POST", &cms, "application/yaml"),
        b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: b\n",
        false,
    );
    assert_eq!(status, 201, "{body}");
    let cm: Value = serde_json::from_str(&body).expect("json answer");
    assert_eq!(
        cm["metadata"]["labels"][USERNAME_KEY],
        u.name.as_str(),
        "{cm}"
    );
    assert_eq!(cm["data"]["a"], "b", "{cm}");
    // The same, chunked (no Content-Length): collected and judged all the same.
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        (
            "POST",
            &format!("/api/v1/namespaces/{ns}/pods"),
            "application/yaml",
        ),
        pod_manifest(
            "raw-priv",
            "",
            "    securityContext:\n      privileged: true\n",
        )
        .as_bytes(),
        true,
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("policy pod-security-baseline: privileged containers are not allowed")
            && body.contains("\"reason\":\"Forbidden\""),
        "{body}"
    );
    // CBOR cannot be judged: 415 asking for JSON, for a create and for an apply patch.
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        ("POST", &cms, "application/cbor"),
        &[0xa0],
        false,
    );
    assert_eq!(status, 415, "{body}");
    assert!(
        body.contains("send it as JSON") && body.contains("UnsupportedMediaType"),
        "{body}"
    );
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        (
            "PATCH",
            &format!("{cms}/from-yaml?fieldManager=t"),
            "application/apply-patch+cbor",
        ),
        &[0xa0],
        false,
    );
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("send it as JSON"), "{body}");
    // A protobuf body of a kind the schema does not know: 415 naming it.
    let mut unknown = b"k8s\x00\x0a\x18\x0a\x0eexample.com/v1\x12\x06Widget".to_vec();
    unknown.extend_from_slice(b"\x12\x00");
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        ("POST", &cms, "application/vnd.kubernetes.protobuf"),
        &unknown,
        false,
    );
    assert_eq!(status, 415, "{body}");
    assert!(body.contains("Widget in version example.com/v1"), "{body}");
    // Malformed: 400. Over the limit without a declared length: 413 (nothing created).
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        ("POST", &cms, "application/json"),
        b"{",
        false,
    );
    assert_eq!(status, 400, "{body}");
    let big = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"a\":\"{}\"}}}}",
        "x".repeat(9000)
    );
    let (status, body) = raw(
        &proxy,
        &c,
        &u.token,
        ("POST", &cms, "application/json"),
        big.as_bytes(),
        true,
    );
    assert_eq!(status, 413, "{body}");
    let k = proxy.kubectl(&c, "1.33", &u.token, ns);
    let names = k.ok(&["get", "configmaps", "-n", ns, "-o", "name"]);
    assert!(!names.contains("configmap/big"), "{names}");
}

/// Protect by default: a proxy started without `--policies-dir` enforces the built-in set (a
/// privileged pod is refused, also when its body names no kind); `--policies-dir none`
/// turns policies off and the same pod is created.
#[test]
fn without_a_policies_flag_the_built_in_policies_refuse_a_privileged_pod_and_none_allows_it() {
    let c = Cluster::start();
    let u = Hub::shared().kbatch_user("builtin");
    let ns = u.namespace.as_str();
    let pods = format!("/api/v1/namespaces/{ns}/pods");
    let pod = |name: &str, kind: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"{kind}","metadata":{{"name":"{name}"}},"spec":{{"containers":[{{"name":"m","image":"busybox","securityContext":{{"privileged":true}}}}]}}}}"#
        )
    };
    let default = Proxy::start(&c, &Hub::shared().api_url(), &[]);
    // A body claiming another kind is refused before any policy (kube-apiserver cannot handle
    // a Secret as a Pod either); one without a kind is judged as the URL's Pod.
    let (status, body) = raw(
        &default,
        &c,
        &u.token,
        ("POST", &pods, "application/json"),
        pod("priv-as-secret", "Secret").as_bytes(),
        false,
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cannot be handled as a Pod"), "{body}");
    let no_kind = pod("priv-no-kind", "Pod").replace(r#""kind":"Pod","#, "");
    for (kind, text) in [("Pod", pod("priv-default", "Pod")), ("none", no_kind)] {
        let (status, body) = raw(
            &default,
            &c,
            &u.token,
            ("POST", &pods, "application/json"),
            text.as_bytes(),
            false,
        );
        assert_eq!(status, 403, "{kind}: {body}");
        assert!(
            body.contains("policy pod-security-baseline: privileged containers are not allowed (spec.containers[0].securityContext.privileged: true)"),
            "{kind}: {body}"
        );
    }
    default.shutdown();
    let off = Proxy::start(&c, &Hub::shared().api_url(), &["--policies-dir", "none"]);
    let (status, body) = raw(
        &off,
        &c,
        &u.token,
        ("POST", &pods, "application/json"),
        pod("priv-off", "Pod").as_bytes(),
        false,
    );
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).expect("json answer");
    assert_eq!(
        created["spec"]["containers"][0]["securityContext"]["privileged"],
        true
    );
    assert!(
        created["metadata"]["labels"].get(USERNAME_KEY).is_none(),
        "no policy, no username label: {created}"
    );
}

/// Test-only policies that mutate only once the API server has defaulted the object (a `test`
/// of a field no manifest sets), so an apply configuration never carries the mutation and the
/// proxy must commit the judged object whole: a create for an apply that creates, a `PUT` for
/// patches of an existing object. Per kind: (API group, resource, defaulted field, its default).
const AFTER_DEFAULTS: [(&str, &str, &str, &str); 5] = [
    ("", "services", "/spec/sessionAffinity", "None"),
    ("apps", "deployments", "/spec/revisionHistoryLimit", "10"),
    (
        "apps",
        "statefulsets",
        "/spec/podManagementPolicy",
        "OrderedReady",
    ),
    ("batch", "jobs", "/spec/completionMode", "NonIndexed"),
    ("batch", "cronjobs", "/spec/concurrencyPolicy", "Allow"),
];

/// The [`AFTER_DEFAULTS`] policies as one policy file.
fn after_defaults_policies() -> String {
    AFTER_DEFAULTS
        .iter()
        .map(|(group, resource, field, default)| {
            format!(
                "name: defaulted-{resource}\n\
                 match: {{verbs: [create, update, patch], apiGroups: [\"{group}\"], resources: [{resource}]}}\n\
                 mutate:\n  \
                 - {{op: test, path: {field}, value: {default}}}\n  \
                 - {{op: add, path: /metadata/annotations/example.org~1defaulted, value: seen}}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// A manifest of `kind` (named `rt`) whose changeable field is `v`.
fn round_trip_manifest(kind: &str, v: u32) -> String {
    let pod = "      containers:\n      - name: main\n        image: busybox\n        command: [sleep, \"60\"]\n";
    match kind {
        "service" => format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: rt\n  labels: {{rt: one}}\nspec:\n  selector: {{app: rt}}\n  ports:\n  - {{name: http, port: 80, targetPort: {}}}\n",
            8080 + v
        ),
        "deployment" => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: rt\n  labels: {{rt: one}}\nspec:\n  replicas: {v}\n  selector: {{matchLabels: {{app: rt}}}}\n  template:\n    metadata: {{labels: {{app: rt}}}}\n    spec:\n{pod}"
        ),
        "statefulset" => format!(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: rt\n  labels: {{rt: one}}\nspec:\n  serviceName: rt\n  replicas: {v}\n  selector: {{matchLabels: {{app: rt}}}}\n  template:\n    metadata: {{labels: {{app: rt}}}}\n    spec:\n{pod}"
        ),
        "job" => format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: rt\n  labels: {{rt: one}}\nspec:\n  parallelism: {v}\n  template:\n    spec:\n      restartPolicy: Never\n{pod}"
        ),
        "cronjob" => format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: rt\n  labels: {{rt: one}}\nspec:\n  schedule: \"*/{v} * * * *\"\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n{}",
            pod.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        ),
        other => panic!("no manifest for {other}"),
    }
}

/// The changeable field of a round-trip manifest, as stored.
fn round_trip_field(kind: &str, obj: &Value) -> Value {
    match kind {
        "service" => obj["spec"]["ports"][0]["targetPort"].clone(),
        "deployment" | "statefulset" => obj["spec"]["replicas"].clone(),
        "job" => obj["spec"]["parallelism"].clone(),
        _ => obj["spec"]["schedule"].clone(),
    }
}

/// A strategic-merge patch of the changeable field to `v`, dropping the policy's annotation
/// (so the policy changes the dry run's result and the object is committed whole).
fn round_trip_patch(kind: &str, v: u32) -> String {
    let spec = match kind {
        "service" => format!(r#"{{"ports":[{{"port":80,"targetPort":{}}}]}}"#, 8080 + v),
        "deployment" | "statefulset" => format!(r#"{{"replicas":{v}}}"#),
        "job" => format!(r#"{{"parallelism":{v}}}"#),
        _ => format!(r#"{{"schedule":"*/{v} * * * *"}}"#),
    };
    format!(r#"{{"metadata":{{"annotations":{{"example.org/defaulted":null}}}},"spec":{spec}}}"#)
}

fn expected_field(kind: &str, v: u32) -> Value {
    match kind {
        "service" => serde_json::json!(8080 + v),
        "cronjob" => serde_json::json!(format!("*/{v} * * * *")),
        _ => serde_json::json!(v),
    }
}

/// `what` has exactly one `managedFields` entry, an `Apply` by `kubectl`, owning the
/// policies' label and the test policy's annotation.
fn assert_applied_by_kubectl(k: &Kubectl, ns: &str, what: &str) {
    let obj: Value = serde_json::from_str(&k.ok(&[
        "get",
        what,
        "-n",
        ns,
        "-o",
        "json",
        "--show-managed-fields",
    ]))
    .expect("json");
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries.len(), 1, "{what}: {entries:?}");
    assert_eq!(entries[0]["manager"], "kubectl", "{what}: {entries:?}");
    assert_eq!(entries[0]["operation"], "Apply", "{what}: {entries:?}");
    let owned = entries[0]["fieldsV1"].to_string();
    assert!(
        owned.contains("f:example.org/defaulted") && owned.contains(USERNAME_KEY),
        "{what}: {owned}"
    );
}

#[test]
fn whole_object_commits_round_trip_services_deployments_statefulsets_jobs_and_cronjobs() {
    let c = Cluster::start();
    let policies = after_defaults_policies();
    let dir = policy_dir(&c, &[("zz-after-defaults.yaml", &policies)]);
    let proxy = start(&c, &dir, &[]);
    let u = Hub::shared().kbatch_user("roundtrip");
    let ns = u.namespace.as_str();
    let k = proxy.kubectl(&c, "1.33", &u.token, ns);
    for kind in ["service", "deployment", "statefulset", "job", "cronjob"] {
        let what = format!("{kind}/rt");
        // 1. Server-side apply that creates: committed as a create of the judged object,
        //    without what the dry run allocated or recorded.
        let file = write(&c, "rt.yaml", &round_trip_manifest(kind, 1));
        k.ok(&["apply", "--server-side", "-n", ns, "-f", &file]);
        let created = get_json(&k, ns, &what);
        assert_eq!(
            created["metadata"]["annotations"]["example.org/defaulted"], "seen",
            "{created}"
        );
        assert_eq!(
            created["metadata"]["labels"][USERNAME_KEY],
            u.name.as_str(),
            "{created}"
        );
        assert_eq!(round_trip_field(kind, &created), expected_field(kind, 1));
        let uid = created["metadata"]["uid"].clone();
        let born = created["metadata"]["creationTimestamp"].clone();
        assert!(uid.is_string() && born.is_string(), "{created}");
        if kind == "service" {
            let ip = created["spec"]["clusterIP"].as_str().unwrap_or("");
            assert!(!ip.is_empty() && ip != "None", "{created}");
        }
        // The policy's change went into the apply configuration: kubectl's apply owns it.
        assert_applied_by_kubectl(&k, ns, &what);
        // 2. Server-side apply of a change: an apply, kept as one (no conflict with the
        //    create's own fields).
        let file = write(&c, "rt.yaml", &round_trip_manifest(kind, 2));
        k.ok(&["apply", "--server-side", "-n", ns, "-f", &file]);
        let applied = get_json(&k, ns, &what);
        assert_eq!(round_trip_field(kind, &applied), expected_field(kind, 2));
        assert_applied_by_kubectl(&k, ns, &what);
        // 3. A strategic-merge patch the policy changes again: committed whole with a PUT.
        k.ok(&["patch", &what, "-n", ns, "-p", &round_trip_patch(kind, 3)]);
        let patched = get_json(&k, ns, &what);
        // 4. A JSON patch likewise.
        k.ok(&[
            "patch",
            &what,
            "-n",
            ns,
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/metadata/annotations/example.org~1defaulted"},{"op":"replace","path":"/metadata/labels/rt","value":"four"}]"#,
        ]);
        let last = get_json(&k, ns, &what);
        for (step, obj) in [("strategic", &patched), ("json", &last)] {
            assert_eq!(
                obj["metadata"]["annotations"]["example.org/defaulted"], "seen",
                "{kind} {step}: {obj}"
            );
            assert_eq!(
                round_trip_field(kind, obj),
                expected_field(kind, 3),
                "{kind} {step}"
            );
            assert_eq!(obj["metadata"]["uid"], uid, "{kind} {step}: {obj}");
            assert_eq!(obj["metadata"]["creationTimestamp"], born, "{kind} {step}");
            assert!(obj.get("status").is_none_or(|s| !s.is_null()), "{obj}");
        }
        assert_eq!(last["metadata"]["labels"]["rt"], "four", "{last}");
        if kind == "service" {
            for key in ["clusterIP", "clusterIPs"] {
                assert_eq!(last["spec"][key], created["spec"][key], "{last}");
            }
        } else {
            // The metadata-only JSON patch leaves the generation where the spec change put it.
            let g = |o: &Value| o["metadata"]["generation"].as_i64().unwrap_or(0);
            assert!(g(&patched) > g(&created), "{kind}: {patched}");
            assert_eq!(g(&last), g(&patched), "{kind}: {last}");
        }
        k.ok(&["delete", &what, "-n", ns, "--wait=false"]);
    }
}

#[test]
fn bodies_naming_default_follow_the_rewrite_in_every_body_type_and_answers_show_default() {
    let c = Cluster::start();
    let proxy = start(&c, &shipped(), &[]);
    let u = Hub::shared().kbatch_user("bodyns");
    let ns = u.namespace.as_str();
    let base = "/api/v1/namespaces/default/configmaps";
    let one = format!("{base}/one");
    let cases: Vec<(&str, String, &str, String)> = vec![
        (
            "POST",
            base.to_string(),
            "application/yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: default\ndata:\n  a: x\n".into(),
        ),
        (
            "POST",
            base.to_string(),
            "application/json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"two","namespace":"default"}}"#.into(),
        ),
        (
            "PUT",
            one.clone(),
            "application/json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"one","namespace":"default"},"data":{"a":"put"}}"#.into(),
        ),
        (
            "PATCH",
            one.clone(),
            "application/merge-patch+json",
            r#"{"metadata":{"namespace":"default","labels":{"merge":"1"}}}"#.into(),
        ),
        (
            "PATCH",
            one.clone(),
            "application/strategic-merge-patch+json",
            r#"{"metadata":{"namespace":"default","labels":{"strategic":"1"}}}"#.into(),
        ),
        (
            "PATCH",
            one.clone(),
            "application/json-patch+json",
            r#"[{"op":"test","path":"/metadata/namespace","value":"default"},{"op":"add","path":"/metadata/labels/json","value":"1"}]"#.into(),
        ),
        (
            "PATCH",
            format!("{one}?fieldManager=tester"),
            "application/apply-patch+yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: default\n  labels:\n    apply: \"1\"\n".into(),
        ),
    ];
    for (method, path, ct, body) in &cases {
        let (status, answer) = raw(
            &proxy,
            &c,
            &u.token,
            (method, path, ct),
            body.as_bytes(),
            false,
        );
        assert!(
            (200..300).contains(&status),
            "{method} {ct}: {status} {answer}"
        );
        let v: Value = serde_json::from_str(&answer).expect("json answer");
        assert_eq!(
            v["metadata"]["namespace"], "default",
            "{method} {ct}: {answer}"
        );
    }
    // Stored in the user's namespace, with every change.
    let admin = c.kubectl("1.33", None);
    let stored: Value =
        serde_json::from_str(&admin.ok(&["get", "configmap", "one", "-n", ns, "-o", "json"]))
            .expect("json");
    for label in ["merge", "strategic", "json", "apply"] {
        assert_eq!(stored["metadata"]["labels"][label], "1", "{stored}");
    }
    assert_eq!(stored["data"]["a"], "put", "{stored}");
    let none = admin.ok(&["get", "configmaps", "-n", "default", "-o", "name"]);
    assert!(!none.contains("configmap/one"), "{none}");
    // A list, a Table and a watch in `default` show `default`.
    let (status, list) = raw(&proxy, &c, &u.token, ("GET", base, ""), b"", false);
    assert_eq!(status, 200, "{list}");
    let list: Value = serde_json::from_str(&list).expect("list");
    let items = list["items"].as_array().expect("items");
    assert!(items.len() >= 2, "{list}");
    assert!(
        items
            .iter()
            .all(|i| i["metadata"]["namespace"] == "default"),
        "{list}"
    );
    let watch = format!("{base}?watch=true&timeoutSeconds=1");
    let (status, events) = raw(&proxy, &c, &u.token, ("GET", &watch, ""), b"", false);
    assert_eq!(status, 200, "{events}");
    let events: Vec<Value> = events
        .lines()
        .map(|l| serde_json::from_str(l).expect("event"))
        .collect();
    assert!(events.len() >= 2, "{events:?}");
    assert!(
        events
            .iter()
            .all(|e| e["object"]["metadata"]["namespace"] == "default"),
        "{events:?}"
    );
    // Another namespace in the body is refused, for every body type that can name one.
    let foreign: [(&str, &str, &str); 3] = [
        (
            "POST",
            "application/json",
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"f","namespace":"kube-system"}}"#,
        ),
        (
            "PATCH",
            "application/merge-patch+json",
            r#"{"metadata":{"namespace":"kube-system"}}"#,
        ),
        (
            "PATCH",
            "application/json-patch+json",
            r#"[{"op":"replace","path":"/metadata/namespace","value":"kube-system"}]"#,
        ),
    ];
    for (method, ct, body) in foreign {
        let path = if method == "POST" { base } else { one.as_str() };
        let (status, answer) = raw(
            &proxy,
            &c,
            &u.token,
            (method, path, ct),
            body.as_bytes(),
            false,
        );
        assert_eq!(status, 403, "{method} {ct}: {answer}");
    }
}
