//! Fidelity of the API stand-in as real kubectl binaries see it (oldest and newest bundled
//! versions, plus 1.32 whose conversations are captured in ../shared/k8s-reference): every
//! command here would fail or print something else if the stand-in misbehaved. The same tests
//! run against a real kube-apiserver when `KUBEBUILDER_ASSETS` is set.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::cluster::{Cluster, Kubectl};

const VERSIONS: &[&str] = &["1.27", "1.32", "1.33"];

fn namespace(k: &Kubectl, prefix: &str) -> String {
    let ns = Cluster::unique_name(prefix);
    k.ok(&["create", "namespace", &ns]);
    ns
}

#[test]
fn version_and_api_resources() {
    let c = Cluster::start();
    for v in VERSIONS {
        let k = c.kubectl(v, None);
        let out = k.ok(&["version", "-o", "json"]);
        let j: serde_json::Value = serde_json::from_str(&out).expect("version json");
        assert!(
            j["serverVersion"]["gitVersion"]
                .as_str()
                .is_some_and(|s| s.starts_with("v1.")),
            "{out}"
        );
        assert!(
            j["clientVersion"]["minor"]
                .as_str()
                .is_some_and(|m| v.ends_with(m)),
            "{out}"
        );
        let res = k.ok(&["api-resources"]);
        for needle in [
            "pods ",
            "jobs ",
            "cronjobs ",
            "configmaps ",
            "namespaces ",
            "deployments ",
        ] {
            assert!(
                res.contains(needle),
                "kubectl {v} api-resources lacks {needle}:\n{res}"
            );
        }
        assert!(res.contains("batch/v1"), "{res}");
    }
}

#[test]
fn create_get_describe_delete_each_kind() {
    let c = Cluster::start();
    for v in VERSIONS {
        let k0 = c.kubectl(v, None);
        let ns = namespace(&k0, "crud");
        let k = c.kubectl(v, Some(&ns));
        k.ok(&["create", "configmap", "cm1", "--from-literal=a=b"]);
        k.ok(&[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=password=hunter2",
        ]);
        k.ok(&["create", "serviceaccount", "sa1"]);
        k.ok(&["create", "deployment", "d1", "--image=nginx:1.25"]);
        k.ok(&["create", "service", "clusterip", "svc1", "--tcp=80:8080"]);
        k.ok(&[
            "create",
            "cronjob",
            "cj1",
            "--image=busybox",
            "--schedule=*/5 * * * *",
            "--",
            "echo",
            "hi",
        ]);
        k.ok(&[
            "create",
            "job",
            "j1",
            "--image=busybox",
            "--",
            "echo",
            "hello",
        ]);
        let cms = k.ok(&["get", "configmaps"]);
        assert!(cms.starts_with("NAME"), "{cms}");
        assert!(
            cms.contains("DATA") && cms.contains("cm1"),
            "kubectl {v} printed no Table columns:\n{cms}"
        );
        let jobs = k.ok(&["get", "jobs"]);
        assert!(
            jobs.contains("COMPLETIONS") && jobs.contains("j1"),
            "{jobs}"
        );
        let cjs = k.ok(&["get", "cronjobs"]);
        assert!(
            cjs.contains("SCHEDULE") && cjs.contains("*/5 * * * *"),
            "{cjs}"
        );
        let secret = k.ok(&["get", "secret", "s1", "-o", "jsonpath={.data.password}"]);
        assert_eq!(secret, "aHVudGVyMg==");
        let desc = k.ok(&["describe", "job", "j1"]);
        assert!(
            desc.contains("Name:") && desc.contains("j1") && desc.contains("busybox"),
            "{desc}"
        );
        let out = k.ok(&["scale", "deployment", "d1", "--replicas=3"]);
        assert!(out.contains("scaled"), "{out}");
        assert_eq!(
            k.ok(&["get", "deployment", "d1", "-o", "jsonpath={.spec.replicas}"]),
            "3"
        );
        let desc = k.ok(&["describe", "configmap", "cm1"]);
        assert!(desc.contains("cm1"), "{desc}");
        for (kind, name) in [
            ("configmap", "cm1"),
            ("secret", "s1"),
            ("job", "j1"),
            ("cronjob", "cj1"),
            ("deployment", "d1"),
            ("service", "svc1"),
            ("serviceaccount", "sa1"),
        ] {
            let out = k.ok(&["delete", kind, name]);
            assert!(out.contains("deleted"), "{out}");
            let err = k.fails(&["get", kind, name]);
            assert!(
                err.contains("NotFound") || err.contains("not found"),
                "{err}"
            );
        }
        let err = k.fails(&["get", "configmap", "nope"]);
        assert!(err.contains("configmaps \"nope\" not found"), "{err}");
    }
}

