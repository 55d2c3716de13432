//! `pods/exec` and `pods/attach` over WebSocket, as kube-apiserver (≥1.30, which translates
//! `v5.channel.k8s.io` itself) and the kubelet's streaming server (older channel protocols)
//! serve them, with a tiny built-in shell standing in for the container (the `shell` submodule).
//!
//! Wire protocol (k8s.io/apimachinery `wsstream`, kubelet `cri/streaming/remotecommand`): every
//! message starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize; the
//! `base64.` variants send text frames `'0'+channel` followed by base64. First the server sends
//! one empty message on the lowest writable channel; at the end it writes the status on the
//! error channel and closes the WebSocket. v4/v5 write a JSON `Status`, older protocols only
//! the error text. v5 adds `[255, channel]` from the client to half-close stdin.
//! SPDY (kubectl's fallback) is not implemented: it gets a 400.

mod shell;
#[cfg(test)]
mod tests;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::encode::Body;
use crate::status::ApiError;
use shell::{Fd, Outcome};

/// Channel numbers of the remotecommand protocol.
const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
/// v5: `[CLOSE, channel]` half-closes a channel.
const CLOSE: u8 = 255;
/// The channels a session has (stdin..resize); a close for any other is a protocol error.
const CHANNELS: u8 = 5;

/// What the client asked for in the query string (`PodExecOptions`/`PodAttachOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOptions {
    /// argv (`command=` repeated); empty for attach.
    pub command: Vec<String>,
    /// `container=`.
    pub container: String,
    /// `stdin=`.
    pub stdin: bool,
    /// `stdout=`.
    pub stdout: bool,
    /// `stderr=` (forced off with `tty`, as the kubelet does).
    pub stderr: bool,
    /// `tty=`.
    pub tty: bool,
}

impl ExecOptions {
    /// Parse the query. Booleans follow the apiserver's query conversion: absent → false,
    /// `0` or any case of `false` → false, anything else (even empty) → true.
    pub fn from_query(query: &str) -> Result<Self, ApiError> {
        let mut o = ExecOptions::default();
        let mut seen = std::collections::HashSet::new();
        for (k, v) in query_pairs(query) {
            // Like Go's url.Values, the first value of a scalar parameter wins.
            let first = seen.insert(k.clone());
            match k.as_str() {
                "command" => o.command.push(v),
                "container" if first => o.container = v,
                "stdin" if first => o.stdin = query_bool(&v),
                "stdout" if first => o.stdout = query_bool(&v),
                "stderr" if first => o.stderr = query_bool(&v),
                "tty" if first => o.tty = query_bool(&v),
                _ => {}
            }
        }
        if o.tty {
            o.stderr = false;
        }
        if !o.stdin && !o.stdout && !o.stderr {
            return Err(ApiError::bad_request(
                "you must specify at least 1 of stdin, stdout, stderr",
            ));
        }
        Ok(o)
    }
}

fn query_bool(v: &str) -> bool {
    !(v == "0" || v.eq_ignore_ascii_case("false"))
}

/// `application/x-www-form-urlencoded` pairs, percent- and `+`-decoded.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|c| (*c as char).to_digit(16));
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the request asks for a WebSocket upgrade (`Upgrade: websocket` and a `Connection`
/// header with the `upgrade` token), as `wsstream.IsWebSocketRequest` decides.
pub fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let upgrade = headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let connection = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    upgrade && connection
}

/// A negotiated channel subprotocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Protocol {
    /// The `Sec-WebSocket-Protocol` answered (empty: none requested, none answered).
    name: &'static str,
    /// Text frames with base64 payloads.
    base64: bool,
    /// The error channel carries a JSON `Status` (v4, v5) rather than plain error text.
    json_status: bool,
    /// v5: served by kube-apiserver's stream translator (stream close, its status wording).
    v5: bool,
}

const fn proto(name: &'static str, base64: bool, json_status: bool, v5: bool) -> Protocol {
    Protocol {
        name,
        base64,
        json_status,
        v5,
    }
}

/// v5 is handled by kube-apiserver itself (binary only); the rest by the kubelet.
const V5: Protocol = proto("v5.channel.k8s.io", false, true, true);
const KUBELET_PROTOCOLS: [Protocol; 4] = [
    proto("v4.channel.k8s.io", false, true, false),
    proto("v4.base64.channel.k8s.io", true, true, false),
    proto("channel.k8s.io", false, false, false),
    proto("base64.channel.k8s.io", true, false, false),
];

