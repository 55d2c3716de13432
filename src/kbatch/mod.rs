//! The kbatch REST API (the Python kbatch-proxy's endpoints, for the kbatch CLI 0.4.x and
//! 0.5.x): routing ([`route`], pure) and [`handle`]. Bodies are the Python client's
//! `to_dict()` form ([`wire`]); submissions are built by [`submit`] (pure) and sent by [`k8s`];
//! logs stream through [`logs`]; [`settings`] holds the configuration.
//!
//! | method | path (after `KBATCH_PREFIX`) | auth |
//! |---|---|---|
//! | GET | `/` | no |
//! | GET | `/authorized` | yes |
//! | GET | `/profiles/` | no (`KBATCH_PROFILES_REQUIRE_AUTH`) |
//! | GET, POST | `/jobs/`, `/cronjobs/` | yes |
//! | GET, DELETE | `/jobs/{name}`, `/cronjobs/{name}` | yes |
//! | GET | `/jobs/logs/{job}/`, `/pods/logs/{pod}/` (`?stream=true`) | yes |
//! | GET | `/pods/` (`?job_name=`), `/pods/{name}` | yes |
//!
//! A path missing (or having an extra) trailing slash gets a 307 to the other form, as
//! Starlette's `redirect_slashes` does. Errors are `{"detail": "..."}`.

pub mod k8s;
pub mod logs;
pub mod settings;
pub mod submit;
pub mod wire;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{json, Value};

use crate::auth::{token_from_headers, User};
use crate::body::{full, ProxyBody};
use crate::error::ProxyError;
use crate::router::AppState;
use settings::KbatchSettings;
use submit::SubmitKind;
use wire::Kind;

/// A kbatch endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: `{"message": "kbatch"}`.
    Root,
    /// `/authorized`: the caller's name and groups.
    Authorized,
    /// `/profiles/`: the profile file.
    Profiles,
    /// `/jobs/` or `/cronjobs/`: list, submit.
    Collection(SubmitKind),
    /// `/jobs/{name}` or `/cronjobs/{name}`: show, delete.
    Object(SubmitKind, String),
    /// `/jobs/logs/{job}/`.
    JobLogs(String),
    /// `/pods/`.
    Pods,
    /// `/pods/{name}`.
    Pod(String),
    /// `/pods/logs/{pod}/`.
    PodLogs(String),
    /// The same path with or without a trailing slash (307 there).
    Redirect(String),
    /// Under a kbatch path but no endpoint (404 `Not Found`).
    NotFound,
}

impl Route {
    /// Whether the route answers without a token.
    pub fn is_public(&self, settings: &KbatchSettings) -> bool {
        match self {
            Route::Root | Route::Profiles => !settings.profiles_require_auth,
            Route::Redirect(_) | Route::NotFound => true,
            _ => false,
        }
    }
}

fn exact(path: &str) -> Option<Route> {
    let kind = |s: &str| match s {
        "jobs" => Some(SubmitKind::Job),
        "cronjobs" => Some(SubmitKind::CronJob),
        _ => None,
    };
    let segs: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    Some(match segs.as_slice() {
        [""] => Route::Root,
        ["authorized"] => Route::Authorized,
        ["profiles", ""] => Route::Profiles,
        ["pods", ""] => Route::Pods,
        [k, ""] if kind(k).is_some() => Route::Collection(kind(k)?),
        ["jobs", "logs", name, ""] if !name.is_empty() => Route::JobLogs(name.to_string()),
        ["pods", "logs", name, ""] if !name.is_empty() => Route::PodLogs(name.to_string()),
        ["pods", name] if !name.is_empty() => Route::Pod(name.to_string()),
        [k, name] if kind(k).is_some() && !name.is_empty() => {
            Route::Object(kind(k)?, name.to_string())
        }
        _ => return None,
    })
}

/// The kbatch route of `path` (after the prefix), or `None` when the path is not kbatch's
/// (then it is a Kubernetes API path).
pub fn route(path: &str) -> Option<Route> {
    let top = path.split('/').nth(1).unwrap_or("");
    let ours = path == "/"
        || matches!(
            top,
            "authorized" | "profiles" | "jobs" | "cronjobs" | "pods"
        );
    if !ours {
        return None;
    }
    if let Some(r) = exact(path) {
        return Some(r);
    }
    let other = match path.strip_suffix('/') {
        Some(p) => p.to_string(),
        None => format!("{path}/"),
    };
    Some(match exact(&other) {
        Some(_) => Route::Redirect(other),
        None => Route::NotFound,
    })
}

/// A name from the path is only used when it could be a Kubernetes object name (so nothing
/// else reaches the API server's path); anything else cannot exist.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// FastAPI's boolean query parsing.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (decode(k) == key).then(|| decode(v))
    })
}

