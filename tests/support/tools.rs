//! Plumbing shared by the test harness: where the test environment lives (`.venv`,
//! `node_modules`), free loopback ports, random tokens, scratch directories, child
//! processes that die with the test binary, readiness polling and a blocking HTTP client.

use std::fs::{self, File};
use std::io::{self, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the harness tells a developer to build the test environment.
pub const MAKE_ENV_HINT: &str = "run `make env` in the repository root to create it";

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python interpreter of the test venv (`.venv/bin/python`).
///
/// Panics with a hint to run `make env` when the venv is missing.
pub fn venv_python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "test environment missing: {} not found; {MAKE_ENV_HINT}",
        python.display()
    );
    python
}

/// An executable installed by npm into `node_modules/.bin` (for example
/// `configurable-http-proxy`).
///
/// Panics with a hint to run `make env` when it is missing.
pub fn node_bin(name: &str) -> PathBuf {
    let bin = repo_root().join("node_modules/.bin").join(name);
    assert!(
        bin.exists(),
        "test environment missing: {} not found; {MAKE_ENV_HINT}",
        bin.display()
    );
    bin
}

/// The supervisor script that ends a child when the test binary exits.
pub fn launcher_script() -> PathBuf {
    repo_root().join("tests/support/launcher.py")
}

/// A loopback port that was free a moment ago (bind port 0, read it, release it).
///
/// Another process could take it before the caller binds it; on a test machine that
/// race is rare enough, and the servers that get these ports fail loudly if it happens.
/// Use [`free_ports`] when one server needs several: separate calls may return the
/// same port twice.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` distinct loopback ports that were free a moment ago: all are held at once
/// before any is released, so the kernel cannot hand out one of them twice.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<io::Result<_>>()
        .expect("binding 127.0.0.1:0 must work on a test machine");
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener
            .local_addr()
            .expect("a bound listener must have an address")
            .port();
    }
    ports
}

/// 32 random bytes from the OS, hex-encoded: secrets for test tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut bytes))
        .expect("/dev/urandom must be readable on a Linux test machine");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A number unique within this test binary, for user names and directory names.
pub fn unique_suffix() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A new empty directory under the system temp dir, named after `prefix`, this process
/// and the current time so that parallel test binaries never share one.
pub fn scratch_dir(prefix: &str) -> io::Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        unique_suffix()
    );
    let dir = std::env::temp_dir().join(name);
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The last `lines` lines of a log file, for failure messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(err) => format!("(cannot read {}: {err})", path.display()),
    }
}

/// A long-lived server process started through `launcher.py`.
///
/// The launcher holds the read end of a pipe on its stdin; this struct holds the write
/// end. Dropping it, or the test binary exiting for any reason (static destructors do
/// not run, but the kernel closes the pipe), makes the launcher stop the server's whole
/// process group.
#[derive(Debug)]
pub struct Supervised {
    child: Child,
    stdin: Option<ChildStdin>,
    log: PathBuf,
    dir: PathBuf,
}

