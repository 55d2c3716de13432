//! The kbatch REST API end to end: the real kbatch CLIs from PyPI (0.4.2 and 0.5.0b1, in
//! `.venv-kbatch042` / `.venv-kbatch05`, made by `make env`) against kbatch-proxy with a real
//! JupyterHub and the API stand-in (or a real control plane), checking what the CLI prints
//! and what was created in the cluster.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kbatch_proxy::identity::{namespace_for, username_label};
use serde_json::Value;
use support::cluster::{Cluster, Kubectl};
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::proxy::Proxy;
use support::tools::{repo_root, MAKE_ENV_HINT};

/// One installed kbatch CLI with its own config directory.
struct Cli {
    bin: PathBuf,
    home: PathBuf,
    ca: PathBuf,
}

impl Cli {
    fn new(venv: &str, dir: &Path, ca_pem: &str) -> Cli {
        let bin = repo_root().join(venv).join("bin/kbatch");
        assert!(
            bin.exists(),
            "test environment missing: {} not found; {MAKE_ENV_HINT}",
            bin.display()
        );
        let home = dir.join(format!("home-{venv}"));
        std::fs::create_dir_all(&home).expect("home");
        let ca = home.join("proxy-ca.pem");
        std::fs::write(&ca, ca_pem).expect("ca");
        Cli { bin, home, ca }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("SSL_CERT_FILE", &self.ca)
            .env("COLUMNS", "250")
            .env("NO_COLOR", "1")
            .env("TERM", "dumb")
            .env_remove("JUPYTERHUB_API_TOKEN")
            .env_remove("KBATCH_URL")
            .env_remove("APPDATA")
            .stdin(Stdio::null())
            .output()
            .expect("kbatch must start")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kbatch {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // kbatch 0.4.2 logs every HTTP request to stdout (rich logging); not the output.
        String::from_utf8_lossy(&out.stdout)
            .split_inclusive('\n')
            .filter(|l| !l.contains("INFO     HTTP Request:"))
            .collect()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kbatch {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("kbatch {args:?}: {e}: {out}"))
    }
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn get_json(k: &Kubectl, args: &[&str]) -> Value {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    serde_json::from_str(&k.ok(&a)).expect("kubectl json")
}

fn exists(k: &Kubectl, kind: &str, name: &str) -> bool {
    let out = k.run_with_stdin(
        &["get", kind, name, "--ignore-not-found", "-o", "name"],
        None,
    );
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

const PROFILES: &str = r#"
small:
  image: alpine:3.20
  resources:
    requests: {cpu: "0.5", memory: 1Gi}
    limits: {cpu: "1", memory: 2Gi}
  tolerations:
    - {key: dedicated, operator: Equal, value: kbatch, effect: NoSchedule}
"#;

const TEMPLATE: &str = r#"
apiVersion: batch/v1
kind: Job
metadata:
  labels: {team: research}
spec:
  template:
    spec:
      automountServiceAccountToken: false
      tolerations:
        - {key: from-template, operator: Exists}
"#;

struct Env {
    cluster: Cluster,
    proxy: Proxy,
    user: String,
    token: String,
    namespace: String,
    admin: Kubectl,
    dir: PathBuf,
}

fn env(base: &str) -> Env {
    let cluster = Cluster::start();
    let hub = Hub::shared();
    let dir = cluster.dir.path().join("kbatch");
    std::fs::create_dir_all(&dir).expect("dir");
    let profiles = dir.join("profiles.yaml");
    std::fs::write(&profiles, PROFILES).expect("profiles");
    let template = dir.join("template.yaml");
    std::fs::write(&template, TEMPLATE).expect("template");
    let proxy = Proxy::start(
        &cluster,
        &hub.api_url(),
        &[
            "--profile-file",
            profiles.to_str().expect("utf8"),
            "--job-template-file",
            template.to_str().expect("utf8"),
            "--job-extra-env",
            r#"{"DASK_IMAGE":"{JUPYTER_IMAGE_SPEC}"}"#,
            // The shipped policies, as a real deployment runs them.
            "--policies-dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/policies"),
        ],
    );
    let user = hub.new_user(base, &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&user, None);
    let namespace = namespace_for(&user);
    let admin = cluster.kubectl("1.33", Some(&namespace));
    Env {
        cluster,
        proxy,
        user,
        token,
        namespace,
        admin,
        dir,
    }
}

fn code_dir(dir: &Path) -> PathBuf {
    let code = dir.join("code");
    std::fs::create_dir_all(&code).expect("code dir");
    std::fs::write(code.join("script.sh"), "echo from-script\n").expect("script");
    code
}

/// Everything a submitted job must look like in the cluster.
fn check_created_job(e: &Env, name: &str, image: &str, with_code: bool) -> Value {
    let job = get_json(&e.admin, &["job", name]);
    let meta = &job["metadata"];
    assert_eq!(meta["namespace"], e.namespace.as_str());
    assert_eq!(
        meta["annotations"]["kbatch.jupyter.org/username"],
        e.user.as_str()
    );
    assert_eq!(
        meta["labels"]["kbatch.jupyter.org/username"],
        username_label(&e.user).as_str()
    );
    assert_eq!(meta["labels"]["app.kubernetes.io/managed-by"], "kbatch");
    assert_eq!(meta["labels"]["team"], "research", "template labels");
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 3600);
    assert_eq!(
        job["spec"]["suspend"], false,
        "unsuspended after the Secret exists"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["automountServiceAccountToken"], false,
        "template boolean"
    );
    assert!(
        pod["tolerations"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["key"] == "from-template")),
        "{pod}"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["image"], image);
    let env = c["env"].as_array().expect("env");
    let names: Vec<&str> = env.iter().filter_map(|e| e["name"].as_str()).collect();
    for want in [
        "MYVAR",
        "DASK_IMAGE",
        "JUPYTER_IMAGE",
        "JUPYTER_IMAGE_SPEC",
        "JUPYTERHUB_API_TOKEN",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    for v in env {
        assert!(v.get("value").is_none(), "literal env left in the job: {v}");
        assert_eq!(v["valueFrom"]["secretKeyRef"]["name"], name);
    }
    let uid = meta["uid"].as_str().expect("uid");
    let secret = get_json(&e.admin, &["secret", name]);
    let data = |k: &str| -> String {
        use base64::Engine;
        let b = secret["data"][k]
            .as_str()
            .unwrap_or_else(|| panic!("secret key {k}"));
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .expect("base64"),
        )
        .expect("utf8")
    };
    assert_eq!(data("MYVAR"), "hello world");
    assert_eq!(data("DASK_IMAGE"), "{JUPYTER_IMAGE_SPEC}");
    assert_eq!(data("JUPYTER_IMAGE"), image);
    assert_eq!(data("JUPYTERHUB_API_TOKEN"), e.token);
    assert_eq!(secret["metadata"]["ownerReferences"][0]["uid"], uid);
    assert_eq!(secret["metadata"]["ownerReferences"][0]["kind"], "Job");
    assert_eq!(
        secret["metadata"]["labels"]["kbatch.jupyter.org/username"],
        username_label(&e.user).as_str()
    );
    if with_code {
        let init = &pod["initContainers"][0];
        assert_eq!(init["image"], "busybox");
        assert!(init["args"][1]
            .as_str()
            .is_some_and(|a| a.contains("unzip")));
        let vols = pod["volumes"].as_array().expect("volumes");
        let cm_name = format!("{name}-code");
        assert!(vols.iter().any(|v| v["name"] == "code-source-volume"
            && v["configMap"]["name"] == cm_name.as_str()
            && v["configMap"]["items"][0]["path"] == "code.b64"));
        assert!(vols
            .iter()
            .any(|v| v["name"] == "code-volume" && v["emptyDir"].is_object()));
        assert!(c["volumeMounts"].as_array().is_some_and(|m| m
            .iter()
            .any(|m| m["name"] == "code-volume" && m["mountPath"] == "/code")));
        let cm = get_json(&e.admin, &["configmap", &cm_name]);
        assert_eq!(cm["metadata"]["ownerReferences"][0]["uid"], uid);
        let zip = cm["binaryData"]["code"].as_str().expect("zip");
        assert!(zip.starts_with("UEsD"), "a zip: {zip}");
    }
    job
}

