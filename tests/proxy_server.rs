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

/// POST `body_file` with Python's `http.client` (sends the whole body before reading):
/// (status, body).
fn python_post(
    proxy: &Proxy,
    ca: &std::path::Path,
    token: &str,
    path: &str,
    body_file: &std::path::Path,
    chunked: bool,
) -> (u16, String) {
    let script = r#"
import http.client, ssl, sys, urllib.parse
url, ca, token, path, body_file, chunked = sys.argv[1:7]
u = urllib.parse.urlparse(url)
conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl.create_default_context(cafile=ca))
body = open(body_file, "rb").read()
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
if chunked == "1":
    conn.request("POST", path, body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]),
                 headers=headers, encode_chunked=True)
else:
    conn.request("POST", path, body=body, headers=headers)
r = conn.getresponse()
sys.stdout.write(str(r.status) + "\n" + r.read().decode())
"#;
    let out = Command::new(support::tools::venv_python())
        .args(["-c", script, &proxy.url])
        .arg(ca)
        .args([token, path])
        .arg(body_file)
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

/// POST `body_file` with curl (`Expect` off, so the body is sent before the answer is read):
/// (status, body, curl's exit success).
fn curl_post(
    proxy: &Proxy,
    ca: &std::path::Path,
    token: &str,
    path: &str,
    body_file: &std::path::Path,
    extra: &[&str],
) -> (u16, String, bool) {
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(ca)
        .args([
            "-w",
            "\n%{http_code} %{http_version}",
            "-X",
            "POST",
            "-H",
            "Expect:",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(format!("@{}", body_file.display()))
        .args(extra)
        .arg(format!("{}{path}", proxy.url))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    let status = tail
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        out.status.success(),
        "curl {extra:?} failed: {}\n{tail}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        status,
        format!(
            "{body}\nHTTP/{}",
            tail.split_whitespace().nth(1).unwrap_or("")
        ),
        out.status.success(),
    )
}

/// Issue "Patches and server-side apply through the policies keep their meaning on a real API
/// server": a 20 MB body over `--max-request-body` gets a 413 `Status` the client reads, with
/// a declared length and chunked, from Python's http.client and curl over HTTP/1.1 and
/// HTTP/2; nothing is forwarded and the proxy keeps serving.
#[test]
fn a_20_mb_body_gets_a_readable_413() {
    let (c, handle) = Cluster::start_standin(StandInConfig::default(), &[]);
    let hub = Hub::shared();
    let proxy = Proxy::start(&c, &hub.api_url(), &["--max-request-body", "1048576"]);
    let (token, ns) = user(&c);
    let ca = c.dir.path().join("proxy-ca-413.pem");
    std::fs::write(&ca, &proxy.ca_pem).expect("ca");
    let big = c.dir.path().join("big.json");
    let payload = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"a":"{}"}}}}"#,
        "x".repeat(20 * 1024 * 1024)
    );
    std::fs::write(&big, &payload).expect("write");
    let path = format!("/api/v1/namespaces/{ns}/configmaps");
    let is_413 = |body: &str| {
        body.contains(r#""kind":"Status""#)
            && body.contains(r#""reason":"RequestEntityTooLarge""#)
            && body.contains("request entity too large: limit is 1048576 bytes")
    };
    for chunked in [false, true] {
        let (status, body) = python_post(&proxy, &ca, &token, &path, &big, chunked);
        assert_eq!(status, 413, "python chunked={chunked}: {body}");
        assert!(is_413(&body), "{body}");
    }
    let chunked = ["-H", "Transfer-Encoding: chunked"];
    for (extra, version) in [
        (&["--http1.1"][..], "HTTP/1.1"),
        (&["--http1.1", chunked[0], chunked[1]][..], "HTTP/1.1"),
        (&["--http2"][..], "HTTP/2"),
        (&["--http2", chunked[0], chunked[1]][..], "HTTP/2"),
    ] {
        let (status, body, _) = curl_post(&proxy, &ca, &token, &path, &big, extra);
        assert_eq!(status, 413, "curl {extra:?}: {body}");
        assert!(is_413(&body), "curl {extra:?}: {body}");
        assert!(body.ends_with(version), "curl {extra:?}: {body}");
    }
    assert!(
        !handle
            .state
            .audit()
            .iter()
            .any(|e| e.method == "POST" && e.uri.contains(&path)),
        "an oversized body was forwarded"
    );
    let small = c.dir.path().join("small.json");
    std::fs::write(
        &small,
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"small"},"data":{"a":"b"}}"#,
    )
    .expect("write");
    let (status, body, _) = curl_post(&proxy, &ca, &token, &path, &small, &["--http2"]);
    assert_eq!(status, 201, "the proxy keeps serving: {body}");
}
