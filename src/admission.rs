//! Admission: the I/O around the policy engine ([`crate::policy`]). Bodies are collected (up to
//! `--max-request-body`, 413 beyond) and decoded ([`crate::decode`]) exactly as kube-apiserver
//! reads them (ambiguous bodies refused, type meta held to the endpoint), judged, and forwarded
//! as the proxy's own JSON; denials become a 403 `Status` naming the policy, warnings
//! `Warning: 299` headers (kubectl prints them), audits log lines.
//!
//! - `create`/`update`: every body is decoded and re-encoded, policies or not, so the API server
//!   never decodes bytes the proxy read differently; the (possibly mutated) object is forwarded.
//! - `patch` (JSON, merge, strategic merge, server-side apply), when a policy matches or the body
//!   namespace needs reconciling: the patch, as the proxy read it, is first sent with
//!   `dryRun=All`, so the API server computes the object as it would be after the patch; that
//!   object is judged. If policies mutate it, the mutated object is committed with a `PUT`
//!   carrying the dry run's `resourceVersion` (a concurrent change → 409); otherwise the patch
//!   is forwarded with a `resourceVersion` precondition injected (patches that could remove it
//!   are refused), so what was judged is what gets written. A server-side apply whose result
//!   policies change has those changes carried into its configuration, dry run and judged
//!   again, and stays an apply ([`carry_mutations`]). A patch that creates (server-side apply
//!   of a new object) is forwarded without precondition, or committed as a `create` when its
//!   mutations cannot be carried.
//! - `pods/exec|attach|portforward` (GET or POST, before the upgrade): judged as `create` of the
//!   subresource, the object being `PodExecOptions`/`PodAttachOptions`/`PodPortForwardOptions`
//!   built from the query.
//!
//! Other requests (reads, deletes, `proxy` subresources, unmatched patches and connects) are
//! streamed untouched; their bodies are never collected.

use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use crate::auth::User;
use crate::body::{collect_request, full, ProxyBody};
use crate::decode::{check_type_meta, decode, media_type};
use crate::error::ProxyError;
use crate::policy::{Evaluation, PolicySet, Subject, Target};
use crate::request_info::{PathKind, ResourceInfo};
use crate::router::{forward, namespace_gone, AppState};
use crate::scope::{reconcile_body_namespace, BodyNamespace};

/// The kind of patch, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type of a media type; `None` for anything kube-apiserver does not accept as a
    /// patch (and for CBOR apply patches, which the proxy cannot decode).
    pub fn of(media_type: &str) -> Option<PatchType> {
        match media_type {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

/// How a request is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// `create`/`update`: the body is the object.
    Body,
    /// `patch`: judged on the dry-run result.
    Patch,
    /// exec/attach/portforward: the options from the query are the object.
    Connect,
}

/// Whether (and how) a request is subject to admission, and the verb policies see.
pub fn plan(method: &Method, info: &ResourceInfo) -> Option<(Plan, &'static str)> {
    let connect = info.group.is_empty()
        && info.resource == "pods"
        && info.name.is_some()
        && matches!(
            info.subresource.as_deref(),
            Some("exec" | "attach" | "portforward")
        )
        && (method == Method::GET || method == Method::POST);
    if connect {
        return Some((Plan::Connect, "create"));
    }
    // A proxy subresource relays an arbitrary HTTP body to a pod or service: not an object.
    if info.legacy_proxy || info.subresource.as_deref() == Some("proxy") {
        return None;
    }
    match info.verb {
        "create" | "update" => Some((Plan::Body, info.verb)),
        "patch" => Some((Plan::Patch, "patch")),
        _ => None,
    }
}

fn target<'a>(info: &'a ResourceInfo, verb: &'a str) -> Target<'a> {
    Target {
        verb,
        group: &info.group,
        version: &info.version,
        resource: &info.resource,
        subresource: info.subresource.as_deref(),
    }
}

fn subject(user: &User) -> Subject<'_> {
    Subject {
        user: &user.name,
        namespace: &user.namespace,
        groups: &user.groups,
    }
}

/// Judge `req` (already authenticated and confined) against the current policies, then forward
/// it (or what the policies made of it); see the module doc.
pub async fn admit(
    state: &AppState,
    user: &User,
    kind: &PathKind,
    req: Request<hyper::body::Incoming>,
    path: &str,
    identity: &[(HeaderName, HeaderValue)],
    body_ns: &BodyNamespace,
) -> Result<Response<ProxyBody>, ProxyError> {
    let PathKind::Resource(info) = kind else {
        return forward(state, req, path, identity).await;
    };
    let Some((plan, verb)) = plan(req.method(), info) else {
        return forward(state, req, path, identity).await;
    };
    let set = state.policies.current();
    let who = subject(user);
    match plan {
        Plan::Connect => {
            if !set.matches(&target(info, verb), &who) {
                return forward(state, req, path, identity).await;
            }
            let object =
                connect_options(info.subresource.as_deref().unwrap_or(""), req.uri().query());
            let ev = set.evaluate(&target(info, verb), &who, object);
            conclude(info, user, verb, &ev)?;
            let mut resp = forward(state, req, path, identity).await?;
            add_warnings(resp.headers_mut(), &ev.warnings);
            Ok(resp)
        }
        Plan::Body => {
            // Every create/update body is read as the API server will read it, checked
            // against the endpoint, and forwarded as the proxy's own JSON of what was judged,
            // whether or not a policy matches: what the API server stores is what was judged.
            let (parts, body) = req.into_parts();
            let bytes = collect_request(body, state.max_request_body).await?;
            let ct = parts
                .headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            let mut object = decode(ct, &bytes)?;
            check_type_meta(&object, &target(info, verb))?;
            if let BodyNamespace::Reconcile {
                target: ns,
                rewritten_from,
            } = body_ns
            {
                reconcile_body_namespace(&mut object, ns, rewritten_from.as_deref())
                    .map_err(ProxyError::Forbidden)?;
            }
            let ev = if set.matches(&target(info, verb), &who) {
                set.evaluate(&target(info, verb), &who, object)
            } else {
                Evaluation {
                    object,
                    changed: false,
                    denied: None,
                    warnings: Vec::new(),
                    audits: Vec::new(),
                }
            };
            conclude(info, user, verb, &ev)?;
            let body = to_json(&ev.object)?;
            let mut headers = parts.headers.clone();
            set_json_body(&mut headers, "application/json", body.len());
            let mut resp = forward_held(state, user, &parts, headers, body, path, identity).await?;
            add_warnings(resp.headers_mut(), &ev.warnings);
            Ok(resp)
        }
        Plan::Patch => {
            // A patch may create (server-side apply of a new object), so create policies count.
            let matched = set.matches(&target(info, verb), &who)
                || set.matches(&target(info, "create"), &who);
            if !matched && *body_ns == BodyNamespace::Keep {
                return forward(state, req, path, identity).await;
            }
            patch(state, user, info, &set, req, path, identity, body_ns).await
        }
    }
}

