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
            "nodes ",
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

/// A second node, registered the way a kubelet does (status included), NotReady, with roles.
fn node_manifest(name: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels:
    node-role.kubernetes.io/worker: ""
    kubernetes.io/role: gpu
status:
  capacity: {{cpu: "4", memory: 8Gi, pods: "110"}}
  conditions:
  - {{type: Ready, status: "False", reason: KubeletNotReady, message: stopped}}
  addresses:
  - {{type: InternalIP, address: 10.1.2.3}}
  - {{type: ExternalIP, address: 203.0.113.9}}
  nodeInfo:
    machineID: m
    systemUUID: s
    bootID: b
    kernelVersion: 5.15.0
    osImage: Ubuntu 22.04.4 LTS
    containerRuntimeVersion: containerd://1.7.0
    kubeletVersion: v1.28.7
    kubeProxyVersion: v1.28.7
    operatingSystem: linux
    architecture: amd64
"#
    )
}

/// Split `kubectl get` output into rows of whitespace-separated columns (header first).
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn get_nodes_prints_status_roles_and_wide_columns() {
    let c = Cluster::start();
    for v in VERSIONS {
        let k = c.kubectl(v, None);
        let name = Cluster::unique_name("node");
        let created = k.run_with_stdin(&["create", "-f", "-"], Some(&node_manifest(&name)));
        assert!(created.status.success(), "{created:?}");
        k.ok(&["cordon", &name]);
        let out = k.ok(&["get", "nodes"]);
        let table = rows(&out);
        assert_eq!(
            table[0],
            ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
            "{out}"
        );
        let row = table
            .iter()
            .find(|r| r[0] == name)
            .expect("the new node is listed");
        assert_eq!(
            row[1..3],
            ["NotReady,SchedulingDisabled", "gpu,worker"],
            "{out}"
        );
        assert_eq!(row[4], "v1.28.7", "{out}");
        let wide = k.ok(&["get", "no", &name, "-o", "wide"]);
        let table = rows(&wide);
        assert_eq!(
            table[0][5..],
            [
                "INTERNAL-IP",
                "EXTERNAL-IP",
                "OS-IMAGE",
                "KERNEL-VERSION",
                "CONTAINER-RUNTIME"
            ],
            "{wide}"
        );
        assert_eq!(
            table[1][5..],
            [
                "10.1.2.3",
                "203.0.113.9",
                "Ubuntu",
                "22.04.4",
                "LTS",
                "5.15.0",
                "containerd://1.7.0"
            ],
            "{wide}"
        );
        let json = k.ok(&["get", "node", &name, "-o", "json"]);
        let j: serde_json::Value = serde_json::from_str(&json).expect("node json");
        assert_eq!(j["kind"], "Node", "{json}");
        assert_eq!(j["spec"]["unschedulable"], true, "{json}");
        // SetDefaults_NodeStatus: allocatable defaults to capacity.
        assert_eq!(
            j["status"]["allocatable"], j["status"]["capacity"],
            "{json}"
        );
        k.ok(&["uncordon", &name]);
        let out = k.ok(&["get", "node", &name, "--no-headers"]);
        assert_eq!(rows(&out)[0][1], "NotReady", "{out}");
        k.ok(&["delete", "node", &name]);
        let gone = k.fails(&["get", "node", &name]);
        assert!(
            gone.contains(&format!("nodes \"{name}\" not found")),
            "{gone}"
        );
    }
}

