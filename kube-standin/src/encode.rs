//! Response encoding as kube-apiserver does it: Go's JSON bytes, standard headers, framing.
//!
//! Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings and the
//! apiserver ends every JSON body with one `\n`; bodies up to 2048 bytes carry
//! `Content-Length`, larger ones are chunked (Go's `net/http` buffer). Every API answer carries
//! `Audit-Id`, `Cache-Control: no-cache, private` and the API Priority and Fairness headers.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full, StreamBody};
use serde_json::Value;

use crate::status::ApiError;

/// The response body type of every handler.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The largest body Go's `net/http` sends with `Content-Length` rather than chunked.
pub const CONTENT_LENGTH_LIMIT: usize = 2048;

/// Fixed flow-schema / priority-level UIDs (kube-apiserver sends the UIDs of its `exempt`
/// FlowSchema and PriorityLevel for admin requests; any stable UUIDs do).
const PF_FLOWSCHEMA_UID: &str = "3e7cb8b4-7e48-4b7f-a8d5-4d9a5b7e3d01";
const PF_PRIORITYLEVEL_UID: &str = "0d2c8b1e-5b0e-4c6a-9f7e-2a4f6c1d8e02";

/// Encode `v` the way Go's `encoding/json` does, followed by `\n` (compact) or as
/// `json.MarshalIndent(v, "", "  ")` plus `\n` (pretty).
pub fn go_json(v: &Value, pretty: bool) -> Vec<u8> {
    let raw = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
    .unwrap_or_else(|_| "null".to_string());
    let mut out = String::with_capacity(raw.len() + 16);
    // `<`, `>` and `&` can only occur inside JSON strings, so escaping them bytewise is safe.
    for ch in raw.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out.into_bytes()
}

/// A body of known bytes, framed as the apiserver frames it (length up to 2048, else chunked).
pub fn body_bytes(bytes: impl Into<Bytes>) -> Body {
    let bytes: Bytes = bytes.into();
    if bytes.len() <= CONTENT_LENGTH_LIMIT {
        Full::new(bytes).boxed_unsync()
    } else {
        chunked_once(bytes)
    }
}

/// A body always sent chunked, even when short (streams that happen to be small).
pub fn chunked_once(bytes: Bytes) -> Body {
    let stream = futures_util::stream::iter([Ok::<_, Infallible>(hyper::body::Frame::data(bytes))]);
    StreamBody::new(stream).boxed_unsync()
}

/// An empty body.
pub fn empty() -> Body {
    Full::new(Bytes::new()).boxed_unsync()
}

/// A streaming body fed by a channel; each message becomes one chunk on the wire.
pub fn channel_body(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Body {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(hyper::body::Frame::data(b)), rx))
    });
    StreamBody::new(stream).boxed_unsync()
}

/// Start a response with the headers every API answer carries.
pub fn api_response(
    status: StatusCode,
    content_type: &str,
    flow_control: bool,
) -> http::response::Builder {
    let mut b = Response::builder()
        .status(status)
        .header("Audit-Id", uuid::Uuid::new_v4().to_string())
        .header(CACHE_CONTROL, "no-cache, private")
        .header(CONTENT_TYPE, content_type);
    if flow_control {
        b = b
            .header("X-Kubernetes-Pf-Flowschema-Uid", PF_FLOWSCHEMA_UID)
            .header("X-Kubernetes-Pf-Prioritylevel-Uid", PF_PRIORITYLEVEL_UID);
    }
    b
}

/// Options that shape a JSON answer.
#[derive(Debug, Clone, Default)]
pub struct JsonOpts {
    /// Pretty-print (`?pretty=true`, or a `curl`/`Wget`/`Mozilla/5.0` User-Agent).
    pub pretty: bool,
    /// `Warning: 299 - "…"` headers to add.
    pub warnings: Vec<String>,
}

/// A JSON answer with standard headers.
pub fn json_response(status: StatusCode, v: &Value, opts: &JsonOpts) -> Response<Body> {
    let bytes = go_json(v, opts.pretty);
    let mut b = api_response(status, "application/json", true);
    for w in &opts.warnings {
        b = b.header("Warning", warning_value(w));
    }
    b.body(body_bytes(bytes)).unwrap_or_else(|_| fallback())
}

/// The `Warning` header value for a message: `299 - "<message with quotes escaped>"`.
pub fn warning_value(message: &str) -> String {
    format!(
        "299 - \"{}\"",
        message.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// Render an [`ApiError`] as the apiserver does (JSON `Status`, or text/plain).
pub fn error_response(e: &ApiError, pretty: bool) -> Response<Body> {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut b = if e.plain_text {
        api_response(status, "text/plain; charset=utf-8", true)
            .header("X-Content-Type-Options", "nosniff")
    } else {
        let b = api_response(status, "application/json", true);
        if e.code == 403 {
            b.header("X-Content-Type-Options", "nosniff")
        } else {
            b
        }
    };
    for (name, value) in &e.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::try_from(*name),
            HeaderValue::try_from(value.as_str()),
        ) {
            b = b.header(n, v);
        }
    }
    let body = if e.plain_text {
        body_bytes(format!("{}\n", e.message))
    } else {
        body_bytes(go_json(&e.to_status(), pretty))
    };
    b.body(body).unwrap_or_else(|_| fallback())
}

fn fallback() -> Response<Body> {
    let mut r = Response::new(empty());
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

/// Whether the apiserver would pretty-print for this request.
pub fn wants_pretty(query_pretty: Option<&str>, user_agent: Option<&str>) -> bool {
    if let Some(p) = query_pretty {
        return matches!(p, "true" | "1" | "True");
    }
    match user_agent {
        Some(ua) => {
            ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_go() {
        let v = json!({"a": "<none> & more", "b": [1, 2]});
        assert_eq!(
            String::from_utf8(go_json(&v, false)).expect("utf8"),
            "{\"a\":\"\\u003cnone\\u003e \\u0026 more\",\"b\":[1,2]}\n"
        );
        assert_eq!(
            String::from_utf8(go_json(&json!({"a": {}}), true)).expect("utf8"),
            "{\n  \"a\": {}\n}\n"
        );
    }

    #[test]
    fn pretty_rules() {
        assert!(wants_pretty(None, Some("curl/8.0")));
        assert!(!wants_pretty(None, Some("kubectl/v1.32.5")));
        assert!(wants_pretty(Some("true"), Some("kubectl")));
        assert!(!wants_pretty(Some("false"), Some("curl/8")));
    }
}
