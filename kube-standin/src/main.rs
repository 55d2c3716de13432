//! `kube-standin` binary: start the in-memory API server and print a kubeconfig for it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use kube_standin::auth::{AccessRule, UserInfo};
use kube_standin::discovery::ServerVersion;
use kube_standin::kubeconfig::{kubeconfig, Credential};
use kube_standin::server::{StandIn, StandInConfig};

/// An in-memory Kubernetes API server for tests and demos.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "STANDIN_LISTEN", default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Kubernetes version to report at /version.
    #[arg(long, env = "STANDIN_KUBE_VERSION")]
    kube_version: Option<String>,
    /// Admin token (user `admin`, group `system:masters`); random when unset.
    #[arg(long, env = "STANDIN_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Extra user: `NAME=TOKEN[:GROUP,GROUP]`. Repeatable.
    #[arg(long = "user")]
    users: Vec<String>,
    /// Grant: `SUBJECT=NAMESPACES[:VERBS[:RESOURCES]]` (SUBJECT is a user or `group:NAME`). Repeatable.
    #[arg(long = "allow")]
    rules: Vec<String>,
    /// Write the admin kubeconfig here (also printed on stdout).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Write the CA certificate (PEM) here.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

fn parse_user(s: &str) -> Result<(String, UserInfo), String> {
    let (name, rest) = s
        .split_once('=')
        .ok_or_else(|| format!("--user {s:?}: expected NAME=TOKEN[:GROUPS]"))?;
    let (token, groups) = match rest.split_once(':') {
        Some((t, g)) => (
            t,
            g.split(',')
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        None => (rest, Vec::new()),
    };
    Ok((token.to_string(), UserInfo::authenticated(name, &groups)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let mut cfg = StandInConfig {
        listen: args.listen,
        ..StandInConfig::default()
    };
    if let Some(v) = &args.kube_version {
        cfg.version = ServerVersion::parse(v)
            .ok_or_else(|| format!("--kube-version {v:?}: expected 1.MINOR.PATCH"))?;
    }
    if let Some(t) = args.admin_token {
        cfg.admin_token = t;
    }
    for u in &args.users {
        cfg.users.push(parse_user(u)?);
    }
    for r in &args.rules {
        cfg.rules.push(AccessRule::parse(r)?);
    }
    let standin = StandIn::start(cfg).await?;
    let kc = kubeconfig(
        &standin.url,
        Some(&standin.ca_pem),
        &Credential::Token(standin.admin_token.clone()),
        None,
        "kube-standin",
    );
    if let Some(p) = &args.kubeconfig {
        std::fs::write(p, &kc)?;
    }
    if let Some(p) = &args.ca_file {
        std::fs::write(p, &standin.ca_pem)?;
    }
    println!("{kc}");
    eprintln!("kube-standin listening on {} (Ctrl-C to stop)", standin.url);
    tokio::signal::ctrl_c().await?;
    Ok(())
}
