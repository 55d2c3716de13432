//! Answers to requests the proxy moved from namespace `default` to the user's own show
//! `default` again, so clients that compare what they sent with what they got back (Helm's
//! release bookkeeping, `kubectl apply`'s last-applied state, controllers' caches) see the
//! namespace they asked for. Single objects, lists and tables are rewritten whole; watch
//! streams event by event (JSON framing: one event per line); anything else (protobuf, CBOR,
//! compressed, over [`MAX_ANSWER`]) streams through unchanged.
//!
//! The pure part is [`show_namespace`]; [`rewrite_answer`] applies it to a response body.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use serde_json::Value;

use crate::body::{full, BoxError, ProxyBody};

/// Largest answer (or watch event) read whole to be rewritten: above kube-apiserver's 3 MiB
/// request limit with room for the list of a small namespace. A larger one streams through
/// unchanged (its objects then show the user's real namespace).
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// The user's real namespace and the one the client named (`default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceAlias {
    /// Where the request went.
    pub real: String,
    /// What the client asked for and is shown.
    pub shown: String,
}

/// Ask for an answer [`rewrite_answer`] can read: no compression, and JSON rather than
/// protobuf or CBOR when the client accepts JSON too (a client that accepts only protobuf
/// keeps its `Accept`, and its answer shows the real namespace).
pub fn prefer_readable_answer(headers: &mut HeaderMap) {
    headers.remove(ACCEPT_ENCODING);
    let Some(accept) = headers.get(ACCEPT).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let media = |entry: &str| {
        entry
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let entries: Vec<&str> = accept.split(',').map(str::trim).collect();
    let readable = |entry: &&str| {
        let m = media(entry);
        m == "application/json" || m == "*/*" || m == "application/*"
    };
    if !entries.iter().any(readable) {
        return;
    }
    let kept: Vec<&str> = entries
        .iter()
        .copied()
        .filter(|e| {
            !matches!(
                media(e).as_str(),
                "application/vnd.kubernetes.protobuf" | "application/cbor"
            )
        })
        .collect();
    if kept.len() == entries.len() {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&kept.join(",")) {
        headers.insert(ACCEPT, v);
    }
}

/// Show `alias.shown` instead of `alias.real` in `metadata.namespace` (and an event's
/// `involvedObject` / `regarding` namespace) of an object, of each
/// item of a list, of each row object of a `Table`, and of a watch event's object. Returns
/// whether anything changed.
pub fn show_namespace(v: &mut Value, alias: &NamespaceAlias) -> bool {
    let mut changed = false;
    // An event's subject (core and events.k8s.io) names the namespace too.
    for slot in [
        "/metadata/namespace",
        "/involvedObject/namespace",
        "/regarding/namespace",
    ] {
        changed |= rename(v.pointer_mut(slot), alias);
    }
    for list in ["items", "rows"] {
        if let Some(Value::Array(entries)) = v.get_mut(list) {
            for e in entries {
                let target = if list == "rows" {
                    e.get_mut("object")
                } else {
                    Some(e)
                };
                if let Some(t) = target {
                    changed |= show_namespace(t, alias);
                }
            }
        }
    }
    // A watch event: {"type": …, "object": {…}}.
    if v.get("type").is_some_and(Value::is_string) && v.get("metadata").is_none() {
        if let Some(obj) = v.get_mut("object") {
            changed |= show_namespace(obj, alias);
        }
    }
    changed
}

fn rename(slot: Option<&mut Value>, alias: &NamespaceAlias) -> bool {
    match slot {
        Some(Value::String(ns)) if *ns == alias.real => {
            ns.clone_from(&alias.shown);
            true
        }
        _ => false,
    }
}

/// `bytes` (one JSON document) with the namespace shown as the client asked; `None` when it
/// is not JSON or names no such namespace.
fn rewrite_document(bytes: &[u8], alias: &NamespaceAlias) -> Option<Vec<u8>> {
    // Only a document holding the real namespace's name can change (a bookmark or a Status
    // holds none): the others are not parsed.
    let real = alias.real.as_bytes();
    if real.is_empty() || !bytes.windows(real.len()).any(|w| w == real) {
        return None;
    }
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    if !show_namespace(&mut v, alias) {
        return None;
    }
    serde_json::to_vec(&v).ok()
}

fn is_plain_json(resp: &Response<ProxyBody>) -> bool {
    let json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    json && !resp.headers().contains_key(CONTENT_ENCODING)
}

/// Rewrite `resp` for `alias`: a watch (`watch`) event by event as it streams, any other JSON
/// answer whole when it is at most [`MAX_ANSWER`] bytes.
pub async fn rewrite_answer(
    resp: Response<ProxyBody>,
    alias: &NamespaceAlias,
    watch: bool,
) -> Response<ProxyBody> {
    if !resp.status().is_success() || !is_plain_json(&resp) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    if watch {
        let body = WatchAlias {
            inner: body,
            alias: alias.clone(),
            pending: BytesMut::new(),
            passthrough: false,
            done: false,
        };
        parts.headers.remove(CONTENT_LENGTH);
        return Response::from_parts(parts, body.boxed_unsync());
    }
    match read_bounded(body, MAX_ANSWER).await {
        Ok(bytes) => {
            let Some(out) = rewrite_document(&bytes, alias) else {
                return Response::from_parts(parts, full(bytes));
            };
            if parts.headers.contains_key(CONTENT_LENGTH) {
                parts
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(out.len()));
            }
            Response::from_parts(parts, full(out))
        }
        Err(body) => Response::from_parts(parts, body),
    }
}