/// The patch flow: dry run, judge the result, commit with a precondition.
#[allow(clippy::too_many_arguments)]
async fn patch(
    state: &AppState,
    user: &User,
    info: &ResourceInfo,
    set: &PolicySet,
    req: Request<hyper::body::Incoming>,
    path: &str,
    identity: &[(HeaderName, HeaderValue)],
    body_ns: &BodyNamespace,
) -> Result<Response<ProxyBody>, ProxyError> {
    let (parts, body) = req.into_parts();
    let media = media_type(
        parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let Some(patch_type) = PatchType::of(&media) else {
        // Decoding explains CBOR (and unknown types) with a 415 asking for JSON.
        return Err(match decode(Some(&media), b"") {
            Err(e @ ProxyError::UnsupportedMediaType(_)) => e,
            _ => ProxyError::UnsupportedMediaType(format!(
                "{media} is not a patch type - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, \
                 application/strategic-merge-patch+json, application/apply-patch+yaml"
            )),
        });
    };
    let raw = collect_request(body, state.max_request_body).await?;
    let mut patch = decode(Some(&media), &raw)?;
    keeps_precondition(patch_type, &patch)?;
    if let BodyNamespace::Reconcile {
        target: ns,
        rewritten_from,
    } = body_ns
    {
        reconcile_patch_namespace(patch_type, &mut patch, ns, rewritten_from.as_deref())
            .map_err(ProxyError::Forbidden)?;
    }
    if patch_type == PatchType::Apply {
        check_type_meta(&patch, &target(info, "patch"))?;
    }
    // The dry run and the commit both get the proxy's own JSON of the patch it read (JSON is
    // YAML, so an apply patch stays an apply patch), never the client's bytes.
    // A conflict caused by the proxy's own precondition (the object changed between the dry
    // run and the commit, e.g. a controller updated its status) is retried, as kube-apiserver
    // retries patches internally; a precondition the client set is the client's to handle.
    let retry_conflicts = !has_precondition(patch_type, &patch);
    let mut attempt = 1;
    let mut recovered = false;
    loop {
        let resp = patch_once(
            state, user, info, set, &parts, path, patch_type, &patch, identity,
        )
        .await?;
        let (resp, gone) = namespace_gone(resp, &user.namespace).await;
        if gone && !recovered {
            // The user's namespace was deleted out of band: provision it again, try once more.
            recovered = true;
            if state.provisioner.recover(&state.upstream, user).await? {
                continue;
            }
        }
        if resp.status() != StatusCode::CONFLICT || !retry_conflicts || attempt >= PATCH_ATTEMPTS {
            return Ok(resp);
        }
        tracing::debug!(
            attempt,
            "object changed between dry run and commit; retrying"
        );
        attempt += 1;
    }
}

/// How often a patch is tried when the object keeps changing under it (kube-apiserver: 5).
const PATCH_ATTEMPTS: u32 = 5;

/// Refuse a patch that could undo the `resourceVersion` precondition the proxy adds to its
/// commit (so a change between the dry run and the commit could land unjudged):
///
/// - a JSON patch operation other than `test` whose `path` is the document, `/metadata` or
///   `/metadata/resourceVersion` (or below it), or a `move` whose `from` is one of those;
/// - a merge or strategic-merge patch (or apply configuration) whose `metadata` is not an
///   object, or that deletes `metadata` with a `$patch: delete` directive, or a top-level
///   `$patch: delete`.
pub fn keeps_precondition(patch_type: PatchType, patch: &Value) -> Result<(), ProxyError> {
    let refuse = |what: String| {
        Err(ProxyError::BadRequest(format!(
            "{what}: kbatch-proxy commits a judged patch with a resourceVersion precondition \
             and refuses patches that remove or replace it (use a `test` operation on \
             /metadata/resourceVersion, or set metadata.resourceVersion, for your own \
             precondition)"
        )))
    };
    let touches = |p: &str| {
        p.is_empty()
            || p == "/metadata"
            || p == "/metadata/resourceVersion"
            || p.starts_with("/metadata/resourceVersion/")
            || !p.starts_with('/')
    };
    match (patch_type, patch) {
        (PatchType::Json, Value::Array(ops)) => {
            for (i, op) in ops.iter().enumerate() {
                let name = op.get("op").and_then(Value::as_str).unwrap_or("");
                if name == "test" {
                    continue;
                }
                if let Some(p) = op.get("path").and_then(Value::as_str) {
                    if touches(p) {
                        return refuse(format!(
                            "JSON patch operation {i} ({name} {p:?}) writes the object's metadata or resourceVersion"
                        ));
                    }
                }
                if name == "move" {
                    if let Some(f) = op.get("from").and_then(Value::as_str) {
                        if touches(f) {
                            return refuse(format!(
                                "JSON patch operation {i} (move from {f:?}) removes the object's resourceVersion"
                            ));
                        }
                    }
                }
            }
            Ok(())
        }
        (PatchType::Json, _) => Err(ProxyError::BadRequest(
            "a JSON patch (application/json-patch+json) is a list of operations".into(),
        )),
        (_, Value::Object(p)) => {
            if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                return refuse("the patch deletes the whole object ($patch: delete)".into());
            }
            match p.get("metadata") {
                None => Ok(()),
                Some(Value::Object(m))
                    if m.get("$patch").and_then(Value::as_str) == Some("delete") =>
                {
                    refuse("the patch deletes metadata ($patch: delete)".into())
                }
                Some(Value::Object(_)) => Ok(()),
                Some(other) => refuse(format!("the patch sets metadata to {other}")),
            }
        }
        (_, other) => Err(ProxyError::BadRequest(format!(
            "a merge, strategic-merge or apply patch is an object, not {other}"
        ))),
    }
}

