//! Authentication of hub users: a request's bearer token ([`token`]) is looked up at
//! JupyterHub ([`hub`]), checked against the service's access scopes ([`scopes`],
//! [`verdict`]) and the result cached per token hash ([`cache`]). [`HubAuth`] ties these
//! together behind one call, [`HubAuth::authenticate`].
//!
//! Compared with kbatch-proxy (Python `HubAuth`, 60 s cache of every result): positive
//! and negative results have separate TTLs, hub failures are never cached and give 503
//! instead of 500, concurrent lookups of one token make one hub call, and tokens of hub
//! *services* are refused (403) instead of getting a namespace named after the service.

pub mod cache;
pub mod hub;
pub mod scopes;
pub mod token;
pub mod verdict;

use std::sync::Arc;
use std::time::Duration;

pub use hub::{HubError, HubUser};
pub use scopes::has_access;
pub use token::{strip_ws_bearer_protocol, token_from_headers, Token};

use crate::error::error_chain;
use cache::VerdictCache;
use hub::HubClient;
use verdict::{decide, Verdict};

/// Why a request is not authenticated. Cloneable, because one failed hub lookup answers
/// every request that waited for it.
///
/// `HubUnavailable` carries the cause as text (the cause chain of a [`HubError`] or a
/// [`SetupError`]) rather than as a `#[source]`, so that the error stays cloneable and
/// the router can show it; it never contains a token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// No token in the request (401). kbatch answers this with `Incorrect token` too.
    #[error("Incorrect token")]
    MissingToken,
    /// The hub does not know the token, or it is malformed (401).
    #[error("Incorrect token")]
    InvalidToken,
    /// The token lacks the service's access scope (403); the message is kbatch's and
    /// names the token's scopes and the required ones.
    #[error("{0}")]
    Forbidden(String),
    /// The token belongs to a hub service, not a user, so it has no namespace (403).
    #[error("token belongs to a JupyterHub service, not a user")]
    NotAUser,
    /// The hub could not answer: down, timed out, 5xx, unexpected status or body (503).
    /// Also what [`HubAuth::new`] returns for unusable settings ([`SetupError`]).
    #[error("JupyterHub is unavailable: {0}")]
    HubUnavailable(String),
}

impl AuthError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingToken | AuthError::InvalidToken => 401,
            AuthError::Forbidden(_) | AuthError::NotAUser => 403,
            AuthError::HubUnavailable(_) => 503,
        }
    }

    /// [`AuthError::HubUnavailable`] with `err` and its sources as the message.
    pub fn hub_unavailable(err: &(dyn std::error::Error + 'static)) -> Self {
        AuthError::HubUnavailable(error_chain(err))
    }
}

impl PartialEq for AuthError {
    /// Same variant and same message (sources are compared by their message).
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.to_string() == other.to_string()
    }
}