/// The whole body when it ends within `limit` bytes, else a body giving back what was read
/// followed by the rest (streamed). A body that fails mid-way is given back failing the same
/// way, after the part read.
async fn read_bounded(mut body: ProxyBody, limit: usize) -> Result<Bytes, ProxyBody> {
    let mut buf = BytesMut::new();
    if body.size_hint().lower() > limit as u64 {
        return Err(body);
    }
    loop {
        match body.frame().await {
            None => return Ok(buf.freeze()),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    buf.extend_from_slice(&data);
                    if buf.len() > limit {
                        return Err(Prefixed {
                            prefix: Some(buf.freeze()),
                            rest: body,
                        }
                        .boxed_unsync());
                    }
                }
                // Trailers end a body; a JSON answer has none worth keeping.
                Err(_) => return Ok(buf.freeze()),
            },
            Some(Err(e)) => {
                return Err(Prefixed {
                    prefix: Some(buf.freeze()),
                    rest: failing(e),
                }
                .boxed_unsync())
            }
        }
    }
}

fn failing(e: BoxError) -> ProxyBody {
    let mut e = Some(e);
    http_body_util::StreamBody::new(futures_util::stream::poll_fn(move |_| {
        Poll::Ready(e.take().map(Err::<Frame<Bytes>, BoxError>))
    }))
    .boxed_unsync()
}

/// Bytes already read, then the rest of the body.
struct Prefixed {
    prefix: Option<Bytes>,
    rest: ProxyBody,
}

impl Body for Prefixed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(p) = self.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(p))));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.rest.is_end_stream()
    }
}

/// A JSON watch stream with each event's object shown in the client's namespace. Events are
/// newline-terminated (kube-apiserver encodes each with Go's `json.Encoder`); a line longer
/// than [`MAX_ANSWER`] switches the stream to pass-through.
struct WatchAlias {
    inner: ProxyBody,
    alias: NamespaceAlias,
    pending: BytesMut,
    passthrough: bool,
    done: bool,
}

impl WatchAlias {
    /// The complete lines of `pending`, rewritten; `None` when there is none yet.
    fn complete_lines(&mut self) -> Option<Bytes> {
        let end = self.pending.iter().rposition(|b| *b == b'\n')? + 1;
        let lines = self.pending.split_to(end);
        let mut out = BytesMut::with_capacity(lines.len());
        for line in lines.split_inclusive(|b| *b == b'\n') {
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            match rewrite_document(body, &self.alias) {
                Some(new) => {
                    out.extend_from_slice(&new);
                    out.extend_from_slice(b"\n");
                }
                None => out.extend_from_slice(line),
            }
        }
        Some(out.freeze())
    }
}

