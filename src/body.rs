//! The body type of every proxy response: upstream bodies stream through unchanged (boxed, not
//! collected); the proxy's own answers are small full bodies.

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

/// Errors a streamed body can end with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Response (and forwarded request) body.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// A complete body.
pub fn full(b: impl Into<Bytes>) -> ProxyBody {
    Full::new(b.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// Wrap any body (e.g. hyper's `Incoming`) without buffering it.
pub fn stream<B>(body: B) -> ProxyBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// Collect a request body of at most `limit` bytes: 413 beyond, 400 when the client's body
/// breaks off. For the few requests the proxy must read (policies, reviews, kbatch).
pub async fn collect_request<B>(body: B, limit: usize) -> Result<Bytes, crate::error::ProxyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    use crate::error::ProxyError;
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ProxyError::PayloadTooLarge(limit))
        }
        Err(e) => Err(ProxyError::BadRequest(format!(
            "reading the request body: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ProxyError;

    #[tokio::test]
    async fn collect_request_enforces_the_limit() {
        let ok = collect_request(Full::new(Bytes::from_static(b"abc")), 3).await;
        assert_eq!(ok.expect("within the limit"), Bytes::from_static(b"abc"));
        let big = collect_request(Full::new(Bytes::from_static(b"abcd")), 3).await;
        assert!(
            matches!(big, Err(ProxyError::PayloadTooLarge(3))),
            "{big:?}"
        );
    }
}
