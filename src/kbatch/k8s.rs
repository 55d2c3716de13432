//! The kbatch REST API's calls to the API server (I/O), made with the proxy's own credential
//! through [`crate::upstream::Upstream`]: get/list/delete, [`create_object`] (the ONE place
//! objects are created, where admission policies plug in), the user's namespace, and the
//! submission sequence [`submit()`].
//!
//! # Submission order (nothing orphaned, nothing runs half-made)
//!
//! 1. the namespace, if `KBATCH_CREATE_USER_NAMESPACE` (409 = exists);
//! 2. the Job (or CronJob) with a proxy-chosen name and `spec.suspend: true`, so no pod
//!    starts before what it refers to exists (409 on a generated name → new name, 3 tries);
//! 3. the Secret (literal env) and the code ConfigMap, named after it, each with an
//!    ownerReference to it, so the garbage collector removes them with it;
//! 4. `spec.suspend: false` (merge patch), unless the client asked for a suspended object.
//!
//! A failure in 3 or 4 deletes the Job/CronJob (background propagation), which takes the
//! already-created dependents with it; the API server's error is relayed. If the proxy dies
//! between 2 and 4, what is left is a suspended Job that owns its Secret/ConfigMap: visible
//! in `kbatch job list`, removed by `kbatch job delete`, never an orphan.

use std::hash::BuildHasher;

use crate::upstream::UpstreamBody;
use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::settings::KbatchSettings;
use super::submit::{self, Caller, SubmitKind};
use super::wire;
use crate::auth::User;
use crate::body::{empty, full};
use crate::error::ProxyError;
use crate::router::AppState;

/// Largest API server answer the kbatch handlers read into memory (lists of jobs, pods).
const MAX_ANSWER: usize = 64 * 1024 * 1024;

/// A resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gvr {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Resource (plural).
    pub resource: &'static str,
}

/// batch/v1 jobs.
pub const JOBS: Gvr = Gvr {
    group: "batch",
    version: "v1",
    resource: "jobs",
};
/// batch/v1 cronjobs.
pub const CRONJOBS: Gvr = Gvr {
    group: "batch",
    version: "v1",
    resource: "cronjobs",
};
/// v1 pods.
pub const PODS: Gvr = Gvr {
    group: "",
    version: "v1",
    resource: "pods",
};
/// v1 secrets.
pub const SECRETS: Gvr = Gvr {
    group: "",
    version: "v1",
    resource: "secrets",
};
/// v1 configmaps.
pub const CONFIGMAPS: Gvr = Gvr {
    group: "",
    version: "v1",
    resource: "configmaps",
};
/// v1 namespaces (cluster-scoped).
pub const NAMESPACES: Gvr = Gvr {
    group: "",
    version: "v1",
    resource: "namespaces",
};

impl Gvr {
    /// The collection path, in `namespace` or cluster-wide.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(ns) => format!("{base}/namespaces/{ns}/{}", self.resource),
            None => format!("{base}/{}", self.resource),
        }
    }

    /// The path of one object.
    pub fn object_path(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{name}", self.path(namespace))
    }
}

/// Send a request to the API server on behalf of `user` (the proxy's credential, plus the
/// user's impersonation headers in `impersonate` mode); the answer streams.
pub async fn send(
    state: &AppState,
    user: &User,
    method: Method,
    path_and_query: &str,
    body: Option<(&'static str, Vec<u8>)>,
) -> Result<Response<UpstreamBody>, ProxyError> {
    let uri = state
        .upstream
        .uri_for(path_and_query)
        .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(h) = builder.headers_mut() {
        h.insert(ACCEPT, HeaderValue::from_static("application/json, */*"));
        h.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static("kbatch-proxy"),
        );
        if let Some((ct, _)) = &body {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        // Fail closed: no identity, no request.
        let identity = state
            .identity
            .headers_for(user)
            .map_err(|e| ProxyError::Forbidden(e.to_string()))?;
        for (k, v) in identity {
            h.append(k, v);
        }
    }
    let req = builder
        .body(match body {
            Some((_, b)) => full(b),
            None => empty(),
        })
        .map_err(|e| ProxyError::Internal(e.to_string()))?;
    state
        .upstream
        .send(req, false)
        .await
        .map_err(crate::upstream::Upstream::error)
}

/// Read an error answer: the `Status.message` (or the raw text) with the API server's code.
pub async fn error_from(resp: Response<UpstreamBody>) -> ProxyError {
    let status = resp.status();
    let bytes = read_body(resp).await.unwrap_or_default();
    error_from_bytes(status, &bytes)
}

fn error_from_bytes(status: StatusCode, bytes: &[u8]) -> ProxyError {
    let message = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).into_owned());
    ProxyError::Api { status, message }
}

