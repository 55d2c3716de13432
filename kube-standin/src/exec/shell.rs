//! The tiny built-in "container" behind `pods/exec`: a busybox-like set of commands and a
//! minimal `sh` (`;`, `&&`, `||`, newlines, quotes, `$VAR`/`$?`, `>&2`, `2>&1`, `>/dev/null`).
//!
//! Top-level argv follows runc: an unknown executable fails to *start* (the kubelet reports
//! that as an InternalError), while an unknown command inside `sh` prints
//! `sh: foo: not found` and exits 127, as busybox `ash` does.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

/// Directories whose builtins resolve by path (`/bin/sh`, `/usr/bin/env`, …).
const BIN_DIRS: [&str; 5] = ["/bin", "/usr/bin", "/sbin", "/usr/sbin", "/usr/local/bin"];

/// The commands the container "has" (besides `sh`, which is handled specially).
const COMMANDS: [&str; 14] = [
    "sh", "echo", "cat", "true", "false", "env", "pwd", "sleep", "printf", "hostname", "ls",
    "whoami", "id", "uname",
];

/// What `ls /` shows in a busybox image.
const ROOT_ENTRIES: [&str; 12] = [
    "bin", "dev", "etc", "home", "lib", "lib64", "proc", "root", "sys", "tmp", "usr", "var",
];

/// How an exec ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The process ran and exited with this status.
    Exit(u8),
    /// The process could not start; the runtime's error text (containerd/runc wording).
    StartFailed(String),
}

/// Where a command's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fd {
    /// The stdout channel.
    Out,
    /// The stderr channel.
    Err,
    /// Discarded (`>/dev/null`).
    Null,
}

/// The output side of a session: frames `(fd, bytes)` for the connection task.
#[derive(Clone)]
pub(crate) struct Output {
    tx: mpsc::Sender<(Fd, Bytes)>,
}

impl Output {
    /// Output feeding `tx`.
    pub(crate) fn new(tx: mpsc::Sender<(Fd, Bytes)>) -> Self {
        Output { tx }
    }

    /// Write `data` to `fd`; a gone connection is ignored (the session is being torn down).
    pub(crate) async fn write(&self, fd: Fd, data: impl Into<Bytes>) {
        let data = data.into();
        if fd != Fd::Null && !data.is_empty() {
            let _ = self.tx.send((fd, data)).await;
        }
    }
}

/// The input side: stdin chunks from the client; the sender dropping means EOF.
pub(crate) struct Stdin {
    rx: Option<mpsc::UnboundedReceiver<Bytes>>,
    pending: BytesMut,
}

impl Stdin {
    /// Stdin fed by `rx` (`None`: no stdin, always EOF).
    pub(crate) fn new(rx: Option<mpsc::UnboundedReceiver<Bytes>>) -> Self {
        Stdin {
            rx,
            pending: BytesMut::new(),
        }
    }

    /// The next chunk of input, `None` at EOF.
    async fn chunk(&mut self) -> Option<Bytes> {
        if !self.pending.is_empty() {
            return Some(self.pending.split().freeze());
        }
        loop {
            let b = self.rx.as_mut()?.recv().await?;
            if !b.is_empty() {
                return Some(b);
            }
        }
    }

    /// The next line including its `\n` (or the unterminated rest at EOF), `None` at EOF.
    async fn line(&mut self) -> Option<Bytes> {
        loop {
            if let Some(i) = self.pending.iter().position(|&c| c == b'\n') {
                return Some(self.pending.split_to(i + 1).freeze());
            }
            let more = match self.rx.as_mut() {
                Some(rx) => rx.recv().await,
                None => None,
            };
            match more {
                Some(b) => self.pending.extend_from_slice(&b),
                None if self.pending.is_empty() => return None,
                None => return Some(self.pending.split().freeze()),
            }
        }
    }
}

/// Everything a running command can touch.
pub(crate) struct Io {
    /// Client input.
    pub(crate) stdin: Stdin,
    /// Client output.
    pub(crate) out: Output,
    /// The pod's hostname (its name).
    pub(crate) hostname: String,
    /// Whether a terminal was requested (interactive `sh` prints a prompt).
    pub(crate) tty: bool,
}

