//! Request handling: health endpoints, prefix stripping, authentication against the hub,
//! confinement, and the streaming relay to the API server (including protocol upgrades).
//! [`handle`] never fails: every error becomes a `Status` here, in one place.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Request, Response, StatusCode};
use http_body::Body as _;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tracing::Instrument;

use crate::auth::{token_from_headers, AuthError, HubAuth, User};
use crate::body::{full, stream, ProxyBody};
use crate::error::ProxyError;
use crate::headers;
use crate::impersonation::IdentityConfig;
use crate::provision::Provisioner;
use crate::request_info::{check_canonical, classify, PathKind, Query};
use crate::reviews::{self, ReviewError};
use crate::scope::{decide, BodyNamespace, Decision, ReviewKind, ScopeConfig, Subject};
use crate::upstream::Upstream;

/// What every request handler shares.
pub struct AppState {
    /// The API server.
    pub upstream: Upstream,
    /// JupyterHub authentication.
    pub hub: HubAuth,
    /// Route prefix (`/services/kbatch`), without a trailing slash; `""` for none.
    pub prefix: String,
    /// Largest request body forwarded.
    pub max_request_body: usize,
    /// How requests identify themselves upstream.
    pub identity: IdentityConfig,
    /// User namespace provisioning.
    pub provisioner: Provisioner,
    /// Namespace confinement rules.
    pub scope: ScopeConfig,
    /// The `/kubeconfig` endpoint's settings.
    pub kubeconfig: crate::kubeconfig::Settings,
    /// Admission policies (reloaded in the background).
    pub policies: Arc<crate::policy::Policies>,
    /// The kbatch REST API's settings.
    pub kbatch: crate::kbatch::settings::KbatchSettings,
}

/// Handle one request; never fails.
pub async fn handle(state: Arc<AppState>, req: Request<Incoming>) -> Response<ProxyBody> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        user = tracing::field::Empty,
        status = tracing::field::Empty,
    );
    let http1 = req.version() < http::Version::HTTP_2;
    async move {
        let mut resp = match handle_inner(&state, req).await {
            Ok(r) => r,
            Err(e) => e.to_api_response(),
        };
        if http1 && resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // What the client sent past the drained part must not be read as a next request:
            // the connection is closed once the answer is flushed.
            resp.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let span = tracing::Span::current();
        span.record("status", resp.status().as_u16());
        tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "handled");
        resp
    }
    .instrument(span)
    .await
}

fn text(status: StatusCode, body: &'static str) -> Response<ProxyBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The path after the route prefix, if the request is under it (or the prefix is empty).
fn strip_prefix<'a>(prefix: &str, path: &'a str) -> &'a str {
    if prefix.is_empty() {
        return path;
    }
    match path.strip_prefix(prefix) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

