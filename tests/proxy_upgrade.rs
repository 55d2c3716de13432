//! The upgrade relay byte for byte, whatever the subprotocol: a fake API server that accepts a
//! SPDY/3.1 upgrade (as kubectl's fallback and port-forward send) and echoes what it reads;
//! the proxy must relay both directions, pass half-close through, and strip the user's
//! credentials from the upgrade request.

mod support;

use std::sync::{Arc, Mutex};

use http::{Response, StatusCode};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use kbatch_proxy::identity::namespace_for;
use rustls::pki_types::ServerName;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};
use support::proxy::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A plain-HTTP fake API server: answers every upgrade with 101 and echoes the stream; the
/// one other request it knows is the proxy's check of the user's namespace (`GET
/// /api/v1/namespaces/<ns>`), answered with a namespace annotated for `owner`.
async fn fake_apiserver(seen: Seen, owner: String) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let seen = seen.clone();
            let owner = owner.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |mut req: http::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        let owner = owner.clone();
                        async move {
                            if !req.headers().contains_key("upgrade") {
                                let ns = namespace_for(&owner);
                                let body = format!(
                                    r#"{{"kind":"Namespace","apiVersion":"v1","metadata":{{"name":"{ns}","resourceVersion":"1","annotations":{{"kbatch.jupyter.org/username":"{owner}"}}}}}}"#
                                );
                                let found = req.uri().path() == format!("/api/v1/namespaces/{ns}");
                                return Ok::<_, std::convert::Infallible>(
                                    Response::builder()
                                        .status(if found {
                                            StatusCode::OK
                                        } else {
                                            StatusCode::NOT_FOUND
                                        })
                                        .header("Content-Type", "application/json")
                                        .body(http_body_util::Either::Right(
                                            http_body_util::Full::new(Bytes::from(body)),
                                        ))
                                        .expect("response"),
                                );
                            }
                            {
                                let mut s = seen.lock().expect("lock");
                                s.push((":path".into(), req.uri().to_string()));
                                for (k, v) in req.headers() {
                                    s.push((k.to_string(), v.to_str().unwrap_or("").to_string()));
                                }
                            }
                            let on_upgrade = hyper::upgrade::on(&mut req);
                            tokio::spawn(async move {
                                if let Ok(up) = on_upgrade.await {
                                    let mut io = TokioIo::new(up);
                                    let mut buf = vec![0u8; 4096];
                                    loop {
                                        match io.read(&mut buf).await {
                                            Ok(0) | Err(_) => break,
                                            Ok(n) => {
                                                if io.write_all(&buf[..n]).await.is_err() {
                                                    return;
                                                }
                                            }
                                        }
                                    }
                                    // The client half-closed: say goodbye and close our side.
                                    let _ = io.write_all(b"bye").await;
                                    let _ = io.shutdown().await;
                                }
                            });
                            Ok::<_, std::convert::Infallible>(
                                Response::builder()
                                    .status(StatusCode::SWITCHING_PROTOCOLS)
                                    .header("Connection", "Upgrade")
                                    .header("Upgrade", "SPDY/3.1")
                                    .header("X-Stream-Protocol-Version", "portforward.k8s.io")
                                    .body(http_body_util::Either::Left(Empty::<Bytes>::new()))
                                    .expect("response"),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

#[test]
fn spdy_upgrade_is_relayed_byte_for_byte_with_half_close() {
    let seen: Seen = Arc::default();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let hub = Hub::shared();
    let user = hub.new_user("gina", &[KBATCH_USERS_GROUP]);
    let fake = rt.block_on(fake_apiserver(seen.clone(), user.clone()));
    // The proxy's upstream is the fake server (plain HTTP) with a bearer token of its own.
    let c = Cluster::start();
    let kubeconfig = c.dir.path().join("fake-upstream.yaml");
    std::fs::write(
        &kubeconfig,
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: f\n  cluster:\n    server: http://{fake}\nusers:\n- name: f\n  user:\n    token: proxy-own-token\ncontexts:\n- name: f\n  context:\n    cluster: f\n    user: f\ncurrent-context: f\n"),
    )
    .expect("write kubeconfig");
    let token = hub.token_for(&user, None);
    let ns = namespace_for(&user);
    // The fake server only speaks the upgrade (and the ownership check of the namespace): no
    // namespace provisioning against it.
    let proxy = Proxy::start_with_kubeconfig(
        &c,
        &kubeconfig,
        &hub.api_url(),
        &["--create-user-namespace", "false"],
    );
    let port = proxy
        .url
        .rsplit(':')
        .next()
        .and_then(|p| p.parse::<u16>().ok())
        .expect("port");
    let ca = proxy.ca_pem.clone();
    let path = format!("/api/v1/namespaces/{ns}/pods/p/portforward");
    rt.block_on(async move {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut ca.as_bytes()) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let mut tls = connector
            .connect(ServerName::try_from("127.0.0.1").expect("name"), tcp)
            .await
            .expect("tls");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\nImpersonate-User: admin\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n"
        );
        tls.write_all(request.as_bytes()).await.expect("write request");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tls.read_exact(&mut byte).await.expect("read head");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_string();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        assert!(head.to_ascii_lowercase().contains("upgrade: spdy/3.1"), "{head}");
        let payload: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        tls.write_all(&payload).await.expect("write payload");
        let mut echoed = vec![0u8; payload.len()];
        tls.read_exact(&mut echoed).await.expect("read echo");
        assert_eq!(echoed, payload, "bytes must come back unchanged");
        // Half-close our side; the upstream sees EOF, answers "bye" and closes.
        tls.shutdown().await.expect("half-close");
        let mut rest = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(10), tls.read_to_end(&mut rest))
            .await
            .expect("upstream close reaches the client")
            .ok();
        assert_eq!(rest, b"bye");
    });
    let seen = seen.lock().expect("lock").clone();
    let get = |name: &str| {
        seen.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        get(":path"),
        vec![format!(
            "/api/v1/namespaces/{}/pods/p/portforward",
            namespace_for(&user)
        )]
    );
    assert_eq!(
        get("authorization"),
        vec!["Bearer proxy-own-token"],
        "only the proxy's credential goes upstream"
    );
    assert!(get("impersonate-user").is_empty());
    assert_eq!(get("upgrade"), vec!["SPDY/3.1"]);
    assert_eq!(get("x-stream-protocol-version"), vec!["portforward.k8s.io"]);
}