fn json_response(status: StatusCode, v: &Value) -> Response<ProxyBody> {
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The response for an error on a kbatch path: `{"detail": "..."}` with the error's status.
/// A refused token reads as kbatch says it.
pub fn error_response(e: ProxyError) -> Response<ProxyBody> {
    match e {
        ProxyError::Unauthorized(_) => {
            ProxyError::Unauthorized("Incorrect token".into()).to_detail_response()
        }
        e => e.to_detail_response(),
    }
}

/// Handle a kbatch request; `user` is the authentication outcome (`Ok(None)` on public
/// routes).
pub async fn handle(
    state: &AppState,
    req: Request<Incoming>,
    route: Route,
    user: Result<Option<Arc<User>>, ProxyError>,
) -> Response<ProxyBody> {
    // The body is read before anything is answered (authentication errors included): an
    // error sent while the client is still sending makes some clients (curl over HTTP/2) lose
    // the answer to a stream reset.
    let (parts, body) = req.into_parts();
    let body = match crate::body::collect_request(body, state.max_request_body).await {
        Ok(b) => b,
        Err(e) => return error_response(e),
    };
    let user = match user {
        Ok(u) => u,
        Err(e) => return error_response(e),
    };
    match handle_inner(state, Request::from_parts(parts, body), route, user).await {
        Ok(r) => r,
        Err(e) => error_response(e),
    }
}

fn method_not_allowed() -> ProxyError {
    ProxyError::Api {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "Method Not Allowed".into(),
    }
}

fn need_user(user: Option<Arc<User>>) -> Result<Arc<User>, ProxyError> {
    user.ok_or_else(|| ProxyError::Unauthorized("Incorrect token".into()))
}

fn kind_of(k: SubmitKind) -> (k8s::Gvr, Kind) {
    match k {
        SubmitKind::Job => (k8s::JOBS, Kind::Job),
        SubmitKind::CronJob => (k8s::CRONJOBS, Kind::CronJob),
    }
}

/// The body as JSON; keys repeated or differing only in case are refused (400), as on the raw
/// API, so the job that is judged is the job that is created.
fn parse_json_body(body: &Bytes) -> Result<Value, ProxyError> {
    let node = kube_decode::json::parse(body)
        .map_err(|e| ProxyError::Unprocessable(format!("the body is not valid JSON: {e}")))?;
    crate::decode::unambiguous(&node)?;
    Ok(node.to_value())
}

async fn handle_inner(
    state: &AppState,
    req: Request<Bytes>,
    route: Route,
    user: Option<Arc<User>>,
) -> Result<Response<ProxyBody>, ProxyError> {
    let settings = &state.kbatch;
    let method = req.method().clone();
    let get = method == Method::GET || method == Method::HEAD;
    match route {
        Route::Redirect(to) => {
            let mut location = format!("{}{to}", state.prefix);
            if let Some(q) = req.uri().query() {
                location.push('?');
                location.push_str(q);
            }
            let mut r = Response::new(crate::body::empty());
            *r.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(LOCATION, v);
            }
            Ok(r)
        }
        Route::NotFound => Err(ProxyError::NotFound("Not Found".into())),
        Route::Root if get => Ok(json_response(StatusCode::OK, &json!({"message": "kbatch"}))),
        Route::Profiles if get => Ok(json_response(StatusCode::OK, &settings.profiles)),
        Route::Authorized if get => {
            let u = need_user(user)?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"name": u.name, "groups": u.groups}),
            ))
        }
        Route::Collection(k) => {
            let u = need_user(user)?;
            let (gvr, kind) = kind_of(k);
            if get {
                let list = k8s::list(state, &u, gvr, None).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &wire::list_to_dict(kind, &list),
                ))
            } else if method == Method::POST {
                let token = token_from_headers(req.headers())
                    .ok()
                    .flatten()
                    .map(|t| t.secret().to_string());
                let body = parse_json_body(req.body())?;
                let created = k8s::submit(state, settings, &u, token.as_deref(), k, &body).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &wire::object_to_dict(kind, &created),
                ))
            } else {
                Err(method_not_allowed())
            }
        }
        Route::Object(k, name) => {
            let u = need_user(user)?;
            let (gvr, kind) = kind_of(k);
            let not_found =
                || ProxyError::NotFound(format!("{}.batch \"{name}\" not found", gvr.resource));
            if !valid_name(&name) {
                return Err(not_found());
            }
            if get {
                let obj = k8s::get(state, &u, gvr, &name).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &wire::object_to_dict(kind, &obj),
                ))
            } else if method == Method::DELETE {
                let status = k8s::delete_to_dict(state, &u, gvr, &name).await?;
                Ok(json_response(StatusCode::OK, &status))
            } else {
                Err(method_not_allowed())
            }
        }
        Route::Pods if get => {
            let u = need_user(user)?;
            let job = query_param(req.uri().query(), "job_name").filter(|j| !j.is_empty());
            let sel = job.map(|j| format!("job-name={j}"));
            let list = k8s::list(state, &u, k8s::PODS, sel.as_deref()).await?;
            Ok(json_response(
                StatusCode::OK,
                &wire::list_to_dict(Kind::Pod, &list),
            ))
        }
        Route::Pod(name) if get => {
            let u = need_user(user)?;
            if !valid_name(&name) {
                return Err(ProxyError::NotFound(format!("pods \"{name}\" not found")));
            }
            let pod = k8s::get(state, &u, k8s::PODS, &name).await?;
            Ok(json_response(
                StatusCode::OK,
                &wire::object_to_dict(Kind::Pod, &pod),
            ))
        }
        Route::PodLogs(name) | Route::JobLogs(name) if get => {
            let u = need_user(user)?;
            let is_job = matches!(route_kind(req.uri().path()), Some(true));
            let query = req.uri().query();
            let follow = match query_param(query, "stream") {
                None => false,
                Some(v) => parse_bool(&v).ok_or_else(|| {
                    ProxyError::Unprocessable(format!(
                        "stream: Input should be a valid boolean, unable to interpret input {v:?}"
                    ))
                })?,
            };
            let container = query_param(query, "container").filter(|c| !c.is_empty());
            if !valid_name(&name) {
                return Err(ProxyError::NotFound(if is_job {
                    format!("No pods found for job {name}")
                } else {
                    format!("pods \"{name}\" not found")
                }));
            }
            let pod = if is_job {
                logs::job_pod(state, &u, &name).await?
            } else {
                name
            };
            logs::pod_logs(state, &u, &pod, container.as_deref(), follow).await
        }
        _ => Err(method_not_allowed()),
    }
}

