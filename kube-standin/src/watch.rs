//! Watch streams: `?watch=1` and the legacy `/watch/` paths, from "now" (synthetic ADDED for
//! what exists) or from a resourceVersion (replayed from the event log, 410 when too old),
//! with selectors turning transitions into ADDED/DELETED, bookmarks, timeouts and Tables.
//! One JSON event per line, flushed as it happens (`watch/01-watch-stream-framing.txt`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use crate::encode::{self, Body};
use crate::proto;
use crate::request::ApiRequest;
use crate::resources::ResourceDef;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::{Event, EventType, Store};
use crate::table::{self, IncludeObject};

/// What a watch filters on and how it renders.
struct Filter {
    res: &'static ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: Option<(&'static str, IncludeObject)>,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        if let Some(ns) = &self.namespace {
            if obj["metadata"]["namespace"].as_str() != Some(ns.as_str()) {
                return false;
            }
        }
        if let Some(n) = &self.name {
            if obj["metadata"]["name"].as_str() != Some(n.as_str()) {
                return false;
            }
        }
        self.labels.matches(obj["metadata"]["labels"].as_object()) && self.fields.matches(obj)
    }

    /// The event a watcher sees for a store event, if any.
    fn translate(&self, e: &Event) -> Option<(EventType, Value)> {
        if e.group != self.res.group || e.plural != self.res.plural {
            return None;
        }
        let now = self.matches(&e.object);
        let before = e.old.as_ref().is_some_and(|o| self.matches(o));
        match e.kind {
            EventType::Added => now.then(|| (EventType::Added, e.object.clone())),
            EventType::Deleted => before.then(|| (EventType::Deleted, e.object.clone())),
            EventType::Modified => match (before, now) {
                (true, true) => Some((EventType::Modified, e.object.clone())),
                (false, true) => Some((EventType::Added, e.object.clone())),
                (true, false) => Some((EventType::Deleted, e.object.clone())),
                (false, false) => None,
            },
        }
    }
}

