//! Tests for `pods/exec`/`pods/attach`: a real hyper server on 127.0.0.1 calling [`serve`] and a
//! `tokio-tungstenite` client speaking the channel protocols.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::Response;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::encode::Body;

/// The container output an `/attach` request takes (once).
type AttachSlot = Arc<Mutex<Option<broadcast::Receiver<Bytes>>>>;

/// Start a server whose `/attach` paths attach to the output in `slot` and whose other paths exec.
async fn server(slot: Option<AttachSlot>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let slot = slot.clone();
            let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                let attach = req
                    .uri()
                    .path()
                    .ends_with("/attach")
                    .then(|| slot.as_ref().and_then(|s| s.lock().expect("lock").take()))
                    .flatten();
                async move { Ok::<_, Infallible>(route(req, attach)) }
            });
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades();
                let _ = conn.await;
            });
        }
    });
    addr
}

fn route(
    req: Request<hyper::body::Incoming>,
    attach: Option<broadcast::Receiver<Bytes>>,
) -> Response<Body> {
    let query = req.uri().query().unwrap_or("").to_string();
    ExecOptions::from_query(&query)
        .and_then(|opts| serve(req, opts, attach))
        .unwrap_or_else(|e| crate::encode::error_response(&e, false))
}

type Client = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr, path_query: &str, protocol: &str) -> Client {
    let url = format!("ws://{addr}/api/v1/namespaces/ns/pods/pod-a/{path_query}");
    let mut req = url.into_client_request().expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("handshake");
    assert_eq!(resp.status(), 101);
    assert_eq!(resp.headers()["sec-websocket-protocol"], protocol);
    ws
}

/// Read everything until the server closes: (frames in order, stdout, stderr, error channel).
async fn read_all(ws: &mut Client) -> (Vec<Vec<u8>>, String, String, String) {
    let mut frames = Vec::new();
    let (mut out, mut err, mut status) = (String::new(), String::new(), String::new());
    while let Some(msg) = ws.next().await {
        let data = match msg.expect("frame") {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Close(_) => continue,
            _ => continue,
        };
        let text = String::from_utf8_lossy(&data[1..]).into_owned();
        match data[0] {
            1 => out.push_str(&text),
            2 => err.push_str(&text),
            3 => status.push_str(&text),
            _ => {}
        }
        frames.push(data);
    }
    (frames, out, err, status)
}

#[tokio::test]
async fn v5_cat_echoes_stdin_until_close() {
    let addr = server(None).await;
    let mut ws = connect(
        addr,
        "exec?command=cat&container=main&stderr=true&stdin=true&stdout=true",
        "v5.channel.k8s.io",
    )
    .await;
    ws.send(Message::Binary(Bytes::from_static(b"\x00hello ")))
        .await
        .expect("send");
    ws.send(Message::Binary(Bytes::from_static(b"\x00world")))
        .await
        .expect("send");
    ws.send(Message::Binary(Bytes::from_static(
        b"\x04{\"Width\":80,\"Height\":24}",
    )))
    .await
    .expect("resize");
    ws.send(Message::Binary(Bytes::from_static(&[255, 0])))
        .await
        .expect("close stdin");
    let (frames, out, err, status) = read_all(&mut ws).await;
    assert_eq!(frames[0], vec![1u8], "first an empty stdout frame");
    assert_eq!((out.as_str(), err.as_str()), ("hello world", ""));
    assert_eq!(status, r#"{"metadata":{},"status":"Success"}"#);
    assert_eq!(
        frames.last().map(|f| f[0]),
        Some(3),
        "status is the last frame"
    );
}

#[tokio::test]
async fn v4_nonzero_exit_is_a_failure_status_with_the_code() {
    let addr = server(None).await;
    // The Python client's query: `True`/`False` booleans.
    let q =
        "exec?command=sh&command=-c&command=exit%203&stderr=True&stdin=False&stdout=True&tty=False";
    let mut ws = connect(addr, q, "v4.channel.k8s.io").await;
    let (_, out, _, status) = read_all(&mut ws).await;
    assert_eq!(out, "");
    assert_eq!(
        status,
        r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
    );
}

#[tokio::test]
async fn v5_nonzero_exit_uses_the_translator_wording() {
    let addr = server(None).await;
    let q = "exec?command=sh&command=-c&command=echo%20e%20%3E%262%3B%20exit%20300&stderr=true&stdout=true";
    let mut ws = connect(addr, q, "v5.channel.k8s.io").await;
    let (_, _, err, status) = read_all(&mut ws).await;
    assert_eq!(err, "e\n");
    assert_eq!(
        status,
        r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: command terminated with exit code 44","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"44"}]}}"#
    );
}