/// Run `argv` as the container runtime would start it.
pub(crate) async fn exec(argv: &[String], io: &mut Io) -> Outcome {
    let Some(prog) = argv.first() else {
        return Outcome::StartFailed(start_failure("", "executable file not found in $PATH"));
    };
    if resolve(prog).is_none() {
        let why = if prog.contains('/') {
            format!("stat {prog}: no such file or directory")
        } else {
            "executable file not found in $PATH".to_string()
        };
        return Outcome::StartFailed(start_failure(prog, &why));
    }
    let mut sh = Shell::new(&io.hostname);
    Outcome::Exit(sh.command(argv, io, [Fd::Out, Fd::Err]).await.status)
}

/// containerd's and runc's wording for an exec that cannot start.
fn start_failure(prog: &str, why: &str) -> String {
    let exec_id = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    format!(
        "failed to exec in container: failed to start exec \"{exec_id}\": OCI runtime exec failed: exec failed: unable to start container process: exec: \"{prog}\": {why}: unknown"
    )
}

/// The builtin a program name or path stands for.
fn resolve(prog: &str) -> Option<&'static str> {
    let name = match prog.rsplit_once('/') {
        Some((dir, name)) if BIN_DIRS.contains(&dir) => name,
        Some(_) => return None,
        None => prog,
    };
    COMMANDS.iter().copied().find(|c| *c == name)
}

/// Result of running a command or script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flow {
    status: u8,
    /// `exit` was run: stop the script.
    exited: bool,
}