/// The namespace a patch writes into `metadata.namespace`, reconciled with the request's like a
/// create body's ([`reconcile_body_namespace`]): `metadata.namespace` of a merge,
/// strategic-merge or apply patch, the value of JSON patch `add`/`replace` operations on
/// `/metadata/namespace`. A kubeconfig naming no namespace makes kubectl and Helm send
/// `default`, which the proxy maps to the user's own.
pub fn reconcile_patch_namespace(
    patch_type: PatchType,
    patch: &mut Value,
    target_ns: &str,
    rewritten_from: Option<&str>,
) -> Result<(), String> {
    let Value::Array(ops) = patch else {
        return reconcile_body_namespace(patch, target_ns, rewritten_from);
    };
    if patch_type != PatchType::Json {
        return Ok(());
    }
    for op in ops.iter_mut() {
        // The client sees `default` where the proxy moved it (see `crate::alias`), so a
        // `test` of that namespace tests the real one; any other value fails on its own.
        let tests_namespace = op.get("op").and_then(Value::as_str) == Some("test")
            && op.get("path").and_then(Value::as_str) == Some("/metadata/namespace");
        if tests_namespace {
            if let (Some(from), Some(value)) = (rewritten_from, op.get_mut("value")) {
                if value.as_str() == Some(from) {
                    *value = Value::String(target_ns.to_string());
                }
            }
            continue;
        }
        let writes = matches!(
            op.get("op").and_then(Value::as_str),
            Some("add" | "replace")
        ) && op.get("path").and_then(Value::as_str) == Some("/metadata/namespace");
        if !writes {
            continue;
        }
        if let Some(value) = op.get_mut("value") {
            let mut holder = json!({"metadata": {"namespace": value.take()}});
            let result = reconcile_body_namespace(&mut holder, target_ns, rewritten_from);
            *value = holder["metadata"]["namespace"].take();
            result?;
        }
    }
    Ok(())
}

/// Whether the client's patch carries its own `resourceVersion` precondition.
pub fn has_precondition(patch_type: PatchType, patch: &Value) -> bool {
    match (patch_type, patch) {
        (PatchType::Json, Value::Array(ops)) => ops
            .iter()
            .any(|op| op.get("path").and_then(Value::as_str) == Some("/metadata/resourceVersion")),
        (_, p) => p
            .pointer("/metadata/resourceVersion")
            .is_some_and(|v| !v.is_null()),
    }
}

/// The answer of a dry run: the computed object and whether it would be created, or the API
/// server's refusal, which is the client's answer.
enum DryRun {
    /// The object the patch would produce, its `resourceVersion`, and whether it creates.
    Object {
        object: Value,
        resource_version: Option<String>,
        creates: bool,
    },
    /// An error answer (404, 409, 422, …), relayed unchanged.
    Refused(Response<ProxyBody>),
}

/// Send `body` as a patch of `patch_type` with `dryRun=All` and read the answer.
#[allow(clippy::too_many_arguments)]
async fn dry_run(
    state: &AppState,
    parts: &http::request::Parts,
    path: &str,
    patch_type: PatchType,
    body: &Bytes,
    identity: &[(HeaderName, HeaderValue)],
) -> Result<DryRun, ProxyError> {
    let mut headers = parts.headers.clone();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.remove(ACCEPT_ENCODING);
    set_json_body(&mut headers, content_type_of(patch_type), body.len());
    let dry_query = set_param(parts.uri.query(), "dryRun", "All");
    let dry = Request::builder()
        .method(Method::PATCH)
        .uri(uri(path, Some(&dry_query))?)
        .body(full(body.clone()))
        .map_err(|e| ProxyError::Internal(e.to_string()))?;
    let dry = with_headers(dry, headers);
    let resp = forward(state, dry, path, identity).await?;
    let (rparts, rbody) = resp.into_parts();
    let rbytes = rbody
        .collect()
        .await
        .map_err(|e| ProxyError::BadGateway(e.to_string()))?
        .to_bytes();
    if !rparts.status.is_success() {
        return Ok(DryRun::Refused(Response::from_parts(rparts, full(rbytes))));
    }
    let object: Value = serde_json::from_slice(&rbytes).map_err(|e| {
        ProxyError::BadGateway(format!("the dry-run answer is not a JSON object: {e}"))
    })?;
    let resource_version = object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let creates = rparts.status == StatusCode::CREATED || resource_version.is_none();
    Ok(DryRun::Object {
        object,
        resource_version,
        creates,
    })
}