/// Every `Sec-WebSocket-Protocol` value offered, in order.
fn offered_protocols(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// kube-apiserver routes a request offering v5 to its translator (which speaks only v5);
/// anything else goes to the kubelet, which takes the client's first protocol it knows.
fn negotiate(offered: &[String]) -> Option<Protocol> {
    if offered.iter().any(|p| p == V5.name) {
        return Some(V5);
    }
    if offered.is_empty() {
        return Some(proto("", false, false, false));
    }
    offered
        .iter()
        .find_map(|o| KUBELET_PROTOCOLS.iter().find(|p| p.name == o).copied())
}

fn websocket_only() -> ApiError {
    ApiError::bad_request(
        "the stand-in supports exec/attach only over WebSocket (v4/v5.channel.k8s.io) — SPDY is not implemented",
    )
}

/// Complete the WebSocket handshake (101 with `Sec-WebSocket-Accept` and the chosen subprotocol
/// from v5.channel.k8s.io, v4.channel.k8s.io, v4.base64.channel.k8s.io, channel.k8s.io,
/// base64.channel.k8s.io) and spawn the session.
/// `attach` = Some(rx) for pods/attach: the session streams the container's output lines from rx
/// to stdout instead of running a command.
pub fn serve(
    mut req: Request<hyper::body::Incoming>,
    opts: ExecOptions,
    attach: Option<broadcast::Receiver<Bytes>>,
) -> Result<Response<Body>, ApiError> {
    let headers = req.headers();
    let key = headers.get(http::header::SEC_WEBSOCKET_KEY);
    let (true, Some(key)) = (is_websocket_upgrade(headers), key) else {
        return Err(websocket_only());
    };
    let version = headers.get(http::header::SEC_WEBSOCKET_VERSION);
    if version.map(|v| v.as_bytes()) != Some(b"13") {
        return Err(ApiError::bad_request(
            "unsupported WebSocket version: Sec-WebSocket-Version must be 13",
        ));
    }
    let offered = offered_protocols(headers);
    let Some(protocol) = negotiate(&offered) else {
        return Err(ApiError::bad_request(format!(
            "{} (requested protocol(s) [{}] are not supported)",
            websocket_only().message,
            offered.join(" ")
        )));
    };
    if attach.is_none() && opts.command.is_empty() {
        return Err(ApiError::bad_request(
            "you must specify at least one command for the container",
        ));
    }
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let hostname = pod_name(req.uri().path());
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                Session::new(ws, protocol, opts, hostname).run(attach).await;
            }
            Err(e) => tracing::debug!("exec: upgrade failed: {e}"),
        }
    });
    let mut b = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, "websocket")
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::SEC_WEBSOCKET_ACCEPT, accept);
    if !protocol.name.is_empty() {
        b = b.header(http::header::SEC_WEBSOCKET_PROTOCOL, protocol.name);
    }
    b.body(crate::encode::empty())
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The pod name in `…/pods/<name>/exec` (the container's hostname).
fn pod_name(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    parts
        .iter()
        .position(|p| *p == "pods")
        .and_then(|i| parts.get(i + 1))
        .map(|s| s.to_string())
        .unwrap_or_else(|| "localhost".into())
}

/// The `Status` written on the error channel when the process ends (`None`: nothing is written,
/// which is how pre-v4 protocols report success).
fn final_status(outcome: &Outcome, protocol: Protocol, argv: &[String]) -> Option<Value> {
    let status = match outcome {
        Outcome::Exit(0) => json!({"metadata": {}, "status": "Success"}),
        Outcome::Exit(code) => {
            // The v5 translator re-wraps the error its SPDY client decoded from the kubelet.
            let inner = if protocol.v5 {
                format!("command terminated with exit code {code}")
            } else {
                format!(
                    "error executing command [{}], exit code {code}",
                    argv.join(" ")
                )
            };
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("command terminated with non-zero exit code: {inner}"),
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
            })
        }
        Outcome::StartFailed(err) => {
            let mut cause = format!("error executing command in container: {err}");
            if protocol.v5 {
                // The translator wraps the kubelet's InternalError message once more.
                cause = format!("Internal error occurred: {cause}");
            }
            json!({
                "metadata": {},
                "status": "Failure",
                "message": format!("Internal error occurred: {cause}"),
                "reason": "InternalError",
                "details": {"causes": [{"message": cause}]},
                "code": 500,
            })
        }
    };
    if protocol.json_status {
        Some(status)
    } else if status["status"] == "Success" {
        None
    } else {
        Some(status["message"].clone())
    }
}

type Ws = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Why the session loop stopped.
enum End {
    /// The process (or attach) finished: report its status.
    Finished,
    /// The client went away or broke the protocol: just stop.
    Gone,
}

