//! `make bench`: idle watches through kbatch-proxy (the release binary, its own process, TLS
//! both ways) to the API stand-in, which announces 100 streams per HTTP/2 connection as
//! kube-apiserver does. Reports the proxy's RSS per idle watch at each count, the upstream
//! connections it opened, and the p50/p99 of a small GET with and without the watches open.
//! `BENCH_WATCHES` (default `1000,10000`) sets the counts; `BENCH_PROXY_WRAPPER` a command the
//! proxy runs under (a profiler: `heaptrack -o FILE`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kbatch_proxy::identity::namespace_for;
use kube_standin::tls::Ca;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::tools::{get_latencies, percentile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The proxy's resident set size, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Established TCP connections to `port` (the proxy's upstream connections: nothing else
/// keeps one to the stand-in during the measurement).
fn connections_to(port: u16) -> usize {
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f
                .get(2)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if remote_port == Some(port) && f.get(3) == Some(&"01") {
                n += 1;
            }
        }
    }
    n
}

struct ProxyProcess {
    child: Child,
    addr: String,
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy(c: &Cluster, hub: &Hub, ca: &Ca) -> ProxyProcess {
    let serving = ca
        .serving_cert(&["127.0.0.1".into()])
        .expect("serving cert");
    let cert = c.dir.path().join("bench-tls.crt");
    let key = c.dir.path().join("bench-tls.key");
    std::fs::write(&cert, &serving.cert_pem).expect("cert");
    std::fs::write(&key, &serving.key_pem).expect("key");
    // `BENCH_PROXY_WRAPPER="heaptrack -o /tmp/proxy"` runs the proxy under a profiler, and
    // `BENCH_PROXY_BIN` another build of it (one with line tables, for the profiler).
    let wrapper = std::env::var("BENCH_PROXY_WRAPPER").unwrap_or_default();
    let mut argv: Vec<String> = wrapper.split_whitespace().map(str::to_owned).collect();
    argv.push(
        std::env::var("BENCH_PROXY_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kbatch-proxy").to_owned()),
    );
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env("KUBECONFIG", c.admin_kubeconfig(None))
        .env("JUPYTERHUB_API_URL", hub.api_url())
        .env("KBATCH_LISTEN", "127.0.0.1:0")
        .env("KBATCH_TLS_CERT", &cert)
        .env("KBATCH_TLS_KEY", &key)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kbatch-proxy");
    let (addr, _log) = support::tools::listen_address_from_log(child.stderr.take().expect("piped"));
    ProxyProcess { child, addr }
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// Open a watch; returns the stream once the response headers (200) arrived.
async fn open_watch(
    connector: tokio_rustls::TlsConnector,
    addr: String,
    path: String,
    token: String,
) -> Result<Tls, String> {
    let tcp = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    );
    tls.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the headers".into());
        }
        head.extend_from_slice(&buf[..n]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        return Err(String::from_utf8_lossy(&head).into_owned());
    }
    Ok(tls)
}

fn pct(v: &[Duration], p: f64) -> f64 {
    percentile(v, p).as_secs_f64() * 1e3
}

fn main() {
    let counts: Vec<usize> = std::env::var("BENCH_WATCHES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let c = Cluster::start();
    let hub = Hub::shared();
    let ca = Ca::generate("bench-ca").expect("CA");
    let proxy = start_proxy(&c, hub, &ca);
    let pid = proxy.child.id();
    let standin_port: u16 = c
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("stand-in port");
    let name = hub.new_user("watchbench", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let ns = namespace_for(&name);
    let agent = support::envtest::tls_agent(&ca.cert_pem).expect("agent");
    let get_url = format!(
        "https://{}/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt",
        proxy.addr
    );
    // Provision, warm the auth cache and the connections.
    get_latencies(
        &agent,
        &format!("https://{}/api/v1/namespaces/{ns}/configmaps", proxy.addr),
        &token,
        5,
    );
    get_latencies(&agent, &get_url, &token, 50);
    let quiet = get_latencies(&agent, &get_url, &token, 500);
    let baseline = rss_kib(pid);

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca.cert_pem.as_bytes()) {
        roots.add(cert.expect("CA cert")).expect("add CA");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let path = format!("/api/v1/namespaces/{ns}/configmaps?watch=true&timeoutSeconds=1800");

    println!(
        "idle watches through kbatch-proxy (TLS both ways, HTTP/1.1 clients, stand-in at 100 streams per HTTP/2 connection)"
    );
    println!(
        "  baseline: RSS {:.1} MiB; small GET p50 {:.3} ms, p99 {:.3} ms",
        baseline as f64 / 1024.0,
        pct(&quiet, 0.5),
        pct(&quiet, 0.99)
    );
    let mut open: Vec<Tls> = Vec::new();
    for target in counts {
        let started = Instant::now();
        while open.len() < target {
            let batch = (target - open.len()).min(200);
            let tasks: Vec<_> = (0..batch)
                .map(|_| {
                    rt.spawn(open_watch(
                        connector.clone(),
                        proxy.addr.clone(),
                        path.clone(),
                        token.clone(),
                    ))
                })
                .collect();
            for t in tasks {
                match rt.block_on(t).expect("task") {
                    Ok(s) => open.push(s),
                    Err(e) => panic!("watch {} failed: {e}", open.len()),
                }
            }
        }
        let opened = started.elapsed();
        // Let allocations settle.
        std::thread::sleep(Duration::from_secs(2));
        let rss = rss_kib(pid);
        let busy = get_latencies(&agent, &get_url, &token, 500);
        println!(
            "  {target:>6} watches (opened in {:.1} s): RSS {:.1} MiB, {:.1} KiB per watch; {} upstream connections; small GET p50 {:.3} ms, p99 {:.3} ms ({:.2}x idle)",
            opened.as_secs_f64(),
            rss as f64 / 1024.0,
            (rss.saturating_sub(baseline)) as f64 / target as f64,
            connections_to(standin_port),
            pct(&busy, 0.5),
            pct(&busy, 0.99),
            pct(&busy, 0.99) / pct(&quiet, 0.99)
        );
    }
    drop(open);
}
