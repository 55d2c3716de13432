//! The `kbatch-proxy` binary itself: configuration from environment variables (upstream from
//! `KUBECONFIG`, plain HTTP as behind JupyterHub's proxy), the bound address in its log,
//! a request end to end, SIGTERM ending it cleanly, and bad configuration exiting with 2.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use kbatch_proxy::identity::namespace_for;
use support::cluster::Cluster;
use support::hub::{Hub, KBATCH_USERS_GROUP};

#[test]
fn runs_from_environment_and_stops_on_sigterm() {
    let c = Cluster::start();
    let hub = Hub::shared();
    let name = hub.new_user("bin", &[KBATCH_USERS_GROUP]);
    let token = hub.token_for(&name, None);
    let ns = namespace_for(&name);
    c.create_user_namespace(&ns, &name);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kbatch-proxy"))
        .env("KUBECONFIG", c.admin_kubeconfig(None))
        .env("JUPYTERHUB_API_URL", hub.api_url())
        .env("KBATCH_LISTEN", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .env_remove("KBATCH_TLS_CERT")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kbatch-proxy");
    // The rest of the log keeps being read so the proxy never blocks on a full pipe.
    let (addr, drained) =
        support::tools::listen_address_from_log(child.stderr.take().expect("piped"));
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let get = |path: &str, auth: Option<&str>| {
        let mut r = agent.get(&format!("http://{addr}{path}"));
        if let Some(t) = auth {
            r = r.header("Authorization", format!("token {t}"));
        }
        r.call().map(|r| r.status().as_u16()).unwrap_or(0)
    };
    assert_eq!(get("/healthz", None), 200);
    assert_eq!(get("/readyz", None), 200);
    assert_eq!(
        get(&format!("/api/v1/namespaces/{ns}/configmaps"), Some(&token)),
        200
    );
    assert_eq!(
        get("/api/v1/namespaces/kube-system/configmaps", Some(&token)),
        403
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(
        status.success(),
        "SIGTERM must end the proxy cleanly: {status}"
    );
    let log = drained.join().expect("log reader").join("\n");
    assert!(log.contains("shutting down"), "{log}");
    assert!(!log.contains(&token), "the token must never be logged");
}

#[test]
fn bad_configuration_exits_with_2_and_says_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_kbatch-proxy"))
        .args(["--labels", "not json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("KBATCH_LABELS"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_kbatch-proxy"))
        .arg("--version")
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("kbatch-proxy "));
}
