//! Log endpoints: `/pods/logs/{pod}/` and `/jobs/logs/{job}/`, plain (the API server's body
//! streamed through) or `?stream=true` (`follow`, re-chunked line by line as the kbatch CLIs
//! expect: they print every received chunk with its own newline). Nothing is buffered beyond
//! the current line.

use std::collections::VecDeque;

use crate::upstream::UpstreamBody;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};

use super::k8s;
use crate::auth::User;
use crate::body::{BoxError, ProxyBody};
use crate::error::ProxyError;
use crate::router::AppState;

/// A line longer than this is sent in pieces (so one endless line cannot grow the buffer).
const MAX_LINE: usize = 64 * 1024;

/// Turns a log byte stream into chunks for the kbatch CLIs: each line without its newline;
/// empty lines (which cannot be a chunk of their own) become leading newlines of the next
/// chunk, so that `print(chunk)` reproduces them; a last line without a newline is kept.
#[derive(Debug, Default)]
pub struct LineChunker {
    buf: BytesMut,
    empties: usize,
}

impl LineChunker {
    /// Feed bytes; returns the complete chunks.
    pub fn push(&mut self, data: &[u8]) -> Vec<Bytes> {
        let mut out = Vec::new();
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line = self.buf.split_to(i + 1);
            self.line(&line[..i], &mut out);
        }
        if self.buf.len() > MAX_LINE {
            let line = self.buf.split();
            self.line(&line, &mut out);
        }
        out
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Bytes>) {
        if line.is_empty() {
            self.empties += 1;
            return;
        }
        let mut chunk = Vec::with_capacity(self.empties + line.len());
        chunk.resize(self.empties, b'\n');
        chunk.extend_from_slice(line);
        self.empties = 0;
        out.push(Bytes::from(chunk));
    }

    /// The end of the stream: the last unterminated line, or trailing empty lines.
    pub fn finish(&mut self) -> Option<Bytes> {
        if !self.buf.is_empty() {
            let line = self.buf.split();
            let mut out = Vec::new();
            self.line(&line, &mut out);
            return out.pop();
        }
        // `print("\n" * (n - 1))` shows n empty lines; one trailing empty line is dropped.
        (self.empties > 1).then(|| Bytes::from(vec![b'\n'; self.empties - 1]))
    }
}

struct ChunkState {
    body: UpstreamBody,
    chunker: LineChunker,
    queue: VecDeque<Bytes>,
    done: bool,
}

fn line_stream(body: UpstreamBody) -> ProxyBody {
    let st = ChunkState {
        body,
        chunker: LineChunker::default(),
        queue: VecDeque::new(),
        done: false,
    };
    let stream = futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if let Some(c) = st.queue.pop_front() {
                return Some((Ok::<_, BoxError>(Frame::data(c)), st));
            }
            if st.done {
                return None;
            }
            match st.body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        st.queue.extend(st.chunker.push(&data));
                    }
                }
                Some(Err(e)) => {
                    // Like the original: the stream just ends.
                    tracing::debug!(error = %e, "log stream from the API server ended");
                    st.done = true;
                    st.queue.extend(st.chunker.finish());
                }
                None => {
                    st.done = true;
                    st.queue.extend(st.chunker.finish());
                }
            }
        }
    });
    StreamBody::new(stream).boxed_unsync()
}

/// The logs of `pod` in `ns` (its only container, or `container`).
pub async fn pod_logs(
    state: &AppState,
    user: &User,
    pod: &str,
    container: Option<&str>,
    follow: bool,
) -> Result<Response<ProxyBody>, ProxyError> {
    let mut path = format!("{}/log", k8s::PODS.object_path(Some(&user.namespace), pod));
    let mut params = Vec::new();
    if follow {
        params.push("follow=true".to_string());
    }
    if let Some(c) = container {
        params.push(format!(
            "container={}",
            percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
        ));
    }
    if !params.is_empty() {
        path.push('?');
        path.push_str(&params.join("&"));
    }
    let resp = k8s::send(state, user, Method::GET, &path, None).await?;
    if !resp.status().is_success() {
        return Err(k8s::error_from(resp).await);
    }
    let body = if follow {
        line_stream(resp.into_body())
    } else {
        crate::body::stream(resp.into_body())
    };
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(r)
}

/// The pod whose logs `/jobs/logs/{job}/` shows: the newest pod labelled
/// `batch.kubernetes.io/job-name=<job>`; with none, a pod named `job` (what kbatch 0.4.2's
/// `pod logs` sends to this path); else 404 as kbatch says it.
pub async fn job_pod(state: &AppState, user: &User, job: &str) -> Result<String, ProxyError> {
    let sel = format!("batch.kubernetes.io/job-name={job}");
    let pods = k8s::list(state, user, k8s::PODS, Some(&sel)).await?;
    let newest = pods["items"]
        .as_array()
        .into_iter()
        .flatten()
        .max_by(|a, b| {
            let ts = |p: &serde_json::Value| {
                p["metadata"]["creationTimestamp"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            ts(a).cmp(&ts(b))
        })
        .and_then(|p| p["metadata"]["name"].as_str().map(str::to_string));
    if let Some(name) = newest {
        return Ok(name);
    }
    match k8s::get(state, user, k8s::PODS, job).await {
        Ok(_) => Ok(job.to_string()),
        Err(_) => Err(ProxyError::NotFound(format!("No pods found for job {job}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[&str]) -> Vec<String> {
        let mut c = LineChunker::default();
        let mut out: Vec<Bytes> = Vec::new();
        for i in input {
            out.extend(c.push(i.as_bytes()));
        }
        out.extend(c.finish());
        out.into_iter()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    /// What the CLI prints: every chunk followed by a newline.
    fn printed(chunks: &[String]) -> String {
        chunks.iter().map(|c| format!("{c}\n")).collect()
    }

    #[test]
    fn chunks_reproduce_the_log_when_printed() {
        let cases: &[(&[&str], &[&str], &str)] = &[
            (&["l1\nl2\n"], &["l1", "l2"], "l1\nl2\n"),
            (&["l", "1\nl", "2\n"], &["l1", "l2"], "l1\nl2\n"),
            (&["a\n\nb\n"], &["a", "\nb"], "a\n\nb\n"),
            (&["a\n\n\n\nb\n"], &["a", "\n\n\nb"], "a\n\n\n\nb\n"),
            (&["last"], &["last"], "last\n"),
            (&["a\n", "tail"], &["a", "tail"], "a\ntail\n"),
            (&["a\n\n\n"], &["a", "\n"], "a\n\n\n"),
            (&[], &[], ""),
        ];
        for (input, chunks, shown) in cases {
            let got = run(input);
            assert_eq!(got, *chunks, "{input:?}");
            assert_eq!(printed(&got), *shown, "{input:?}");
        }
    }

    #[test]
    fn long_lines_are_split() {
        let long = "x".repeat(MAX_LINE + 10);
        let got = run(&[&long]);
        assert_eq!(got.concat(), long);
        assert_eq!(got.len(), 1, "one chunk: the whole line, over the limit");
    }
}