#[tokio::test]
async fn v4_echo_hi() {
    let addr = server(None).await;
    let q = "exec?command=echo&command=hi&stderr=True&stdin=False&stdout=True&tty=False";
    let mut ws = connect(addr, q, "v4.channel.k8s.io").await;
    let (frames, out, err, status) = read_all(&mut ws).await;
    assert_eq!(frames[0], vec![1u8]);
    assert_eq!((out.as_str(), err.as_str()), ("hi\n", ""));
    assert_eq!(status, r#"{"metadata":{},"status":"Success"}"#);
}

#[tokio::test]
async fn unknown_command_in_sh_exits_127() {
    let addr = server(None).await;
    let q = "exec?command=sh&command=-c&command=frobnicate&stderr=true&stdout=true";
    let mut ws = connect(addr, q, "v4.channel.k8s.io").await;
    let (_, _, err, status) = read_all(&mut ws).await;
    assert_eq!(err, "sh: frobnicate: not found\n");
    let v: Value = serde_json::from_str(&status).expect("status json");
    assert_eq!(v["details"]["causes"][0]["message"], "127");
}

#[tokio::test]
async fn unknown_executable_is_an_internal_error_like_runc() {
    let addr = server(None).await;
    let mut ws = connect(
        addr,
        "exec?command=frobnicate&stdout=true",
        "v5.channel.k8s.io",
    )
    .await;
    let (_, _, _, status) = read_all(&mut ws).await;
    let v: Value = serde_json::from_str(&status).expect("status json");
    assert_eq!(v["reason"], "InternalError");
    assert_eq!(v["code"], 500);
    let msg = v["message"].as_str().expect("message");
    assert!(
        msg.starts_with("Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec \""),
        "{msg}"
    );
    assert!(msg.ends_with("exec: \"frobnicate\": executable file not found in $PATH: unknown"));
}

#[tokio::test]
async fn base64_protocol_frames_are_text() {
    let addr = server(None).await;
    let q = "exec?command=cat&stdin=true&stdout=true&stderr=true";
    let mut ws = connect(addr, q, "v4.base64.channel.k8s.io").await;
    ws.send(Message::text("0aGk=")).await.expect("send"); // "hi"
    ws.close(None).await.expect("close");
    // Closing the WebSocket ends the session without a status (the client is gone).
    let mut texts = Vec::new();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            texts.push(t.to_string());
        }
    }
    assert_eq!(
        texts.first().map(String::as_str),
        Some("1"),
        "empty stdout frame first"
    );
}

#[tokio::test]
async fn base64_echo_and_pre_v4_error_text() {
    let addr = server(None).await;
    let q = "exec?command=sh&command=-c&command=echo%20hi%3B%20exit%202&stdout=true";
    let mut ws = connect(addr, q, "base64.channel.k8s.io").await;
    let mut texts = Vec::new();
    while let Some(Ok(m)) = ws.next().await {
        if let Message::Text(t) = m {
            texts.push(t.to_string());
        }
    }
    let status = base64::engine::general_purpose::STANDARD
        .encode("command terminated with non-zero exit code: error executing command [sh -c echo hi; exit 2], exit code 2");
    assert_eq!(
        texts,
        vec!["1".to_string(), "1aGkK".into(), format!("3{status}")]
    );
}

#[tokio::test]
async fn tty_merges_stderr_and_translates_newlines() {
    let addr = server(None).await;
    let q = "exec?command=sh&command=-c&command=echo%20a%3B%20echo%20b%20%3E%262&stdin=true&stdout=true&tty=true";
    let mut ws = connect(addr, q, "v5.channel.k8s.io").await;
    let (_, out, err, _) = read_all(&mut ws).await;
    assert_eq!((out.as_str(), err.as_str()), ("a\r\nb\r\n", ""));
}

