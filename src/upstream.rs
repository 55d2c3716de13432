//! The connection to the Kubernetes API server, over TLS built from the kube config (CA
//! bundle, client certificate), with the proxy's own credential (bearer token, rotating token
//! file, basic auth) added to every request after the client's headers were stripped.
//!
//! Requests take one of three lanes ([`Lane`], chosen by [`lane_of`]):
//!
//! - **short** requests share one pooled client (one HTTP/2 connection when the server offers
//!   it);
//! - **long-running** requests (watches, log follows, `proxy`) get their own connections: a
//!   growing set of clients, each one HTTP/2 connection carrying at most
//!   `streams_per_connection` of them (kube-apiserver's `--http2-max-streams-per-connection`,
//!   100 by default), so they never take the stream slots short requests need and never queue
//!   behind each other; at most `max_connections` such connections, beyond which a
//!   long-running request is refused with 503 and `Retry-After`;
//! - **upgrades** (exec, attach, port-forward: SPDY and WebSocket need HTTP/1.1) get an
//!   HTTP/1.1 connection each.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
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
    /// Every long-running lane connection carries as many streams as it may.
    #[error(
        "too many long-running requests (watches, log follows) through this proxy: \
         {0} upstream connections are full; try again shortly"
    )]
    Saturated(usize),
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

type HttpsClient = Client<HttpsConnector<HttpConnector>, ProxyBody>;

