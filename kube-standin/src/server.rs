//! The HTTPS server: TLS (ALPN h2 + http/1.1, optional client certificates), authentication,
//! impersonation, authorization, routing to discovery and the API verbs, and [`StandIn`] — a
//! running stand-in that tests start in-process on port 0.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::api::{Api, Call, Reply};
use crate::auth::{self, AccessRule, Attributes, Authz, UserInfo};
use crate::controllers::{self, Runtime};
use crate::discovery::{self, ServerVersion};
use crate::encode::{self, Body, JsonOpts};
use crate::request::{self, ApiRequest, Verb};
use crate::status::{ApiError, ApiResult};
use crate::store::Store;
use crate::tls::{self, Ca, CertPair, TlsError};
use crate::{exec, logs, reviews, watch};

/// The largest request body accepted (kube-apiserver's 3 MiB limit).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Concurrent streams allowed per HTTP/2 connection (kube-apiserver's
/// `--http2-max-streams-per-connection` as the proxy meets it: 100).
pub const HTTP2_MAX_STREAMS: u32 = 100;

/// How to start a stand-in.
#[derive(Debug, Clone)]
pub struct StandInConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The version `/version` reports.
    pub version: ServerVersion,
    /// Token of the `admin` user (group `system:masters`).
    pub admin_token: String,
    /// Extra users: (token, user).
    pub users: Vec<(String, UserInfo)>,
    /// Grants for non-admin users.
    pub rules: Vec<AccessRule>,
    /// Names and IPs for the serving certificate.
    pub names: Vec<String>,
    /// A serving certificate to use instead of a generated one.
    pub serving: Option<CertPair>,
}

impl Default for StandInConfig {
    fn default() -> Self {
        StandInConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            version: ServerVersion::default(),
            admin_token: format!("admin-{}", uuid::Uuid::new_v4().simple()),
            users: Vec::new(),
            rules: Vec::new(),
            names: vec!["127.0.0.1".into(), "localhost".into(), "::1".into()],
            serving: None,
        }
    }
}

/// One request as the stand-in saw it (for tests: who really made the call).
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The user the request acted as (after impersonation).
    pub user: UserInfo,
    /// The authenticated user when impersonating.
    pub impersonated_by: Option<UserInfo>,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Request headers (values of `Authorization` are replaced by `<redacted>`).
    pub headers: Vec<(String, String)>,
}

/// Shared state of a running stand-in.
pub struct State {
    /// The API over the store.
    pub api: Arc<Api>,
    /// Container logs.
    pub runtime: Arc<Runtime>,
    /// Tokens and rules.
    pub authz: RwLock<Authz>,
    /// `/version`.
    pub version: ServerVersion,
    audit: Mutex<VecDeque<AuditEntry>>,
}

const AUDIT_CAPACITY: usize = 10_000;

/// A running stand-in.
pub struct StandIn {
    /// The bound address.
    pub addr: SocketAddr,
    /// `https://127.0.0.1:<port>`.
    pub url: String,
    /// The CA that signed the serving certificate and accepts client certificates (PEM).
    pub ca_pem: String,
    /// The admin token.
    pub admin_token: String,
    ca: Ca,
    state: Arc<State>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

/// Errors starting a stand-in.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Certificates.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding the listener.
    #[error("binding {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl StandIn {
    /// Start a stand-in: generate its PKI, seed the cluster, start controllers and serve.
    pub async fn start(cfg: StandInConfig) -> Result<StandIn, StartError> {
        let ca = Ca::generate("kube-standin-ca")?;
        let serving = match &cfg.serving {
            Some(s) => s.clone(),
            None => ca.serving_cert(&cfg.names)?,
        };
        let tls_config = tls::server_config(&serving, &ca.cert_pem)?;
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let mut authz = Authz::default();
        authz.add_token(
            &cfg.admin_token,
            UserInfo::authenticated("admin", &["system:masters".to_string()]),
        );
        for (token, user) in &cfg.users {
            authz.add_token(token, user.clone());
        }
        for r in &cfg.rules {
            authz.add_rule(r.clone());
        }
        let store = Arc::new(Store::new());
        authz.set_store(store.clone());
        let api = Arc::new(Api::new(store));
        controllers::bootstrap(&api);
        controllers::seed_node(&api, &cfg.version.git_version);
        // The seeded objects predate "startup": watches cannot resume from before them.
        api.store.compact();
        let runtime = Arc::new(Runtime::default());
        let state = Arc::new(State {
            api: api.clone(),
            runtime: runtime.clone(),
            authz: RwLock::new(authz),
            version: cfg.version.clone(),
            audit: Mutex::new(VecDeque::new()),
        });
        let (shutdown, rx) = tokio::sync::watch::channel(false);
        controllers::spawn_all(api, runtime);
        tokio::spawn(accept_loop(
            listener,
            TlsAcceptor::from(tls_config),
            state.clone(),
            rx,
        ));
        Ok(StandIn {
            addr,
            url: format!("https://127.0.0.1:{}", addr.port()),
            ca_pem: ca.cert_pem.clone(),
            admin_token: cfg.admin_token,
            ca,
            state,
            shutdown,
        })
    }

