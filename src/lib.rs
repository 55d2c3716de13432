//! kbatch-proxy: a streaming reverse proxy in front of the Kubernetes API server, run as a
//! JupyterHub service, that gives each hub user safe access to their own namespace through
//! kubectl, client libraries and the kbatch REST API.
//!
//! # Layout
//!
//! Pure decisions (no I/O):
//! - [`config`]: flags and environment variables → a validated [`config::Config`].
//! - [`request_info`]: raw API paths → verb, group, version, resource, namespace, name.
//! - [`scope`]: namespace confinement decisions.
//! - [`alias`]: answers to requests moved from `default` show `default` again.
//! - [`reviews`]: self-subject reviews answered with the same policy.
//! - [`headers`]: header hygiene for forwarded requests and relayed responses.
//! - [`identity`]: hub user name → namespace (the kbatch scheme) and label values.
//! - [`impersonation`]: the upstream identity mode and the `Impersonate-*` headers it adds.
//! - [`kubeconfig`]: the `/kubeconfig` answer (server URL, CA, namespace, exec credential).
//! - [`policy`]: admission-style policies (JSON-patch mutations, deny rules), their reload.
//! - [`error`]: the one error type, rendered as a Kubernetes `Status` (or `{"detail"}`).
//! - [`decode`]: request bodies (JSON, YAML, protobuf) → JSON, read exactly as kube-apiserver
//!   reads them (`crates/kube-decode`), ambiguous ones refused, type meta held to the endpoint.
//!
//! I/O at the edges:
//! - [`auth`]: token extraction, the JupyterHub client and the moka cache in front of it.
//! - [`provision`]: the user's namespace, its manifests and RoleBinding, on first use.
//! - [`upstream`]: the clients to the API server: a shared HTTP/2 connection for short
//!   requests, HTTP/2 connections of their own for long-running ones, HTTP/1.1 for upgrades.
//! - [`admission`]: judging create/update/patch/exec requests against the policies.
//! - [`router`]: one request: health, prefix, auth, confinement, streaming relay, upgrades.
//! - [`server`]: accept loop, TLS, timeouts, graceful shutdown.
//! - [`certs`]: the `kbatch-proxy certs` subcommand (dev CA and serving certificate).
//! - [`tls`]: the listener's certificate; [`body`]: the streaming body type.
//! - [`kbatch`]: the kbatch REST API (`/jobs/`, `/cronjobs/`, `/pods/`, `/profiles/`, …).

pub mod admission;
pub mod alias;
pub mod auth;
pub mod body;
pub mod certs;
pub mod config;
pub mod decode;
pub mod error;
pub mod headers;
pub mod identity;
pub mod impersonation;
pub mod kbatch;
pub mod kubeconfig;
pub mod policy;
pub mod provision;
pub mod request_info;
pub mod reviews;
pub mod router;
pub mod scope;
pub mod server;
pub mod tls;
pub mod upstream;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::auth::{HubAuth, HubAuthConfig};
use crate::config::Config;
use crate::impersonation::IdentityConfig;
use crate::provision::{ProvisionConfig, Provisioner};
use crate::router::AppState;
use crate::server::ServerOptions;
use crate::upstream::Upstream;