#[tokio::test]
async fn attach_streams_container_output_until_it_exits() {
    let (tx, rx) = broadcast::channel(16);
    let addr = server(Some(Arc::new(Mutex::new(Some(rx))))).await;
    let mut ws = connect(
        addr,
        "attach?container=main&stderr=true&stdout=true",
        "v5.channel.k8s.io",
    )
    .await;
    // The first frame tells us the session is up.
    let first = ws.next().await.expect("frame").expect("ok");
    assert_eq!(first, Message::Binary(Bytes::from_static(&[1])));
    tx.send(Bytes::from_static(b"line 1\n"))
        .expect("subscribed");
    drop(tx);
    let (_, out, _, status) = read_all(&mut ws).await;
    assert_eq!(out, "line 1\n");
    assert_eq!(status, r#"{"metadata":{},"status":"Success"}"#);
}

/// Send a raw HTTP/1.1 request and return the answer (headers and a `Content-Length` body).
async fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .and_then(|l| l.parse::<usize>().ok())
                .expect("content-length");
            if body.len() >= len {
                return text;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "connection closed early: {text}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn non_websocket_requests_get_400() {
    let addr = server(None).await;
    let spdy = "POST /api/v1/namespaces/ns/pods/p/exec?command=cat&container=main&stderr=true&stdin=true&stdout=true HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v5.channel.k8s.io\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nConnection: close\r\n\r\n";
    let plain = "GET /api/v1/namespaces/ns/pods/p/exec?command=echo&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let bad_proto = "GET /api/v1/namespaces/ns/pods/p/exec?command=echo&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v3.channel.k8s.io\r\n\r\n";
    let expected = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the stand-in supports exec/attach only over WebSocket (v4/v5.channel.k8s.io) — SPDY is not implemented","reason":"BadRequest","code":400}"#;
    for (req, suffix) in [
        (spdy, ""),
        (plain, ""),
        (
            bad_proto,
            " (requested protocol(s) [v3.channel.k8s.io] are not supported)",
        ),
    ] {
        let answer = raw(addr, req).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{answer}"
        );
        let body = answer.split("\r\n\r\n").nth(1).expect("body");
        let want = expected.replace(
            "implemented\"",
            &format!("implemented{}\"", suffix.replace('"', "\\\"")),
        );
        assert_eq!(body, format!("{want}\n"));
    }
}

#[test]
fn options_parse_like_the_apiserver() {
    let o = ExecOptions::from_query(
        "command=ls&command=%2F&command=a+b&container=main&stderr=true&stdin=1&stdout=True&tty=False",
    )
    .expect("valid");
    assert_eq!(
        o,
        ExecOptions {
            command: vec!["ls".into(), "/".into(), "a b".into()],
            container: "main".into(),
            stdin: true,
            stdout: true,
            stderr: true,
            tty: false,
        }
    );
    // `FALSE`/`0` are false, anything else true; tty turns stderr off (kubelet).
    let o = ExecOptions::from_query("stdin=FALSE&stdout=yes&stderr=0&tty=").expect("valid");
    assert_eq!(
        (o.stdin, o.stdout, o.stderr, o.tty),
        (false, true, false, true)
    );
    let o = ExecOptions::from_query("stdout=true&stderr=true&tty=true").expect("valid");
    assert!(!o.stderr);
    let e = ExecOptions::from_query("command=ls&stdin=false").expect_err("no streams");
    assert_eq!(
        e.message,
        "you must specify at least 1 of stdin, stdout, stderr"
    );
}

#[test]
fn upgrade_detection_and_negotiation() {
    let mut h = HeaderMap::new();
    h.insert("upgrade", "WebSocket".parse().expect("v"));
    h.insert("connection", "keep-alive, Upgrade".parse().expect("v"));
    assert!(is_websocket_upgrade(&h));
    h.insert("upgrade", "SPDY/3.1".parse().expect("v"));
    assert!(!is_websocket_upgrade(&h));

    let names = |list: &[&str]| {
        negotiate(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).map(|p| p.name)
    };
    assert_eq!(
        names(&["v4.channel.k8s.io", "v5.channel.k8s.io"]),
        Some("v5.channel.k8s.io")
    );
    assert_eq!(
        names(&["v4.base64.channel.k8s.io", "v4.channel.k8s.io"]),
        Some("v4.base64.channel.k8s.io")
    );
    assert_eq!(names(&["channel.k8s.io"]), Some("channel.k8s.io"));
    assert_eq!(names(&[]), Some(""));
    assert_eq!(
        names(&["v3.channel.k8s.io", "SPDY/3.1+portforward.k8s.io"]),
        None
    );
}

#[test]
fn terminal_line_discipline() {
    let mut l = LineDiscipline::default();
    let (echo, lines, eof) = l.feed(b"ab\x7fc\r");
    assert_eq!(echo, b"ab\x08 \x08c\r\n");
    assert_eq!(lines, vec![Bytes::from_static(b"ac\n")]);
    assert!(!eof);
    assert_eq!(l.feed(b"\x04"), (vec![], vec![], true));
}