impl Body for WatchAlias {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if this.passthrough {
                if !this.pending.is_empty() {
                    let rest = this.pending.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(rest))));
                }
                return Pin::new(&mut this.inner).poll_frame(cx);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => {
                        this.pending.extend_from_slice(&data);
                        if let Some(out) = this.complete_lines() {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                        if this.pending.len() > MAX_ANSWER {
                            this.passthrough = true;
                        }
                    }
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    this.done = true;
                    if this.pending.is_empty() {
                        return Poll::Ready(None);
                    }
                    // A last event without its newline: rewritten all the same.
                    let last = this.pending.split();
                    let out = rewrite_document(&last, &this.alias)
                        .map(Bytes::from)
                        .unwrap_or_else(|| last.freeze());
                    return Poll::Ready(Some(Ok(Frame::data(out))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alias() -> NamespaceAlias {
        NamespaceAlias {
            real: "kbatch-alice".into(),
            shown: "default".into(),
        }
    }

    #[test]
    fn readable_answers_are_asked_for() {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.kubernetes.protobuf, application/json"),
        );
        prefer_readable_answer(&mut h);
        assert!(h.get(ACCEPT_ENCODING).is_none());
        assert_eq!(h[ACCEPT], "application/json");
        // Only protobuf: kept (the client could not read JSON).
        let mut h = HeaderMap::new();
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/vnd.kubernetes.protobuf"),
        );
        prefer_readable_answer(&mut h);
        assert_eq!(h[ACCEPT], "application/vnd.kubernetes.protobuf");
        // Tables stay tables.
        let table = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
        let mut h = HeaderMap::new();
        h.insert(ACCEPT, HeaderValue::from_static(table));
        prefer_readable_answer(&mut h);
        assert_eq!(h[ACCEPT], table);
    }

    #[test]
    fn objects_lists_tables_and_events_show_the_asked_namespace() {
        let cases = [
            (
                json!({"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kbatch-alice"}}),
                json!({"kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}),
            ),
            (
                json!({"kind": "ConfigMapList", "metadata": {"resourceVersion": "1"}, "items": [
                    {"metadata": {"name": "a", "namespace": "kbatch-alice"}},
                    {"metadata": {"name": "b", "namespace": "kbatch-alice"}}]}),
                json!({"kind": "ConfigMapList", "metadata": {"resourceVersion": "1"}, "items": [
                    {"metadata": {"name": "a", "namespace": "default"}},
                    {"metadata": {"name": "b", "namespace": "default"}}]}),
            ),
            (
                json!({"kind": "Table", "rows": [{"cells": ["a"], "object": {"kind": "PartialObjectMetadata", "metadata": {"name": "a", "namespace": "kbatch-alice"}}}]}),
                json!({"kind": "Table", "rows": [{"cells": ["a"], "object": {"kind": "PartialObjectMetadata", "metadata": {"name": "a", "namespace": "default"}}}]}),
            ),
            (
                json!({"type": "ADDED", "object": {"metadata": {"name": "a", "namespace": "kbatch-alice"}}}),
                json!({"type": "ADDED", "object": {"metadata": {"name": "a", "namespace": "default"}}}),
            ),
            (
                json!({"kind": "Event", "metadata": {"name": "e", "namespace": "kbatch-alice"},
                    "involvedObject": {"kind": "Pod", "name": "p", "namespace": "kbatch-alice"}}),
                json!({"kind": "Event", "metadata": {"name": "e", "namespace": "default"},
                    "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"}}),
            ),
        ];
        for (mut input, want) in cases {
            assert!(show_namespace(&mut input, &alias()), "{input}");
            assert_eq!(input, want);
        }
    }

    #[test]
    fn other_namespaces_and_other_fields_are_left_alone() {
        let mut v = json!({"metadata": {"name": "kbatch-alice", "namespace": "other"},
            "data": {"namespace": "kbatch-alice"},
            "spec": {"template": {"metadata": {"namespace": "kbatch-alice"}}}});
        let before = v.clone();
        assert!(!show_namespace(&mut v, &alias()));
        assert_eq!(v, before);
        // A Status (an error or a delete's answer) names no namespace of its own.
        let mut status = json!({"kind": "Status", "details": {"name": "x", "kind": "configmaps"}});
        assert!(!show_namespace(&mut status, &alias()));
    }

    fn answer(body: ProxyBody, content_type: &str) -> Response<ProxyBody> {
        let mut r = Response::new(body);
        r.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("test value"),
        );
        r
    }

    async fn text(resp: Response<ProxyBody>) -> String {
        let bytes = resp
            .into_body()
            .collect()
            .await
            .expect("test value")
            .to_bytes();
        String::from_utf8(bytes.to_vec()).expect("test value")
    }

    #[tokio::test]
    async fn a_json_answer_is_rewritten_and_its_length_follows() {
        let body = r#"{"metadata":{"name":"x","namespace":"kbatch-alice"}}"#;
        let mut resp = answer(full(body), "application/json");
        resp.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        let out = rewrite_answer(resp, &alias(), false).await;
        let len: usize = out.headers()[CONTENT_LENGTH]
            .to_str()
            .expect("test value")
            .parse()
            .expect("test value");
        let got = text(out).await;
        assert_eq!(got, r#"{"metadata":{"name":"x","namespace":"default"}}"#);
        assert_eq!(len, got.len());
    }

    #[tokio::test]
    async fn protobuf_errors_and_compressed_answers_stream_unchanged() {
        let body = r#"{"metadata":{"namespace":"kbatch-alice"}}"#;
        let proto = answer(full(body), "application/vnd.kubernetes.protobuf");
        assert_eq!(
            text(rewrite_answer(proto, &alias(), false).await).await,
            body
        );
        let mut gz = answer(full(body), "application/json");
        gz.headers_mut()
            .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert_eq!(text(rewrite_answer(gz, &alias(), false).await).await, body);
        let mut err = answer(full(body), "application/json");
        *err.status_mut() = http::StatusCode::CONFLICT;
        assert_eq!(text(rewrite_answer(err, &alias(), false).await).await, body);
    }

    #[tokio::test]
    async fn an_answer_over_the_bound_streams_through_whole() {
        let big = format!(
            r#"{{"metadata":{{"namespace":"kbatch-alice"}},"data":{{"x":"{}"}}}}"#,
            "a".repeat(MAX_ANSWER)
        );
        let chunks: Vec<Result<Frame<Bytes>, BoxError>> = big
            .as_bytes()
            .chunks(1 << 20)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
        let resp = answer(body.boxed_unsync(), "application/json");
        assert_eq!(text(rewrite_answer(resp, &alias(), false).await).await, big);
    }

    #[tokio::test]
    async fn watch_events_are_rewritten_across_frame_boundaries() {
        let events = concat!(
            r#"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"kbatch-alice"}}}"#,
            "\n",
            r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}"#,
            "\n",
            r#"{"type":"DELETED","object":{"metadata":{"name":"a","namespace":"kbatch-alice"}}}"#,
            "\n",
        );
        // Split at awkward places: mid-event, right after a newline, one byte at a time.
        let bytes = events.as_bytes();
        let cuts = [0, 7, 81, 82, 83, 150, bytes.len()];
        let chunks: Vec<Result<Frame<Bytes>, BoxError>> = cuts
            .windows(2)
            .map(|w| Ok(Frame::data(Bytes::copy_from_slice(&bytes[w[0]..w[1]]))))
            .collect();
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(chunks));
        let resp = answer(body.boxed_unsync(), "application/json");
        let got = text(rewrite_answer(resp, &alias(), true).await).await;
        assert_eq!(got, events.replace("kbatch-alice", "default"));
    }
}