async fn handle_inner(
    state: &AppState,
    mut req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let full_path = req.uri().path().to_string();
    let path = strip_prefix(&state.prefix, &full_path).to_string();
    match path.as_str() {
        "/healthz" | "/livez" => return Ok(text(StatusCode::OK, "ok")),
        "/readyz" => {
            let (api, hub) = tokio::join!(state.upstream.ready(), state.hub.ready());
            return Ok(if api && hub {
                text(StatusCode::OK, "ok")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready")
            });
        }
        _ => {}
    }
    check_canonical(&path).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    if let Some(route) = crate::kbatch::route(&path) {
        let user = if route.is_public(&state.kbatch) {
            Ok(None)
        } else {
            authenticate(state, &req).await.map(Some)
        };
        return Ok(crate::kbatch::handle(state, req, route, user).await);
    }
    let user = authenticate(state, &req).await?;
    tracing::Span::current().record("user", user.name.as_str());
    if path == "/kubeconfig" {
        let token = token_from_headers(req.headers()).map_err(auth_error)?;
        let token = token.as_ref().map(|t| t.secret()).unwrap_or_default();
        return crate::kubeconfig::respond(
            &state.kubeconfig,
            &state.prefix,
            &req,
            token,
            &user.namespace,
        )
        .await;
    }
    let query =
        Query::parse(req.uri().query()).map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let kind = classify(
        req.method(),
        &path,
        &query,
        headers::is_upgrade(req.headers()),
    );
    if kind == PathKind::Other {
        return Err(ProxyError::NotFound(format!(
            "the server could not find the requested resource ({path})"
        )));
    }
    let subject = Subject {
        user: &user.name,
        namespace: &user.namespace,
    };
    let decision = decide(&state.scope, &kind, &query, &subject);
    let rewritten = matches!(decision, Decision::Rewrite { .. });
    let (mut path, body_ns, alias) = match decision {
        Decision::Allow => (path, BodyNamespace::Keep, None),
        Decision::Deny(message) => return Err(ProxyError::Forbidden(message)),
        Decision::BadRequest(message) => return Err(ProxyError::BadRequest(message)),
        Decision::MethodNotAllowed => return Err(ProxyError::MethodNotAllowed),
        Decision::Review(review) => return answer_review(state, &user, &kind, review, req).await,
        Decision::Rewrite {
            path: new_path,
            query: new_query,
            body_namespace,
            alias,
        } => {
            let pq = match &new_query {
                Some(q) if !q.is_empty() => format!("{new_path}?{q}"),
                _ => new_path.clone(),
            };
            *req.uri_mut() = pq
                .parse()
                .map_err(|e| ProxyError::BadRequest(format!("rewritten request URI: {e}")))?;
            (new_path, body_namespace, alias)
        }
    };
    if path.is_empty() {
        path.push('/');
    }
    // Fail closed: without an upstream identity for this user nothing is forwarded.
    let mut identity = state
        .identity
        .headers_for(&user)
        .map_err(|e| ProxyError::Forbidden(e.to_string()))?;
    // The namespace list/watch was just reduced to the user's own namespace by a field
    // selector, and RBAC cannot grant "list one namespace": it goes with the proxy's credential.
    if let PathKind::Resource(r) = &kind {
        let namespace_list = r.group.is_empty()
            && r.resource == "namespaces"
            && r.name.is_none()
            && matches!(r.verb, "list" | "watch");
        if rewritten && namespace_list {
            identity.clear();
        }
    }
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.max_request_body) {
        return Err(refuse_oversized(req, state.max_request_body).await);
    }
    if matches!(&kind, PathKind::Resource(_)) {
        state
            .provisioner
            .ensure(&state.upstream, &user)
            .await
            .map_err(ProxyError::from)?;
    }
    if alias.is_some() {
        // The answer is rewritten to show `default` again (see `crate::alias`): ask for
        // the JSON form it can read.
        crate::alias::prefer_readable_answer(req.headers_mut());
    }
    let resp = admit_recovering(state, &user, &kind, req, &path, &identity, &body_ns).await?;
    Ok(match (&alias, &kind) {
        (Some(alias), PathKind::Resource(info)) if !is_upgraded(&resp) => {
            crate::alias::rewrite_answer(resp, alias, info.verb == "watch").await
        }
        _ => resp,
    })
}

fn is_upgraded(resp: &Response<ProxyBody>) -> bool {
    resp.status() == StatusCode::SWITCHING_PROTOCOLS
}

/// [`crate::admission::admit`], then: when the API server says the user's namespace does not
/// exist (deleted out of band while remembered as provisioned), provision it again. Requests
/// whose body the proxy holds are retried inside admission; a bodyless request that admission
/// only forwards is retried here, once; a request whose body streamed upstream is answered
/// with the 404 (the next one finds the namespace again).
async fn admit_recovering(
    state: &AppState,
    user: &User,
    kind: &PathKind,
    req: Request<Incoming>,
    path: &str,
    identity: &[(HeaderName, HeaderValue)],
    body_ns: &BodyNamespace,
) -> Result<Response<ProxyBody>, ProxyError> {
    let streamed_only = match kind {
        PathKind::Resource(info) => crate::admission::plan(req.method(), info).is_none(),
        _ => true,
    };
    let replay = (streamed_only
        && req.body().is_end_stream()
        && !headers::is_upgrade(req.headers()))
    .then(|| {
        (
            req.method().clone(),
            req.uri().clone(),
            req.headers().clone(),
        )
    });
    let resp = crate::admission::admit(state, user, kind, req, path, identity, body_ns).await?;
    let (resp, gone) = namespace_gone(resp, &user.namespace).await;
    if !gone || !state.provisioner.recover(&state.upstream, user).await? {
        return Ok(resp);
    }
    let Some((method, uri, headers)) = replay else {
        return Ok(resp);
    };
    let mut again = Request::new(crate::body::empty());
    *again.method_mut() = method;
    *again.uri_mut() = uri;
    *again.headers_mut() = headers;
    forward(state, again, path, identity).await
}