/// One dry run → judge → commit cycle.
///
/// The commit keeps the client's patch whenever it can, so the API server applies the patch
/// itself (server-side apply stays an apply by the client's field manager, with `Apply` in
/// `managedFields`): the patch goes as it was dry run, with a `resourceVersion` precondition.
/// A server-side apply carries the policies' mutations in its configuration, also those that
/// only show on the dry run's result ([`carry_mutations`]). Only a merge,
/// strategic-merge or JSON patch whose result policies mutate (or an apply whose mutations its
/// configuration cannot carry) is committed as the whole judged object, without what the API
/// server manages itself ([`strip_server_fields`]).
#[allow(clippy::too_many_arguments)]
async fn patch_once(
    state: &AppState,
    user: &User,
    info: &ResourceInfo,
    set: &PolicySet,
    parts: &http::request::Parts,
    path: &str,
    patch_type: PatchType,
    patch: &Value,
    identity: &[(HeaderName, HeaderValue)],
) -> Result<Response<ProxyBody>, ProxyError> {
    let query = parts.uri.query().map(str::to_owned);
    let who = subject(user);

    // 1. Dry run: the API server computes the patched object. A server-side apply is sent with
    //    the policies' mutations made to its configuration, as for an update (and again as for
    //    a create if it turns out to create), so the client's field manager owns them and a
    //    later apply that omits them does not remove them.
    let mut sent = match patch_type {
        PatchType::Apply => {
            set.evaluate(&target(info, "patch"), &who, patch.clone())
                .object
        }
        _ => patch.clone(),
    };
    let mut outcome = dry_run(state, parts, path, patch_type, &to_json(&sent)?, identity).await?;
    if let (PatchType::Apply, DryRun::Object { creates: true, .. }) = (patch_type, &outcome) {
        let as_create = set
            .evaluate(&target(info, "create"), &who, patch.clone())
            .object;
        if as_create != sent {
            sent = as_create;
            outcome = dry_run(state, parts, path, patch_type, &to_json(&sent)?, identity).await?;
        }
    }
    let (result, rv, creates) = match outcome {
        DryRun::Refused(resp) => return Ok(resp),
        DryRun::Object {
            object,
            resource_version,
            creates,
        } => (object, resource_version, creates),
    };
    let verb = if creates { "create" } else { "patch" };

    // 2. Judge the patched object.
    let before = ev_input(patch_type, &result);
    let mut ev = set.evaluate(&target(info, verb), &who, result);
    conclude(info, user, verb, &ev)?;
    let mut warnings = ev.warnings.clone();
    let mut rv = rv;

    // 2b. Policies changed what an apply produces (a mutation guarded by a server default, or
    //     of a field another manager set): their changes go into the apply configuration,
    //     which is dry run and judged again, so the client's manager owns them and the commit
    //     stays an apply. Only when that does not settle is the judged object committed whole.
    if let (true, Some(before)) = (ev.changed, before) {
        if let Some(carried) = carry_mutations(&sent, &before, &ev.object) {
            match dry_run(
                state,
                parts,
                path,
                patch_type,
                &to_json(&carried)?,
                identity,
            )
            .await?
            {
                DryRun::Refused(resp) => return Ok(resp),
                DryRun::Object {
                    object,
                    resource_version,
                    creates: creates_now,
                } => {
                    let verb = if creates_now { "create" } else { "patch" };
                    let again = set.evaluate(&target(info, verb), &who, object);
                    conclude(info, user, verb, &again)?;
                    if !again.changed {
                        warnings = again.warnings.clone();
                        sent = carried;
                        rv = resource_version;
                        ev = again;
                    }
                }
            }
        }
    }

    // 3. What to commit: the patch as sent to the dry run, or, when policies still changed
    //    its result (a merge, strategic-merge or JSON patch, or mutations an apply
    //    configuration cannot carry), the judged object.
    let commit_patch = (!ev.changed).then_some(sent);

    // 4. Commit.
    let (method, commit_path, body, content_type, q) = match (commit_patch, rv) {
        (Some(p), Some(rv)) => {
            let pre = with_precondition(patch_type, p, &rv);
            let ct = content_type_of(patch_type);
            (Method::PATCH, path.to_owned(), to_json(&pre)?, ct, query)
        }
        (Some(p), None) => (
            Method::PATCH,
            path.to_owned(),
            to_json(&p)?,
            content_type_of(patch_type),
            query,
        ),
        (None, Some(rv)) => {
            let mut obj = ev.object.clone();
            strip_server_fields(&mut obj, patch, false);
            set_resource_version(&mut obj, &rv);
            let q = commit_query(query.as_deref());
            (
                Method::PUT,
                path.to_owned(),
                to_json(&obj)?,
                "application/json",
                q,
            )
        }
        (None, None) => {
            let mut obj = ev.object.clone();
            strip_server_fields(&mut obj, patch, true);
            let p = collection_path(path).ok_or_else(|| {
                ProxyError::BadRequest("a patch that creates must name the object".into())
            })?;
            let q = commit_query(query.as_deref());
            (Method::POST, p, to_json(&obj)?, "application/json", q)
        }
    };
    let mut headers = parts.headers.clone();
    set_json_body(&mut headers, content_type, body.len());
    let commit = Request::builder()
        .method(method)
        .uri(uri(&commit_path, q.as_deref())?)
        .body(full(body))
        .map_err(|e| ProxyError::Internal(e.to_string()))?;
    let commit = with_headers(commit, headers);
    let mut resp = forward(state, commit, &commit_path, identity).await?;
    add_warnings(resp.headers_mut(), &warnings);
    Ok(resp)
}

/// The dry run's result, kept to see what policies change in it (server-side apply only).
fn ev_input(patch_type: PatchType, result: &Value) -> Option<Value> {
    (patch_type == PatchType::Apply).then(|| result.clone())
}

/// `config` (an apply configuration) with the changes policies made from `before` to
/// `after` (a dry run's result and its judged form): a changed or added value is set in the
/// configuration, a removed one removed from it. Lists are followed index by index when they
/// kept their length and the configuration lists as many entries, else taken whole. `None`
/// when a change cannot be said in the configuration (a removal of a field it does not set,
/// a change below a scalar or a list it holds differently); the object is then committed
/// whole.
pub fn carry_mutations(config: &Value, before: &Value, after: &Value) -> Option<Value> {
    let mut out = config.clone();
    carry(&mut out, before, after).then_some(out)
}

fn carry(config: &mut Value, before: &Value, after: &Value) -> bool {
    if before == after {
        return true;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            if config.is_null() {
                *config = Value::Object(Map::new());
            }
            let Value::Object(c) = config else {
                return false;
            };
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) if bv == av => {}
                    Some(bv) if bv.is_object() || bv.is_array() => {
                        let slot = c.entry(k.clone()).or_insert(Value::Null);
                        if !carry(slot, bv, av) {
                            return false;
                        }
                    }
                    _ => {
                        c.insert(k.clone(), av.clone());
                    }
                }
            }
            b.keys()
                .filter(|k| !a.contains_key(*k))
                .all(|k| c.remove(k).is_some())
        }
        (Value::Array(b), Value::Array(a)) if b.len() == a.len() => match config {
            Value::Array(c) if c.len() == a.len() => c
                .iter_mut()
                .zip(b.iter().zip(a))
                .all(|(cv, (bv, av))| carry(cv, bv, av)),
            Value::Null => {
                *config = after.clone();
                true
            }
            _ => false,
        },
        _ => {
            *config = after.clone();
            true
        }
    }
}