impl Flow {
    fn status(status: u8) -> Self {
        Flow {
            status,
            exited: false,
        }
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Shell state: variables, positional parameters, last status.
struct Shell {
    vars: BTreeMap<String, String>,
    positional: Vec<String>,
    last: u8,
}

impl Shell {
    fn new(hostname: &str) -> Self {
        let mut vars = BTreeMap::new();
        vars.insert(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        );
        vars.insert("HOSTNAME".into(), hostname.to_string());
        vars.insert("HOME".into(), "/root".into());
        Shell {
            vars,
            positional: vec!["sh".into()],
            last: 0,
        }
    }

    /// Run one simple command (argv already expanded).
    fn command<'a>(
        &'a mut self,
        argv: &'a [String],
        io: &'a mut Io,
        fds: [Fd; 2],
    ) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            let Some(prog) = argv.first() else {
                return Flow::status(0);
            };
            let args = &argv[1..];
            let Some(name) = resolve(prog).or(shell_builtin(prog)) else {
                io.out
                    .write(fds[1], format!("sh: {prog}: not found\n"))
                    .await;
                return Flow::status(127);
            };
            match name {
                "exit" => self.exit(args, io, fds).await,
                "sh" => Flow::status(self.sh(args, io, fds).await),
                _ => Flow::status(run_utility(name, args, io, fds, &self.vars).await),
            }
        })
    }

    async fn exit(&mut self, args: &[String], io: &mut Io, fds: [Fd; 2]) -> Flow {
        let status = match args.first() {
            None => self.last,
            Some(a) => match a.parse::<i64>() {
                // `exit 256` is 0, `exit -1` is 255: the status is taken modulo 256.
                Ok(n) => n.rem_euclid(256) as u8,
                Err(_) => {
                    io.out
                        .write(fds[1], format!("sh: exit: Illegal number: {a}\n"))
                        .await;
                    2
                }
            },
        };
        Flow {
            status,
            exited: true,
        }
    }

    /// `sh -c SCRIPT [NAME ARGS…]`, or `sh` reading commands from stdin.
    async fn sh(&mut self, args: &[String], io: &mut Io, fds: [Fd; 2]) -> u8 {
        let mut child = Shell {
            vars: self.vars.clone(),
            positional: vec!["sh".into()],
            last: 0,
        };
        match args.first().map(String::as_str) {
            Some("-c") => match args.get(1) {
                Some(script) => {
                    if args.len() > 2 {
                        child.positional = args[2..].to_vec();
                    }
                    child.script(script, io, fds).await.status
                }
                None => {
                    io.out.write(fds[1], "sh: -c requires an argument\n").await;
                    2
                }
            },
            Some(file) if !file.starts_with('-') => {
                io.out
                    .write(
                        fds[1],
                        format!("sh: can't open '{file}': No such file or directory\n"),
                    )
                    .await;
                2
            }
            _ => child.interactive(io, fds).await,
        }
    }

    /// Read and run commands from stdin line by line (with a prompt on a terminal).
    async fn interactive(&mut self, io: &mut Io, fds: [Fd; 2]) -> u8 {
        loop {
            if io.tty {
                io.out.write(fds[1], "/ # ").await;
            }
            let Some(line) = io.stdin.line().await else {
                return self.last;
            };
            let text = String::from_utf8_lossy(&line).into_owned();
            let flow = self.script(&text, io, fds).await;
            if flow.exited {
                return flow.status;
            }
        }
    }

    /// Parse and run a script.
    fn script<'a>(
        &'a mut self,
        text: &'a str,
        io: &'a mut Io,
        fds: [Fd; 2],
    ) -> BoxFuture<'a, Flow> {
        Box::pin(async move {
            let commands = match parse(text) {
                Ok(c) => c,
                Err(e) => {
                    io.out
                        .write(fds[1], format!("sh: syntax error: {e}\n"))
                        .await;
                    return Flow::status(2);
                }
            };
            let mut flow = Flow::status(self.last);
            for cmd in &commands {
                let run = match cmd.after {
                    Sep::Seq => true,
                    Sep::And => self.last == 0,
                    Sep::Or => self.last != 0,
                };
                if !run {
                    continue;
                }
                flow = self.simple(cmd, io, fds).await;
                self.last = flow.status;
                if flow.exited {
                    break;
                }
            }
            flow
        })
    }

    /// Expand and run one parsed command with its redirections.
    async fn simple(&mut self, cmd: &Command, io: &mut Io, mut fds: [Fd; 2]) -> Flow {
        for r in &cmd.redirects {
            match *r {
                Redirect::Dup { from, to } => fds[from] = fds[to],
                Redirect::Null { fd } => fds[fd] = Fd::Null,
            }
        }
        let mut words: Vec<String> = cmd.words.iter().map(|w| self.expand(w)).collect();
        // Leading `NAME=value` words are assignments.
        while let Some((name, value)) = words.first().and_then(|w| assignment(w)) {
            self.vars.insert(name, value);
            words.remove(0);
        }
        if words.is_empty() {
            return Flow::status(0);
        }
        self.command(&words, io, fds).await
    }

    fn expand(&self, word: &[Part]) -> String {
        let mut s = String::new();
        for part in word {
            match part {
                Part::Lit(l) => s.push_str(l),
                Part::Var(v) => s.push_str(&self.var(v)),
            }
        }
        s
    }

    fn var(&self, name: &str) -> String {
        match name {
            "?" => self.last.to_string(),
            "#" => self.positional.len().saturating_sub(1).to_string(),
            "$" => "1".into(),
            "@" | "*" => self.positional.get(1..).unwrap_or_default().join(" "),
            n if n.chars().all(|c| c.is_ascii_digit()) => n
                .parse::<usize>()
                .ok()
                .and_then(|i| self.positional.get(i).cloned())
                .unwrap_or_default(),
            n => self.vars.get(n).cloned().unwrap_or_default(),
        }
    }
}

/// Builtins that only exist inside the shell.
fn shell_builtin(prog: &str) -> Option<&'static str> {
    ["exit", ":"].into_iter().find(|b| *b == prog)
}