/// Errors that stop the proxy from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The upstream API server configuration.
    #[error(transparent)]
    Upstream(#[from] upstream::UpstreamError),
    /// The listener certificate.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The hub client.
    #[error("JupyterHub client: {0}")]
    Hub(#[from] auth::AuthError),
    /// The upstream identity settings.
    #[error(transparent)]
    Identity(#[from] impersonation::IdentityError),
    /// The confinement settings.
    #[error("confinement rules: {0}")]
    Scope(String),
    /// The provisioning settings.
    #[error(transparent)]
    Provision(#[from] provision::ProvisionError),
    /// The policies could not be loaded.
    #[error("policies: {0}")]
    Policy(#[from] policy::PolicyError),
    /// A required setting is missing.
    #[error("{0}")]
    Missing(&'static str),
    /// The kbatch template or profile file.
    #[error(transparent)]
    Kbatch(#[from] kbatch::settings::SettingsError),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// The hub client configuration from the proxy's configuration.
pub fn hub_config(config: &Config) -> Result<HubAuthConfig, StartError> {
    let a = &config.args;
    let api_url = a
        .jupyterhub_api_url
        .clone()
        .unwrap_or_else(|| "http://127.0.0.1:8081/hub/api".to_string());
    let extra_ca_pem = match &a.hub_ca_file {
        Some(p) => Some(
            std::fs::read_to_string(p).map_err(|source| StartError::Read {
                path: p.display().to_string(),
                source,
            })?,
        ),
        None => None,
    };
    Ok(HubAuthConfig {
        api_url,
        service_name: a.jupyterhub_service_name.clone(),
        access_scopes: config.access_scopes.clone(),
        positive_ttl: Duration::from_secs(a.auth_cache_ttl),
        negative_ttl: Duration::from_secs(a.auth_negative_cache_ttl),
        max_entries: a.auth_cache_size,
        timeout: Duration::from_secs(a.hub_timeout),
        extra_ca_pem,
    })
}

/// The provisioning configuration from the proxy's configuration.
pub fn provision_config(
    config: &Config,
    identity: &IdentityConfig,
) -> Result<ProvisionConfig, StartError> {
    let a = &config.args;
    let manifests = match &a.namespace_manifests_file {
        Some(p) => provision::parse_manifests(p)?,
        None => Vec::new(),
    };
    let psa_level = Some(a.provision.psa_level.clone()).filter(|l| l != "none");
    // An empty role name leaves the user's RBAC to the operator.
    let role = a.provision.user_cluster_role.trim();
    let bind =
        (identity.impersonates() && !role.is_empty()).then(|| (role.to_string(), identity.clone()));
    Ok(ProvisionConfig {
        enabled: a.create_user_namespace,
        labels: config.labels.clone(),
        psa_level,
        manifests,
        bind,
        cache_ttl: Duration::from_secs(a.provision.cache_ttl),
        adopt: a.provision.adopt_existing_namespaces,
    })
}

/// Run the proxy on `listener` until `shutdown` resolves, then drain.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let kbatch = kbatch::settings::KbatchSettings::load(&config)?;
    let pool = upstream::PoolSettings {
        streams_per_connection: config.args.upstream_streams_per_connection,
        max_connections: config.args.max_upstream_connections,
    };
    let upstream = Upstream::load(config.args.kubeconfig.as_deref(), pool).await?;
    let hub = HubAuth::new(hub_config(&config)?)?;
    let identity = IdentityConfig::from_args(&config.args.identity)?;
    let scope = config
        .args
        .scope
        .to_config()
        .map_err(|e| StartError::Scope(e.to_string()))?;
    let provisioner = Provisioner::new(provision_config(&config, &identity)?);
    let tls = match (&config.args.tls_cert, &config.args.tls_key) {
        (Some(c), Some(k)) => Some(tls::server_config(c, k)?),
        _ => None,
    };
    tracing::info!(
        listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        upstream = %upstream.base(),
        tls = tls.is_some(),
        prefix = %config.prefix,
        identity = ?identity.mode,
        "kbatch-proxy starting"
    );
    let source = config.args.policy.source();
    let policies = Arc::new(policy::Policies::new(source.clone())?);
    log_policies(&source, &policies.current());
    // The server's shutdown also ends the policy reload loop.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    policies.spawn_reload(
        Duration::from_secs(config.args.policy.policy_reload_interval),
        async move {
            let _ = stop_rx.changed().await;
        },
    );
    let state = Arc::new(AppState {
        upstream,
        hub,
        prefix: config.prefix.clone(),
        max_request_body: config.args.max_request_body,
        scope,
        identity,
        provisioner,
        kubeconfig: kubeconfig::Settings {
            args: config.args.user_kubeconfig.clone(),
            tls: tls.is_some(),
        },
        policies,
        kbatch,
    });
    let opts = ServerOptions {
        header_read_timeout: Duration::from_secs(config.args.header_read_timeout),
        shutdown_grace: Duration::from_secs(config.args.shutdown_grace),
    };
    server::serve(listener, tls, state, opts, shutdown).await;
    Ok(())
}

/// Say at start which policies are in force; running without any is worth a warning.
fn log_policies(source: &policy::PolicySource, set: &policy::PolicySet) {
    match source {
        policy::PolicySource::Off => tracing::warn!(
            "policies are off (--policies-dir none): requests reach the API server unjudged"
        ),
        policy::PolicySource::Builtin => tracing::info!(
            policies = ?set.names(),
            "built-in policies in force (the shipped policies/; set --policies-dir to replace them)"
        ),
        policy::PolicySource::Dir(dir) => tracing::info!(
            dir = %dir.display(),
            policies = ?set.names(),
            "policies loaded"
        ),
    }
}