/// How many upstream connections long-running requests may use, and how many of them one
/// connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Long-running requests per HTTP/2 connection (at most the server's
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`; kube-apiserver's default is 100).
    pub streams_per_connection: usize,
    /// Most connections for long-running requests.
    pub max_connections: usize,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            streams_per_connection: 100,
            max_connections: 100,
        }
    }
}

/// Which connections a request uses upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Ordinary requests: the shared connection.
    Short,
    /// Watches, log follows, `proxy`: connections of their own.
    LongRunning,
    /// Protocol upgrades: an HTTP/1.1 connection each.
    Upgrade,
}

/// The lane of a request (pure): an upgrade; a watch (`watch=true|1`, a `/watch/` path), a
/// log follow (`follow=true|1` on `…/log`) or a `proxy` request; else short.
pub fn lane_of(path: &str, query: Option<&str>, upgrade: bool) -> Lane {
    if upgrade {
        return Lane::Upgrade;
    }
    let segment = |i: usize| path.split('/').nth(i);
    let flag = |name: &str| {
        query.is_some_and(|q| {
            q.split('&').any(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                k == name && matches!(v, "true" | "1")
            })
        })
    };
    // `/api/v1/watch/…` and `/apis/<group>/<version>/watch/…`.
    let watch_path = match segment(1) {
        Some("api") => segment(3) == Some("watch"),
        Some("apis") => segment(4) == Some("watch"),
        _ => false,
    };
    let proxy = path.split('/').any(|s| s == "proxy");
    let log = path.rsplit('/').next() == Some("log");
    if flag("watch") || watch_path || proxy || (log && flag("follow")) {
        Lane::LongRunning
    } else {
        Lane::Short
    }
}

/// One connection of the long-running lane and how many streams it carries now.
struct LaneConnection {
    client: HttpsClient,
    open: AtomicUsize,
}

/// The long-running lane: connections opened on demand, each carrying at most
/// `streams_per_connection` streams.
struct LongLane {
    connections: Mutex<Vec<Arc<LaneConnection>>>,
    settings: PoolSettings,
    /// Builds a lane client; `true` once the server is known to speak HTTP/2 (the client then
    /// opens exactly one connection, however many requests race on it first).
    make: Box<dyn Fn(bool) -> HttpsClient + Send + Sync>,
    /// The server answered a short request over HTTP/2.
    h2: AtomicBool,
}

impl LongLane {
    /// A stream slot on the first connection with room, opening one if all are full.
    fn acquire(&self) -> Result<StreamSlot, UpstreamError> {
        let mut conns = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let limit = self.settings.streams_per_connection.max(1);
        let found = conns
            .iter()
            .find(|c| c.open.load(Ordering::Acquire) < limit)
            .cloned();
        let conn = match found {
            Some(c) => c,
            None if conns.len() < self.settings.max_connections.max(1) => {
                let c = Arc::new(LaneConnection {
                    client: (self.make)(self.h2.load(Ordering::Acquire)),
                    open: AtomicUsize::new(0),
                });
                conns.push(c.clone());
                tracing::debug!(
                    connections = conns.len(),
                    "long-running lane: new connection"
                );
                c
            }
            None => return Err(UpstreamError::Saturated(conns.len())),
        };
        conn.open.fetch_add(1, Ordering::AcqRel);
        Ok(StreamSlot(conn))
    }

    /// Connections in use and streams open on them.
    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let conns = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let streams = conns.iter().map(|c| c.open.load(Ordering::Acquire)).sum();
        (conns.len(), streams)
    }
}

/// A long-running request's place on a lane connection, given back when its answer ends.
struct StreamSlot(Arc<LaneConnection>);

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An answer's body as it streams from the API server; a long-running request's stream slot
/// is held until the body is done or dropped.
pub struct UpstreamBody {
    inner: Incoming,
    slot: Option<StreamSlot>,
}

impl http_body::Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.slot = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The API server behind the proxy.
pub struct Upstream {
    base: Uri,
    client: HttpsClient,
    long: LongLane,
    upgrade_client: HttpsClient,
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
    pub async fn load(
        kubeconfig: Option<&Path>,
        pool: PoolSettings,
    ) -> Result<Self, UpstreamError> {
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
        Self::with_pool(&config, pool)
    }

    /// Build from a resolved kube config.
    pub fn from_config(config: &kube::Config) -> Result<Self, UpstreamError> {
        Self::with_pool(config, PoolSettings::default())
    }

    /// Build from a resolved kube config with the long-running lane's limits.
    pub fn with_pool(config: &kube::Config, pool: PoolSettings) -> Result<Self, UpstreamError> {
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
        let h2 = connector(true)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(h2.clone());
        let long = LongLane {
            connections: Mutex::new(Vec::new()),
            settings: pool,
            make: Box::new(move |h2_only| {
                Client::builder(TokioExecutor::new())
                    .pool_idle_timeout(Duration::from_secs(90))
                    .http2_only(h2_only)
                    .build(h2.clone())
            }),
            h2: AtomicBool::new(false),
        };
        let upgrade_client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector(false)?);
        Ok(Upstream {
            base: config.cluster_url.clone(),
            client,
            long,
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

    /// Send a request (its headers already cleaned) with the proxy's credential, on the lane
    /// its path and query call for ([`lane_of`]); the response body streams.
    pub async fn send(
        &self,
        mut req: Request<ProxyBody>,
        upgrade: bool,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        if let Some(v) = self.authorization()? {
            req.headers_mut().insert(AUTHORIZATION, v);
        }
        let lane = lane_of(req.uri().path(), req.uri().query(), upgrade);
        let client = match lane {
            Lane::Upgrade => &self.upgrade_client,
            Lane::Short => &self.client,
            Lane::LongRunning => return self.send_long(req, self.long.acquire()?).await,
        };
        let resp = client
            .request(req)
            .await
            .map_err(|e| UpstreamError::Send(error_chain(&e)))?;
        if lane == Lane::Short && resp.version() == http::Version::HTTP_2 {
            self.long.h2.store(true, Ordering::Release);
        }
        Ok(resp.map(|inner| UpstreamBody { inner, slot: None }))
    }

    async fn send_long(
        &self,
        req: Request<ProxyBody>,
        slot: StreamSlot,
    ) -> Result<Response<UpstreamBody>, UpstreamError> {
        let client = slot.0.client.clone();
        let resp = client
            .request(req)
            .await
            .map_err(|e| UpstreamError::Send(error_chain(&e)))?;
        Ok(resp.map(|inner| UpstreamBody {
            inner,
            slot: Some(slot),
        }))
    }

    /// The proxy's error for a failed send: a full long-running lane is a 429 the client
    /// retries after a second, anything else the API server being unreachable.
    pub fn error(e: UpstreamError) -> crate::error::ProxyError {
        match e {
            UpstreamError::Saturated(_) => crate::error::ProxyError::TooManyRequests {
                message: e.to_string(),
                retry_after: 1,
            },
            e => crate::error::ProxyError::BadGateway(e.to_string()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_running_requests_take_their_own_lane() {
        let cases = [
            (
                "/api/v1/namespaces/a/pods",
                Some("watch=true"),
                Lane::LongRunning,
            ),
            (
                "/api/v1/namespaces/a/pods",
                Some("limit=5&watch=1"),
                Lane::LongRunning,
            ),
            ("/api/v1/watch/namespaces/a/pods", None, Lane::LongRunning),
            (
                "/apis/batch/v1/watch/namespaces/a/jobs",
                None,
                Lane::LongRunning,
            ),
            (
                "/api/v1/namespaces/a/pods/p/log",
                Some("follow=true"),
                Lane::LongRunning,
            ),
            (
                "/api/v1/namespaces/a/services/s/proxy/x",
                None,
                Lane::LongRunning,
            ),
            (
                "/api/v1/namespaces/a/pods",
                Some("watch=false"),
                Lane::Short,
            ),
            ("/api/v1/namespaces/a/pods/p/log", None, Lane::Short),
            (
                "/api/v1/namespaces/a/pods/p/log",
                Some("follow=false"),
                Lane::Short,
            ),
            ("/api/v1/namespaces/a/configmaps/watch", None, Lane::Short),
            (
                "/api/v1/namespaces/a/pods",
                Some("xwatch=true"),
                Lane::Short,
            ),
        ];
        for (path, query, want) in cases {
            assert_eq!(lane_of(path, query, false), want, "{path}?{query:?}");
        }
        assert_eq!(
            lane_of("/api/v1/namespaces/a/pods/p/exec", None, true),
            Lane::Upgrade
        );
    }

    #[test]
    fn the_long_lane_opens_connections_as_they_fill_and_refuses_beyond_the_cap() {
        let lane = LongLane {
            connections: Mutex::new(Vec::new()),
            settings: PoolSettings {
                streams_per_connection: 2,
                max_connections: 2,
            },
            h2: AtomicBool::new(false),
            make: Box::new(|_| {
                Client::builder(TokioExecutor::new()).build(
                    hyper_rustls::HttpsConnectorBuilder::new()
                        .with_webpki_roots()
                        .https_or_http()
                        .enable_http1()
                        .build(),
                )
            }),
        };
        let a = lane.acquire().expect("1");
        let b = lane.acquire().expect("2");
        assert_eq!(lane.usage(), (1, 2));
        let c = lane.acquire().expect("3");
        let _d = lane.acquire().expect("4");
        assert_eq!(lane.usage(), (2, 4));
        assert!(matches!(lane.acquire(), Err(UpstreamError::Saturated(2))));
        drop(b);
        // A freed slot is taken again before anything new opens.
        let _e = lane.acquire().expect("5");
        assert_eq!(lane.usage(), (2, 4));
        drop((a, c));
        assert_eq!(lane.usage(), (2, 2));
    }
}