    /// The shared state (store, runtime, authorizer).
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Add a user with a bearer token.
    pub fn add_user(&self, token: &str, user: UserInfo) {
        self.state
            .authz
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add_token(token, user);
    }

    /// Grant a rule.
    pub fn add_rule(&self, rule: AccessRule) {
        self.state
            .authz
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .add_rule(rule);
    }

    /// A client certificate for `user` in `group`, signed by the stand-in's CA.
    pub fn client_cert(&self, user: &str, group: Option<&str>) -> Result<CertPair, TlsError> {
        self.ca.client_cert(user, group)
    }

    /// Requests seen so far (most recent last).
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.state.audit()
    }

    /// Stop accepting connections.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl State {
    /// Requests seen so far (most recent last).
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.audit
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    state: Arc<State>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((tcp, _)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let identity = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(tls::identity_from_cert);
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                let identity = identity.clone();
                async move { Ok::<_, Infallible>(handle(state, identity, req).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder.http1().title_case_headers(true);
            // kube-apiserver's limit per HTTP/2 connection, announced in SETTINGS (more
            // streams queue on the client side, as with the real server).
            builder.http2().max_concurrent_streams(HTTP2_MAX_STREAMS);
            if let Err(e) = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Authenticate: bearer token (header, or WebSocket subprotocol), client certificate, or anonymous.
fn authenticate(
    state: &State,
    identity: Option<(String, Vec<String>)>,
    headers: &HeaderMap,
) -> ApiResult<UserInfo> {
    let authz = state.authz.read().unwrap_or_else(|p| p.into_inner());
    let ws_token = header(headers, "sec-websocket-protocol").and_then(|p| {
        p.split(',')
            .map(str::trim)
            .find_map(|s| s.strip_prefix("base64url.bearer.authorization.k8s.io."))
    });
    let decoded = ws_token.and_then(|t| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t.trim_end_matches('='))
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    });
    if let Some(token) = auth::bearer_token(headers).map(str::to_string).or(decoded) {
        return authz
            .user_for_token(&token)
            .ok_or_else(ApiError::unauthorized);
    }
    if let Some((user, groups)) = identity {
        return Ok(UserInfo::authenticated(&user, &groups));
    }
    Ok(UserInfo::anonymous())
}

/// Handle one request; never fails (errors become Status responses).
pub async fn handle(
    state: Arc<State>,
    identity: Option<(String, Vec<String>)>,
    req: Request<Incoming>,
) -> Response<Body> {
    let pretty = encode::wants_pretty(
        request::Query::parse(req.uri().query()).get("pretty"),
        header(req.headers(), "user-agent"),
    );
    match handle_inner(&state, identity, req).await {
        Ok(r) => r,
        Err(e) => encode::error_response(&e, pretty),
    }
}

async fn handle_inner(
    state: &Arc<State>,
    identity: Option<(String, Vec<String>)>,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().map(str::to_string);
    let method = req.method().clone();
    let headers = req.headers().clone();
    let authenticated = authenticate(state, identity, &headers)?;
    let (user, by) = {
        let authz = state.authz.read().unwrap_or_else(|p| p.into_inner());
        authz.impersonate(authenticated, &headers, &path)?
    };
    record(state, &user, by, &req);
    if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz") {
        return encode::api_response(StatusCode::OK, "text/plain; charset=utf-8", false)
            .header("X-Content-Type-Options", "nosniff")
            .body(encode::body_bytes("ok"))
            .map_err(|e| ApiError::internal(e.to_string()));
    }
    if method == Method::HEAD || method == Method::OPTIONS {
        return Err(ApiError::method_not_allowed());
    }
    check_accept(header(&headers, "accept"))?;
    let is_discovery = path == "/version"
        || path == "/version/"
        || path == "/api"
        || path == "/api/"
        || path == "/apis"
        || path == "/apis/"
        || path.starts_with("/openapi")
        || request::parse(&method, &path, raw_query.as_deref()).is_err_and(|e| e.plain_text);
    if is_discovery {
        if !state
            .authz
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .allowed_path(&user, &path)
        {
            return Err(auth::forbidden_path(&user, &path));
        }
        if let Some(r) = discovery::handle(
            &method,
            &path,
            raw_query.as_deref(),
            &headers,
            &state.version,
        ) {
            return Ok(r);
        }
    }
    let api_req = request::parse(&method, &path, raw_query.as_deref())?;
    authorize(state, &user, &api_req)?;
    dispatch(state, &user, api_req, req).await
}

