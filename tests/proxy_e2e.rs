//! kbatch-proxy end to end: real kubectl (oldest and newest bundled, plus 1.32) and a real
//! JupyterHub, over TLS, with the API stand-in (or a real control plane) behind the proxy.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use kbatch_proxy::identity::namespace_for;
use kube_standin::server::StandInConfig;
use support::cluster::Cluster;
use support::hub::Hub;
use support::proxy::Proxy;

#[test]
fn kubectl_works_in_the_users_namespace() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let u = Hub::shared().kbatch_user("alice");
    for v in ["1.27", "1.32", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, &u.namespace);
        let version = k.ok(&["version", "-o", "json"]);
        assert!(version.contains("serverVersion"), "{version}");
        let res = k.ok(&["api-resources"]);
        assert!(res.contains("jobs") && res.contains("batch/v1"), "{res}");
        let cm = format!("cm-{}", v.replace('.', "-"));
        k.ok(&["create", "configmap", &cm, "--from-literal=a=b"]);
        k.ok(&["label", "configmap", &cm, "team=x"]);
        k.ok(&[
            "patch",
            "configmap",
            &cm,
            "--type=merge",
            "-p",
            r#"{"data":{"a":"c"}}"#,
        ]);
        assert_eq!(
            k.ok(&[
                "get",
                "configmap",
                &cm,
                "-o",
                "jsonpath={.data.a}/{.metadata.labels.team}"
            ]),
            "c/x"
        );
        let listing = k.ok(&["get", "configmaps"]);
        assert!(
            listing.contains("DATA") && listing.contains(&cm),
            "{listing}"
        );
        let job = format!("job-{}", v.replace('.', "-"));
        k.ok(&[
            "create",
            "job",
            &job,
            "--image=busybox",
            "--",
            "echo",
            "hello",
        ]);
        let file = c.dir.path().join(format!("{job}-applied.yaml"));
        std::fs::write(
            &file,
            format!("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {job}-applied\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: main\n        image: busybox\n        command: [\"echo\", \"applied\"]\n"),
        )
        .expect("write");
        let out = k.ok(&["apply", "-f", file.to_str().expect("utf8")]);
        assert!(out.contains("created"), "{out}");
        k.ok(&[
            "wait",
            "--for=condition=complete",
            &format!("job/{job}"),
            "--timeout=30s",
        ]);
        assert_eq!(k.ok(&["logs", &format!("job/{job}")]), "hello\n");
        let pods = k.ok(&[
            "get",
            "pods",
            "-l",
            &format!("job-name={job}"),
            "-o",
            "name",
        ]);
        assert!(pods.starts_with("pod/"), "{pods}");
        k.ok(&["delete", "job", &job, "--cascade=foreground"]);
        k.ok(&["delete", "configmap", &cm]);
    }
}

#[test]
fn requests_outside_the_namespace_are_refused_as_kubectl_prints_them() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let u = Hub::shared().kbatch_user("bob");
    let k = proxy.kubectl(&c, "1.32", &u.token, &u.namespace);
    let err = k.fails(&["get", "pods", "-n", "kube-system"]);
    assert!(
        err.contains(&format!(
            "Error from server (Forbidden): pods is forbidden: User \"{}\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\"",
            u.name
        )),
        "{err}"
    );
    let err = k.fails(&["get", "clusterroles"]);
    assert!(
        err.contains("Forbidden") && err.contains("at the cluster scope"),
        "{err}"
    );
    // `default`, all namespaces and the namespace list are narrowed to the user's namespace.
    k.ok(&["get", "pods", "-n", "default"]);
    k.ok(&["get", "pods", "-A"]);
    let ns = k.ok(&["get", "namespaces", "-o", "name"]);
    assert_eq!(ns.trim(), format!("namespace/{}", u.namespace));
    // A token of a user outside the kbatch group lacks the service's access scope.
    let outsider = hub.new_user("eve", &[]);
    let token = hub.token_for(&outsider, None);
    let k = proxy.kubectl(&c, "1.32", &token, &namespace_for(&outsider));
    let err = k.fails(&["get", "pods"]);
    assert!(err.contains("Forbidden"), "{err}");
    let bad = proxy.kubectl(&c, "1.32", "not-a-token", &u.namespace);
    let err = bad.fails(&["get", "pods"]);
    assert!(err.contains("You must be logged in to the server"), "{err}");
}

