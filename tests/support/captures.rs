//! Parser for the byte-exact kube-apiserver captures (`tests/fixtures/k8s-reference/`): turns a
//! capture file (`> ` request lines, `< ` response lines, `[body …]` blocks, watch chunks) into
//! a list of [`Exchange`]s that a test can replay against the stand-in.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The folder holding the reference captures: `K8S_REFERENCE`, else the copies in
/// `tests/fixtures/k8s-reference/` (the files these tests replay, copied byte for byte from
/// the captures of a real kube-apiserver), so a fresh clone needs nothing beside it.
pub fn reference_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("K8S_REFERENCE") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s-reference")
}

/// One request/response pair (a `=== #N` block) of a capture file.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The `N` of `=== #N`.
    pub number: usize,
    /// The `## ` heading of the section the exchange belongs to.
    pub title: String,
    /// What the client sent.
    pub request: CapturedRequest,
    /// What the server answered (absent when the capture shows none).
    pub response: Option<CapturedResponse>,
}

/// A captured request.
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query, exactly as on the request line.
    pub target: String,
    /// Headers in wire order and case.
    pub headers: Vec<(String, String)>,
    /// The body, when one is shown.
    pub body: Body,
}

/// A captured response.
#[derive(Debug, Clone)]
pub struct CapturedResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers in wire order and case.
    pub headers: Vec<(String, String)>,
    /// The body as shown.
    pub body: Body,
}

/// A body as the capture shows it: exact bytes and/or a pretty-printed JSON rendering, or the
/// chunks of a streamed (watch) answer.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// The byte count the capture declares (`N bytes`).
    pub declared_len: Option<usize>,
    /// The exact bytes, when shown (`[body exact bytes …]`, `[body N bytes, raw…]`).
    pub exact: Option<Vec<u8>>,
    /// The pretty-printed JSON rendering (key order kept), when shown.
    pub pretty: Option<Value>,
    /// Exact bytes of each chunk of a streamed answer (`--- chunk size=…`).
    pub chunks: Vec<Vec<u8>>,
    /// Whether the capture says the body was left out (`[body elided: …]`).
    pub elided: bool,
}

impl Body {
    /// Whether the capture shows no body at all.
    pub fn is_empty(&self) -> bool {
        self.exact.is_none() && self.pretty.is_none() && self.chunks.is_empty() && !self.elided
    }

    /// The body as JSON: the exact bytes when they parse, else the pretty rendering.
    pub fn json(&self) -> Option<Value> {
        self.exact
            .as_deref()
            .and_then(|b| serde_json::from_slice(b).ok())
            .or_else(|| self.pretty.clone())
    }

    /// The bytes to send: the exact bytes, else the pretty JSON re-encoded compactly.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        self.exact.clone().or_else(|| {
            self.pretty
                .as_ref()
                .map(|v| serde_json::to_vec(v).expect("a JSON value must serialize"))
        })
    }

    /// The newline-separated JSON events of a streamed answer, parsed.
    pub fn events(&self) -> Vec<Value> {
        let all: Vec<u8> = self.chunks.concat();
        all.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect()
    }
}

impl CapturedResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

impl CapturedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads and parses the capture file at `path` (relative to [`reference_dir`] unless absolute).
pub fn load(path: impl AsRef<Path>) -> Vec<Exchange> {
    let full = reference_dir().join(path.as_ref());
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("capture {} must be readable: {e}", full.display()));
    parse(&text)
}

/// Parses the text of a capture file.
pub fn parse(text: &str) -> Vec<Exchange> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out: Vec<Exchange> = Vec::new();
    let mut title = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(t) = line.strip_prefix("## ") {
            title = t.to_string();
        } else if let Some(rest) = line.strip_prefix("=== #") {
            let number = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let (ex, next) = parse_exchange(&lines, i + 1, number, &title);
            out.push(ex);
            i = next;
            continue;
        }
        i += 1;
    }
    out
}

/// Whether `line` starts a new element of the capture (so it cannot be body text).
fn is_marker(line: &str) -> bool {
    line == ">"
        || line == "<"
        || line.starts_with("> ")
        || line.starts_with("< ")
        || line.starts_with("=== #")
        || line.starts_with("## ")
        || line.starts_with("[body")
        || line.starts_with("[exit code")
        || line.starts_with("[Transfer-Encoding")
        || line.starts_with("--- chunk")
        || line.starts_with("----------")
}

