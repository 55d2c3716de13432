//! Tests of the hub client: answer classification, URL and CA settings, and a whoami
//! over TLS to a local server whose CA is only trusted through `extra_ca_pem`.

use super::*;

#[test]
fn classifies_hub_answers() {
    let user = br#"{"kind":"user","name":"alice","admin":false,"groups":["g"],
        "scopes":["access:services!service=kbatch"],"server":null}"#;
    let known = classify(StatusCode::OK, user).expect("user model");
    assert_eq!(
        known,
        Whoami::Known(HubUser {
            name: "alice".into(),
            groups: vec!["g".into()],
            scopes: vec!["access:services!service=kbatch".into()],
            kind: "user".into(),
        })
    );
    let service = br#"{"kind":"service","name":"kbatch","scopes":[]}"#;
    assert!(matches!(
        classify(StatusCode::OK, service),
        Ok(Whoami::Known(HubUser { ref kind, ref groups, .. })) if kind == "service" && groups.is_empty()
    ));
    for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
        assert_eq!(classify(status, b"").expect("refusal"), Whoami::Rejected);
    }
    for status in [500, 502, 404, 400, 429, 302] {
        let status = StatusCode::from_u16(status).expect("valid status");
        assert!(
            matches!(classify(status, b"{}"), Err(HubError::Status(s)) if s == status.as_u16())
        );
    }
    for body in [&b"<html>"[..], b"{}", b"{\"name\": 7}", b""] {
        assert!(matches!(
            classify(StatusCode::OK, body),
            Err(HubError::Json(_))
        ));
    }
}

#[test]
fn builds_uris_and_trusts_extra_ca() {
    let client =
        HubClient::new("http://hub:8081/hub/api/", Duration::from_secs(5), None).expect("valid");
    assert_eq!(client.user_uri, "http://hub:8081/hub/api/user");
    assert_eq!(client.root_uri, "http://hub:8081/hub/api/");

    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["hub".into()]).expect("params");
    let ca = params.self_signed(&key).expect("cert").pem();
    let https = HubClient::new("https://hub/hub/api", Duration::from_secs(5), Some(&ca));
    assert!(https.is_ok());
    let empty = HubClient::new("https://hub/hub/api", Duration::from_secs(5), Some("nope"));
    assert!(matches!(empty, Err(SetupError::CaEmpty)));
    let broken = "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n";
    let broken = HubClient::new("https://hub/hub/api", Duration::from_secs(5), Some(broken));
    assert!(matches!(broken, Err(SetupError::CaPem(_))));
}

/// A CA, and a server config for `127.0.0.1` with a certificate it signed.
fn local_tls() -> (String, rustls::ServerConfig) {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("ca");
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    let cert = params.signed_by(&key, &ca).expect("leaf");
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server config");
    (ca.pem(), server)
}

/// Serves TLS connections on `listener`: answers each request with `reply` and sends
/// the request head it read to `heads`.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: rustls::ServerConfig,
    reply: &'static str,
    heads: tokio::sync::mpsc::UnboundedSender<String>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    while let Ok((tcp, _)) = listener.accept().await {
        let Ok(mut tls) = acceptor.accept(tcp).await else {
            continue; // The client refused our certificate.
        };
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
            reply.len()
        );
        let _ = tls.write_all(response.as_bytes()).await;
        let _ = tls.shutdown().await;
    }
}

#[tokio::test]
async fn whoami_over_tls_trusts_only_the_configured_ca() {
    let (ca_pem, server) = local_tls();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind");
    let url = format!("https://{}/hub/api", listener.local_addr().expect("addr"));
    let (heads_tx, mut heads) = tokio::sync::mpsc::unbounded_channel();
    let reply = r#"{"kind":"user","name":"alice","groups":[],"scopes":["access:services"]}"#;
    tokio::spawn(serve_tls(listener, server, reply, heads_tx));
    let token = Token::new("s3cret");
    let timeout = Duration::from_secs(5);

    let trusting = HubClient::new(&url, timeout, Some(&ca_pem)).expect("valid");
    let whoami = trusting.whoami(&token).await.expect("TLS whoami");
    assert!(
        matches!(whoami, Whoami::Known(ref user) if user.name == "alice"),
        "{whoami:?}"
    );
    let head = heads
        .recv()
        .await
        .expect("request head")
        .to_ascii_lowercase();
    assert!(head.starts_with("get /hub/api/user http/1.1\r\n"), "{head}");
    assert!(
        head.contains("\r\nauthorization: token s3cret\r\n"),
        "{head}"
    );

    let webpki_only = HubClient::new(&url, timeout, None).expect("valid");
    let err = webpki_only.whoami(&token).await.expect_err("unknown CA");
    assert!(matches!(err, HubError::Request(_)), "{err:?}");
}