async fn read_body(resp: Response<UpstreamBody>) -> Result<Bytes, ProxyError> {
    let limited = http_body_util::Limited::new(resp.into_body(), MAX_ANSWER);
    limited
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| ProxyError::BadGateway(format!("reading the API server's answer: {e}")))
}

/// One JSON call: a non-2xx answer becomes [`ProxyError::Api`].
pub async fn call(
    state: &AppState,
    user: &User,
    method: Method,
    path_and_query: &str,
    body: Option<(&'static str, &Value)>,
) -> Result<Value, ProxyError> {
    let body = match body {
        Some((ct, v)) => Some((
            ct,
            serde_json::to_vec(v).map_err(|e| ProxyError::Internal(e.to_string()))?,
        )),
        None => None,
    };
    let mut recovered = false;
    let resp = loop {
        let resp = send(state, user, method.clone(), path_and_query, body.clone()).await?;
        if resp.status().is_success() {
            break resp;
        }
        let status = resp.status();
        let bytes = read_body(resp).await.unwrap_or_default();
        // The user's namespace was deleted out of band while remembered as provisioned:
        // provision it again and retry once (the proxy holds the whole request).
        if !recovered && crate::provision::namespace_missing(status, &bytes, &user.namespace) {
            recovered = true;
            if state.provisioner.recover(&state.upstream, user).await? {
                continue;
            }
        }
        return Err(error_from_bytes(status, &bytes));
    };
    let bytes = read_body(resp).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ProxyError::BadGateway(format!("the API server's answer is not JSON: {e}")))
}

/// Create `obj` (Kubernetes JSON; its `metadata.namespace` says where, none for
/// cluster-scoped kinds) on behalf of `user`. Every object the kbatch API creates goes
/// through here: the hook for admission policies.
pub async fn create_object(
    state: &AppState,
    user: &User,
    gvr: Gvr,
    obj: &Value,
) -> Result<Value, ProxyError> {
    let ns = obj["metadata"]["namespace"].as_str();
    tracing::info!(
        user = %user.name,
        resource = gvr.resource,
        namespace = ns.unwrap_or(""),
        name = obj["metadata"]["name"].as_str().unwrap_or(""),
        "kbatch create"
    );
    // The same admission policies as a kubectl create of this object.
    let set = state.policies.current();
    let target = crate::policy::Target {
        verb: "create",
        group: gvr.group,
        version: gvr.version,
        resource: gvr.resource,
        subresource: None,
    };
    let subject = crate::policy::Subject {
        user: &user.name,
        namespace: &user.namespace,
        groups: &user.groups,
    };
    crate::decode::check_type_meta(obj, &target)?;
    let judged;
    let obj = if set.matches(&target, &subject) {
        let ev = set.evaluate(&target, &subject, obj.clone());
        for a in &ev.audits {
            tracing::info!(user = %user.name, finding = %a, "policy audit");
        }
        for w in &ev.warnings {
            tracing::info!(user = %user.name, warning = %w, "policy warning (kbatch API)");
        }
        if let Some(denied) = ev.denied {
            return Err(ProxyError::Forbidden(denied));
        }
        judged = ev.object;
        &judged
    } else {
        obj
    };
    call(
        state,
        user,
        Method::POST,
        &gvr.path(ns),
        Some(("application/json", obj)),
    )
    .await
}

/// GET one object in the user's namespace.
pub async fn get(state: &AppState, user: &User, gvr: Gvr, name: &str) -> Result<Value, ProxyError> {
    let path = gvr.object_path(Some(&user.namespace), name);
    call(state, user, Method::GET, &path, None).await
}

