//! The proxy's one error type and its rendering: a Kubernetes `Status` on API paths (so
//! kubectl prints `Error from server (Forbidden): …`), `{"detail": …}` on kbatch paths.

use bytes::Bytes;
use http::{header, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::body::{full, ProxyBody};

/// Everything the proxy itself can answer with instead of forwarding.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// No usable credential, or the hub rejected the token.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here.
    #[error("{0}")]
    NotFound(String),
    /// The client sent something malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The method is not served on this path (writes to discovery paths); the message is
    /// kube-apiserver's.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// Request body over the limit.
    #[error("request entity too large: limit is {0} bytes")]
    PayloadTooLarge(usize),
    /// A body the proxy cannot decode.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The API server could not be reached.
    #[error("the Kubernetes API server is unreachable: {0}")]
    BadGateway(String),
    /// The hub could not be reached or answered with an error.
    #[error("the JupyterHub API is unavailable: {0}")]
    ServiceUnavailable(String),
    /// A step the proxy takes on the user's behalf (namespace provisioning) failed upstream.
    #[error("{0}")]
    Unavailable(String),
    /// The proxy failed internally (never used for client mistakes).
    #[error("internal error: {0}")]
    Internal(String),
    /// The proxy is at a capacity limit (429 with `Retry-After`, as kube-apiserver's priority
    /// and fairness answers; client-go waits and retries).
    #[error("{message}")]
    TooManyRequests {
        /// What is full.
        message: String,
        /// Seconds after which to try again.
        retry_after: u32,
    },
    /// A well-formed request the proxy cannot act on (422), e.g. a kbatch job without containers.
    #[error("{0}")]
    Unprocessable(String),
    /// An error answer of the API server to a call the proxy made itself (kbatch REST API):
    /// its status code and `Status.message`, relayed.
    #[error("{message}")]
    Api {
        /// The API server's status code.
        status: StatusCode,
        /// The API server's message.
        message: String,
    },
}

impl ProxyError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ProxyError::Forbidden(_) => StatusCode::FORBIDDEN,
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProxyError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProxyError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProxyError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ProxyError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ProxyError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::Api { status, .. } => *status,
        }
    }

    /// The `reason` of the Status, as kube-apiserver names it.
    pub fn reason(&self) -> &'static str {
        match self {
            ProxyError::Unauthorized(_) => "Unauthorized",
            ProxyError::Forbidden(_) => "Forbidden",
            ProxyError::NotFound(_) => "NotFound",
            ProxyError::BadRequest(_) => "BadRequest",
            ProxyError::MethodNotAllowed => "MethodNotAllowed",
            ProxyError::PayloadTooLarge(_) => "RequestEntityTooLarge",
            ProxyError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ProxyError::BadGateway(_) => "ServiceUnavailable",
            ProxyError::ServiceUnavailable(_) => "ServiceUnavailable",
            ProxyError::Unavailable(_) => "ServiceUnavailable",
            ProxyError::Internal(_) => "InternalError",
            ProxyError::Unprocessable(_) => "Invalid",
            ProxyError::TooManyRequests { .. } => "TooManyRequests",
            ProxyError::Api { status, .. } => match status.as_u16() {
                401 => "Unauthorized",
                403 => "Forbidden",
                404 => "NotFound",
                409 => "AlreadyExists",
                410 => "Gone",
                422 => "Invalid",
                429 => "TooManyRequests",
                400 => "BadRequest",
                405 => "MethodNotAllowed",
                _ => "InternalError",
            },
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.to_string()));
        m.insert("reason".into(), json!(self.reason()));
        if matches!(self, ProxyError::MethodNotAllowed) {
            // kube-apiserver's 405 carries an empty `details`.
            m.insert("details".into(), json!({}));
        }
        if let ProxyError::TooManyRequests { retry_after, .. } = self {
            m.insert("details".into(), json!({"retryAfterSeconds": retry_after}));
        }
        m.insert("code".into(), json!(self.status().as_u16()));
        Value::Object(m)
    }

    /// The response on a raw API path.
    pub fn to_api_response(&self) -> Response<ProxyBody> {
        let mut body = serde_json::to_vec(&self.to_status()).unwrap_or_default();
        body.push(b'\n');
        let mut r = respond(self.status(), "application/json", Bytes::from(body));
        if matches!(self, ProxyError::MethodNotAllowed) {
            // RFC 9110: a 405 lists the methods the target supports.
            r.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        }
        add_retry_after(self, &mut r);
        r
    }

    /// The response on a kbatch REST path: `{"detail": "<message>"}`.
    pub fn to_detail_response(&self) -> Response<ProxyBody> {
        let body = serde_json::to_vec(&json!({"detail": self.to_string()})).unwrap_or_default();
        let mut r = respond(self.status(), "application/json", Bytes::from(body));
        add_retry_after(self, &mut r);
        r
    }
}

fn add_retry_after(e: &ProxyError, r: &mut Response<ProxyBody>) {
    if let ProxyError::TooManyRequests { retry_after, .. } = e {
        r.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(*retry_after));
    }
}

/// An error and its causes on one line (hyper's and rustls's top-level errors say little).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ProxyBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache, private"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_shape() {
        let e = ProxyError::Forbidden("pods is forbidden: nope".into());
        assert_eq!(
            serde_json::to_string(&e.to_status()).expect("json"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: nope","reason":"Forbidden","code":403}"#
        );
        assert_eq!(
            ProxyError::ServiceUnavailable("x".into()).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ProxyError::BadGateway("x".into()).status(),
            StatusCode::BAD_GATEWAY
        );
        assert_eq!(ProxyError::PayloadTooLarge(10).status().as_u16(), 413);
    }

    #[test]
    fn method_not_allowed_is_kube_apiservers_405() {
        let e = ProxyError::MethodNotAllowed;
        // Byte for byte the body of kube-apiserver 1.28 (k8s-reference/crud/errors.txt).
        assert_eq!(
            serde_json::to_string(&e.to_status()).expect("json"),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed","details":{},"code":405}"#
        );
        let r = e.to_api_response();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
    }
}