/// `NAME=value` → (NAME, value).
fn assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// Run a utility other than `sh`/`exit`; returns its exit status.
async fn run_utility(
    name: &str,
    args: &[String],
    io: &mut Io,
    fds: [Fd; 2],
    vars: &BTreeMap<String, String>,
) -> u8 {
    let out = io.out.clone();
    match name {
        "echo" => {
            let (newline, args) = match args.first().map(String::as_str) {
                Some("-n") => (false, &args[1..]),
                _ => (true, args),
            };
            let mut s = args.join(" ");
            if newline {
                s.push('\n');
            }
            out.write(fds[0], s).await;
            0
        }
        "printf" => printf(args, &out, fds).await,
        "cat" => cat(args, io, fds).await,
        "true" | ":" => 0,
        "false" => 1,
        "env" => {
            let text: String = ["PATH", "HOSTNAME", "HOME"]
                .iter()
                .chain(vars.keys().map(String::as_str).collect::<Vec<_>>().iter())
                .fold(Vec::<&str>::new(), |mut acc, k| {
                    if !acc.contains(k) {
                        acc.push(k);
                    }
                    acc
                })
                .iter()
                .filter_map(|k| vars.get(*k).map(|v| format!("{k}={v}\n")))
                .collect();
            out.write(fds[0], text).await;
            0
        }
        "pwd" => {
            out.write(fds[0], "/\n").await;
            0
        }
        "hostname" => {
            out.write(fds[0], format!("{}\n", io.hostname)).await;
            0
        }
        "whoami" => {
            out.write(fds[0], "root\n").await;
            0
        }
        "id" => {
            out.write(fds[0], "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n")
                .await;
            0
        }
        "uname" => {
            out.write(fds[0], "Linux\n").await;
            0
        }
        "sleep" => sleep(args, &out, fds).await,
        "ls" => ls(args, &out, fds).await,
        _ => 127,
    }
}

async fn sleep(args: &[String], out: &Output, fds: [Fd; 2]) -> u8 {
    let Some(arg) = args.first() else {
        out.write(
            fds[1],
            "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\nUsage: sleep [N]...\n",
        )
        .await;
        return 1;
    };
    match arg.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            tokio::time::sleep(Duration::from_secs_f64(secs.min(1e9))).await;
            0
        }
        _ => {
            out.write(fds[1], format!("sleep: invalid number '{arg}'\n"))
                .await;
            1
        }
    }
}

async fn ls(args: &[String], out: &Output, fds: [Fd; 2]) -> u8 {
    let paths: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut status = 0;
    for p in if paths.is_empty() { vec!["/"] } else { paths } {
        if p == "/" || p == "." {
            out.write(fds[0], ROOT_ENTRIES.join("\n") + "\n").await;
        } else {
            out.write(fds[1], format!("ls: {p}: No such file or directory\n"))
                .await;
            status = 1;
        }
    }
    status
}

/// `cat` with no operands (or `-`) copies stdin to stdout until EOF.
async fn cat(args: &[String], io: &mut Io, fds: [Fd; 2]) -> u8 {
    let files: Vec<&str> = if args.is_empty() {
        vec!["-"]
    } else {
        args.iter().map(String::as_str).collect()
    };
    let mut status = 0;
    for f in files {
        match f {
            "-" => {
                while let Some(chunk) = io.stdin.chunk().await {
                    io.out.write(fds[0], chunk).await;
                }
            }
            "/etc/hostname" => io.out.write(fds[0], format!("{}\n", io.hostname)).await,
            _ => {
                io.out
                    .write(
                        fds[1],
                        format!("cat: can't open '{f}': No such file or directory\n"),
                    )
                    .await;
                status = 1;
            }
        }
    }
    status
}

