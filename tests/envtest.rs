//! Tests of the envtest harness: generated PKI (checked by real TLS handshakes in
//! memory), flag assembly, and, when `KUBEBUILDER_ASSETS` is set, a real control plane.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use support::envtest::{
    apiserver_args, etcd_args, generate_pki, kubeconfig, token_file, EnvTest, Layout, Pki,
};
use support::tools::{http_agent, http_request, repo_root, scratch_dir};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn cert(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("generated cert must be PEM")
}

fn key(pem: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).expect("generated key must be PEM")
}

fn roots(ca_pem: &str) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert(ca_pem))
        .expect("generated CA must be a valid root");
    Arc::new(roots)
}

/// A TLS handshake in memory: a server presenting `server`'s serving cert and trusting
/// `server`'s CA for client certs, a client trusting `client`'s CA and presenting
/// `client`'s admin cert, connecting to `name`. Returns how many client certs the
/// server accepted.
fn handshake(server: &Pki, client: &Pki, name: &str) -> Result<usize, String> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(&server.ca_cert), provider())
        .build()
        .map_err(|e| e.to_string())?;
    let server_config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_client_cert_verifier(verifier)
                .with_single_cert(vec![cert(&server.serving_cert)], key(&server.serving_key))
        })
        .map_err(|e| e.to_string())?;
    let client_config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_root_certificates(roots(&client.ca_cert))
                .with_client_auth_cert(vec![cert(&client.admin_cert)], key(&client.admin_key))
        })
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
    let mut client =
        ClientConnection::new(Arc::new(client_config), name).map_err(|e| e.to_string())?;
    let mut server = ServerConnection::new(Arc::new(server_config)).map_err(|e| e.to_string())?;
    for _ in 0..10 {
        let mut wire = Vec::new();
        client.write_tls(&mut wire).map_err(|e| e.to_string())?;
        server
            .read_tls(&mut wire.as_slice())
            .map_err(|e| e.to_string())?;
        server
            .process_new_packets()
            .map_err(|e| format!("server: {e}"))?;
        wire.clear();
        server.write_tls(&mut wire).map_err(|e| e.to_string())?;
        client
            .read_tls(&mut wire.as_slice())
            .map_err(|e| e.to_string())?;
        client
            .process_new_packets()
            .map_err(|e| format!("client: {e}"))?;
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(server.peer_certificates().map_or(0, <[_]>::len));
        }
    }
    Err("handshake did not finish".into())
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn serving_cert_is_valid_for_loopback_names_under_the_ca() {
    let pki = generate_pki().expect("PKI generation must work");
    for name in ["127.0.0.1", "localhost"] {
        assert_eq!(handshake(&pki, &pki, name), Ok(1), "{name}");
    }
    let err = handshake(&pki, &pki, "example.com").expect_err("wrong name must fail");
    assert!(err.contains("not valid for name"), "{err}");
}

#[test]
fn client_cert_from_another_ca_is_rejected() {
    let (pki, other) = (generate_pki().expect("pki"), generate_pki().expect("pki"));
    // Client trusts the server (same CA list as the server) but presents a foreign cert.
    let foreign_client = Pki {
        ca_cert: pki.ca_cert.clone(),
        ..other
    };
    let err = handshake(&pki, &foreign_client, "127.0.0.1").expect_err("must be rejected");
    assert!(err.starts_with("server:"), "{err}");
}

#[test]
fn admin_cert_names_admin_in_system_masters() {
    let pki = generate_pki().expect("PKI generation must work");
    let der = cert(&pki.admin_cert);
    assert!(contains(&der, "system:masters"));
    assert!(contains(&der, "admin"));
    assert!(!contains(&cert(&pki.serving_cert), "system:masters"));
}