/// Unusable [`HubAuthConfig`] settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `api_url` is not a URI.
    #[error("invalid JupyterHub API URL {url:?}")]
    Url {
        /// The URL as configured.
        url: String,
        /// Why it does not parse.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// `api_url` is not an absolute `http://` or `https://` URL.
    #[error("JupyterHub API URL {0:?} must be an absolute http:// or https:// URL")]
    Scheme(String),
    /// `extra_ca_pem` does not parse as PEM.
    #[error("extra CA bundle is not valid PEM")]
    CaPem(#[source] std::io::Error),
    /// `extra_ca_pem` holds no certificate.
    #[error("extra CA bundle holds no certificate")]
    CaEmpty,
    /// A certificate of `extra_ca_pem` is not a usable trust anchor, or TLS setup failed.
    #[error("TLS client setup failed")]
    Tls(#[source] rustls::Error),
    /// No access scopes (kbatch fails every request in that case).
    #[error("no access scopes configured; set JUPYTERHUB_OAUTH_ACCESS_SCOPES or JUPYTERHUB_SERVICE_NAME")]
    NoScopes,
    /// An access scope JupyterHub would not parse.
    #[error("invalid access scope {0:?}")]
    Scope(String),
}

impl From<SetupError> for AuthError {
    /// Settings errors surface at startup only, through the one error type callers know.
    fn from(err: SetupError) -> Self {
        AuthError::HubUnavailable(format!(
            "invalid JupyterHub settings: {}",
            error_chain(&err)
        ))
    }
}

/// Settings of [`HubAuth`]; [`HubAuthConfig::new`] fills in the defaults.
#[derive(Debug, Clone)]
pub struct HubAuthConfig {
    /// The hub API root, `JUPYTERHUB_API_URL` (e.g. `http://hub:8081/hub/api`).
    pub api_url: String,
    /// This service's name at the hub, `JUPYTERHUB_SERVICE_NAME`.
    pub service_name: String,
    /// Scopes of which a token needs one, from `JUPYTERHUB_OAUTH_ACCESS_SCOPES` (see
    /// [`parse_access_scopes`]); `None` means `access:services!service=<service_name>`.
    pub access_scopes: Option<Vec<String>>,
    /// How long a successful lookup is trusted (default 60 s, kbatch's). A token revoked
    /// at the hub keeps working this long.
    pub positive_ttl: Duration,
    /// How long a refusal (unknown token, missing scope, service token) is remembered
    /// (default 10 s).
    pub negative_ttl: Duration,
    /// Most cached tokens (default 10 000); the least useful are evicted first.
    pub max_entries: u64,
    /// Limit for one hub request, connect to last body byte (default 5 s).
    pub timeout: Duration,
    /// Extra CA certificates (PEM text, not a path) trusted for an `https://` hub, in
    /// addition to the webpki roots.
    pub extra_ca_pem: Option<String>,
}

impl HubAuthConfig {
    /// Settings for the hub at `api_url` and service `service_name`, with the defaults.
    pub fn new(api_url: impl Into<String>, service_name: impl Into<String>) -> Self {
        HubAuthConfig {
            api_url: api_url.into(),
            service_name: service_name.into(),
            access_scopes: None,
            positive_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(10),
            max_entries: 10_000,
            timeout: Duration::from_secs(5),
            extra_ca_pem: None,
        }
    }

    /// The scopes of which a token needs one.
    pub fn effective_access_scopes(&self) -> Vec<String> {
        match &self.access_scopes {
            Some(scopes) => scopes.clone(),
            None => vec![format!("access:services!service={}", self.service_name)],
        }
    }
}

/// Parses `JUPYTERHUB_OAUTH_ACCESS_SCOPES` (a JSON list of strings).
pub fn parse_access_scopes(json: &str) -> Result<Vec<String>, serde_json::Error> {
    serde_json::from_str(json)
}

/// An authenticated hub user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The hub user name.
    pub name: String,
    /// The user's hub groups (echoed by kbatch's `/authorized`).
    pub groups: Vec<String>,
    /// The user's namespace, [`crate::identity::namespace_for`] of `name`.
    pub namespace: String,
}

/// Authenticates tokens against JupyterHub, with a cache; see the module doc.
pub struct HubAuth {
    hub: HubClient,
    cache: VerdictCache,
    access_scopes: Vec<String>,
}

impl std::fmt::Debug for HubAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubAuth")
            .field("hub", &self.hub)
            .field("access_scopes", &self.access_scopes)
            .finish_non_exhaustive()
    }
}

impl HubAuth {
    /// Checks the settings and builds the (pooled, lazily connecting) hub client.
    pub fn new(cfg: HubAuthConfig) -> Result<Self, AuthError> {
        let access_scopes = cfg.effective_access_scopes();
        if access_scopes.is_empty() {
            return Err(SetupError::NoScopes.into());
        }
        scopes::validate(&access_scopes).map_err(SetupError::Scope)?;
        let hub = HubClient::new(&cfg.api_url, cfg.timeout, cfg.extra_ca_pem.as_deref())?;
        let cache = VerdictCache::new(cfg.max_entries, cfg.positive_ttl, cfg.negative_ttl);
        Ok(HubAuth {
            hub,
            cache,
            access_scopes,
        })
    }