/// Largest API server error answer read to see whether it says the user's namespace is gone.
const MAX_PEEKED_ERROR: u64 = 64 * 1024;

/// Whether `resp` is the API server's 404 saying namespace `ns` does not exist (see
/// [`crate::provision::namespace_missing`]). Only a 404 with a small declared length is read
/// (and given back whole); every other answer streams on untouched.
pub(crate) async fn namespace_gone(
    resp: Response<ProxyBody>,
    ns: &str,
) -> (Response<ProxyBody>, bool) {
    use http_body_util::BodyExt as _;
    let small = resp
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_PEEKED_ERROR);
    if resp.status() != StatusCode::NOT_FOUND || !small {
        return (resp, false);
    }
    let (parts, body) = resp.into_parts();
    match body.collect().await {
        Ok(c) => {
            let bytes = c.to_bytes();
            let gone = crate::provision::namespace_missing(parts.status, &bytes, ns);
            (Response::from_parts(parts, full(bytes)), gone)
        }
        Err(e) => {
            let e = ProxyError::BadGateway(format!("reading the API server's answer: {e}"));
            (e.to_api_response(), false)
        }
    }
}

/// A request declaring a body over the limit: nothing of it is forwarded. The body is drained
/// (bounded, see [`crate::body::drain`]) so the client reads the 413, except when the client
/// waits for `100 Continue`: it then never sends the body (no `100 Continue` is sent).
async fn refuse_oversized(req: Request<Incoming>, limit: usize) -> ProxyError {
    let waits = req
        .headers()
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !waits {
        crate::body::drain(req.into_body()).await;
    }
    ProxyError::PayloadTooLarge(limit)
}

/// Answer a self-subject review (`kubectl auth can-i`, `can-i --list`, `auth whoami`) from the
/// proxy's own rules, so the answers tell the truth about what the proxy allows.
async fn answer_review(
    state: &AppState,
    user: &User,
    kind: &PathKind,
    review: ReviewKind,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let PathKind::Resource(info) = kind else {
        return Err(ProxyError::NotFound("not a review".into()));
    };
    let (parts, body) = req.into_parts();
    let bytes = crate::body::collect_request(body, state.max_request_body).await?;
    let ct = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let object = crate::decode::decode(ct, &bytes)?;
    let subject = Subject {
        user: &user.name,
        namespace: &user.namespace,
    };
    let review_error = |e: ReviewError| match e {
        ReviewError::Invalid { .. } => ProxyError::Unprocessable(e.to_string()),
        ReviewError::BadRequest(m) => ProxyError::BadRequest(m),
    };
    let answer = match review {
        ReviewKind::AccessReview => {
            reviews::access_review(&state.scope, &subject, &object).map_err(review_error)?
        }
        ReviewKind::RulesReview => {
            reviews::rules_review(&state.scope, &subject, &object).map_err(review_error)?
        }
        ReviewKind::SelfReview => {
            let (username, groups) = if state.identity.impersonates() {
                let name = state
                    .identity
                    .kube_username(&user.name)
                    .map_err(|e| ProxyError::Forbidden(e.to_string()))?;
                (name, state.identity.kube_groups(&user.groups))
            } else {
                let mut groups = user.groups.clone();
                groups.push(crate::impersonation::AUTHENTICATED_GROUP.to_string());
                (user.name.clone(), groups)
            };
            let extra = BTreeMap::from([(
                "kbatch.jupyter.org/namespace".to_string(),
                vec![user.namespace.clone()],
            )]);
            let info_user = reviews::UserInfo {
                username: &username,
                uid: None,
                groups: &groups,
                extra: &extra,
            };
            let api_version = format!("{}/{}", info.group, info.version);
            reviews::self_review(&api_version, &info_user, &now_rfc3339())
        }
    };
    let mut body = serde_json::to_vec(&answer).map_err(|e| ProxyError::Internal(e.to_string()))?;
    body.push(b'\n');
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::CREATED;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}