#[test]
fn standin_seeds_the_node_its_pods_run_on() {
    let c = Cluster::start();
    if !c.is_standin {
        return;
    }
    let k0 = c.kubectl("1.32", None);
    let version: serde_json::Value =
        serde_json::from_str(&k0.ok(&["version", "-o", "json"])).expect("version json");
    let server = version["serverVersion"]["gitVersion"]
        .as_str()
        .expect("gitVersion");
    let out = k0.ok(&["get", "nodes"]);
    let table = rows(&out);
    assert_eq!(table.len(), 2, "{out}");
    assert_eq!(table[1][..3], ["standin-node", "Ready", "<none>"], "{out}");
    assert_eq!(table[1][4], server, "{out}");
    let wide = k0.ok(&["get", "nodes", "-o", "wide"]);
    assert!(wide.contains("172.18.0.2"), "{wide}");
    let json = k0.ok(&["get", "node", "standin-node", "-o", "json"]);
    let j: serde_json::Value = serde_json::from_str(&json).expect("node json");
    assert_eq!(j["status"]["nodeInfo"]["kubeletVersion"], server, "{json}");
    // A pod lands on that node, with the node's InternalIP as its hostIP.
    let ns = namespace(&k0, "onnode");
    let k = c.kubectl("1.32", Some(&ns));
    k.ok(&[
        "run",
        "p",
        "--image=busybox",
        "--restart=Never",
        "--",
        "sleep",
        "30",
    ]);
    k.ok(&["wait", "--for=condition=Ready", "pod/p", "--timeout=30s"]);
    let pod: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pod", "p", "-o", "json"])).expect("pod json");
    assert_eq!(pod["spec"]["nodeName"], "standin-node");
    assert_eq!(
        pod["status"]["hostIP"],
        j["status"]["addresses"][0]["address"]
    );
    // `describe node` lists the pods whose spec.nodeName is the node.
    let describe = k0.ok(&["describe", "node", "standin-node"]);
    assert!(
        rows(&describe)
            .iter()
            .any(|r| r.len() > 2 && r[0] == ns && r[1] == "p"),
        "{describe}"
    );
    // No kubelet answers behind the node proxy.
    let err = k0.fails(&["get", "--raw", "/api/v1/nodes/standin-node/proxy/healthz"]);
    assert!(
        err.contains("error trying to reach service: dial tcp 172.18.0.2:10250"),
        "{err}"
    );
    let err = k0.fails(&["get", "--raw", "/api/v1/nodes/nope/proxy/healthz"]);
    assert!(err.contains("nodes \"nope\" not found"), "{err}");
}

/// The stand-in serves replicationcontrollers as kube-apiserver does (core v1, `rc`, category
/// `all`, `/scale` and `/status`), so `kubectl get all` through the proxy meets them locally too.
#[test]
fn get_rc_works_against_the_standin() {
    let c = Cluster::start();
    for v in VERSIONS {
        let k0 = c.kubectl(v, None);
        let ns = namespace(&k0, "rc");
        let k = c.kubectl(v, Some(&ns));
        let rc = "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: legacy}\n\
            spec:\n  replicas: 2\n  template:\n    metadata: {labels: {app: legacy}}\n    \
            spec: {containers: [{name: c, image: busybox}]}\n";
        let out = k.run_with_stdin(&["create", "-f", "-"], Some(rc));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let table = k.ok(&["get", "rc"]);
        let header: Vec<&str> = table
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        assert_eq!(
            header,
            ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
            "{table}"
        );
        assert!(table.contains("legacy"), "{table}");
        let wide = k.ok(&["get", "rc", "-o", "wide"]);
        assert!(
            wide.contains("app=legacy") && wide.contains("busybox"),
            "{wide}"
        );
        // Defaults: the selector and labels come from the template.
        let sel = k.ok(&["get", "rc", "legacy", "-o", "jsonpath={.spec.selector.app}"]);
        assert_eq!(sel, "legacy");
        let all = k.ok(&["get", "all", "-o", "name"]);
        assert!(all.contains("replicationcontroller/legacy"), "{all}");
        k.ok(&["scale", "rc", "legacy", "--replicas=3"]);
        let n = k.ok(&["get", "rc", "legacy", "-o", "jsonpath={.spec.replicas}"]);
        assert_eq!(n, "3");
        k.ok(&["describe", "rc", "legacy"]);
        k.ok(&["delete", "rc", "legacy"]);
    }
}
