//! The body type of every proxy response: upstream bodies stream through unchanged (boxed, not
//! collected); the proxy's own answers are small full bodies.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Frame;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};
use tokio::sync::oneshot;

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

/// How much of an oversized request body is still read (and thrown away) after the limit is
/// reached, so that the 413 reaches clients that send the whole body before reading the
/// answer (Python's `http.client`, curl without `Expect`): closing a connection with unread
/// data in its receive buffer makes the kernel send a reset, which destroys the answer.
pub const DRAIN_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// How long that draining may take at most (a slow sender cannot hold the connection).
pub const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);

/// Read and discard the rest of `body`, up to [`DRAIN_MAX_BYTES`] within [`DRAIN_MAX_TIME`].
/// `true` when the body ended within those bounds.
pub async fn drain<B>(body: B) -> bool
where
    B: http_body::Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let deadline = tokio::time::Instant::now() + DRAIN_MAX_TIME;
    let mut read: u64 = 0;
    loop {
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(None) => return true,
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    read = read.saturating_add(data.len() as u64);
                    if read > DRAIN_MAX_BYTES {
                        return false;
                    }
                }
            }
            Ok(Some(Err(_))) | Err(_) => return false,
        }
    }
}

/// Collect a request body of at most `limit` bytes: 413 beyond (after [`drain`]ing the rest,
/// so the client reads the answer), 400 when the client's body breaks off. For the few
/// requests the proxy must read (policies, reviews, kbatch).
pub async fn collect_request<B>(body: B, limit: usize) -> Result<Bytes, crate::error::ProxyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    use crate::error::ProxyError;
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    if body.size_hint().lower() > limit as u64 {
        drain(body.as_mut()).await;
        return Err(ProxyError::PayloadTooLarge(limit));
    }
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            let e: BoxError = e.into();
            ProxyError::BadRequest(format!("reading the request body: {e}"))
        })?;
        if let Some(data) = frame.data_ref() {
            if buf.len().saturating_add(data.len()) > limit {
                drain(body.as_mut()).await;
                return Err(ProxyError::PayloadTooLarge(limit));
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(buf.freeze())
}

/// A request body streamed upstream and cut off past `limit` bytes. The client's body is then
/// handed back through the channel [`Capped::new`] returns, so the caller can [`drain`] it and
/// answer 413 (the upstream request fails and is never completed).
pub struct Capped<B> {
    inner: Option<Pin<Box<B>>>,
    limit: usize,
    seen: usize,
    over: Option<oneshot::Sender<Pin<Box<B>>>>,
}

impl<B> Capped<B> {
    /// Wrap `body`; the receiver gets the rest of the body once the limit was passed.
    pub fn new(body: B, limit: usize) -> (Self, oneshot::Receiver<Pin<Box<B>>>) {
        let (tx, rx) = oneshot::channel();
        let capped = Capped {
            inner: Some(Box::pin(body)),
            limit,
            seen: 0,
            over: Some(tx),
        };
        (capped, rx)
    }

    fn cut_off(&mut self) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let (Some(inner), Some(tx)) = (self.inner.take(), self.over.take()) {
            // The receiver is gone only when the caller stopped waiting: nothing to drain.
            let _ = tx.send(inner);
        }
        Poll::Ready(Some(Err(Box::new(
            crate::error::ProxyError::PayloadTooLarge(self.limit),
        ))))
    }
}

impl<B> http_body::Body for Capped<B>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if this.seen == 0 && inner.size_hint().lower() > this.limit as u64 {
            return this.cut_off();
        }
        match inner.as_mut().poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len());
                    if this.seen > this.limit {
                        return this.cut_off();
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner
            .as_ref()
            .map(|b| b.size_hint())
            .unwrap_or_else(|| http_body::SizeHint::with_exact(0))
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