/// Remove from a dry-run result what the API server manages itself, before the result is
/// committed as a whole: `managedFields` always (the API server records the commit's manager
/// itself); for a create also `uid`, `resourceVersion`, `creationTimestamp`, `generation`,
/// `deletionTimestamp`, `selfLink`, `status`, and the addresses a dry run allocates only for
/// show (a Service's `clusterIP`/`clusterIPs`, `nodePort`s, `healthCheckNodePort`) unless the
/// client's patch asked for them.
pub fn strip_server_fields(obj: &mut Value, patch: &Value, create: bool) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        if create {
            for k in [
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "generation",
                "deletionTimestamp",
                "selfLink",
            ] {
                m.remove(k);
            }
        }
    }
    if !create {
        return;
    }
    if let Some(o) = obj.as_object_mut() {
        o.remove("status");
    }
    let asked = |p: &str| patch.pointer(p).is_some_and(|v| !v.is_null());
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        for k in ["clusterIP", "clusterIPs", "healthCheckNodePort"] {
            if !asked(&format!("/spec/{k}")) {
                spec.remove(k);
            }
        }
        if let Some(Value::Array(ports)) = spec.get_mut("ports") {
            for (i, port) in ports.iter_mut().enumerate() {
                if !asked(&format!("/spec/ports/{i}/nodePort")) {
                    if let Some(p) = port.as_object_mut() {
                        p.remove("nodePort");
                    }
                }
            }
        }
    }
}

fn content_type_of(p: PatchType) -> &'static str {
    match p {
        PatchType::Json => "application/json-patch+json",
        PatchType::Merge => "application/merge-patch+json",
        PatchType::Strategic => "application/strategic-merge-patch+json",
        // JSON is YAML.
        PatchType::Apply => "application/apply-patch+yaml",
    }
}

/// Log audits; a denial becomes the 403 kubectl prints as `Error from server (Forbidden): …`.
fn conclude(
    info: &ResourceInfo,
    user: &User,
    verb: &str,
    ev: &Evaluation,
) -> Result<(), ProxyError> {
    for a in &ev.audits {
        tracing::info!(
            audit = %a,
            user = %user.name,
            verb,
            resource = %info.resource,
            subresource = info.subresource.as_deref().unwrap_or(""),
            "policy audit"
        );
    }
    if let Some(reason) = &ev.denied {
        tracing::info!(
            user = %user.name,
            verb,
            resource = %info.resource,
            reason = %reason,
            "policy denied the request"
        );
        let name = ev
            .object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .or(info.name.as_deref());
        return Err(ProxyError::Forbidden(forbidden_message(info, name, reason)));
    }
    Ok(())
}

/// `jobs.batch "x" is forbidden: <reason>` (kube-apiserver's wording for admission denials).
pub fn forbidden_message(info: &ResourceInfo, name: Option<&str>, reason: &str) -> String {
    let qualified = if info.group.is_empty() {
        info.resource.clone()
    } else {
        format!("{}.{}", info.resource, info.group)
    };
    match name.filter(|n| !n.is_empty()) {
        Some(n) => format!("{qualified} \"{n}\" is forbidden: {reason}"),
        None => format!("{qualified} is forbidden: {reason}"),
    }
}

/// `Warning: 299 - "<message>"` values (RFC 7234 warn-text: `"` and `\` escaped, control
/// characters replaced), as kube-apiserver sends them; kubectl prints `Warning: <message>`.
pub fn warning_value(message: &str) -> Option<HeaderValue> {
    let mut text = String::with_capacity(message.len() + 10);
    text.push_str("299 - \"");
    for c in message.chars() {
        match c {
            '"' | '\\' => {
                text.push('\\');
                text.push(c);
            }
            c if c.is_control() => text.push(' '),
            c => text.push(c),
        }
    }
    text.push('"');
    HeaderValue::from_bytes(text.as_bytes()).ok()
}

fn add_warnings(headers: &mut HeaderMap, warnings: &[String]) {
    for w in warnings {
        if let Some(v) = warning_value(w) {
            headers.append(http::header::WARNING, v);
        }
    }
}

/// The options object of an exec/attach/portforward request, from its query, as kube-apiserver
/// decodes it (`command` repeated, booleans `true`/`1`, `ports` as numbers).
pub fn connect_options(subresource: &str, query: Option<&str>) -> Value {
    let pairs: Vec<(String, String)> = query
        .map(|q| {
            form_urlencoded_pairs(q)
                .into_iter()
                .filter(|(k, _)| !k.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let bool_of = |key: &str| -> Option<Value> {
        pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| {
            Value::Bool(matches!(
                v.as_str(),
                "true" | "1" | "True" | "TRUE" | "t" | "T"
            ))
        })
    };
    let str_of = |key: &str| -> Option<Value> {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| Value::String(v.clone()))
    };
    let mut m = Map::new();
    let kind = match subresource {
        "exec" => "PodExecOptions",
        "attach" => "PodAttachOptions",
        _ => "PodPortForwardOptions",
    };
    m.insert("kind".into(), json!(kind));
    m.insert("apiVersion".into(), json!("v1"));
    if subresource == "portforward" {
        let ports: Vec<Value> = pairs
            .iter()
            .filter(|(k, _)| k == "ports")
            .flat_map(|(_, v)| v.split(','))
            .map(|p| {
                p.trim()
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(p.trim().to_owned()))
            })
            .collect();
        if !ports.is_empty() {
            m.insert("ports".into(), Value::Array(ports));
        }
        return Value::Object(m);
    }
    for key in ["stdin", "stdout", "stderr", "tty"] {
        if let Some(v) = bool_of(key) {
            m.insert(key.into(), v);
        }
    }
    if let Some(c) = str_of("container") {
        m.insert("container".into(), c);
    }
    if subresource == "exec" {
        let command: Vec<Value> = pairs
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| Value::String(v.clone()))
            .collect();
        m.insert("command".into(), Value::Array(command));
    }
    Value::Object(m)
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, percent-decoding lossy).
fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// `query` with `key=value` (any earlier values of `key` removed).
pub fn set_param(query: Option<&str>, key: &str, value: &str) -> String {
    let mut parts: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && kv.split_once('=').map_or(*kv, |(k, _)| k) != key)
        .collect();
    let kv = format!("{key}={value}");
    parts.push(&kv);
    parts.join("&")
}