/// Whether a logs path is `/jobs/logs/` (true) or `/pods/logs/` (false).
fn route_kind(full_path: &str) -> Option<bool> {
    if full_path.contains("/jobs/logs/") {
        Some(true)
    } else if full_path.contains("/pods/logs/") {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let job = SubmitKind::Job;
        let cron = SubmitKind::CronJob;
        let cases: &[(&str, Option<Route>)] = &[
            ("/", Some(Route::Root)),
            ("/authorized", Some(Route::Authorized)),
            ("/authorized/", Some(Route::Redirect("/authorized".into()))),
            ("/profiles/", Some(Route::Profiles)),
            ("/profiles", Some(Route::Redirect("/profiles/".into()))),
            ("/jobs/", Some(Route::Collection(job))),
            ("/jobs", Some(Route::Redirect("/jobs/".into()))),
            ("/cronjobs/", Some(Route::Collection(cron))),
            ("/jobs/a", Some(Route::Object(job, "a".into()))),
            ("/jobs/a/", Some(Route::Redirect("/jobs/a".into()))),
            ("/cronjobs/a", Some(Route::Object(cron, "a".into()))),
            ("/jobs/logs/a/", Some(Route::JobLogs("a".into()))),
            (
                "/jobs/logs/a",
                Some(Route::Redirect("/jobs/logs/a/".into())),
            ),
            ("/jobs/logs/", Some(Route::Redirect("/jobs/logs".into()))),
            ("/pods/", Some(Route::Pods)),
            ("/pods/p", Some(Route::Pod("p".into()))),
            ("/pods/logs/p/", Some(Route::PodLogs("p".into()))),
            (
                "/pods/logs/p",
                Some(Route::Redirect("/pods/logs/p/".into())),
            ),
            ("/cronjobs/logs/a/", Some(Route::NotFound)),
            ("/jobs/a/b/c", Some(Route::NotFound)),
            ("/api/v1/pods", None),
            ("/apis/batch/v1", None),
            ("/version", None),
            ("/jobsx", None),
        ];
        for (path, want) in cases {
            assert_eq!(&route(path), want, "{path}");
        }
    }

    #[test]
    fn public_routes() {
        let mut s = KbatchSettings::default();
        assert!(Route::Root.is_public(&s));
        assert!(Route::Profiles.is_public(&s));
        assert!(!Route::Authorized.is_public(&s));
        assert!(!Route::Collection(SubmitKind::Job).is_public(&s));
        s.profiles_require_auth = true;
        assert!(!Route::Profiles.is_public(&s));
        assert!(!Route::Root.is_public(&s));
    }

    #[test]
    fn query_and_bools() {
        assert_eq!(
            query_param(Some("job_name=a%2Db&stream=1"), "job_name").as_deref(),
            Some("a-b")
        );
        assert_eq!(
            query_param(Some("job_name="), "job_name").as_deref(),
            Some("")
        );
        assert_eq!(query_param(None, "x"), None);
        for (v, want) in [
            ("true", Some(true)),
            ("On", Some(true)),
            ("0", Some(false)),
            ("maybe", None),
        ] {
            assert_eq!(parse_bool(v), want, "{v}");
        }
        assert!(valid_name("myjob-abc12"));
        for bad in ["", ".", "..", "a/b", "a?b", "a%2Fb"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn invalid_json_is_a_client_error() {
        let e = parse_json_body(&Bytes::from_static(b"{nope")).expect_err("invalid");
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
