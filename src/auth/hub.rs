//! The JupyterHub client: `GET {api_url}/user` with the user's own token (the hub's
//! "whoami") over a pooled hyper client (http, or https with the webpki roots plus an
//! optional extra CA), each request bounded by a timeout.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Deserialize;

use super::{SetupError, Token};

/// Largest hub answer read (a user model with many groups is a few KiB).
const MAX_BODY: usize = 1 << 20;

/// How long an idle pooled connection to the hub is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// Why the hub gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// No complete answer within the timeout.
    #[error("no answer from the hub within {0:?}")]
    Timeout(Duration),
    /// Connecting or sending failed.
    #[error("request to the hub failed")]
    Request(#[source] hyper_util::client::legacy::Error),
    /// Reading the body failed or it exceeded the size limit.
    #[error("reading the hub's answer failed")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A status other than 200, 401 or 403.
    #[error("the hub answered with status {0}")]
    Status(u16),
    /// A 200 whose body is not a user model.
    #[error("the hub's answer is not a user model")]
    Json(#[source] serde_json::Error),
}

/// The fields of the hub's user (or service) model that matter here.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HubUser {
    /// User (or service) name.
    pub name: String,
    /// Group names (absent for services).
    #[serde(default)]
    pub groups: Vec<String>,
    /// The token's expanded scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `"user"` or `"service"`; anything else (or nothing) is not a user.
    #[serde(default)]
    pub kind: String,
}

/// What the hub says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whoami {
    /// The token is valid and belongs to this user or service.
    Known(HubUser),
    /// The hub refused the token (401/403), or it cannot be sent in a header at all.
    Rejected,
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// A pooled client for one hub API.
#[derive(Clone)]
pub struct HubClient {
    client: HttpsClient,
    user_uri: Uri,
    root_uri: Uri,
    timeout: Duration,
}

impl fmt::Debug for HubClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubClient")
            .field("user_uri", &self.user_uri)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// A client for the hub API at `api_url` (`http(s)://host[:port]/hub/api`). Nothing
    /// connects until the first request.
    pub fn new(
        api_url: &str,
        timeout: Duration,
        extra_ca_pem: Option<&str>,
    ) -> Result<Self, SetupError> {
        let base = api_url.trim_end_matches('/');
        let user_uri = parse_http_uri(&format!("{base}/user"), api_url)?;
        let root_uri = parse_http_uri(&format!("{base}/"), api_url)?;
        let tls = tls_config(extra_ca_pem)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(HubClient {
            client,
            user_uri,
            root_uri,
            timeout,
        })
    }

    /// `GET {api_url}/user` with `Authorization: token <token>`.
    pub async fn whoami(&self, token: &Token) -> Result<Whoami, HubError> {
        let Ok(mut auth) = HeaderValue::from_str(&format!("token {}", token.secret())) else {
            // Control characters and the like: no hub token looks like that.
            return Ok(Whoami::Rejected);
        };
        auth.set_sensitive(true);
        let request = self.request(&self.user_uri, Some(auth));
        let (status, body) = self.send(request).await?;
        classify(status, &body)
    }

    /// Whether `GET {api_url}/` answers 200 within the timeout.
    pub async fn ready(&self) -> bool {
        let request = self.request(&self.root_uri, None);
        matches!(self.send(request).await, Ok((StatusCode::OK, _)))
    }

    fn request(&self, uri: &Uri, auth: Option<HeaderValue>) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.uri_mut() = uri.clone();
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("kbatch-proxy/", env!("CARGO_PKG_VERSION"))),
        );
        if let Some(auth) = auth {
            headers.insert(AUTHORIZATION, auth);
        }
        request
    }

    /// Sends `request` and reads the body of a 200, all within the timeout.
    async fn send(&self, request: Request<Empty<Bytes>>) -> Result<(StatusCode, Bytes), HubError> {
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(HubError::Request)?;
            let status = response.status();
            if status != StatusCode::OK {
                // Other bodies are not needed; dropping it closes or recycles the connection.
                return Ok((status, Bytes::new()));
            }
            let body = Limited::new(response.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(HubError::Body)?;
            Ok((status, body.to_bytes()))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| HubError::Timeout(self.timeout))?
    }
}

/// The meaning of a whoami answer: 200 with a user model, 401/403 refused, else an error.
pub fn classify(status: StatusCode, body: &[u8]) -> Result<Whoami, HubError> {
    match status {
        StatusCode::OK => serde_json::from_slice(body)
            .map(Whoami::Known)
            .map_err(HubError::Json),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Ok(Whoami::Rejected),
        other => Err(HubError::Status(other.as_u16())),
    }
}

/// `url` as an absolute http(s) URI; `configured` is what the error names.
fn parse_http_uri(url: &str, configured: &str) -> Result<Uri, SetupError> {
    let uri: Uri = url.parse().map_err(|source| SetupError::Url {
        url: configured.to_string(),
        source,
    })?;
    let http = matches!(uri.scheme_str(), Some("http" | "https"));
    if !http || uri.host().is_none() {
        return Err(SetupError::Scheme(configured.to_string()));
    }
    Ok(uri)
}

/// rustls client settings: webpki roots plus the certificates of `extra_ca_pem`.
fn tls_config(extra_ca_pem: Option<&str>) -> Result<rustls::ClientConfig, SetupError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let certs = rustls_pemfile::certs(&mut pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(SetupError::CaPem)?;
        if certs.is_empty() {
            return Err(SetupError::CaEmpty);
        }
        for cert in certs {
            roots.add(cert).map_err(SetupError::Tls)?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests;