fn check_accept(accept: Option<&str>) -> ApiResult<()> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(());
    };
    let ok = accept.split(',').any(|alt| {
        let mt = alt
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            mt.as_str(),
            "*/*"
                | "application/*"
                | "application/json"
                | "application/yaml"
                | "application/vnd.kubernetes.protobuf"
                | "application/vnd.kubernetes.protobuf;stream=watch"
                | "text/plain"
                | "text/*"
                | "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
                | "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
        )
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_acceptable())
    }
}

fn record(state: &State, user: &UserInfo, by: Option<UserInfo>, req: &Request<Incoming>) {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            let v = if k == http::header::AUTHORIZATION {
                "<redacted>".to_string()
            } else {
                v.to_str().unwrap_or("<binary>").to_string()
            };
            (k.as_str().to_string(), v)
        })
        .collect();
    let entry = AuditEntry {
        user: user.clone(),
        impersonated_by: by,
        method: req.method().to_string(),
        uri: req.uri().to_string(),
        headers,
    };
    let mut audit = state.audit.lock().unwrap_or_else(|p| p.into_inner());
    audit.push_back(entry);
    if audit.len() > AUDIT_CAPACITY {
        audit.pop_front();
    }
}

fn authorize(state: &State, user: &UserInfo, r: &ApiRequest) -> ApiResult<()> {
    let sub = r.res.subresource;
    let verb = match (sub, r.verb) {
        ("exec" | "attach" | "portforward", _) => "create",
        _ => r.verb.as_str(),
    };
    let a = Attributes {
        verb,
        group: r.res.group,
        resource: r.res.plural,
        subresource: sub,
        namespace: r.namespace.as_deref(),
        name: r.name.as_deref(),
    };
    let allowed = state
        .authz
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .allowed(user, &a);
    if allowed {
        Ok(())
    } else {
        Err(auth::forbidden(user, r.main, &a))
    }
}

async fn read_body(req: Request<Incoming>) -> ApiResult<Bytes> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError {
                code: 413,
                reason: Some("RequestEntityTooLarge"),
                message: format!("Request entity too large: limit is {MAX_BODY}"),
                details: None,
                plain_text: false,
                headers: Vec::new(),
            })
        }
        Err(e) => Err(ApiError::bad_request(format!("reading request body: {e}"))),
    }
}

async fn dispatch(
    state: &Arc<State>,
    user: &UserInfo,
    r: ApiRequest,
    req: Request<Incoming>,
) -> ApiResult<Response<Body>> {
    let headers = req.headers().clone();
    let accept = header(&headers, "accept").map(str::to_string);
    let pretty = encode::wants_pretty(r.query.get("pretty"), header(&headers, "user-agent"));
    let sub = r.res.subresource;
    match (sub, r.verb) {
        ("log", _) => return logs::logs(&state.api.store, &state.runtime, &r),
        ("exec" | "attach", _) => return connect(state, &r, req),
        ("proxy", _) => return Err(node_proxy(state, &r)),
        ("portforward", _) => {
            return Err(ApiError::bad_request(
                "port-forward is not supported by kube-standin (no pod network)",
            ))
        }
        (_, Verb::Watch) => return watch::watch(state.api.store.clone(), &r, accept.as_deref()),
        _ => {}
    }
    let body = read_body(req).await?;
    // Writes of roles and bindings are checked against the writer's own permissions.
    let authz = crate::rbac::is_rbac_kind(r.main)
        .then(|| state.authz.read().unwrap_or_else(|p| p.into_inner()));
    let call = Call {
        req: &r,
        user,
        user_agent: header(&headers, "user-agent"),
        accept: accept.as_deref(),
        content_type: header(&headers, "content-type"),
        body: &body,
        authz: authz.as_deref(),
    };
    let reply = if !r.res.stored && r.res.subresource.is_empty() {
        virtual_create(state, &call)?
    } else {
        match (sub, r.verb) {
            ("token", Verb::Create) => token(state, &call)?,
            ("scale", _) => state.api.scale(&call)?,
            ("finalize", Verb::Update) | (_, Verb::Update) => state.api.update(&call)?,
            (_, Verb::Get) => state.api.get(&call)?,
            (_, Verb::List) => state.api.list(&call)?,
            (_, Verb::Create) => state.api.create(&call)?,
            (_, Verb::Patch) => state.api.patch(&call)?,
            (_, Verb::Delete) => state.api.delete(&call)?,
            (_, Verb::DeleteCollection) => state.api.delete_collection(&call)?,
            (_, Verb::Watch) => return Err(ApiError::method_not_allowed()),
        }
    };
    Ok(render(reply, pretty))
}