/// LIST in the user's namespace, optionally with a label selector.
pub async fn list(
    state: &AppState,
    user: &User,
    gvr: Gvr,
    label_selector: Option<&str>,
) -> Result<Value, ProxyError> {
    let mut path = gvr.path(Some(&user.namespace));
    if let Some(sel) = label_selector {
        path.push_str("?labelSelector=");
        path.push_str(&percent_encoding::utf8_percent_encode(sel, QUERY).to_string());
    }
    call(state, user, Method::GET, &path, None).await
}

/// Characters escaped in a query value.
const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// DELETE with a propagation policy (`Foreground` for the kbatch endpoints).
pub async fn delete(
    state: &AppState,
    user: &User,
    gvr: Gvr,
    name: &str,
    propagation: &str,
) -> Result<Value, ProxyError> {
    let body =
        json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation});
    call(
        state,
        user,
        Method::DELETE,
        &gvr.object_path(Some(&user.namespace), name),
        Some(("application/json", &body)),
    )
    .await
}

/// Provision the user's namespace (see [`crate::provision`]); a no-op once done.
pub async fn ensure_namespace(state: &AppState, user: &User) -> Result<(), ProxyError> {
    state
        .provisioner
        .ensure(&state.upstream, user)
        .await
        .map_err(ProxyError::from)
}

fn random_seed() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Submit a Job or CronJob (see the module doc for the order); answers the created object in
/// Kubernetes JSON.
pub async fn submit(
    state: &AppState,
    settings: &KbatchSettings,
    user: &User,
    token: Option<&str>,
    kind: SubmitKind,
    body: &Value,
) -> Result<Value, ProxyError> {
    let prepared = submit::prepare(kind, body, settings)?;
    ensure_namespace(state, user).await?;
    let caller = Caller {
        name: &user.name,
        namespace: &user.namespace,
        token,
    };
    let gvr = match kind {
        SubmitKind::Job => JOBS,
        SubmitKind::CronJob => CRONJOBS,
    };
    let mut attempt = 0;
    let (name, built, created) = loop {
        attempt += 1;
        let name = prepared.name_with(&submit::random_suffix(random_seed()))?;
        let built = prepared.build(&name, &caller, settings)?;
        match create_object(state, user, gvr, &built.object).await {
            Ok(created) => break (name, built, created),
            Err(ProxyError::Api { status, .. })
                if status == StatusCode::CONFLICT
                    && prepared.fixed_name().is_none()
                    && attempt < 3 => {}
            Err(e) => return Err(e),
        }
    };
    let uid = created["metadata"]["uid"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let owner = submit::owner_reference(kind, &name, &uid);
    let rest = async {
        for (dep_gvr, dep) in [(SECRETS, &built.secret), (CONFIGMAPS, &built.config_map)] {
            if let Some(obj) = dep {
                let mut obj = obj.clone();
                submit::set_owner(&mut obj, &owner);
                create_object(state, user, dep_gvr, &obj).await?;
            }
        }
        if built.client_suspended {
            return Ok(created.clone());
        }
        call(
            state,
            user,
            Method::PATCH,
            &gvr.object_path(Some(&user.namespace), &name),
            Some((
                "application/merge-patch+json",
                &json!({"spec": {"suspend": false}}),
            )),
        )
        .await
    };
    match rest.await {
        Ok(obj) => Ok(obj),
        Err(e) => {
            tracing::warn!(resource = gvr.resource, %name, error = %e, "kbatch submit failed; deleting what was created");
            if let Err(cleanup) = delete(state, user, gvr, &name, "Background").await {
                tracing::warn!(resource = gvr.resource, %name, error = %cleanup, "cleanup failed");
            }
            Err(e)
        }
    }
}

/// Answer of DELETE in `to_dict` form.
pub async fn delete_to_dict(
    state: &AppState,
    user: &User,
    gvr: Gvr,
    name: &str,
) -> Result<Value, ProxyError> {
    let answer = delete(state, user, gvr, name, "Foreground").await?;
    Ok(wire::delete_status(gvr.resource, gvr.group, &answer))
}