fn parse_exchange(lines: &[&str], mut i: usize, number: usize, title: &str) -> (Exchange, usize) {
    let mut request = CapturedRequest {
        method: String::new(),
        target: String::new(),
        headers: Vec::new(),
        body: Body::default(),
    };
    let mut response: Option<CapturedResponse> = None;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("=== #") || line.starts_with("## ") || line.starts_with("----------") {
            break;
        }
        if let Some(rest) = line.strip_prefix("> ") {
            if request.method.is_empty() {
                let mut parts = rest.split(' ');
                request.method = parts.next().unwrap_or("").to_string();
                request.target = parts.next().unwrap_or("").to_string();
            } else if let Some((k, v)) = rest.split_once(": ") {
                request.headers.push((k.to_string(), v.to_string()));
            }
        } else if let Some(rest) = line.strip_prefix("< ") {
            if let Some(status) = rest.strip_prefix("HTTP/1.1 ") {
                response = Some(CapturedResponse {
                    status: status
                        .split(' ')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    headers: Vec::new(),
                    body: Body::default(),
                });
            } else if let (Some(r), Some((k, v))) = (response.as_mut(), rest.split_once(": ")) {
                r.headers.push((k.to_string(), v.to_string()));
            }
        } else if line.starts_with('[') || line.starts_with("--- chunk") {
            let body = match response.as_mut() {
                Some(r) => &mut r.body,
                None => &mut request.body,
            };
            i = parse_body_block(lines, i, body);
            continue;
        }
        i += 1;
    }
    let ex = Exchange {
        number,
        title: title.to_string(),
        request,
        response,
    };
    (ex, i)
}

/// Parses one `[body …]` / chunk block starting at `lines[i]`; returns the next line index.
fn parse_body_block(lines: &[&str], i: usize, body: &mut Body) -> usize {
    let line = lines[i];
    if line.starts_with("[body elided") {
        body.elided = true;
        return i + 1;
    }
    if let Some(rest) = line.strip_prefix("--- chunk size=") {
        let size: usize = rest
            .split(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if size == 0 {
            return i + 1;
        }
        let (bytes, next) = read_exact(lines, i + 1, size, false);
        body.chunks.push(bytes);
        return skip_indented(lines, next);
    }
    if line.contains("pretty-printed") {
        if let Some(n) = declared(line) {
            body.declared_len.get_or_insert(n);
        }
        let (value, next) = read_json(lines, i + 1);
        body.pretty = value;
        return next;
    }
    if line.starts_with("[body") {
        let n = declared(line).unwrap_or(usize::MAX);
        body.declared_len = declared(line);
        let escaped = line.contains("(escaped)");
        let (bytes, next) = read_exact(lines, i + 1, n, escaped);
        body.exact = Some(bytes);
        return next;
    }
    i + 1
}

/// The `N` of `N bytes` in a body marker line.
fn declared(line: &str) -> Option<usize> {
    let idx = line.find(" bytes")?;
    let digits: String = line[..idx]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.chars().rev().collect::<String>().parse().ok()
}

/// Reads exact-bytes lines (a trailing `\n` marks a real newline) until `n` bytes or a marker.
fn read_exact(lines: &[&str], mut i: usize, n: usize, escaped: bool) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    while i < lines.len() && out.len() < n && !is_marker(lines[i]) {
        let line = lines[i];
        let (text, newline) = match line.strip_suffix("\\n") {
            Some(t) => (t, true),
            None => (line, false),
        };
        if escaped {
            out.extend(unescape(text));
        } else {
            out.extend_from_slice(text.as_bytes());
        }
        if newline {
            out.push(b'\n');
        }
        i += 1;
    }
    (out, i)
}

/// Undoes the `\xNN` / `\n` / `\r` / `\t` / `\\` escaping of binary bodies.
fn unescape(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'x' if i + 3 < b.len() => {
                    if let Ok(v) = u8::from_str_radix(&text[i + 2..i + 4], 16) {
                        out.push(v);
                        i += 4;
                        continue;
                    }
                }
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                b'r' => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                b't' => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Parses one pretty-printed JSON value starting at `lines[i]`.
fn read_json(lines: &[&str], i: usize) -> (Option<Value>, usize) {
    let mut end = i;
    let mut text = String::new();
    while end < lines.len() && !is_marker(lines[end]) {
        text.push_str(lines[end]);
        text.push('\n');
        end += 1;
    }
    let mut stream = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => {
            // Lines after the value (prose) are skipped up to the next marker anyway.
            (Some(v), end)
        }
        _ => (None, end),
    }
}

/// Skips the indented `    pretty:` rendering that follows a chunk's exact bytes.
fn skip_indented(lines: &[&str], mut i: usize) -> usize {
    while i < lines.len() && lines[i].starts_with("    ") {
        i += 1;
    }
    i
}