fn render(reply: Reply, pretty: bool) -> Response<Body> {
    encode::json_response(
        reply.status,
        &reply.body,
        &JsonOpts {
            pretty,
            warnings: reply.warnings,
        },
    )
}

fn virtual_create(state: &State, call: &Call<'_>) -> ApiResult<Reply> {
    if call.req.verb != Verb::Create {
        return Err(ApiError::method_not_allowed());
    }
    let body = crate::api::decode_body(call.req.res, call.content_type, call.body)?.object;
    let authz = state.authz.read().unwrap_or_else(|p| p.into_inner());
    let out = reviews::review(call.req.res, body, call.user, &authz)?;
    Ok(Reply {
        status: StatusCode::CREATED,
        body: out,
        warnings: Vec::new(),
    })
}

fn token(state: &State, call: &Call<'_>) -> ApiResult<Reply> {
    let ns = call.req.namespace.clone().unwrap_or_default();
    let sa = call.req.name.clone().unwrap_or_default();
    let sares = call.req.main;
    if state.api.store.get(sares, &ns, &sa).is_none() {
        return Err(ApiError::not_found(sares, &sa));
    }
    let body: Value = crate::api::decode_body(call.req.res, call.content_type, call.body)?.object;
    let (out, token) = reviews::token_request(&body, &ns, &sa);
    let user = UserInfo::authenticated(
        &format!("system:serviceaccount:{ns}:{sa}"),
        &[
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
        ],
    );
    state
        .authz
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .add_token(&token, user);
    Ok(Reply {
        status: StatusCode::CREATED,
        body: out,
        warnings: Vec::new(),
    })
}

fn connect(state: &State, r: &ApiRequest, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let ns = r.namespace.clone().unwrap_or_default();
    let name = r.name.clone().unwrap_or_default();
    let pod = state
        .api
        .store
        .get(r.main, &ns, &name)
        .ok_or_else(|| ApiError::not_found(r.main, &name))?;
    let phase = pod["status"]["phase"].as_str().unwrap_or("");
    if pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty() {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    if phase == "Succeeded" || phase == "Failed" {
        return Err(ApiError::bad_request(format!(
            "cannot exec into a container in a completed pod; current phase is {phase}"
        )));
    }
    let mut opts = exec::ExecOptions::from_query(req.uri().query().unwrap_or(""))?;
    let requested = std::mem::take(&mut opts.container);
    opts.container = logs::pick_container(&pod, &name, Some(&requested))?;
    let attach = if r.res.subresource == "attach" {
        let log = state.runtime.log(&ns, &name, &opts.container);
        Some(attach_feed(log))
    } else {
        None
    };
    exec::serve(req, opts, attach)
}

/// `nodes/<name>/proxy`: there is no kubelet to reach, so kube-apiserver's answer for an
/// unreachable one (after the node lookup's 404).
fn node_proxy(state: &State, r: &ApiRequest) -> ApiError {
    let name = r.name.clone().unwrap_or_default();
    let Some(node) = state.api.store.get(r.main, "", &name) else {
        return ApiError::not_found(r.main, &name);
    };
    let address = node["status"]["addresses"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["type"] == "InternalIP"))
        .and_then(|a| a["address"].as_str())
        .unwrap_or(&name)
        .to_string();
    let port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .unwrap_or(10250);
    ApiError::service_unavailable(format!(
        "error trying to reach service: dial tcp {address}:{port}: connect: connection refused"
    ))
}

/// Bridge a container's log to a broadcast receiver of new output for `attach`.
fn attach_feed(
    log: Option<Arc<controllers::ContainerLog>>,
) -> tokio::sync::broadcast::Receiver<Bytes> {
    let (tx, rx) = tokio::sync::broadcast::channel(256);
    if let Some(log) = log {
        tokio::spawn(async move {
            let Some(mut changes) = log.subscribe() else {
                return;
            };
            let (existing, mut done) = log.read(0);
            let mut next = existing.len();
            while !done {
                if changes.changed().await.is_err() {
                    return;
                }
                let (lines, d) = log.read(next);
                next += lines.len();
                done = d;
                for (_, l) in lines {
                    if tx.send(l).is_err() {
                        return;
                    }
                }
            }
        });
    }
    rx
}