/// Now as RFC 3339 in UTC, to the second (as Kubernetes timestamps).
fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

async fn authenticate(state: &AppState, req: &Request<Incoming>) -> Result<Arc<User>, ProxyError> {
    let token = token_from_headers(req.headers())
        .map_err(auth_error)?
        .ok_or_else(|| ProxyError::Unauthorized("Unauthorized".into()))?;
    state.hub.authenticate(&token).await.map_err(auth_error)
}

fn auth_error(e: AuthError) -> ProxyError {
    match e {
        AuthError::MissingToken | AuthError::InvalidToken => {
            ProxyError::Unauthorized("Unauthorized".into())
        }
        AuthError::Forbidden(m) => ProxyError::Forbidden(m),
        AuthError::NotAUser => ProxyError::Forbidden(e.to_string()),
        AuthError::HubUnavailable(m) => ProxyError::ServiceUnavailable(m),
    }
}

/// Relay the request upstream and stream the answer back. Upgrades (exec, attach,
/// port-forward; SPDY or WebSocket) get an HTTP/1.1 connection and a byte relay both ways.
pub(crate) async fn forward<B>(
    state: &AppState,
    mut req: Request<B>,
    path: &str,
    identity: &[(HeaderName, HeaderValue)],
) -> Result<Response<ProxyBody>, ProxyError>
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<crate::body::BoxError>,
{
    let upgrade = headers::is_upgrade(req.headers());
    let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let path_and_query = match req.uri().query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let uri = state
        .upstream
        .uri_for(&path_and_query)
        .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let (parts, body) = req.into_parts();
    let mut builder = Request::builder().method(parts.method).uri(uri);
    if let Some(h) = builder.headers_mut() {
        *h = headers::upstream_headers(&parts.headers);
        // Added after the client's Impersonate-* headers were stripped.
        for (k, v) in identity {
            h.append(k.clone(), v.clone());
        }
    }
    // A chunked body over the limit is cut off mid-stream (the upstream request then fails
    // and is never completed); the rest of the client's body is drained and the answer is 413.
    let (capped, over) = crate::body::Capped::new(body, state.max_request_body);
    let upstream_req = builder
        .body(stream(capped))
        .map_err(|e| ProxyError::Internal(e.to_string()))?;
    let sent = state.upstream.send(upstream_req, upgrade).await;
    let mut over = over;
    if let Ok(rest) = over.try_recv() {
        crate::body::drain(rest).await;
        return Err(ProxyError::PayloadTooLarge(state.max_request_body));
    }
    let mut resp = sent.map_err(Upstream::error)?;
    let switching = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    let out_headers = headers::downstream_headers(resp.headers(), switching);
    if switching {
        let Some(client_upgrade) = client_upgrade else {
            return Err(ProxyError::BadGateway(
                "the API server switched protocols unasked".into(),
            ));
        };
        let upstream_upgrade = hyper::upgrade::on(&mut resp);
        tokio::spawn(async move {
            match tokio::try_join!(client_upgrade, upstream_upgrade) {
                Ok((client, upstream)) => {
                    let mut client = TokioIo::new(client);
                    let mut upstream = TokioIo::new(upstream);
                    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut upstream).await
                    {
                        tracing::debug!(error = %e, "upgraded stream ended");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "protocol upgrade failed"),
            }
        });
        let mut r = Response::new(crate::body::empty());
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *r.headers_mut() = out_headers;
        return Ok(r);
    }
    let status = resp.status();
    let mut r = Response::new(stream(resp.into_body()));
    *r.status_mut() = status;
    *r.headers_mut() = out_headers;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::strip_prefix;

    #[test]
    fn prefix_stripping() {
        assert_eq!(strip_prefix("", "/api/v1"), "/api/v1");
        assert_eq!(
            strip_prefix("/services/kbatch", "/services/kbatch/api/v1"),
            "/api/v1"
        );
        assert_eq!(strip_prefix("/services/kbatch", "/services/kbatch"), "/");
        assert_eq!(
            strip_prefix("/services/kbatch", "/services/kbatchx/api"),
            "/services/kbatchx/api"
        );
        assert_eq!(strip_prefix("/services/kbatch", "/api/v1"), "/api/v1");
    }
}
