//! `kbatch-proxy policy check`: evaluate a policies directory against manifests, as the
//! proxy would for one user, so an operator can test a policy change before rolling it out.
//! Prints the (mutated) objects as YAML on stdout and findings on stderr; exit status 0 when
//! every object is allowed, 1 when one is denied, 2 on a usage, manifest or policy error.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use serde::Deserialize;
use serde_json::Value;

use super::kinds::{resource_for_kind, split_api_version};
use super::{PolicySource, Subject, Target};

/// Exit status: every object allowed.
pub const EXIT_ALLOWED: u8 = 0;
/// Exit status: at least one object denied.
pub const EXIT_DENIED: u8 = 1;
/// Exit status: usage, manifest or policy error.
pub const EXIT_ERROR: u8 = 2;

/// `kbatch-proxy policy …`
#[derive(Parser, Debug)]
#[command(
    name = "kbatch-proxy policy",
    about = "Work with kbatch-proxy policies"
)]
pub struct PolicyCommand {
    /// What to do.
    #[command(subcommand)]
    pub command: PolicySubcommand,
}

/// Policy subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PolicySubcommand {
    /// Evaluate policies against manifests as the proxy would for one user.
    Check(CheckArgs),
}

/// `kbatch-proxy policy check` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckArgs {
    /// Directory of policy files (default: the built-in set, the proxy's default; `none`:
    /// no policies).
    #[arg(long, value_name = "DIR|none")]
    pub dir: Option<PathBuf>,
    /// Hub user name.
    #[arg(long)]
    pub user: String,
    /// Hub group of the user (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Kubernetes verb of the request.
    #[arg(long, default_value = "create")]
    pub verb: String,
    /// Namespace (default: the user's kbatch namespace).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Subresource of the request, if any.
    #[arg(long)]
    pub subresource: Option<String>,
    /// Manifest file (multi-document YAML or JSON; `-` for stdin).
    #[arg(short = 'f', long = "filename")]
    pub file: PathBuf,
}

/// Run `policy …` from command-line arguments (the first is `policy`); returns the exit status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> u8 {
    match PolicyCommand::try_parse_from(args) {
        Ok(cmd) => match cmd.command {
            PolicySubcommand::Check(a) => {
                run_check(&a, &mut std::io::stdout(), &mut std::io::stderr())
            }
        },
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_ALLOWED
            }
        }
    }
}

/// `policy check` with its arguments parsed.
pub fn check(args: &CheckArgs) -> ExitCode {
    ExitCode::from(run_check(
        args,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    ))
}

/// `policy check`, writing to the given streams; returns the exit status.
pub fn run_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match check_inner(args, out, err) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(err, "kbatch-proxy policy check: {message}");
            EXIT_ERROR
        }
    }
}

fn check_inner(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, String> {
    let set = PolicySource::from_flag(args.dir.as_deref())
        .load()
        .map_err(|e| e.to_string())?;
    let text = if args.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("reading stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(&args.file)
            .map_err(|e| format!("reading {}: {e}", args.file.display()))?
    };
    let objects = parse_manifests(&text)?;
    if objects.is_empty() {
        return Err("the manifest holds no objects".into());
    }
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| crate::identity::namespace_for(&args.user));
    let subject = Subject {
        user: &args.user,
        namespace: &namespace,
        groups: &args.groups,
    };
    let io = |e: std::io::Error| format!("writing output: {e}");
    let mut code = EXIT_ALLOWED;
    let mut first = true;
    for object in objects {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .ok_or("an object has no apiVersion")?
            .to_string();
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("an object has no kind")?
            .to_string();
        // The same target-based path as a request: the resource (and with it the shape the
        // aliases use) comes from apiVersion and kind, as kubectl would derive the URL.
        let (group, version) = split_api_version(&api_version);
        let resource = resource_for_kind(group, &kind);
        let target = Target {
            verb: &args.verb,
            group,
            version,
            resource: &resource,
            subresource: args.subresource.as_deref(),
        };
        let who = format!("{kind}/{}", display_name(&object));
        if !set.matches(&target, &subject) {
            writeln!(err, "{who}: no policy applies").map_err(io)?;
        }
        let eval = set.evaluate(&target, &subject, object);
        for w in &eval.warnings {
            writeln!(err, "{who}: Warning: {w}").map_err(io)?;
        }
        for a in &eval.audits {
            writeln!(err, "{who}: Audit: {a}").map_err(io)?;
        }
        if let Some(denied) = &eval.denied {
            writeln!(err, "{who}: DENIED: {denied}").map_err(io)?;
            code = EXIT_DENIED;
            continue;
        }
        if eval.changed {
            writeln!(err, "{who}: allowed (mutated)").map_err(io)?;
        } else {
            writeln!(err, "{who}: allowed (unchanged)").map_err(io)?;
        }
        let yaml = serde_yaml::to_string(&eval.object).map_err(|e| e.to_string())?;
        if !first {
            writeln!(out, "---").map_err(io)?;
        }
        first = false;
        write!(out, "{yaml}").map_err(io)?;
    }
    Ok(code)
}

/// Every object of a multi-document manifest (`kind: List` documents expanded; empty
/// documents skipped).
pub fn parse_manifests(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value =
            Value::deserialize(doc).map_err(|e| format!("manifest document {}: {e}", i + 1))?;
        match value {
            Value::Null => {}
            Value::Object(ref map)
                if map.get("kind").and_then(Value::as_str) == Some("List")
                    || map
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k.ends_with("List") && map.contains_key("items")) =>
            {
                if let Some(Value::Array(items)) = map.get("items") {
                    out.extend(items.iter().cloned());
                }
            }
            Value::Object(_) => out.push(value),
            _ => return Err(format!("manifest document {} is not an object", i + 1)),
        }
    }
    Ok(out)
}

/// `metadata.name`, else `generateName*`, else `(unnamed)`.
fn display_name(object: &Value) -> String {
    let meta = object.get("metadata");
    if let Some(name) = meta.and_then(|m| m.get("name")).and_then(Value::as_str) {
        return name.to_string();
    }
    if let Some(g) = meta
        .and_then(|m| m.get("generateName"))
        .and_then(Value::as_str)
    {
        return format!("{g}*");
    }
    "(unnamed)".to_string()
}