#[test]
fn apply_client_and_server_side_then_patch_and_label() {
    let c = Cluster::start();
    for v in VERSIONS {
        let k0 = c.kubectl(v, None);
        let ns = namespace(&k0, "apply");
        let k = c.kubectl(v, Some(&ns));
        let file = c.dir.path().join(format!("job-{v}.yaml"));
        std::fs::write(&file, "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\n  labels:\n    app: ref\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: busybox\n        command: [\"true\"]\n").expect("write");
        let out = k.ok(&["apply", "-f", file.to_str().expect("utf8")]);
        assert!(out.contains("job.batch/x created"), "{out}");
        let cm = c.dir.path().join(format!("cm-{v}.yaml"));
        std::fs::write(
            &cm,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"1\"\n",
        )
        .expect("write");
        k.ok(&["apply", "-f", cm.to_str().expect("utf8")]);
        std::fs::write(&cm, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"2\"\n  b: \"3\"\n").expect("write");
        let out = k.ok(&["apply", "-f", cm.to_str().expect("utf8")]);
        assert!(out.contains("configured"), "{out}");
        assert_eq!(
            k.ok(&["get", "cm", "cfg", "-o", "jsonpath={.data.a},{.data.b}"]),
            "2,3"
        );
        let ss = c.dir.path().join(format!("ss-{v}.yaml"));
        std::fs::write(
            &ss,
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: v\n",
        )
        .expect("write");
        let out = k.ok(&["apply", "--server-side", "-f", ss.to_str().expect("utf8")]);
        assert!(out.contains("serverside-applied"), "{out}");
        assert_eq!(k.ok(&["get", "cm", "ssa", "-o", "jsonpath={.data.k}"]), "v");
        k.ok(&[
            "patch",
            "cm",
            "cfg",
            "--type=merge",
            "-p",
            r#"{"data":{"m":"merge"}}"#,
        ]);
        k.ok(&[
            "patch",
            "cm",
            "cfg",
            "--type=json",
            "-p",
            r#"[{"op":"add","path":"/data/j","value":"json"}]"#,
        ]);
        k.ok(&["patch", "cm", "cfg", "-p", r#"{"data":{"s":"strategic"}}"#]);
        assert_eq!(
            k.ok(&[
                "get",
                "cm",
                "cfg",
                "-o",
                "jsonpath={.data.m},{.data.j},{.data.s}"
            ]),
            "merge,json,strategic"
        );
        k.ok(&["label", "job", "x", "env=dev"]);
        assert_eq!(
            k.ok(&["get", "job", "x", "-o", "jsonpath={.metadata.labels.env}"]),
            "dev"
        );
        let shown = k.ok(&["get", "jobs", "-l", "env=dev", "-o", "name"]);
        assert_eq!(shown.trim(), "job.batch/x");
        k.ok(&["label", "job", "x", "env-"]);
        assert_eq!(
            k.ok(&["get", "jobs", "-l", "env=dev", "-o", "name"]).trim(),
            ""
        );
    }
}

#[test]
fn explain_uses_openapi() {
    let c = Cluster::start();
    let k = c.kubectl("1.32", None);
    let out = k.ok(&["explain", "job.spec.backoffLimit"]);
    assert!(
        out.contains("backoffLimit") && out.contains("integer"),
        "{out}"
    );
}

#[test]
fn get_watch_sees_changes_made_by_another_client() {
    let c = Cluster::start();
    let k0 = c.kubectl("1.32", None);
    let ns = namespace(&k0, "watch");
    let k = c.kubectl("1.32", Some(&ns));
    k.ok(&["create", "configmap", "w1", "--from-literal=a=b"]);
    let mut child = k
        .command(&["get", "configmaps", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl get -w");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let mut created = false;
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(line);
        }
        if !created && seen.iter().any(|l| l.contains("w1")) {
            let other = c.kubectl("1.33", Some(&ns));
            other.ok(&["create", "configmap", "w2", "--from-literal=x=y"]);
            created = true;
        }
        if seen.iter().any(|l| l.contains("ADDED") && l.contains("w2")) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter().any(|l| l.contains("ADDED") && l.contains("w2")),
        "watch output: {seen:?}"
    );
}

#[test]
fn logs_follow_streams_lines_while_written() {
    let c = Cluster::start();
    let k0 = c.kubectl("1.32", None);
    let ns = namespace(&k0, "logs");
    let k = c.kubectl("1.32", Some(&ns));
    k.assert_logs_follow_streams("talker");
    let tail = k.ok(&["logs", "talker", "--tail=1"]);
    assert_eq!(tail, "three\n");
}

#[test]
fn exec_with_stdin_and_exit_codes() {
    let c = Cluster::start();
    let k0 = c.kubectl("1.33", None);
    let ns = namespace(&k0, "exec");
    for v in ["1.32", "1.33"] {
        let k = c.kubectl(v, Some(&ns));
        let pod = format!("shell-{}", v.replace('.', "-"));
        k.ok(&[
            "run",
            &pod,
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
            &format!("pod/{pod}"),
            "--timeout=20s",
        ]);
        let out = k.run_with_stdin(
            &["exec", "-i", &pod, "--", "cat"],
            Some("hello through stdin\n"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "hello through stdin\n"
        );
        let out = k.run_with_stdin(&["exec", &pod, "--", "echo", "hi", "there"], None);
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hi there\n");
        let out = k.run_with_stdin(&["exec", &pod, "--", "sh", "-c", "exit 3"], None);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn auth_can_i_and_whoami() {
    let c = Cluster::start();
    let k = c.kubectl("1.32", None);
    assert_eq!(
        k.ok(&["auth", "can-i", "create", "jobs", "-n", "default"])
            .trim(),
        "yes"
    );
    let who = k.ok(&["auth", "whoami", "-o", "json"]);
    let j: serde_json::Value = serde_json::from_str(&who).expect("json");
    assert!(
        j["status"]["userInfo"]["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|x| x == "system:masters")),
        "{who}"
    );
}
