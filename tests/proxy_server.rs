//! kbatch-proxy's own behaviour as a server: the request-body limit (413), the header-read
//! timeout, an unreachable API server (502), graceful drain on shutdown, and the real Python
//! client through the proxy.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kbatch_proxy::identity::namespace_for;
use kube_standin::server::StandInConfig;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::proxy::Proxy;

fn user(c: &Cluster) -> (String, String) {
    let hub = Hub::shared();
    let name = hub.new_user("sam", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let ns = namespace_for(&name);
    c.create_user_namespace(&ns, &name);
    (token, ns)
}

#[test]
fn oversized_bodies_get_413_and_are_not_forwarded() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--max-request-body", "1024"]);
    let (token, ns) = user(&c);
    let agent = support::envtest::tls_agent(&proxy.ca_pem).expect("agent");
    let path = format!("/api/v1/namespaces/{ns}/configmaps");
    let big = format!(
        r#"{{"metadata":{{"name":"big"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let resp = agent
        .post(&format!("{}{path}", proxy.url))
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/json")
        .send(big.as_str())
        .expect("request");
    assert_eq!(resp.status().as_u16(), 413);
    let body = resp.into_body().read_to_string().expect("body");
    assert!(
        body.contains(r#""reason":"RequestEntityTooLarge""#) && body.contains(r#""kind":"Status""#),
        "{body}"
    );
    assert!(
        !handle
            .state
            .audit()
            .iter()
            .any(|e| e.method == "POST" && e.uri.contains(&path)),
        "an oversized body was forwarded"
    );
    let small = r#"{"metadata":{"name":"small"},"data":{"a":"b"}}"#;
    let resp = agent
        .post(&format!("{}{path}", proxy.url))
        .header("Authorization", format!("Bearer {token}"))
        .content_type("application/json")
        .send(small)
        .expect("request");
    assert_eq!(resp.status().as_u16(), 201);
}

#[test]
fn slow_clients_are_cut_off_by_the_header_read_timeout() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--header-read-timeout", "1"]);
    let port: u16 = proxy
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = [0u8; 16];
    // Send nothing at all: the server must close the connection, not wait forever.
    let n = tcp.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server closed the idle connection");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed after {:?}",
        started.elapsed()
    );
}

#[test]
fn unreachable_api_server_is_a_502_status() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let dead = c.dir.path().join("dead.yaml");
    std::fs::write(&dead, "apiVersion: v1\nkind: Config\nclusters:\n- name: d\n  cluster:\n    server: https://127.0.0.1:9\nusers:\n- name: d\n  user:\n    token: t\ncontexts:\n- name: d\n  context:\n    cluster: d\n    user: d\ncurrent-context: d\n").expect("write");
    let proxy = Proxy::start_with_kubeconfig(&c, &dead, &hub.api_url(), &[]);
    let (token, ns) = user(&c);
    let k = proxy.kubectl(&c, "1.32", &token, &ns);
    let out = k.run_with_stdin(
        &["get", "--raw", &format!("/api/v1/namespaces/{ns}/pods")],
        None,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("unreachable") || err.contains("ServiceUnavailable") || err.contains("502"),
        "{err}"
    );
    let agent = support::envtest::tls_agent(&proxy.ca_pem).expect("agent");
    let r = agent
        .get(&format!("{}/api/v1/namespaces/{ns}/pods", proxy.url))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("request");
    assert_eq!(r.status().as_u16(), 502);
    let r = agent
        .get(&format!("{}/readyz", proxy.url))
        .call()
        .expect("readyz");
    assert_eq!(r.status().as_u16(), 503);
}

#[test]
fn shutdown_drains_in_flight_streams_and_refuses_new_connections() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let mut proxy = Proxy::start(&c, &hub.api_url(), &["--shutdown-grace", "20"]);
    let (token, ns) = user(&c);
    let k = proxy.kubectl(&c, "1.32", &token, &ns);
    k.ok(&[
        "run",
        "drain",
        "--image=busybox",
        "--restart=Never",
        "--command",
        "--",
        "sh",
        "-c",
        "echo a; sleep 3; echo b",
    ]);
    // Logs of a pod not yet on a node answer 204 (empty), as kube-apiserver does.
    k.ok(&[
        "wait",
        "--for=condition=Ready",
        "pod/drain",
        "--timeout=20s",
    ]);
    let mut logs = k
        .command(&["logs", "-f", "drain", "--pod-running-timeout=20s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl logs -f");
    let mut lines = BufReader::new(logs.stdout.take().expect("piped")).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("a"));
    proxy.begin_shutdown();
    std::thread::sleep(Duration::from_millis(300));
    let port: u16 = proxy
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "new connections are refused once draining"
    );
    // The in-flight stream still delivers the rest.
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("b"));
    assert!(logs.wait().expect("wait").success());
    assert!(
        proxy.wait_stopped(Duration::from_secs(20)),
        "the proxy finished draining"
    );
}

#[test]
fn python_client_through_the_proxy() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &[]);
    let (token, ns) = user(&c);
    let kubeconfig = proxy.user_kubeconfig(&c, &token, &ns);
    let root = support::tools::repo_root();
    let out = Command::new(support::tools::venv_python())
        .arg(root.join("tests/python/through_proxy.py"))
        .env("KUBECONFIG", &kubeconfig)
        .env("TEST_NS", &ns)
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
