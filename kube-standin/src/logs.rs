//! `pods/log`: plain and `follow=true`, `container`, `tailLines`, `timestamps`, `limitBytes`,
//! streamed from the runtime's container logs as lines are written (text/plain, chunked).

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};
use tokio::sync::mpsc;

use crate::controllers::{ContainerLog, Runtime};
use crate::encode::{self, Body};
use crate::request::ApiRequest;
use crate::status::{ApiError, ApiResult};
use crate::store::Store;

/// The container a log or exec request addresses: the one asked for, or the only one;
/// kube-apiserver's 400s when it is ambiguous or unknown.
pub fn pick_container(
    pod: &serde_json::Value,
    name: &str,
    requested: Option<&str>,
) -> ApiResult<String> {
    let names: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let container = match requested.filter(|c| !c.is_empty()) {
        Some(c) => c.to_string(),
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )))
        }
    };
    if !names.contains(&container) {
        return Err(ApiError::bad_request(format!(
            "container {container} is not valid for pod {name}"
        )));
    }
    Ok(container)
}

/// Answer `GET …/pods/{name}/log`.
pub fn logs(store: &Store, runtime: &Runtime, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let q = &req.query;
    let ns = req.namespace.clone().unwrap_or_default();
    let name = req.name.clone().unwrap_or_default();
    let pod = store
        .get(req.main, &ns, &name)
        .ok_or_else(|| ApiError::not_found(req.main, &name))?;
    let container = pick_container(&pod, &name, q.get("container"))?;
    let follow = q.bool("follow")?;
    let timestamps = q.bool("timestamps")?;
    let tail = q.int("tailLines")?;
    let limit = q.int("limitBytes")?.filter(|l| *l > 0).map(|l| l as usize);
    let Some(log) = runtime.log(&ns, &name, &container) else {
        // Not started yet (no node): kube-apiserver answers 204 with no body.
        return Response::builder()
            .status(StatusCode::NO_CONTENT)
            .header("Audit-Id", uuid::Uuid::new_v4().to_string())
            .header("Cache-Control", "no-cache, private")
            .body(encode::empty())
            .map_err(|e| ApiError::internal(e.to_string()));
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(stream(log, tx, follow, timestamps, tail, limit));
    encode::api_response(StatusCode::OK, "text/plain", false)
        .body(encode::channel_body(rx))
        .map_err(|e| ApiError::internal(e.to_string()))
}

async fn stream(
    log: Arc<ContainerLog>,
    tx: mpsc::Sender<Bytes>,
    follow: bool,
    timestamps: bool,
    tail: Option<i64>,
    mut limit: Option<usize>,
) {
    let mut changes = log.subscribe();
    let (first, mut done) = log.read(0);
    let skip = match tail {
        Some(t) if t >= 0 => first.len().saturating_sub(t as usize),
        _ => 0,
    };
    let mut next = first.len();
    let mut batch = first[skip..].to_vec();
    loop {
        for (t, line) in batch.drain(..) {
            let mut out = if timestamps {
                let mut b = t
                    .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                    .into_bytes();
                b.push(b' ');
                b.extend_from_slice(&line);
                Bytes::from(b)
            } else {
                line
            };
            if let Some(l) = limit.as_mut() {
                if out.len() >= *l {
                    out.truncate(*l);
                    let _ = tx.send(out).await;
                    return;
                }
                *l -= out.len();
            }
            if tx.send(out).await.is_err() {
                return;
            }
        }
        if !follow || done {
            return;
        }
        let Some(rx) = changes.as_mut() else { return };
        tokio::select! {
            r = rx.changed() => if r.is_err() { return },
            _ = tx.closed() => return,
        }
        let (lines, d) = log.read(next);
        next += lines.len();
        batch = lines;
        done = d;
    }
}