#[test]
fn service_account_keys_are_a_pkcs8_spki_pair() {
    let pki = generate_pki().expect("PKI generation must work");
    assert!(pki
        .sa_private_key
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(pki.sa_public_key.starts_with("-----BEGIN PUBLIC KEY-----"));
    let again = generate_pki().expect("PKI generation must work");
    assert_ne!(pki.sa_public_key, again.sa_public_key);
    assert_ne!(pki.ca_cert, again.ca_cert);
}

fn layout() -> Layout {
    Layout {
        dir: PathBuf::from("/tmp/envtest-x"),
        apiserver_port: 6443,
        etcd_client_port: 2379,
        etcd_peer_port: 2380,
    }
}

#[test]
fn apiserver_flags_follow_envtest_defaults() {
    let args = apiserver_args(&layout());
    let expected = [
        "--advertise-address=127.0.0.1",
        "--bind-address=127.0.0.1",
        "--secure-port=6443",
        "--etcd-servers=http://127.0.0.1:2379",
        "--cert-dir=/tmp/envtest-x/pki",
        "--tls-cert-file=/tmp/envtest-x/pki/apiserver.crt",
        "--tls-private-key-file=/tmp/envtest-x/pki/apiserver.key",
        "--client-ca-file=/tmp/envtest-x/pki/ca.crt",
        "--token-auth-file=/tmp/envtest-x/pki/tokens.csv",
        "--authorization-mode=RBAC",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true",
        "--disable-admission-plugins=ServiceAccount",
        "--service-account-issuer=https://127.0.0.1:6443/",
        "--service-account-key-file=/tmp/envtest-x/pki/sa.pub",
        "--service-account-signing-key-file=/tmp/envtest-x/pki/sa.key",
    ];
    assert_eq!(args, expected);
}

#[test]
fn etcd_flags_make_a_single_loopback_member() {
    let args = etcd_args(&layout());
    let expected = [
        "--name=envtest",
        "--data-dir=/tmp/envtest-x/etcd/data",
        "--listen-client-urls=http://127.0.0.1:2379",
        "--advertise-client-urls=http://127.0.0.1:2379",
        "--listen-peer-urls=http://127.0.0.1:2380",
        "--initial-advertise-peer-urls=http://127.0.0.1:2380",
        "--initial-cluster=envtest=http://127.0.0.1:2380",
        "--unsafe-no-fsync=true",
    ];
    assert_eq!(args, expected);
}

#[test]
fn token_file_and_kubeconfig_carry_the_admin_token() {
    assert_eq!(token_file("t0k"), "t0k,admin,admin,\"system:masters\"\n");
    let config = kubeconfig(&layout(), "t0k");
    for line in [
        "    server: https://127.0.0.1:6443",
        "    certificate-authority: /tmp/envtest-x/pki/ca.crt",
        "    token: t0k",
        "current-context: envtest",
    ] {
        assert!(config.lines().any(|l| l == line), "{line:?} in\n{config}");
    }
}

/// An assets folder whose `etcd` and `kube-apiserver` are tests/fixtures/fake_envtest.py.
fn fake_assets() -> PathBuf {
    let dir = scratch_dir("kbatch-fake-assets").expect("scratch dir");
    let script = repo_root().join("tests/fixtures/fake_envtest.py");
    for name in ["etcd", "kube-apiserver"] {
        let path = dir.join(name);
        fs::copy(&script, &path).expect("copy fake binary");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dir
}

#[test]
fn start_waits_for_both_processes_and_stop_removes_everything() {
    let assets = fake_assets();
    let envtest = EnvTest::start(&assets).expect("fake control plane must start");
    assert!(
        envtest.url.starts_with("https://127.0.0.1:"),
        "{}",
        envtest.url
    );
    let readyz = format!("{}/readyz", envtest.url);
    let ready = |token: &str| {
        envtest
            .agent()
            .get(&readyz)
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .map(|r| r.status().as_u16())
    };
    // TLS verified against the generated CA; the token comes from the token file.
    assert_eq!(ready(&envtest.admin_token).expect("TLS must verify"), 200);
    assert_eq!(ready("wrong").expect("TLS must verify"), 401);
    let kubeconfig = fs::read_to_string(envtest.kubeconfig_path()).expect("kubeconfig");
    assert!(kubeconfig.contains(&envtest.admin_token));

    let dir = envtest.dir().to_path_buf();
    drop(envtest);
    assert!(ready_after_drop(&readyz), "server still answers after drop");
    assert!(!dir.exists(), "scratch dir {} not removed", dir.display());
    fs::remove_dir_all(assets).expect("remove fake assets");
}

fn ready_after_drop(url: &str) -> bool {
    http_request(&http_agent(), "GET", url, None, None).is_err()
}

#[test]
fn missing_binaries_fail_before_anything_starts() {
    let empty = scratch_dir("kbatch-empty-assets").expect("scratch dir");
    let err = EnvTest::start(&empty).expect_err("must fail");
    assert!(err.contains("no etcd binary there"), "{err}");
    fs::remove_dir_all(empty).expect("remove");
}

/// Runs only where `KUBEBUILDER_ASSETS` provides the binaries.
#[test]
fn real_control_plane_accepts_the_admin_token() {
    let Some(envtest) = EnvTest::configured() else {
        eprintln!("skipped: KUBEBUILDER_ASSETS not set");
        return;
    };
    let agent = envtest.agent();
    let review = serde_json::json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
    });
    let url = format!(
        "{}/apis/authentication.k8s.io/v1/selfsubjectreviews",
        envtest.url
    );
    let mut reply = agent
        .post(&url)
        .header("Authorization", format!("Bearer {}", envtest.admin_token))
        .content_type("application/json")
        .send(review.to_string().as_str())
        .expect("kube-apiserver must answer");
    let status = reply.status().as_u16();
    let body = reply.body_mut().read_to_string().expect("body");
    assert_eq!(status, 201, "{body}");
    let user =
        &serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["status"]["userInfo"];
    assert_eq!(user["username"], "admin", "{body}");
    assert!(body.contains("system:masters"), "{body}");
}