fn pod_of(e: &Env, job: &str) -> String {
    let mut pod = String::new();
    wait_until("the job's pod", Duration::from_secs(30), || {
        let pods = get_json(&e.admin, &["pods", "-l", &format!("job-name={job}")]);
        match pods["items"][0]["metadata"]["name"].as_str() {
            Some(p) => {
                pod = p.to_string();
                true
            }
            None => false,
        }
    });
    pod
}

fn wait_job_done(e: &Env, job: &str) {
    wait_until("the job to complete", Duration::from_secs(60), || {
        get_json(&e.admin, &["job", job])["status"]["succeeded"] == 1
    });
}

fn gone_with_dependents(e: &Env, kind: &str, name: &str, deps: &[(&str, String)]) {
    wait_until("deletion", Duration::from_secs(30), || {
        !exists(&e.admin, kind, name) && deps.iter().all(|(k, n)| !exists(&e.admin, k, n))
    });
}

#[test]
fn kbatch_cli_0_5_drives_the_rest_api() {
    let e = env("kbatch.user@example.org");
    let cli = Cli::new(".venv-kbatch05", &e.dir, &e.proxy.ca_pem);
    // configure checks the token at /authorized and writes the config file
    let out = cli.ok(&[
        "configure",
        "--kbatch-url",
        &e.proxy.url,
        "--token",
        &e.token,
    ]);
    assert!(out.contains("Wrote config"), "{out}");
    let bad = cli.fails(&["configure", "--kbatch-url", &e.proxy.url, "--token", "nope"]);
    assert!(bad.contains("401"), "{bad}");
    cli.ok(&[
        "configure",
        "--kbatch-url",
        &e.proxy.url,
        "--token",
        &e.token,
    ]);
    let profiles = cli.json(&["profiles"]);
    assert_eq!(profiles["small"]["image"], "alpine:3.20");

    // job submit with a code directory, env and a profile
    let code = code_dir(&e.dir);
    let name = cli
        .ok(&[
            "job",
            "submit",
            "--name",
            "hello",
            "--command",
            r#"["sh", "-c", "echo one; echo; echo two; sleep 1; echo three"]"#,
            "-e",
            r#"{"MYVAR": "hello world"}"#,
            "--code",
            code.to_str().expect("utf8"),
            "-p",
            "small",
        ])
        .trim()
        .to_string();
    assert!(
        name.starts_with("hello-") && name.len() == "hello-".len() + 5,
        "{name}"
    );
    let job = check_created_job(&e, &name, "alpine:3.20", true);
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["resources"]["limits"]["memory"], "2Gi", "profile applied");

    let pod = pod_of(&e, &name);
    wait_job_done(&e, &name);
    let table = cli.ok(&["job", "list"]);
    assert!(table.contains(&name) && table.contains("done"), "{table}");
    let listed = cli.json(&["job", "list", "-o", "json"]);
    let item = listed["items"]
        .as_array()
        .and_then(|i| i.iter().find(|j| j["metadata"]["name"] == name.as_str()))
        .expect("listed");
    assert!(item["metadata"]["creation_timestamp"]
        .as_str()
        .is_some_and(|t| t.ends_with("+00:00")));
    assert!(item["status"].get("ready").is_some());
    let shown = cli.json(&["job", "show", &name]);
    assert_eq!(shown["metadata"]["name"], name.as_str());
    assert_eq!(shown["spec"]["ttl_seconds_after_finished"], 3600);
    assert_eq!(shown["status"]["succeeded"], 1);

    // pods, logs (plain and streamed), by job and by pod
    let pods = cli.ok(&["pod", "list", "--job-name", &name]);
    assert!(pods.contains(&pod), "{pods}");
    let names = cli.ok(&["pod", "list", "-o", "name"]);
    assert!(names.contains(&pod), "{names}");
    let want = "one\n\ntwo\nthree\n";
    // Without --stream the CLI prints the whole text with print(), adding a newline.
    assert_eq!(cli.ok(&["job", "logs", &name]), format!("{want}\n"));
    assert_eq!(cli.ok(&["pod", "logs", &pod]), format!("{want}\n"));
    assert_eq!(cli.ok(&["job", "logs", "--stream", &name]), want);
    assert_eq!(cli.ok(&["pod", "logs", "--stream", &pod]), want);

    // a single file as code
    let file = code.join("script.sh");
    let name2 = cli
        .ok(&[
            "job",
            "submit",
            "--name",
            "onefile",
            "--image",
            "busybox",
            "--command",
            r#"["sh", "script.sh"]"#,
            "-e",
            r#"{"MYVAR": "hello world"}"#,
            "--code",
            file.to_str().expect("utf8"),
        ])
        .trim()
        .to_string();
    check_created_job(&e, &name2, "busybox", true);

    // errors relayed as kbatch prints them
    let missing = cli.fails(&["job", "show", "nope"]);
    assert!(
        missing.contains("kbatch-proxy error 404") && missing.contains("not found"),
        "{missing}"
    );
    let missing = cli.fails(&["job", "logs", "nope"]);
    assert!(missing.contains("No pods found for job nope"), "{missing}");

    // delete: foreground, with the Secret and ConfigMap
    let deleted = cli.json(&["job", "delete", &name]);
    assert_eq!(deleted["status"], "Success", "{deleted}");
    gone_with_dependents(
        &e,
        "job",
        &name,
        &[
            ("secret", name.clone()),
            ("configmap", format!("{name}-code")),
            ("pod", pod),
        ],
    );
    let gone = cli.fails(&["job", "show", &name]);
    assert!(gone.contains("404"), "{gone}");

    // cronjobs
    let cron = cli
        .ok(&[
            "cronjob",
            "submit",
            "--name",
            "nightly",
            "--image",
            "alpine",
            "--command",
            r#"["echo", "hi"]"#,
            "--schedule",
            "*/5 * * * *",
            "-e",
            r#"{"MYVAR": "x"}"#,
            "--code",
            code.to_str().expect("utf8"),
        ])
        .trim()
        .to_string();
    assert!(cron.starts_with("nightly-cron-"), "{cron}");
    let cj = get_json(&e.admin, &["cronjob", &cron]);
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(
        cj["metadata"]["annotations"]["kbatch.jupyter.org/username"],
        e.user.as_str()
    );
    let jt = &cj["spec"]["jobTemplate"];
    assert_eq!(jt["spec"]["ttlSecondsAfterFinished"], 3600);
    assert_eq!(
        jt["metadata"]["labels"]["team"], "research",
        "template in the job template"
    );
    assert_eq!(
        jt["spec"]["template"]["spec"]["automountServiceAccountToken"],
        false
    );
    let env0 = &jt["spec"]["template"]["spec"]["containers"][0]["env"][0];
    assert_eq!(env0["valueFrom"]["secretKeyRef"]["name"], cron.as_str());
    let secret = get_json(&e.admin, &["secret", &cron]);
    assert_eq!(secret["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["uid"],
        cj["metadata"]["uid"]
    );
    let cm = get_json(&e.admin, &["configmap", &format!("{cron}-code")]);
    assert_eq!(cm["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    let table = cli.ok(&["cronjob", "list"]);
    assert!(
        table.contains(&cron) && table.contains("*/5 * * * *"),
        "{table}"
    );
    let shown = cli.json(&["cronjob", "show", &cron]);
    assert_eq!(shown["spec"]["schedule"], "*/5 * * * *");
    assert!(shown["spec"]["job_template"]["spec"]["template"].is_object());
    cli.ok(&["cronjob", "delete", &cron]);
    gone_with_dependents(
        &e,
        "cronjob",
        &cron,
        &[
            ("secret", cron.clone()),
            ("configmap", format!("{cron}-code")),
        ],
    );
    drop(e.cluster);
}

#[test]
fn kbatch_cli_0_4_2_works_too() {
    let e = env("olduser");
    let cli = Cli::new(".venv-kbatch042", &e.dir, &e.proxy.ca_pem);
    cli.ok(&[
        "configure",
        "--kbatch-url",
        &e.proxy.url,
        "--token",
        &e.token,
    ]);
    assert_eq!(cli.json(&["profiles"])["small"]["image"], "alpine:3.20");
    let code = code_dir(&e.dir);
    // 0.4.2's -p is broken client-side (kbatch#50): no profile here.
    let name = cli
        .ok(&[
            "job",
            "submit",
            "--name",
            "legacy",
            "--image",
            "alpine",
            "--command",
            r#"["sh", "-c", "echo a; echo b"]"#,
            "-e",
            r#"{"MYVAR": "hello world"}"#,
            "--code",
            code.to_str().expect("utf8"),
            "-o",
            "name",
        ])
        .trim()
        .to_string();
    assert!(name.starts_with("legacy-"), "{name}");
    check_created_job(&e, &name, "alpine", true);
    let pod = pod_of(&e, &name);
    wait_job_done(&e, &name);
    let table = cli.ok(&["job", "list", "-o", "table"]);
    assert!(table.contains(&name), "{table}");
    assert_eq!(
        cli.json(&["job", "show", &name])["metadata"]["name"],
        name.as_str()
    );
    let pods = cli.json(&["pod", "list", "--job-name", &name, "-o", "json"]);
    assert_eq!(pods["items"][0]["metadata"]["name"], pod.as_str());
    assert_eq!(pods["items"][0]["status"]["phase"], "Succeeded");
    // 0.4.2's `pod logs POD` asks /jobs/logs/POD/: the pod-name fallback answers.
    assert_eq!(cli.ok(&["pod", "logs", &pod]), "a\nb\n\n");
    assert_eq!(cli.ok(&["pod", "logs", "--stream", &pod]), "a\nb\n");
    let cron = cli
        .ok(&[
            "cronjob",
            "submit",
            "--name",
            "legacycron",
            "--image",
            "alpine",
            "--command",
            r#"["echo", "hi"]"#,
            "--schedule",
            "0 * * * *",
            "-o",
            "name",
        ])
        .trim()
        .to_string();
    assert!(exists(&e.admin, "cronjob", &cron), "{cron}");
    let crons = cli.json(&["cronjob", "list", "-o", "json"]);
    assert_eq!(crons["items"][0]["spec"]["schedule"], "0 * * * *");
    cli.ok(&["cronjob", "delete", &cron]);
    cli.ok(&["job", "delete", &name]);
    gone_with_dependents(&e, "job", &name, &[("secret", name.clone())]);
}

/// `curl` against the proxy: (status, headers, body).
fn curl(
    e: &Env,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String, String) {
    let ca = e.dir.join("proxy-ca.pem");
    std::fs::write(&ca, &e.proxy.ca_pem).expect("ca");
    let url = format!("{}{path}", e.proxy.url);
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--cacert"])
        .arg(&ca)
        .args(["-X", method, "-D", "-", &url]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: token {t}")]);
    }
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary", b]);
    }
    let out = cmd.output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn rest_api_errors_cleanup_and_streaming() {
    let e = env("restuser");
    let t = Some(e.token.as_str());
    // public and authenticated endpoints, slash redirects, detail errors
    let (s, _, b) = curl(&e, "GET", "/", None, None);
    assert_eq!((s, b.as_str()), (200, r#"{"message":"kbatch"}"#));
    let (s, _, b) = curl(&e, "GET", "/profiles/", None, None);
    assert_eq!(s, 200, "{b}");
    let (s, _, b) = curl(&e, "GET", "/jobs/", None, None);
    assert_eq!((s, b.as_str()), (401, r#"{"detail":"Incorrect token"}"#));
    let (s, _, b) = curl(&e, "GET", "/authorized", t, None);
    assert_eq!(s, 200);
    assert!(b.contains(&format!("\"name\":\"{}\"", e.user)), "{b}");
    let (s, h, _) = curl(&e, "GET", "/jobs?x=1", t, None);
    assert_eq!(s, 307);
    assert!(h.contains("location: /jobs/?x=1"), "{h}");
    // client mistakes are 4xx with a detail, never 500
    for body in [
        "{nope",
        r#"{"job": 1}"#,
        r#"{"job": {"metadata": {"name": "x"}, "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "i", "env": [{"name": "A", "value": 1}]}]}}}}}"#,
    ] {
        let (s, _, b) = curl(&e, "POST", "/jobs/", t, Some(body));
        assert_eq!(s, 422, "{body}: {b}");
        assert!(b.starts_with(r#"{"detail":"#), "{b}");
    }
    let (s, _, b) = curl(&e, "GET", "/pods/logs/x/?stream=maybe", t, None);
    assert_eq!(s, 422, "{b}");
    // Refusals sent while a body is on its way are never lost (regression: curl over HTTP/2
    // sometimes got a stream reset instead of the 405): repeated, with a body of some size.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(100 * 1024));
    for _ in 0..5 {
        let (s, _, b) = curl(&e, "PUT", "/jobs/x", t, Some("{}"));
        assert_eq!(s, 405, "{b}");
        let (s, _, b) = curl(&e, "PUT", "/jobs/x", t, Some(&big));
        assert_eq!(s, 405, "{b}");
        let (s, _, b) = curl(&e, "POST", "/jobs/", None, Some(&big));
        assert_eq!((s, b.as_str()), (401, r#"{"detail":"Incorrect token"}"#));
    }
    // Submissions pass through the same policies as kubectl: a privileged job is refused.
    let privileged = r#"{"job": {"metadata": {"name": "root"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i", "security_context": {"privileged": true}}]}}}}}"#;
    let (s, _, b) = curl(&e, "POST", "/jobs/", t, Some(privileged));
    assert_eq!(s, 403, "{b}");
    assert!(
        b.starts_with(r#"{"detail":"policy pod-security-baseline"#),
        "{b}"
    );
    assert!(!exists(&e.admin, "job", "root"));
    // Kubernetes' own refusals are relayed with their status
    let bad_name = r#"{"job": {"metadata": {"name": "Bad_Name"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i"}]}}}}}"#;
    let (s, _, b) = curl(&e, "POST", "/jobs/", t, Some(bad_name));
    assert_eq!(s, 422, "{b}");
    assert!(b.contains("Bad_Name"), "{b}");

    // A failure after the Job exists removes it: a Secret named like the job is in the way.
    e.admin
        .ok(&["create", "secret", "generic", "clash", "--from-literal=k=v"]);
    let clash = r#"{"job": {"metadata": {"name": "clash"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i", "env": [{"name": "A", "value": "1"}]}]}}}}}"#;
    let (s, _, b) = curl(&e, "POST", "/jobs/", t, Some(clash));
    assert_eq!(s, 409, "{b}");
    wait_until("the half-made job to go", Duration::from_secs(30), || {
        !exists(&e.admin, "job", "clash")
    });
    let kept = get_json(&e.admin, &["secret", "clash"]);
    assert_eq!(
        kept["data"]["k"], "dg==",
        "someone else's Secret is untouched"
    );
    assert!(
        get_json(&e.admin, &["pods"])["items"]
            .as_array()
            .is_some_and(|p| p.is_empty()),
        "no pod ever started"
    );

    // ?stream=true delivers lines as they are written
    let job = r#"{"job": {"metadata": {"generate_name": "slow-"}, "spec": {"template": {"spec": {"restart_policy": "Never", "containers": [{"name": "a", "image": "i", "command": ["sh", "-c", "echo one; sleep 3; echo two"]}]}}}}}"#;
    let (s, _, b) = curl(&e, "POST", "/jobs/", t, Some(job));
    assert_eq!(s, 200, "{b}");
    let created: Value = serde_json::from_str(&b).expect("json");
    let name = created["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    assert!(
        created["status"].get("succeeded").is_some(),
        "to_dict keys present"
    );
    let pod = pod_of(&e, &name);
    wait_until("the pod to run", Duration::from_secs(30), || {
        get_json(&e.admin, &["pod", &pod])["status"]["phase"] == "Running"
    });
    let ca = e.dir.join("proxy-ca.pem");
    let started = Instant::now();
    let mut child = Command::new("curl")
        .args(["-sSN", "--cacert"])
        .arg(&ca)
        .args(["-H", &format!("Authorization: token {}", e.token)])
        .arg(format!("{}/jobs/logs/{name}/?stream=true", e.proxy.url))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    let mut out = child.stdout.take().expect("stdout");
    let mut arrivals: Vec<(Duration, String)> = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        use std::io::Read;
        match out.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => arrivals.push((
                started.elapsed(),
                String::from_utf8_lossy(&buf[..n]).into_owned(),
            )),
        }
    }
    assert!(child.wait().expect("curl").success());
    let text: String = arrivals.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        text.starts_with("one") && text.ends_with("two"),
        "{arrivals:?}"
    );
    let first = arrivals.first().map(|a| a.0).unwrap_or_default();
    let last = arrivals.last().map(|a| a.0).unwrap_or_default();
    assert!(
        last - first >= Duration::from_millis(1500),
        "collected, not streamed: {arrivals:?}"
    );
}