/// The query of a commit made as PUT or POST: the options those verbs share with PATCH
/// (`dryRun`, `fieldManager`, `fieldValidation`, `pretty`); `force` is for apply only.
pub fn commit_query(query: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|kv| {
            let k = kv.split_once('=').map_or(*kv, |(k, _)| k);
            matches!(k, "dryRun" | "fieldManager" | "fieldValidation" | "pretty")
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

/// The collection path of an object path (`…/jobs/x` → `…/jobs`); `None` for a subresource or a
/// path without a name.
fn collection_path(path: &str) -> Option<String> {
    let (coll, _name) = path.trim_end_matches('/').rsplit_once('/')?;
    Some(coll.to_owned())
}

fn set_resource_version(obj: &mut Value, rv: &str) {
    if let Some(o) = obj.as_object_mut() {
        let meta = o
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = meta.as_object_mut() {
            m.insert("resourceVersion".into(), Value::String(rv.to_owned()));
        }
    }
}

/// The patch with a `resourceVersion` precondition: `metadata.resourceVersion` set to `rv` — by
/// a leading `replace` operation for a JSON patch, in the patch object for merge,
/// strategic-merge and apply patches. The patched object then carries `rv`, and the API server
/// refuses with 409 Conflict if the object changed since (a `test` operation would also stop
/// the write, but with a 422/500 that clients do not recognise as a conflict).
pub fn with_precondition(patch_type: PatchType, patch: Value, rv: &str) -> Value {
    match (patch_type, patch) {
        (PatchType::Json, Value::Array(ops)) => {
            let mut out = Vec::with_capacity(ops.len() + 1);
            out.push(json!({"op": "replace", "path": "/metadata/resourceVersion", "value": rv}));
            out.extend(ops);
            Value::Array(out)
        }
        (_, mut p) => {
            set_resource_version(&mut p, rv);
            p
        }
    }
}

fn to_json(v: &Value) -> Result<Bytes, ProxyError> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| ProxyError::Internal(e.to_string()))
}

/// Headers of a replaced body: its type and length (the client's encoding headers no longer
/// apply).
fn set_json_body(headers: &mut HeaderMap, content_type: &'static str, len: usize) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.remove(http::header::CONTENT_ENCODING);
    headers.remove(http::header::TRANSFER_ENCODING);
}

fn uri(path: &str, query: Option<&str>) -> Result<Uri, ProxyError> {
    let s = match query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    };
    s.parse()
        .map_err(|e: http::uri::InvalidUri| ProxyError::BadRequest(e.to_string()))
}

fn with_headers(mut req: Request<ProxyBody>, headers: HeaderMap) -> Request<ProxyBody> {
    *req.headers_mut() = headers;
    req
}