/// One upgraded exec/attach connection.
struct Session {
    ws: Ws,
    protocol: Protocol,
    opts: ExecOptions,
    hostname: String,
    /// Stdin towards the process; `None` once closed.
    stdin: Option<mpsc::UnboundedSender<Bytes>>,
    /// Terminal line discipline (echo, line editing) when `tty` is set.
    line: Option<LineDiscipline>,
}

impl Session {
    fn new(ws: Ws, protocol: Protocol, opts: ExecOptions, hostname: String) -> Self {
        let line = opts.tty.then(LineDiscipline::default);
        Session {
            ws,
            protocol,
            opts,
            hostname,
            stdin: None,
            line,
        }
    }

    async fn run(mut self, attach: Option<broadcast::Receiver<Bytes>>) {
        let (out_tx, mut out_rx) = mpsc::channel::<(Fd, Bytes)>(64);
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        // Without stdin the process sees EOF at once (the kubelet does not open the stream).
        let stdin_rx = if self.opts.stdin {
            self.stdin = Some(in_tx);
            Some(in_rx)
        } else {
            None
        };
        // The kubelet announces the connection with one empty message on the lowest
        // writable channel.
        let first = match (self.opts.stdout, self.opts.stderr) {
            (true, _) => STDOUT,
            (false, true) => STDERR,
            _ => ERROR,
        };
        if self.send(first, b"").await.is_err() {
            return;
        }
        let mut io = shell::Io {
            stdin: shell::Stdin::new(stdin_rx),
            out: shell::Output::new(out_tx),
            hostname: self.hostname.clone(),
            tty: self.opts.tty,
        };
        let argv = self.opts.command.clone();
        let job = tokio::spawn(async move {
            match attach {
                Some(rx) => stream_attach(rx, &io.out).await,
                None => shell::exec(&argv, &mut io).await,
            }
        });
        let end = self.pump(&mut out_rx).await;
        if matches!(end, End::Gone) {
            job.abort();
            return;
        }
        let outcome = job
            .await
            .unwrap_or_else(|e| Outcome::StartFailed(format!("the process failed: {e}")));
        self.finish(&outcome).await;
    }

    /// Move frames both ways until the process ends or the client leaves.
    async fn pump(&mut self, out_rx: &mut mpsc::Receiver<(Fd, Bytes)>) -> End {
        loop {
            tokio::select! {
                frame = out_rx.recv() => match frame {
                    Some((fd, data)) => {
                        if self.output(fd, &data).await.is_err() {
                            return End::Gone;
                        }
                    }
                    None => return End::Finished,
                },
                msg = self.ws.next() => match msg {
                    Some(Ok(m)) => {
                        if self.incoming(m).await.is_err() {
                            return End::Gone;
                        }
                    }
                    _ => return End::Gone,
                },
            }
        }
    }

    /// Send process output: with a terminal, stderr joins stdout and `\n` becomes `\r\n`.
    async fn output(&mut self, fd: Fd, data: &[u8]) -> Result<(), ()> {
        let (channel, wanted) = match (fd, self.opts.tty) {
            (_, true) => (STDOUT, self.opts.stdout),
            (Fd::Err, false) => (STDERR, self.opts.stderr),
            _ => (STDOUT, self.opts.stdout),
        };
        if !wanted {
            return Ok(());
        }
        if self.opts.tty {
            return self.send(channel, &onlcr(data)).await;
        }
        self.send(channel, data).await
    }