    /// The user of `token`, from the cache or the hub.
    ///
    /// [`AuthError::InvalidToken`] for an empty or unknown token, [`AuthError::Forbidden`]
    /// without an access scope, [`AuthError::NotAUser`] for a service's token (all cached
    /// for the negative TTL); [`AuthError::HubUnavailable`] when the hub cannot answer
    /// (not cached: the next request asks the hub again). Concurrent calls with the same
    /// uncached token share one hub request and its outcome.
    pub async fn authenticate(&self, token: &Token) -> Result<Arc<User>, AuthError> {
        if token.secret().is_empty() {
            return Err(AuthError::InvalidToken);
        }
        let verdict = self
            .cache
            .get_or_load(token.cache_key(), self.load(token))
            .await?;
        verdict.into_result()
    }

    /// Asks the hub about `token` and decides.
    async fn load(&self, token: &Token) -> Result<Verdict, AuthError> {
        tracing::debug!(token = %token.fingerprint(), "looking the token up at the hub");
        match self.hub.whoami(token).await {
            Ok(whoami) => Ok(decide(whoami, &self.access_scopes, token)),
            Err(err) => {
                let err = AuthError::hub_unavailable(&err);
                tracing::warn!(token = %token.fingerprint(), error = %err, "hub lookup failed");
                Err(err)
            }
        }
    }

    /// Whether the hub answers `GET {api_url}/` with 200 (for the readiness probe).
    pub async fn ready(&self) -> bool {
        self.hub.ready().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let hub_err = AuthError::hub_unavailable(&HubError::Status(502));
        assert_eq!(
            hub_err.to_string(),
            "JupyterHub is unavailable: the hub answered with status 502"
        );
        let cases = [
            (AuthError::MissingToken, 401),
            (AuthError::InvalidToken, 401),
            (AuthError::Forbidden("no".into()), 403),
            (AuthError::NotAUser, 403),
            (hub_err, 503),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status, "{err:?}");
        }
    }

    #[test]
    fn default_scope_is_the_service_access_scope() {
        let cfg = HubAuthConfig::new("http://hub:8081/hub/api", "kbatch");
        assert_eq!(
            cfg.effective_access_scopes(),
            ["access:services!service=kbatch"]
        );
        let scopes = parse_access_scopes(r#"["access:services", "read:users"]"#).expect("json");
        let cfg = HubAuthConfig {
            access_scopes: Some(scopes),
            ..cfg
        };
        assert_eq!(
            cfg.effective_access_scopes(),
            ["access:services", "read:users"]
        );
        assert!(parse_access_scopes("access:services").is_err());
    }

    #[test]
    fn new_rejects_bad_settings() {
        let base = HubAuthConfig::new("http://127.0.0.1:1/hub/api", "kbatch");
        let bad = [
            HubAuthConfig {
                access_scopes: Some(vec![]),
                ..base.clone()
            },
            HubAuthConfig {
                access_scopes: Some(vec!["access:services!service=".into()]),
                ..base.clone()
            },
            HubAuthConfig {
                api_url: "not a url".into(),
                ..base.clone()
            },
            HubAuthConfig {
                api_url: "ftp://hub/hub/api".into(),
                ..base.clone()
            },
            HubAuthConfig {
                api_url: "/hub/api".into(),
                ..base.clone()
            },
        ];
        for cfg in bad {
            let err = HubAuth::new(cfg.clone()).expect_err("must be refused");
            let message = err.to_string();
            assert!(
                message.starts_with("JupyterHub is unavailable: invalid JupyterHub settings: "),
                "{message}"
            );
        }
        assert!(HubAuth::new(base).is_ok());
    }

    #[tokio::test]
    async fn empty_token_is_invalid_without_a_hub_call() {
        // Port 1 is closed: any hub call would give HubUnavailable instead.
        let auth = HubAuth::new(HubAuthConfig::new("http://127.0.0.1:1/hub/api", "kbatch"))
            .expect("valid settings");
        let err = auth.authenticate(&Token::new("")).await.expect_err("empty");
        assert_eq!(err, AuthError::InvalidToken);
        let err = auth.authenticate(&Token::new("x")).await.expect_err("down");
        assert_eq!(err.status(), 503);
    }
}
