//! The connection to the Kubernetes API server: one pooled hyper client (HTTP/2 when the server
//! offers it, over TLS built from the kube config: CA bundle, client certificate) for ordinary
//! requests, a second HTTP/1.1-only client for protocol upgrades (SPDY and WebSocket need
//! HTTP/1.1), and the proxy's own credential (bearer token, rotating token file, basic auth)
//! added to every request after the client's headers were stripped.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use secrecy::ExposeSecret;

use crate::body::{empty, full, ProxyBody};
use crate::error::error_chain;

/// How often a token file (the rotating service-account token) is re-read.
const TOKEN_FILE_REFRESH: Duration = Duration::from_secs(60);

/// Largest answer [`Upstream::call`] collects.
pub const MAX_CALL_RESPONSE: usize = 16 * 1024 * 1024;

/// Errors setting up or using the upstream connection.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No usable kube config.
    #[error("loading the Kubernetes client configuration: {0}")]
    Config(String),
    /// The kube config asks for something the proxy does not support.
    #[error("unsupported Kubernetes credential: {0}")]
    Unsupported(&'static str),
    /// The request could not be sent or no answer came.
    #[error("{0}")]
    Send(String),
    /// A token file could not be read.
    #[error("reading token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

enum Credential {
    None,
    Header(HeaderValue),
    TokenFile {
        path: PathBuf,
        cached: Mutex<Option<(HeaderValue, Instant)>>,
    },
}

/// The API server behind the proxy.
pub struct Upstream {
    base: Uri,
    client: Client<HttpsConnector<HttpConnector>, ProxyBody>,
    upgrade_client: Client<HttpsConnector<HttpConnector>, ProxyBody>,
    credential: Credential,
}

fn bearer(token: &str) -> Result<HeaderValue, UpstreamError> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
        UpstreamError::Config("the bearer token is not a valid header value".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

impl Upstream {
    /// Load the configuration: the given kubeconfig file, else the in-cluster service account,
    /// else `KUBECONFIG` / `~/.kube/config`.
    pub async fn load(kubeconfig: Option<&Path>) -> Result<Self, UpstreamError> {
        let config = match kubeconfig {
            Some(path) => {
                let kc = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| UpstreamError::Config(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(
                    kc,
                    &kube::config::KubeConfigOptions::default(),
                )
                .await
                .map_err(|e| UpstreamError::Config(e.to_string()))?
            }
            // In-cluster service account first (the deployment case), then KUBECONFIG or
            // ~/.kube/config.
            None => match kube::Config::incluster() {
                Ok(c) => c,
                Err(in_cluster) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions::default())
                    .await
                    .map_err(|e| {
                        UpstreamError::Config(format!(
                            "no --kubeconfig given, not in a cluster ({in_cluster}), and no usable KUBECONFIG or ~/.kube/config ({e})"
                        ))
                    })?,
            },
        };
        Self::from_config(&config)
    }

    /// Build from a resolved kube config.
    pub fn from_config(config: &kube::Config) -> Result<Self, UpstreamError> {
        let ai = &config.auth_info;
        if ai.exec.is_some() || ai.auth_provider.is_some() {
            return Err(UpstreamError::Unsupported(
                "exec and auth-provider plugins; give the proxy a token, token file or client certificate",
            ));
        }
        let credential = if let Some(t) = &ai.token {
            Credential::Header(bearer(t.expose_secret())?)
        } else if let Some(f) = &ai.token_file {
            Credential::TokenFile {
                path: PathBuf::from(f),
                cached: Mutex::new(None),
            }
        } else if let (Some(u), Some(p)) = (&ai.username, &ai.password) {
            use base64::Engine;
            let raw = format!("{u}:{}", p.expose_secret());
            let mut v = HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
            .map_err(|_| {
                UpstreamError::Config("basic credentials are not a valid header".into())
            })?;
            v.set_sensitive(true);
            Credential::Header(v)
        } else {
            Credential::None
        };
        let tls = config
            .rustls_client_config()
            .map_err(|e| UpstreamError::Config(e.to_string()))?;
        let connector = |h2: bool| -> Result<HttpsConnector<HttpConnector>, UpstreamError> {
            let mut http = HttpConnector::new();
            http.enforce_http(false);
            http.set_connect_timeout(Some(
                config.connect_timeout.unwrap_or(Duration::from_secs(10)),
            ));
            http.set_nodelay(true);
            let mut builder = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls.clone())
                .https_or_http();
            if let Some(name) = &config.tls_server_name {
                let server_name = name.clone().try_into().map_err(|_| {
                    UpstreamError::Config(format!("invalid tls-server-name {name:?}"))
                })?;
                builder = builder.with_server_name_resolver(
                    hyper_rustls::FixedServerNameResolver::new(server_name),
                );
            }
            Ok(if h2 {
                builder.enable_http1().enable_http2().wrap_connector(http)
            } else {
                builder.enable_http1().wrap_connector(http)
            })
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(connector(true)?);
        let upgrade_client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector(false)?);
        Ok(Upstream {
            base: config.cluster_url.clone(),
            client,
            upgrade_client,
            credential,
        })
    }

    /// The API server URL.
    pub fn base(&self) -> &Uri {
        &self.base
    }

    /// The upstream URI for a path and query received by the proxy.
    pub fn uri_for(&self, path_and_query: &str) -> Result<Uri, UpstreamError> {
        let base = self.base.to_string();
        let base = base.trim_end_matches('/');
        format!("{base}{path_and_query}")
            .parse()
            .map_err(|e| UpstreamError::Send(format!("building the upstream URI: {e}")))
    }

    fn authorization(&self) -> Result<Option<HeaderValue>, UpstreamError> {
        match &self.credential {
            Credential::None => Ok(None),
            Credential::Header(v) => Ok(Some(v.clone())),
            Credential::TokenFile { path, cached } => {
                let mut guard = cached.lock().unwrap_or_else(|p| p.into_inner());
                if let Some((v, at)) = guard.as_ref() {
                    if at.elapsed() < TOKEN_FILE_REFRESH {
                        return Ok(Some(v.clone()));
                    }
                }
                let token =
                    std::fs::read_to_string(path).map_err(|source| UpstreamError::TokenFile {
                        path: path.clone(),
                        source,
                    })?;
                let v = bearer(&token)?;
                *guard = Some((v.clone(), Instant::now()));
                Ok(Some(v))
            }
        }
    }

    /// Send a request (its headers already cleaned) with the proxy's credential; the response
    /// body streams.
    pub async fn send(
        &self,
        mut req: Request<ProxyBody>,
        upgrade: bool,
    ) -> Result<Response<Incoming>, UpstreamError> {
        if let Some(v) = self.authorization()? {
            req.headers_mut().insert(AUTHORIZATION, v);
        }
        let client = if upgrade {
            &self.upgrade_client
        } else {
            &self.client
        };
        client
            .request(req)
            .await
            .map_err(|e| UpstreamError::Send(error_chain(&e)))
    }

    /// One small request with the proxy's own credential (and `extra` headers, e.g.
    /// impersonation), its answer collected (at most `MAX_CALL_RESPONSE` bytes). For the
    /// proxy's own work (provisioning, kbatch calls, dry runs), never for relaying.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        extra: &[(HeaderName, HeaderValue)],
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes), UpstreamError> {
        let mut builder = Request::builder()
            .method(method)
            .uri(self.uri_for(path_and_query)?)
            .header(ACCEPT, "application/json");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        for (k, v) in extra {
            builder = builder.header(k, v);
        }
        let req = builder
            .body(full(body))
            .map_err(|e| UpstreamError::Send(e.to_string()))?;
        let resp = self.send(req, false).await?;
        let status = resp.status();
        let collected = Limited::new(resp.into_body(), MAX_CALL_RESPONSE)
            .collect()
            .await
            .map_err(|e| UpstreamError::Send(format!("reading the answer: {e}")))?;
        Ok((status, collected.to_bytes()))
    }

    /// Whether the API server answers (`GET /readyz` with the proxy's credential; any HTTP
    /// answer counts as reachable, a 5xx does not).
    pub async fn ready(&self) -> bool {
        let Ok(uri) = self.uri_for("/version") else {
            return false;
        };
        let Ok(req) = Request::get(uri).body(empty()) else {
            return false;
        };
        match tokio::time::timeout(Duration::from_secs(5), self.send(req, false)).await {
            Ok(Ok(resp)) => !resp.status().is_server_error(),
            _ => false,
        }
    }
}