#[test]
fn watch_logs_and_exec_stream_through_the_proxy() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let u = Hub::shared().kbatch_user("carol");
    let k = proxy.kubectl(&c, "1.32", &u.token, &u.namespace);
    // get -w sees a change made by another client.
    k.ok(&["create", "configmap", "w1", "--from-literal=a=b"]);
    let mut watch = k
        .command(&["get", "configmaps", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl get -w");
    let lines = spawn_line_reader(watch.stdout.take().expect("piped"));
    wait_for_line(&lines, |l| l.contains("w1"), Duration::from_secs(20));
    proxy.kubectl(&c, "1.33", &u.token, &u.namespace).ok(&[
        "create",
        "configmap",
        "w2",
        "--from-literal=x=y",
    ]);
    wait_for_line(
        &lines,
        |l| l.contains("ADDED") && l.contains("w2"),
        Duration::from_secs(20),
    );
    let _ = watch.kill();
    let _ = watch.wait();
    // logs -f receives lines while the container is still writing them.
    k.assert_logs_follow_streams("talker");
    // exec echoes stdin both ways through the upgraded connection.
    for v in ["1.32", "1.33"] {
        let k = proxy.kubectl(&c, v, &u.token, &u.namespace);
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
            Some("through the proxy\n"),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "through the proxy\n");
        let out = k.run_with_stdin(&["exec", &pod, "--", "sh", "-c", "exit 7"], None);
        assert_eq!(out.status.code(), Some(7));
    }
}

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

fn wait_for_line(
    rx: &std::sync::mpsc::Receiver<String>,
    pred: impl Fn(&str) -> bool,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            if pred(&l) {
                return;
            }
            seen.push(l);
        }
    }
    panic!("no matching line within {within:?}; saw {seen:?}");
}

#[test]
fn served_under_the_prefix_too() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--prefix", "/services/kbatch"]);
    assert!(proxy.url.ends_with("/services/kbatch"));
    let u = Hub::shared().kbatch_user("dana");
    let k = proxy.kubectl(&c, "1.32", &u.token, &u.namespace);
    k.ok(&["create", "configmap", "p1", "--from-literal=a=b"]);
    assert_eq!(
        k.ok(&["get", "configmap", "p1", "-o", "jsonpath={.data.a}"]),
        "b"
    );
}

#[test]
fn forwarded_requests_carry_none_of_the_stripped_headers() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let u = Hub::shared().kbatch_user("frank");
    let agent = support::envtest::tls_agent(&proxy.ca_pem).expect("agent");
    let path = format!("/api/v1/namespaces/{}/configmaps", u.namespace);
    let resp = agent
        .get(&format!("{}{path}", proxy.url))
        .header("Authorization", format!("Bearer {}", u.token))
        .header("Impersonate-User", "admin")
        .header("Impersonate-Group", "system:masters")
        .header("X-Remote-User", "admin")
        .header("Connection", "x-secret")
        .header("X-Secret", "1")
        .call()
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    let entry = handle
        .state
        .audit()
        .into_iter()
        .rev()
        .find(|e| e.uri.contains(&path))
        .expect("the stand-in saw the forwarded request");
    assert_eq!(
        entry.user.name, "admin",
        "forwarded with the proxy's own credential"
    );
    assert!(entry.impersonated_by.is_none());
    for (name, value) in &entry.headers {
        assert!(
            !name.starts_with("impersonate-")
                && !name.starts_with("x-remote-")
                && name != "x-secret",
            "{name} was forwarded"
        );
        assert!(
            !value.contains(&u.token),
            "the user's token was forwarded in {name}"
        );
    }
    assert!(entry
        .headers
        .iter()
        .any(|(n, v)| n == "authorization" && v == "<redacted>"));
}

#[test]
fn health_endpoints() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let agent = support::envtest::tls_agent(&proxy.ca_pem).expect("agent");
    let status = |p: &str| {
        agent
            .get(&format!("{}{p}", proxy.url))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(status("/healthz"), 200);
    assert_eq!(status("/readyz"), 200);
    assert_eq!(
        status("/api/v1/namespaces/x/pods"),
        401,
        "no token, no forwarding"
    );
    let down = Proxy::start(&c, "http://127.0.0.1:9/hub/api", &[]);
    let agent = support::envtest::tls_agent(&down.ca_pem).expect("agent");
    let r = agent
        .get(&format!("{}/readyz", down.url))
        .call()
        .expect("readyz");
    assert_eq!(r.status().as_u16(), 503, "hub unreachable → not ready");
    let r = agent
        .get(&format!("{}/api/v1/namespaces/x/pods", down.url))
        .header("Authorization", "Bearer some-token")
        .call()
        .expect("request");
    assert_eq!(
        r.status().as_u16(),
        503,
        "hub unreachable → 503, never forwarded"
    );
    proxy.shutdown();
}