struct Renderer {
    table: Option<(&'static str, IncludeObject)>,
    res: &'static ResourceDef,
    columns_sent: bool,
}

impl Renderer {
    fn line(&mut self, kind: &str, mut obj: Value) -> Bytes {
        proto::order_keys(&mut obj);
        let object = match self.table {
            Some((version, include)) if kind != "BOOKMARK" && kind != "ERROR" => {
                let with_columns = !self.columns_sent;
                self.columns_sent = true;
                table::watch_event_table(
                    self.res,
                    &obj,
                    include,
                    version,
                    with_columns,
                    crate::api::now(),
                )
            }
            _ => obj,
        };
        Bytes::from(encode::go_json(
            &json!({"type": kind, "object": object}),
            false,
        ))
    }
}

/// Start a watch; the response streams until the timeout, the client leaves, or the store's
/// broadcast overflows (then the stream ends and clients re-list, as after a compaction).
pub fn watch(
    store: Arc<Store>,
    req: &ApiRequest,
    accept: Option<&str>,
) -> ApiResult<Response<Body>> {
    let q = &req.query;
    let mut fields = q.get("fieldSelector").unwrap_or("").to_string();
    if let Some(name) = &req.name {
        // A named watch path (legacy /watch/.../name) watches that one object.
        if !fields.is_empty() {
            fields.push(',');
        }
        fields.push_str(&format!("metadata.name={name}"));
    }
    let filter = Filter {
        res: req.main,
        namespace: req.namespace.clone(),
        name: None,
        labels: LabelSelector::parse(q.get("labelSelector").unwrap_or(""))?,
        fields: FieldSelector::parse(req.main, &fields)?,
        table: match table::table_version(accept) {
            Some(v) => Some((v, IncludeObject::from_query(q.get("includeObject"))?)),
            None => None,
        },
    };
    let bookmarks = q.bool("allowWatchBookmarks")?;
    let send_initial = q
        .get("sendInitialEvents")
        .map(|v| crate::request::parse_bool(v).unwrap_or(false));
    let timeout = match q.int("timeoutSeconds")? {
        Some(t) if t > 0 => Duration::from_secs(t as u64),
        _ => Duration::from_secs(1800),
    };
    let rv = q.get("resourceVersion").filter(|s| !s.is_empty());
    let rv_num = match rv {
        Some(r) => Some(r.parse::<u64>().map_err(|_| {
            ApiError::internal_plain(format!("resourceVersion: Invalid value: \"{r}\": strconv.ParseUint: parsing \"{r}\": invalid syntax"))
        })?),
        None => None,
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let mut renderer = Renderer {
        table: filter.table,
        res: req.main,
        columns_sent: false,
    };
    let mut initial: Vec<Bytes> = Vec::new();
    let start_rv;
    let receiver: broadcast::Receiver<Arc<Event>>;
    let from_scratch = rv_num.is_none_or(|n| n == 0) || send_initial == Some(true);
    if from_scratch {
        let (items, snapshot_rv, rx) = store.list_and_follow(req.main, req.namespace.as_deref());
        for o in items.into_iter().filter(|o| filter.matches(o)) {
            initial.push(renderer.line("ADDED", o));
        }
        if send_initial == Some(true) {
            initial.push(renderer.line("BOOKMARK", bookmark(req.main, snapshot_rv, true)));
        }
        start_rv = snapshot_rv;
        receiver = rx;
    } else {
        let n = rv_num.unwrap_or(0);
        match store.follow(n) {
            Some((backlog, current, rx)) => {
                for e in backlog {
                    if let Some((kind, obj)) = filter.translate(&e) {
                        initial.push(renderer.line(kind.as_str(), obj));
                    }
                }
                start_rv = current.max(n);
                receiver = rx;
            }
            None => {
                let status = ApiError::gone(format!(
                    "too old resource version: {n} ({})",
                    store.compacted_rv()
                ))
                .to_status();
                initial.push(renderer.line("ERROR", status));
                return Ok(stream_response(initial_only(initial)));
            }
        }
    }
    tokio::spawn(run(
        tx, initial, receiver, filter, renderer, timeout, bookmarks, start_rv,
    ));
    Ok(stream_response(rx))
}

fn initial_only(lines: Vec<Bytes>) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(lines.len().max(1));
    for l in lines {
        // Capacity equals the number of lines, so this cannot fail.
        let _ = tx.try_send(l);
    }
    rx
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    encode::api_response(StatusCode::OK, "application/json", true)
        .body(encode::channel_body(rx))
        .unwrap_or_else(|_| Response::new(encode::empty()))
}

fn bookmark(res: &ResourceDef, rv: u64, initial_end: bool) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": meta})
}

#[allow(clippy::too_many_arguments)]
async fn run(
    tx: mpsc::Sender<Bytes>,
    initial: Vec<Bytes>,
    mut rx: broadcast::Receiver<Arc<Event>>,
    filter: Filter,
    mut renderer: Renderer,
    timeout: Duration,
    bookmarks: bool,
    start_rv: u64,
) {
    // The initial burst goes out as one chunk, as kube-apiserver buffers it.
    if !initial.is_empty() {
        let joined: Vec<u8> = initial.iter().flat_map(|b| b.iter().copied()).collect();
        if tx.send(Bytes::from(joined)).await.is_err() {
            return;
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_rv = start_rv;
    let bookmark_every = Duration::from_secs(60);
    let mut next_bookmark = tokio::time::Instant::now()
        + bookmark_every.min(timeout.saturating_sub(Duration::from_secs(2)));
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tokio::time::sleep_until(next_bookmark), if bookmarks => {
                let line = renderer.line("BOOKMARK", bookmark(filter.res, last_rv, false));
                if tx.send(line).await.is_err() { return; }
                next_bookmark += bookmark_every;
            }
            _ = tx.closed() => return,
            ev = rx.recv() => match ev {
                Ok(e) => {
                    if e.rv <= start_rv { continue; }
                    last_rv = e.rv;
                    if let Some((kind, obj)) = filter.translate(&e) {
                        if tx.send(renderer.line(kind.as_str(), obj)).await.is_err() { return; }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}
