//! Command-line flags and environment variables (the Python kbatch-proxy's names kept) →
//! a validated [`Config`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Errors in the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A JSON-valued setting did not parse.
    #[error("{name}: invalid JSON of the expected shape: {source}")]
    Json {
        /// The setting.
        name: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An empty scope list would let no one in (the Python original answers 500 for every request).
    #[error("JUPYTERHUB_OAUTH_ACCESS_SCOPES must not be an empty list")]
    EmptyScopes,
    /// The prefix must be a path.
    #[error("KBATCH_PREFIX must start with '/': {0:?}")]
    Prefix(String),
    /// TLS needs both a certificate and a key.
    #[error("--tls-cert and --tls-key must be given together")]
    TlsPair,
}

/// kbatch-proxy: namespace-scoped Kubernetes API access for JupyterHub users.
#[derive(Parser, Debug, Clone)]
#[command(version, about)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "KBATCH_LISTEN", default_value = "0.0.0.0:8050")]
    pub listen: SocketAddr,
    /// Serving certificate (PEM); plain HTTP when unset (behind JupyterHub's proxy).
    #[arg(long, env = "KBATCH_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// Serving key (PEM).
    #[arg(long, env = "KBATCH_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Kubeconfig for the upstream API server (else in-cluster, else KUBECONFIG/~/.kube/config).
    #[arg(long, env = "KBATCH_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// URL prefix every route is served under, e.g. `/services/kbatch`.
    #[arg(long, env = "KBATCH_PREFIX", default_value = "")]
    pub prefix: String,
    /// JupyterHub API URL, e.g. `http://hub:8081/hub/api`.
    #[arg(long, env = "JUPYTERHUB_API_URL")]
    pub jupyterhub_api_url: Option<String>,
    /// The service's own hub token.
    #[arg(long, env = "JUPYTERHUB_API_TOKEN", hide_env_values = true)]
    pub jupyterhub_api_token: Option<String>,
    /// The hub service name (for the access scope check).
    #[arg(long, env = "JUPYTERHUB_SERVICE_NAME", default_value = "kbatch")]
    pub jupyterhub_service_name: String,
    /// Scopes a hub token must hold (JSON list); default `access:services!service=<service name>`.
    #[arg(long, env = "JUPYTERHUB_OAUTH_ACCESS_SCOPES")]
    pub jupyterhub_oauth_access_scopes: Option<String>,
    /// Extra CA bundle (PEM) to trust for an https hub URL.
    #[arg(long, env = "KBATCH_HUB_CA_FILE")]
    pub hub_ca_file: Option<PathBuf>,
    /// Seconds a successful hub check is cached.
    #[arg(long, env = "KBATCH_AUTH_CACHE_TTL", default_value_t = 60)]
    pub auth_cache_ttl: u64,
    /// Seconds a refused token (invalid, or lacking the scope) is cached.
    #[arg(long, env = "KBATCH_AUTH_NEGATIVE_CACHE_TTL", default_value_t = 10)]
    pub auth_negative_cache_ttl: u64,
    /// Most tokens kept in the auth cache.
    #[arg(long, env = "KBATCH_AUTH_CACHE_SIZE", default_value_t = 10_000)]
    pub auth_cache_size: u64,
    /// Seconds to wait for the hub before answering 503.
    #[arg(long, env = "KBATCH_HUB_TIMEOUT", default_value_t = 5)]
    pub hub_timeout: u64,
    /// Seconds a client may take to send request headers.
    #[arg(long, env = "KBATCH_HEADER_READ_TIMEOUT", default_value_t = 30)]
    pub header_read_timeout: u64,
    /// Largest request body forwarded, in bytes (kube-apiserver's own limit is 3 MiB).
    #[arg(long, env = "KBATCH_MAX_REQUEST_BODY", default_value_t = 3 * 1024 * 1024)]
    pub max_request_body: usize,
    /// Long-running requests (watches, log follows) per upstream HTTP/2 connection; keep it at
    /// most the API server's `--http2-max-streams-per-connection` (default 100).
    #[arg(
        long,
        env = "KBATCH_UPSTREAM_STREAMS_PER_CONNECTION",
        default_value_t = 100
    )]
    pub upstream_streams_per_connection: usize,
    /// Most upstream connections for long-running requests; when all are full a new watch
    /// gets 429 with `Retry-After`.
    #[arg(long, env = "KBATCH_MAX_UPSTREAM_CONNECTIONS", default_value_t = 100)]
    pub max_upstream_connections: usize,
    /// Seconds in-flight requests may run after SIGTERM.
    #[arg(long, env = "KBATCH_SHUTDOWN_GRACE", default_value_t = 25)]
    pub shutdown_grace: u64,
    /// Job template YAML merged into submitted jobs.
    #[arg(long, env = "KBATCH_JOB_TEMPLATE_FILE")]
    pub job_template_file: Option<PathBuf>,
    /// Profiles YAML served at `/profiles/`.
    #[arg(long, env = "KBATCH_PROFILE_FILE")]
    pub profile_file: Option<PathBuf>,
    /// `ttlSecondsAfterFinished` of submitted jobs.
    #[arg(
        long,
        env = "KBATCH_JOB_TTL_SECONDS_AFTER_FINISHED",
        default_value_t = 3600
    )]
    pub job_ttl_seconds_after_finished: i64,
    /// Extra environment for submitted jobs (JSON object).
    #[arg(long, env = "KBATCH_JOB_EXTRA_ENV", default_value = "{}")]
    pub job_extra_env: String,
    /// Create the user's namespace on first use.
    #[arg(long, env = "KBATCH_CREATE_USER_NAMESPACE", default_value_t = true, action = clap::ArgAction::Set)]
    pub create_user_namespace: bool,
    /// Extra objects created in each new user namespace (YAML).
    #[arg(long, env = "KBATCH_NAMESPACE_MANIFESTS_FILE")]
    pub namespace_manifests_file: Option<PathBuf>,
    /// Labels put on namespaces and jobs (JSON object).
    #[arg(
        long,
        env = "KBATCH_LABELS",
        default_value = r#"{"app.kubernetes.io/managed-by":"kbatch"}"#
    )]
    pub labels: String,
    /// Namespace confinement rules.
    #[command(flatten)]
    pub scope: crate::scope::ScopeArgs,
    /// Upstream identity (service account or impersonation).
    #[command(flatten)]
    pub identity: crate::impersonation::IdentityArgs,
    /// Namespace provisioning.
    #[command(flatten)]
    pub provision: crate::provision::ProvisionArgs,
    /// Flags of the `/kubeconfig` endpoint.
    #[command(flatten)]
    pub user_kubeconfig: crate::kubeconfig::KubeconfigArgs,
    /// Policies (`--policies-dir`, `--policy-reload-interval`).
    #[command(flatten)]
    pub policy: crate::policy::PolicyArgs,
    /// kbatch REST API settings not listed above.
    #[command(flatten)]
    pub kbatch: crate::kbatch::settings::KbatchArgs,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The raw arguments.
    pub args: Args,
    /// `KBATCH_JOB_EXTRA_ENV` parsed.
    pub job_extra_env: BTreeMap<String, String>,
    /// `KBATCH_LABELS` parsed.
    pub labels: BTreeMap<String, String>,
    /// `JUPYTERHUB_OAUTH_ACCESS_SCOPES` parsed.
    pub access_scopes: Option<Vec<String>>,
    /// The route prefix without a trailing slash (`""` for none).
    pub prefix: String,
}