/// A small `printf`: `%s`, `%d`, `%%` and backslash escapes; extra arguments are ignored.
async fn printf(args: &[String], out: &Output, fds: [Fd; 2]) -> u8 {
    let Some(format) = args.first() else {
        out.write(fds[1], "printf: usage: printf FORMAT [ARGUMENT...]\n")
            .await;
        return 1;
    };
    let mut rest = args[1..].iter();
    let mut s = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('\\', Some(e)) => {
                chars.next();
                match e {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    '\\' => s.push('\\'),
                    _ => {
                        s.push('\\');
                        s.push(e);
                    }
                }
            }
            ('%', Some('%')) => {
                chars.next();
                s.push('%');
            }
            ('%', Some('s' | 'd' | 'i' | 'u')) => {
                let conv = chars.next();
                let arg = rest.next().map(String::as_str).unwrap_or_default();
                if conv == Some('s') {
                    s.push_str(arg);
                } else {
                    s.push_str(&arg.trim().parse::<i64>().unwrap_or(0).to_string());
                }
            }
            _ => s.push(c),
        }
    }
    out.write(fds[0], s).await;
    0
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// How a command is joined to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// `;`, newline, or the first command.
    Seq,
    /// `&&`.
    And,
    /// `||`.
    Or,
}

/// A piece of a word: literal text or a variable to expand at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

/// A redirection; `fd` indices are 0 = stdout, 1 = stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redirect {
    /// `A>&B`.
    Dup { from: usize, to: usize },
    /// `A>FILE`: files do not exist here, so output is discarded.
    Null { fd: usize },
}

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Command {
    after: Sep,
    words: Vec<Vec<Part>>,
    redirects: Vec<Redirect>,
}