/// The client's request (method, URI, extensions) with new headers and body.
/// Forward a request whose whole body the proxy holds. When the API server says the user's
/// namespace does not exist (deleted out of band while remembered as provisioned), it is
/// provisioned again and the request sent once more.
async fn forward_held(
    state: &AppState,
    user: &User,
    parts: &http::request::Parts,
    headers: HeaderMap,
    body: Bytes,
    path: &str,
    identity: &[(HeaderName, HeaderValue)],
) -> Result<Response<ProxyBody>, ProxyError> {
    let make = || {
        let mut req = Request::new(full(body.clone()));
        *req.method_mut() = parts.method.clone();
        *req.uri_mut() = parts.uri.clone();
        *req.version_mut() = parts.version;
        *req.headers_mut() = headers.clone();
        req
    };
    let resp = forward(state, make(), path, identity).await?;
    let (resp, gone) = namespace_gone(resp, &user.namespace).await;
    if gone && state.provisioner.recover(&state.upstream, user).await? {
        return forward(state, make(), path, identity).await;
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(
        verb: &'static str,
        group: &str,
        resource: &str,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> ResourceInfo {
        ResourceInfo {
            verb,
            method: Method::GET,
            upgrade: false,
            prefix: if group.is_empty() { "api" } else { "apis" }.into(),
            legacy_watch: false,
            legacy_proxy: false,
            group: group.into(),
            version: "v1".into(),
            namespace: Some("kbatch-alice".into()),
            resource: resource.into(),
            name: name.map(Into::into),
            subresource: sub.map(Into::into),
            rest: String::new(),
        }
    }

    #[test]
    fn plans() {
        type Case = (Method, ResourceInfo, Option<(Plan, &'static str)>);
        let cases: Vec<Case> = vec![
            (
                Method::POST,
                info("create", "batch", "jobs", None, None),
                Some((Plan::Body, "create")),
            ),
            (
                Method::PUT,
                info("update", "batch", "jobs", Some("x"), None),
                Some((Plan::Body, "update")),
            ),
            (
                Method::PATCH,
                info("patch", "batch", "jobs", Some("x"), None),
                Some((Plan::Patch, "patch")),
            ),
            (
                Method::GET,
                info("get", "", "pods", Some("p"), Some("exec")),
                Some((Plan::Connect, "create")),
            ),
            (
                Method::POST,
                info("create", "", "pods", Some("p"), Some("attach")),
                Some((Plan::Connect, "create")),
            ),
            (
                Method::GET,
                info("get", "", "pods", Some("p"), Some("portforward")),
                Some((Plan::Connect, "create")),
            ),
            (
                Method::GET,
                info("get", "", "pods", Some("p"), Some("log")),
                None,
            ),
            (Method::GET, info("list", "batch", "jobs", None, None), None),
            (
                Method::DELETE,
                info("delete", "batch", "jobs", Some("x"), None),
                None,
            ),
            (Method::GET, info("watch", "", "pods", None, None), None),
        ];
        for (m, i, want) in cases {
            assert_eq!(plan(&m, &i), want, "{m} {i:?}");
        }
    }

    #[test]
    fn patch_types() {
        let cases = [
            ("application/json-patch+json", Some(PatchType::Json)),
            ("application/merge-patch+json", Some(PatchType::Merge)),
            (
                "application/strategic-merge-patch+json",
                Some(PatchType::Strategic),
            ),
            ("application/apply-patch+yaml", Some(PatchType::Apply)),
            ("application/apply-patch+cbor", None),
            ("application/json", None),
        ];
        for (m, want) in cases {
            assert_eq!(PatchType::of(m), want, "{m}");
            if let Some(p) = want {
                assert_eq!(content_type_of(p), m);
            }
        }
    }

    #[test]
    fn preconditions() {
        let cases = [
            (
                PatchType::Json,
                json!([{"op": "add", "path": "/metadata/labels/a", "value": "b"}]),
                json!([{"op": "replace", "path": "/metadata/resourceVersion", "value": "42"},
                       {"op": "add", "path": "/metadata/labels/a", "value": "b"}]),
            ),
            (
                PatchType::Merge,
                json!({"spec": {"parallelism": 2}}),
                json!({"spec": {"parallelism": 2}, "metadata": {"resourceVersion": "42"}}),
            ),
            (
                PatchType::Strategic,
                json!({"metadata": {"labels": {"a": "b"}}}),
                json!({"metadata": {"labels": {"a": "b"}, "resourceVersion": "42"}}),
            ),
            (
                PatchType::Apply,
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x", "resourceVersion": "1"}}),
                json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x", "resourceVersion": "42"}}),
            ),
        ];
        for (t, patch, want) in cases {
            assert_eq!(with_precondition(t, patch, "42"), want, "{t:?}");
        }
    }

    #[test]
    fn patches_that_would_undo_the_precondition() {
        let refused = [
            (
                PatchType::Json,
                json!([{"op": "remove", "path": "/metadata/resourceVersion"}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "replace", "path": "/metadata", "value": {"name": "x"}}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "add", "path": "", "value": {}}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "copy", "from": "/spec/x", "path": "/metadata/resourceVersion"}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "move", "from": "/metadata/resourceVersion", "path": "/metadata/labels/rv"}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "add", "path": "metadata/resourceVersion", "value": "1"}]),
            ),
            (PatchType::Json, json!({"op": "add"})),
            (PatchType::Merge, json!({"metadata": null})),
            (PatchType::Merge, json!({"metadata": "x"})),
            (
                PatchType::Strategic,
                json!({"metadata": {"$patch": "delete"}}),
            ),
            (PatchType::Strategic, json!({"$patch": "delete"})),
            (PatchType::Merge, json!([1])),
        ];
        for (t, p) in refused {
            let e = keeps_precondition(t, &p).expect_err(&p.to_string());
            assert_eq!(e.status().as_u16(), 400, "{p}");
        }
        let allowed = [
            (
                PatchType::Json,
                json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "3"}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "add", "path": "/metadata/labels/a", "value": "b"}]),
            ),
            (
                PatchType::Json,
                json!([{"op": "copy", "from": "/metadata/resourceVersion", "path": "/metadata/labels/rv"}]),
            ),
            (
                PatchType::Strategic,
                json!({"metadata": {"$patch": "replace", "name": "x"}}),
            ),
            (
                PatchType::Strategic,
                json!({"spec": {"$retainKeys": ["a"], "a": 1}}),
            ),
            (PatchType::Merge, json!({"spec": {"parallelism": 2}})),
            (
                PatchType::Apply,
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
            ),
        ];
        for (t, p) in allowed {
            keeps_precondition(t, &p).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn patch_namespaces_follow_the_rewritten_url() {
        let own = "kbatch-alice";
        let cases = [
            (
                PatchType::Apply,
                json!({"metadata": {"name": "x", "namespace": "default"}}),
                Some(json!({"metadata": {"name": "x", "namespace": own}})),
            ),
            (
                PatchType::Merge,
                json!({"metadata": {"namespace": "default"}}),
                Some(json!({"metadata": {"namespace": own}})),
            ),
            (
                PatchType::Strategic,
                json!({"spec": {}}),
                Some(json!({"spec": {}})),
            ),
            (
                PatchType::Json,
                json!([{"op": "replace", "path": "/metadata/namespace", "value": "default"}]),
                Some(json!([{"op": "replace", "path": "/metadata/namespace", "value": own}])),
            ),
            (
                PatchType::Json,
                json!([{"op": "test", "path": "/metadata/namespace", "value": "default"}]),
                Some(json!([{"op": "test", "path": "/metadata/namespace", "value": own}])),
            ),
            (
                // Testing for another namespace is left to fail upstream.
                PatchType::Json,
                json!([{"op": "test", "path": "/metadata/namespace", "value": "other"}]),
                Some(json!([{"op": "test", "path": "/metadata/namespace", "value": "other"}])),
            ),
            (
                PatchType::Apply,
                json!({"metadata": {"name": "x", "namespace": "kube-system"}}),
                None,
            ),
            (
                PatchType::Json,
                json!([{"op": "add", "path": "/metadata/namespace", "value": "kube-system"}]),
                None,
            ),
        ];
        for (t, mut p, want) in cases {
            let before = p.clone();
            let got = reconcile_patch_namespace(t, &mut p, own, Some("default"));
            match want {
                Some(w) => {
                    assert!(got.is_ok(), "{before}: {got:?}");
                    assert_eq!(p, w, "{before}");
                }
                None => assert!(got.is_err(), "{before}"),
            }
        }
    }

    #[test]
    fn policy_changes_to_an_apply_result_are_carried_into_its_configuration() {
        let config = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}]}});
        let before = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "uid": "u"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "sessionAffinity": "None",
                     "clusterIP": "10.0.0.1"}});
        let mut after = before.clone();
        after["metadata"]["annotations"] = json!({"seen": "yes"});
        after["spec"]["ports"][0]["appProtocol"] = json!("http");
        after["spec"]["sessionAffinity"] = json!("ClientIP");
        let carried = carry_mutations(&config, &before, &after).expect("carried");
        assert_eq!(
            carried,
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "s", "annotations": {"seen": "yes"}},
                "spec": {"ports": [{"port": 80, "appProtocol": "http"}],
                         "sessionAffinity": "ClientIP"}})
        );
        // Nothing changed: the configuration as it was.
        assert_eq!(
            carry_mutations(&config, &before, &before),
            Some(config.clone())
        );
        // A removal of what the configuration does not set cannot be said in it.
        let mut removed = before.clone();
        removed["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("sessionAffinity");
        assert_eq!(carry_mutations(&config, &before, &removed), None);
        // A removal of what it sets can.
        let mut dropped = before.clone();
        dropped["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("ports");
        let carried = carry_mutations(&config, &before, &dropped).expect("carried");
        assert!(carried["spec"].get("ports").is_none(), "{carried}");
        // A list the configuration holds differently is not followed by index.
        let mut two = before.clone();
        two["spec"]["ports"] = json!([{"port": 80, "protocol": "UDP"}]);
        let short = json!({"metadata": {"name": "s"}, "spec": {"ports": []}});
        assert_eq!(carry_mutations(&short, &before, &two), None);
    }

    #[test]
    fn whole_object_commits_leave_out_what_the_api_server_manages() {
        let dry_run = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "s", "uid": "u", "resourceVersion": "7", "creationTimestamp": "t",
                         "generation": 1, "managedFields": [{"manager": "m"}], "labels": {"a": "b"}},
            "spec": {"clusterIP": "10.0.0.7", "clusterIPs": ["10.0.0.7"], "type": "NodePort",
                     "ports": [{"port": 80, "nodePort": 30007}, {"port": 81, "nodePort": 30081}]},
            "status": {"loadBalancer": {}}});
        let asked = json!({"spec": {"ports": [{"port": 80}, {"port": 81, "nodePort": 30081}]}});
        let mut create = dry_run.clone();
        strip_server_fields(&mut create, &asked, true);
        assert_eq!(
            create,
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"a": "b"}},
                   "spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81, "nodePort": 30081}]}})
        );
        let mut update = dry_run.clone();
        strip_server_fields(&mut update, &asked, false);
        let mut want = dry_run;
        if let Some(m) = want["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        assert_eq!(update, want, "an update keeps everything but managedFields");
    }

    #[test]
    fn client_preconditions() {
        let cases = [
            (
                PatchType::Json,
                json!([{"op": "test", "path": "/metadata/resourceVersion", "value": "1"}]),
                true,
            ),
            (
                PatchType::Json,
                json!([{"op": "add", "path": "/metadata/labels/a", "value": "1"}]),
                false,
            ),
            (
                PatchType::Merge,
                json!({"metadata": {"resourceVersion": "1"}}),
                true,
            ),
            (
                PatchType::Merge,
                json!({"metadata": {"resourceVersion": null}}),
                false,
            ),
            (PatchType::Strategic, json!({"spec": {}}), false),
            (
                PatchType::Apply,
                json!({"metadata": {"name": "x", "resourceVersion": "3"}}),
                true,
            ),
        ];
        for (t, p, want) in cases {
            assert_eq!(has_precondition(t, &p), want, "{t:?} {p}");
        }
    }

    #[test]
    fn queries() {
        assert_eq!(set_param(None, "dryRun", "All"), "dryRun=All");
        assert_eq!(
            set_param(
                Some("fieldManager=kubectl-patch&dryRun=All"),
                "dryRun",
                "All"
            ),
            "fieldManager=kubectl-patch&dryRun=All"
        );
        assert_eq!(
            set_param(Some("force=true&fieldManager=kubectl"), "dryRun", "All"),
            "force=true&fieldManager=kubectl&dryRun=All"
        );
        assert_eq!(
            commit_query(Some(
                "fieldManager=kubectl&force=true&fieldValidation=Strict&dryRun=All"
            )),
            Some("fieldManager=kubectl&fieldValidation=Strict&dryRun=All".into())
        );
        assert_eq!(commit_query(Some("force=true")), None);
        assert_eq!(commit_query(None), None);
        assert_eq!(
            collection_path("/apis/batch/v1/namespaces/a/jobs/x").as_deref(),
            Some("/apis/batch/v1/namespaces/a/jobs")
        );
    }

    #[test]
    fn connect_option_objects() {
        let cases = [
            (
                "exec",
                Some("command=sh&command=-c&command=echo+hi%21&container=main&stdin=true&stdout=true&stderr=true&tty=false"),
                json!({"kind": "PodExecOptions", "apiVersion": "v1", "stdin": true, "stdout": true,
                       "stderr": true, "tty": false, "container": "main", "command": ["sh", "-c", "echo hi!"]}),
            ),
            (
                "attach",
                Some("stdout=1&stderr=1"),
                json!({"kind": "PodAttachOptions", "apiVersion": "v1", "stdout": true, "stderr": true}),
            ),
            (
                "portforward",
                Some("ports=8080&ports=9090,53"),
                json!({"kind": "PodPortForwardOptions", "apiVersion": "v1", "ports": [8080, 9090, 53]}),
            ),
            ("portforward", None, json!({"kind": "PodPortForwardOptions", "apiVersion": "v1"})),
            ("exec", None, json!({"kind": "PodExecOptions", "apiVersion": "v1", "command": []})),
        ];
        for (sub, q, want) in cases {
            assert_eq!(connect_options(sub, q), want, "{sub} {q:?}");
        }
    }

    #[test]
    fn warnings_and_denials() {
        let cases = [
            ("plain", "299 - \"plain\""),
            ("say \"hi\" \\ now", "299 - \"say \\\"hi\\\" \\\\ now\""),
            ("two\nlines", "299 - \"two lines\""),
            ("café", "299 - \"café\""),
        ];
        for (msg, want) in cases {
            let v = warning_value(msg).expect("header value");
            assert_eq!(v.as_bytes(), want.as_bytes(), "{msg}");
        }
        let i = info("create", "batch", "jobs", None, None);
        assert_eq!(
            forbidden_message(&i, Some("x"), "policy \"p\": no"),
            "jobs.batch \"x\" is forbidden: policy \"p\": no"
        );
        let p = info("create", "", "pods", Some("p"), Some("exec"));
        assert_eq!(forbidden_message(&p, None, "r"), "pods is forbidden: r");
    }
}