/// How to start a [`Supervised`] process.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Python interpreter that runs the launcher script.
    pub python: PathBuf,
    /// The server's executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory; the launcher removes it at exit (unless it holds `KEEP`).
    pub dir: PathBuf,
    /// File that receives the server's stdout and stderr.
    pub log: PathBuf,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Supervised {
    /// Starts `launch.program` under the launcher.
    pub fn spawn(launch: &Launch) -> io::Result<Self> {
        let log = File::create(&launch.log)?;
        let child = Command::new(&launch.python)
            .arg(launcher_script())
            .arg("--remove-dir")
            .arg(&launch.dir)
            .arg("--")
            .arg(&launch.program)
            .args(&launch.args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&launch.dir)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut supervised = Self {
            child,
            stdin: None,
            log: launch.log.clone(),
            dir: launch.dir.clone(),
        };
        supervised.stdin = supervised.child.stdin.take();
        Ok(supervised)
    }

    /// The log file of the server.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The exit status, if the launcher (and so the server) has already ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Keeps the scratch directory after the launcher ends, so the log can be read.
    pub fn keep_dir(&self) {
        // Best effort: a failure here only means the directory gets cleaned up.
        let _ = fs::write(self.dir.join("KEEP"), b"kept after a failed start\n");
    }

    /// A failure message: what failed, the log path and its last lines. Keeps the
    /// scratch directory so the full log stays readable.
    pub fn failure(&self, what: &str) -> String {
        self.keep_dir();
        format!(
            "{what}\n--- last lines of {} ---\n{}\n---",
            self.log.display(),
            log_tail(&self.log, 40)
        )
    }

    /// Closes the launcher's stdin and waits for it to stop the server.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        // The launcher gives the server 10 s after SIGTERM before SIGKILL.
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.exited().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 100 ms until it returns true, the process exits, or `timeout`
/// passes. The error says which, with the end of the process's log.
pub fn wait_until(
    what: &str,
    process: &mut Supervised,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if ready() {
            return Ok(());
        }
        if let Some(status) = process.exited() {
            return Err(process.failure(&format!("{what}: process exited early ({status})")));
        }
        if Instant::now() > deadline {
            return Err(process.failure(&format!("{what}: not ready after {timeout:?}")));
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A blocking HTTP client that returns 4xx/5xx responses instead of errors, with a
/// timeout so a hung server fails the test instead of hanging it.
pub fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// A response: status code and body text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response body as text.
    pub body: String,
}

impl Reply {
    /// The body parsed as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// Sends `method url` with `Authorization: token <token>` (when given) and an optional
/// JSON body; transport errors become `Err`, HTTP errors are in the `Reply`.
pub fn http_request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<Reply, String> {
    let auth = token.map(|t| format!("token {t}"));
    let json = body.map(serde_json::Value::to_string).unwrap_or_default();
    let result = match method {
        "GET" | "DELETE" => {
            let mut request = match method {
                "GET" => agent.get(url),
                _ => agent.delete(url),
            };
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.call()
        }
        "POST" | "PUT" | "PATCH" => {
            let mut request = match method {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                _ => agent.patch(url),
            };
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.content_type("application/json").send(json.as_str())
        }
        other => return Err(format!("http_request: unsupported method {other}")),
    };
    let mut response = result.map_err(|err| format!("{method} {url}: {err}"))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|err| format!("{method} {url}: reading body: {err}"))?;
    Ok(Reply { status, body })
}

/// A Python string literal for `s`: JSON string syntax is valid Python for every string.
pub fn python_literal(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// Percent-encodes one URL path segment (everything but RFC 3986 unreserved characters),
/// so user names like `test.user@example.org` survive in `/users/{name}`.
pub fn encode_path_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The address a kbatch-proxy process logs at start (`listen=<addr>` on its stderr), and a
/// thread that keeps reading the rest of the log (so the process never blocks on a full pipe)
/// and gives it back when the process has exited.
pub fn listen_address_from_log(
    stderr: std::process::ChildStderr,
) -> (String, thread::JoinHandle<Vec<String>>) {
    use std::io::BufRead;
    let mut lines = io::BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .and_then(Result::ok)
            .expect("the proxy logs its start");
        if let Some(rest) = line.split("listen=").nth(1) {
            break rest.split_whitespace().next().unwrap_or("").to_string();
        }
    };
    let rest = thread::spawn(move || lines.map_while(Result::ok).collect());
    (addr, rest)
}

/// `n` sequential GETs of `url` with `token` (each must answer 200), their latencies sorted.
pub fn get_latencies(agent: &ureq::Agent, url: &str, token: &str, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let resp = agent
            .get(url)
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        let _ = resp.into_body().read_to_vec();
        out.push(started.elapsed());
    }
    out.sort();
    out
}

/// The `p` quantile (0..=1) of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