impl Config {
    /// Validate parsed arguments.
    pub fn from_args(args: Args) -> Result<Self, ConfigError> {
        if args.tls_cert.is_some() != args.tls_key.is_some() {
            return Err(ConfigError::TlsPair);
        }
        let job_extra_env =
            serde_json::from_str(&args.job_extra_env).map_err(|source| ConfigError::Json {
                name: "KBATCH_JOB_EXTRA_ENV",
                source,
            })?;
        let labels = serde_json::from_str(&args.labels).map_err(|source| ConfigError::Json {
            name: "KBATCH_LABELS",
            source,
        })?;
        let access_scopes = match &args.jupyterhub_oauth_access_scopes {
            Some(raw) if !raw.trim().is_empty() => {
                Some(serde_json::from_str::<Vec<String>>(raw).map_err(|source| {
                    ConfigError::Json {
                        name: "JUPYTERHUB_OAUTH_ACCESS_SCOPES",
                        source,
                    }
                })?)
            }
            _ => None,
        };
        if access_scopes.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::EmptyScopes);
        }
        let prefix = args.prefix.trim_end_matches('/').to_string();
        if !prefix.is_empty() && !prefix.starts_with('/') {
            return Err(ConfigError::Prefix(args.prefix.clone()));
        }
        Ok(Config {
            args,
            job_extra_env,
            labels,
            access_scopes,
            prefix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_settings_and_rejects_bad_ones() {
        let args = Args::parse_from(["kbatch-proxy", "--job-extra-env", r#"{"A":"1"}"#]);
        let cfg = Config::from_args(args).expect("valid");
        assert_eq!(cfg.job_extra_env.get("A").map(String::as_str), Some("1"));
        assert_eq!(
            cfg.labels
                .get("app.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("kbatch")
        );
        let bad = Args::parse_from(["kbatch-proxy", "--labels", "nope"]);
        assert!(matches!(
            Config::from_args(bad),
            Err(ConfigError::Json {
                name: "KBATCH_LABELS",
                ..
            })
        ));
        let scopes = Args::parse_from(["kbatch-proxy", "--jupyterhub-oauth-access-scopes", "[]"]);
        assert!(matches!(
            Config::from_args(scopes),
            Err(ConfigError::EmptyScopes)
        ));
        let prefix = Args::parse_from(["kbatch-proxy", "--prefix", "/services/kbatch/"]);
        assert_eq!(
            Config::from_args(prefix).expect("valid").prefix,
            "/services/kbatch"
        );
        let bad = Args::parse_from(["kbatch-proxy", "--prefix", "services"]);
        assert!(matches!(
            Config::from_args(bad),
            Err(ConfigError::Prefix(_))
        ));
        let half = Args::parse_from(["kbatch-proxy", "--tls-cert", "c.pem"]);
        assert!(matches!(Config::from_args(half), Err(ConfigError::TlsPair)));
    }
}
