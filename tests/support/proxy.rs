//! kbatch-proxy started in-process for tests: its own runtime thread, a listener on port 0,
//! TLS with a certificate from a test CA, the API (stand-in or real) behind it and a hub.

use std::path::PathBuf;
use std::sync::mpsc;

use clap::Parser;
use kbatch_proxy::config::{Args, Config};
use kube_standin::kubeconfig::{kubeconfig, Credential};
use kube_standin::tls::Ca;

use super::cluster::{Cluster, Kubectl};

/// A running proxy.
pub struct Proxy {
    /// `https://127.0.0.1:<port>` (plus the prefix, if any).
    pub url: String,
    /// The CA that signed the proxy's certificate (PEM).
    pub ca_pem: String,
    stop: Option<mpsc::Sender<()>>,
    done: Option<mpsc::Receiver<()>>,
}

impl Proxy {
    /// Start a proxy in front of `cluster` (its admin credential is the proxy's own) checking
    /// tokens against the hub at `hub_api_url`; `extra` are more flags.
    pub fn start(cluster: &Cluster, hub_api_url: &str, extra: &[&str]) -> Proxy {
        Self::start_with_kubeconfig(cluster, &cluster.admin_kubeconfig(None), hub_api_url, extra)
    }

    /// Start a proxy whose upstream is described by `upstream` (a kubeconfig file).
    pub fn start_with_kubeconfig(
        cluster: &Cluster,
        upstream: &std::path::Path,
        hub_api_url: &str,
        extra: &[&str],
    ) -> Proxy {
        let ca = Ca::generate("kbatch-proxy-test-ca").expect("test CA");
        let serving = ca
            .serving_cert(&["127.0.0.1".into(), "localhost".into()])
            .expect("serving certificate");
        let dir = cluster
            .dir
            .path()
            .join(format!("proxy-{}", super::tools::unique_suffix()));
        std::fs::create_dir_all(&dir).expect("proxy dir");
        let cert = dir.join("tls.crt");
        let key = dir.join("tls.key");
        std::fs::write(&cert, &serving.cert_pem).expect("write cert");
        std::fs::write(&key, &serving.key_pem).expect("write key");
        let mut argv: Vec<String> = vec![
            "kbatch-proxy".into(),
            "--kubeconfig".into(),
            upstream.display().to_string(),
            "--jupyterhub-api-url".into(),
            hub_api_url.into(),
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        let config = Config::from_args(Args::parse_from(&argv)).expect("valid proxy config");
        let prefix = config.prefix.clone();
        let (addr_tx, addr_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime must build");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("test waits");
                let shutdown = async move {
                    let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                };
                kbatch_proxy::run(config, listener, shutdown)
                    .await
                    .expect("proxy runs");
            });
            let _ = done_tx.send(());
        });
        let addr = addr_rx.recv().expect("proxy must report its address");
        Proxy {
            url: format!("https://127.0.0.1:{}{prefix}", addr.port()),
            ca_pem: ca.cert_pem.clone(),
            stop: Some(stop_tx),
            done: Some(done_rx),
        }
    }

    /// A kubeconfig for a hub user: the proxy's URL and CA, the hub token, a default namespace.
    pub fn user_kubeconfig(&self, cluster: &Cluster, token: &str, namespace: &str) -> PathBuf {
        let path = cluster
            .dir
            .path()
            .join(format!("user-{}.yaml", super::tools::unique_suffix()));
        let kc = kubeconfig(
            &self.url,
            Some(&self.ca_pem),
            &Credential::Token(token.into()),
            Some(namespace),
            "kbatch",
        );
        std::fs::write(&path, kc).expect("write kubeconfig");
        path
    }

    /// kubectl `minor` talking to the proxy as the holder of `token`.
    pub fn kubectl(&self, cluster: &Cluster, minor: &str, token: &str, namespace: &str) -> Kubectl {
        cluster.kubectl_with(minor, self.user_kubeconfig(cluster, token, namespace))
    }

    /// Stop and wait for the drain to finish.
    pub fn shutdown(mut self) {
        self.stop_and_wait();
    }

    /// Start shutting down (stop accepting, drain) without waiting.
    pub fn begin_shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Wait until the proxy has finished draining (after [`Proxy::begin_shutdown`]).
    pub fn wait_stopped(&mut self, within: std::time::Duration) -> bool {
        match self.done.take() {
            Some(d) => d.recv_timeout(within).is_ok(),
            None => true,
        }
    }

    fn stop_and_wait(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = d.recv_timeout(std::time::Duration::from_secs(30));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}