    /// Handle one client message; `Err` ends the session.
    async fn incoming(&mut self, msg: Message) -> Result<(), ()> {
        let raw: Bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(t) => Bytes::copy_from_slice(t.as_bytes()),
            Message::Close(_) => return Err(()),
            _ => return Ok(()),
        };
        let Some((&first, rest)) = raw.split_first() else {
            return Ok(());
        };
        if self.protocol.v5 && first == CLOSE {
            // Exactly one channel byte must follow, naming a real channel.
            return match rest {
                [STDIN] => {
                    self.close_stdin();
                    Ok(())
                }
                [c] if *c < CHANNELS => Ok(()),
                _ => Err(()),
            };
        }
        let channel = if self.protocol.base64 {
            first.wrapping_sub(b'0')
        } else {
            first
        };
        if channel != STDIN || !self.opts.stdin {
            return Ok(()); // resize and unknown channels are ignored
        }
        let data = if self.protocol.base64 {
            match base64::engine::general_purpose::STANDARD.decode(rest) {
                Ok(d) => d,
                Err(_) => return Ok(()),
            }
        } else {
            rest.to_vec()
        };
        self.stdin_data(&data).await
    }

    async fn stdin_data(&mut self, data: &[u8]) -> Result<(), ()> {
        let Some(line) = self.line.as_mut() else {
            if let Some(tx) = &self.stdin {
                let _ = tx.send(Bytes::copy_from_slice(data));
            }
            return Ok(());
        };
        let (echo, lines, eof) = line.feed(data);
        if !echo.is_empty() && self.opts.stdout {
            self.send(STDOUT, &echo).await?;
        }
        if let Some(tx) = &self.stdin {
            for l in lines {
                let _ = tx.send(l);
            }
        }
        if eof {
            self.close_stdin();
        }
        Ok(())
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Report the status, then close the WebSocket normally and wait briefly for the reply.
    async fn finish(&mut self, outcome: &Outcome) {
        if let Some(status) = final_status(outcome, self.protocol, &self.opts.command) {
            let bytes = match &status {
                Value::String(s) => s.clone().into_bytes(),
                v => serde_json::to_vec(v).unwrap_or_default(),
            };
            if self.send(ERROR, &bytes).await.is_err() {
                return;
            }
        }
        let close = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        if self.ws.send(Message::Close(Some(close))).await.is_err() {
            return;
        }
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    }

    /// Send `data` on `channel` in the negotiated framing.
    async fn send(&mut self, channel: u8, data: &[u8]) -> Result<(), ()> {
        let msg = if self.protocol.base64 {
            let mut s = String::with_capacity(1 + data.len() * 4 / 3 + 4);
            s.push(char::from(b'0' + channel));
            base64::engine::general_purpose::STANDARD.encode_string(data, &mut s);
            Message::Text(s.into())
        } else {
            let mut v = Vec::with_capacity(1 + data.len());
            v.push(channel);
            v.extend_from_slice(data);
            Message::Binary(v.into())
        };
        self.ws.send(msg).await.map_err(|_| ())
    }
}

/// pods/attach: relay the container's output until it exits (the sender is dropped).
async fn stream_attach(mut rx: broadcast::Receiver<Bytes>, out: &shell::Output) -> Outcome {
    loop {
        match rx.recv().await {
            Ok(b) => out.write(Fd::Out, b).await,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return Outcome::Exit(0),
        }
    }
}

/// A terminal's output post-processing: `\n` → `\r\n`.
fn onlcr(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    for &c in data {
        if c == b'\n' {
            out.push(b'\r');
        }
        out.push(c);
    }
    out
}

/// A canonical-mode terminal's input side: echo, `\r` → `\n`, backspace, line buffering,
/// Ctrl-D for end of input.
#[derive(Debug, Default)]
struct LineDiscipline {
    buf: Vec<u8>,
}

impl LineDiscipline {
    /// Feed typed bytes; returns (echo, completed lines, end of input).
    fn feed(&mut self, data: &[u8]) -> (Vec<u8>, Vec<Bytes>, bool) {
        let (mut echo, mut lines) = (Vec::new(), Vec::new());
        for &c in data {
            match c {
                b'\r' | b'\n' => {
                    echo.extend_from_slice(b"\r\n");
                    self.buf.push(b'\n');
                    lines.push(Bytes::from(std::mem::take(&mut self.buf)));
                }
                0x7f | 0x08 => {
                    if self.buf.pop().is_some() {
                        echo.extend_from_slice(b"\x08 \x08");
                    }
                }
                0x04 => {
                    if self.buf.is_empty() {
                        return (echo, lines, true);
                    }
                    lines.push(Bytes::from(std::mem::take(&mut self.buf)));
                }
                _ => {
                    echo.push(c);
                    self.buf.push(c);
                }
            }
        }
        (echo, lines, false)
    }
}

/// Run a container's main program (`command` + `args`) in the built-in shell, as the pod
/// runtime does: every byte written to stdout or stderr is handed to `sink`. Returns the exit
/// status, or `None` when the program is not one the built-in container has (the caller then
/// runs its default program).
pub(crate) async fn run_program(
    argv: &[String],
    hostname: &str,
    mut sink: impl FnMut(Bytes) + Send,
) -> Option<i32> {
    let (tx, mut rx) = mpsc::channel::<(Fd, Bytes)>(64);
    let mut io = shell::Io {
        stdin: shell::Stdin::new(None),
        out: shell::Output::new(tx),
        hostname: hostname.to_string(),
        tty: false,
    };
    let argv = argv.to_vec();
    let run = tokio::spawn(async move { shell::exec(&argv, &mut io).await });
    while let Some((_, bytes)) = rx.recv().await {
        sink(bytes);
    }
    match run.await {
        Ok(Outcome::Exit(code)) => Some(i32::from(code)),
        Ok(Outcome::StartFailed(_)) | Err(_) => None,
    }
}