/// Split a script into simple commands.
fn parse(text: &str) -> Result<Vec<Command>, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
    };
    let mut out = Vec::new();
    let mut cur = Command {
        after: Sep::Seq,
        words: Vec::new(),
        redirects: Vec::new(),
    };
    loop {
        p.skip_blanks();
        let Some(c) = p.peek() else { break };
        let sep = match c {
            ';' | '\n' => Some(Sep::Seq),
            '&' if p.peek_at(1) == Some('&') => Some(Sep::And),
            '|' if p.peek_at(1) == Some('|') => Some(Sep::Or),
            '|' | '&' | '(' | ')' | '<' => return Err(format!("unexpected \"{c}\"")),
            '#' => {
                p.skip_comment();
                continue;
            }
            _ => None,
        };
        match sep {
            Some(s) => {
                p.pos += if s == Sep::Seq { 1 } else { 2 };
                if s != Sep::Seq && cur.words.is_empty() {
                    return Err(format!(
                        "unexpected \"{}\"",
                        if s == Sep::And { "&&" } else { "||" }
                    ));
                }
                let done = std::mem::replace(
                    &mut cur,
                    Command {
                        after: s,
                        words: Vec::new(),
                        redirects: Vec::new(),
                    },
                );
                if !done.words.is_empty() || !done.redirects.is_empty() {
                    out.push(done);
                }
            }
            None => p.word_or_redirect(&mut cur)?,
        }
    }
    if cur.after != Sep::Seq && cur.words.is_empty() {
        return Err("unexpected end of file".into());
    }
    if !cur.words.is_empty() || !cur.redirects.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r')) {
            self.pos += 1;
        }
    }

    fn skip_comment(&mut self) {
        while !matches!(self.peek(), None | Some('\n')) {
            self.pos += 1;
        }
    }

    /// Read a word, or a redirection such as `2>&1` / `>/dev/null`, into `cmd`.
    fn word_or_redirect(&mut self, cmd: &mut Command) -> Result<(), String> {
        let fd_prefix = match (self.peek(), self.peek_at(1)) {
            (Some('>'), _) => Some(0),
            (Some('1'), Some('>')) => Some(0),
            (Some('2'), Some('>')) => Some(1),
            _ => None,
        };
        if let Some(fd) = fd_prefix {
            self.pos += if self.peek() == Some('>') { 1 } else { 2 };
            return self.redirect(fd, cmd);
        }
        let word = self.word()?;
        cmd.words.push(word);
        Ok(())
    }

    fn redirect(&mut self, from: usize, cmd: &mut Command) -> Result<(), String> {
        if self.peek() == Some('>') {
            self.pos += 1; // `>>` appends; with no files it is the same as `>`.
        }
        if self.peek() == Some('&') {
            self.pos += 1;
            let to = match self.peek() {
                Some('1') => 0,
                Some('2') => 1,
                _ => return Err("unsupported redirection".into()),
            };
            self.pos += 1;
            cmd.redirects.push(Redirect::Dup { from, to });
            return Ok(());
        }
        self.skip_blanks();
        if self.word()?.is_empty() {
            return Err("unexpected redirection".into());
        }
        cmd.redirects.push(Redirect::Null { fd: from });
        Ok(())
    }

    /// One shell word with quotes, escapes and `$` expansions kept symbolic.
    fn word(&mut self) -> Result<Vec<Part>, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\r' | '\n' | ';' | '&' | '|' | '<' | '>' | '(' | ')' => break,
                '\'' => {
                    self.pos += 1;
                    loop {
                        match self.peek() {
                            None => return Err("unterminated quoted string".into()),
                            Some('\'') => break,
                            Some(q) => lit.push(q),
                        }
                        self.pos += 1;
                    }
                    self.pos += 1;
                }
                '"' => {
                    self.pos += 1;
                    self.double_quoted(&mut parts, &mut lit)?;
                }
                '\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some('\n') => {}
                        Some(e) => lit.push(e),
                        None => lit.push('\\'),
                    }
                    self.pos += 1;
                }
                '$' => {
                    self.pos += 1;
                    self.dollar(&mut parts, &mut lit);
                }
                _ => {
                    lit.push(c);
                    self.pos += 1;
                }
            }
        }
        // An empty quoted word (`''`) is still a word; represent it as an empty literal.
        parts.push(Part::Lit(lit));
        Ok(parts)
    }

    fn double_quoted(&mut self, parts: &mut Vec<Part>, lit: &mut String) -> Result<(), String> {
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated quoted string".into());
            };
            self.pos += 1;
            match c {
                '"' => return Ok(()),
                '\\' => match self.peek() {
                    Some(e @ ('"' | '\\' | '$' | '`')) => {
                        lit.push(e);
                        self.pos += 1;
                    }
                    Some('\n') => self.pos += 1,
                    _ => lit.push('\\'),
                },
                '$' => self.dollar(parts, lit),
                _ => lit.push(c),
            }
        }
    }

    /// After a `$`: `$NAME`, `${NAME}`, `$?`, `$1`…; a lone `$` is literal.
    fn dollar(&mut self, parts: &mut Vec<Part>, lit: &mut String) {
        let name: String = match self.peek() {
            Some('{') => {
                let end = self.chars[self.pos..].iter().position(|&c| c == '}');
                match end {
                    Some(e) => {
                        let n = self.chars[self.pos + 1..self.pos + e].iter().collect();
                        self.pos += e + 1;
                        n
                    }
                    None => String::new(),
                }
            }
            Some(c @ ('?' | '#' | '$' | '@' | '*')) => {
                self.pos += 1;
                c.to_string()
            }
            Some(c) if c.is_ascii_digit() => {
                self.pos += 1;
                c.to_string()
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let start = self.pos;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                self.chars[start..self.pos].iter().collect()
            }
            _ => String::new(),
        };
        if name.is_empty() {
            lit.push('$');
            return;
        }
        parts.push(Part::Lit(std::mem::take(lit)));
        parts.push(Part::Var(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run argv with `input` on stdin; returns (outcome, stdout, stderr).
    async fn run(argv: &[&str], input: &str) -> (Outcome, String, String) {
        let (tx, mut rx) = mpsc::channel(1024);
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        if !input.is_empty() {
            in_tx
                .send(Bytes::from(input.to_string()))
                .expect("stdin open");
        }
        drop(in_tx);
        let mut io = Io {
            stdin: Stdin::new(Some(in_rx)),
            out: Output::new(tx),
            hostname: "pod-a".into(),
            tty: false,
        };
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let outcome = exec(&argv, &mut io).await;
        drop(io);
        let (mut out, mut err) = (String::new(), String::new());
        while let Some((fd, b)) = rx.recv().await {
            let s = String::from_utf8_lossy(&b);
            match fd {
                Fd::Out => out.push_str(&s),
                Fd::Err => err.push_str(&s),
                Fd::Null => panic!("Null is never sent"),
            }
        }
        (outcome, out, err)
    }

    #[tokio::test]
    async fn commands_behave_like_busybox() {
        let cases: &[(&[&str], &str, u8, &str, &str)] = &[
            (&["echo", "hi", "there"], "", 0, "hi there\n", ""),
            (&["/bin/echo", "-n", "x"], "", 0, "x", ""),
            (&["cat"], "hello", 0, "hello", ""),
            (&["sh", "-c", "exit 3"], "", 3, "", ""),
            (&["sh", "-c", "exit 256"], "", 0, "", ""),
            (&["sh", "-c", "nope"], "", 127, "", "sh: nope: not found\n"),
            (
                &[
                    "sh",
                    "-c",
                    "true && echo a || echo b; false && echo c || echo d",
                ],
                "",
                0,
                "a\nd\n",
                "",
            ),
            (&["sh", "-c", "false; echo $?"], "", 0, "1\n", ""),
            (
                &["/bin/sh", "-c", "echo 'a  b' \"$HOSTNAME\" ${HOME}"],
                "",
                0,
                "a  b pod-a /root\n",
                "",
            ),
            (
                &["sh", "-c", "echo oops >&2; echo fine 2>&1"],
                "",
                0,
                "fine\n",
                "oops\n",
            ),
            (&["sh", "-c", "echo gone >/dev/null"], "", 0, "", ""),
            (
                &["sh", "-c", "X=1; echo $X $1", "name", "arg1"],
                "",
                0,
                "1 arg1\n",
                "",
            ),
            (&["sh", "-c", "cat; echo done"], "in\n", 0, "in\ndone\n", ""),
            (&["sh"], "echo one\nexit 4\necho never\n", 4, "one\n", ""),
            (
                &["sh", "-c", "echo a | cat"],
                "",
                2,
                "",
                "sh: syntax error: unexpected \"|\"\n",
            ),
            (&["sh", "-c"], "", 2, "", "sh: -c requires an argument\n"),
            (&["printf", "%s=%d%%\\n", "x", "42"], "", 0, "x=42%\n", ""),
            (&["hostname"], "", 0, "pod-a\n", ""),
            (&["pwd"], "", 0, "/\n", ""),
            (
                &["cat", "/nope"],
                "",
                1,
                "",
                "cat: can't open '/nope': No such file or directory\n",
            ),
            (&["sleep", "0.01"], "", 0, "", ""),
            (&["sleep", "x"], "", 1, "", "sleep: invalid number 'x'\n"),
        ];
        for (argv, input, status, out, err) in cases {
            let got = run(argv, input).await;
            assert_eq!(
                got,
                (Outcome::Exit(*status), out.to_string(), err.to_string()),
                "{argv:?}"
            );
        }
    }

    #[tokio::test]
    async fn unknown_executable_fails_to_start_like_runc() {
        let (outcome, out, err) = run(&["nope", "x"], "").await;
        assert_eq!((out.as_str(), err.as_str()), ("", ""));
        let Outcome::StartFailed(msg) = outcome else {
            panic!("expected a start failure, got {outcome:?}");
        };
        assert!(
            msg.starts_with("failed to exec in container: failed to start exec \""),
            "{msg}"
        );
        assert!(
            msg.ends_with("OCI runtime exec failed: exec failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown"),
            "{msg}"
        );
        let (outcome, _, _) = run(&["/opt/sh"], "").await;
        assert!(
            matches!(outcome, Outcome::StartFailed(m) if m.contains("exec: \"/opt/sh\": stat /opt/sh: no such file or directory: unknown"))
        );
        // `exit` is a shell builtin, not an executable.
        assert!(matches!(
            run(&["exit", "3"], "").await.0,
            Outcome::StartFailed(_)
        ));
    }

    #[tokio::test]
    async fn env_lists_the_container_environment() {
        let (_, out, _) = run(&["env"], "").await;
        assert_eq!(
            out,
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nHOSTNAME=pod-a\nHOME=/root\n"
        );
    }
}
