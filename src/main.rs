//! `kbatch-proxy` binary: parse the configuration, initialise logging, bind the listener and
//! run until SIGTERM or Ctrl-C; exit non-zero with a clear message on bad configuration.
//! `kbatch-proxy certs …` runs [`kbatch_proxy::certs`] instead.

use clap::Parser;
use kbatch_proxy::config::{Args, Config};

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() {
    // `kbatch-proxy certs …`: the dev-certificate tool, not the server.
    if std::env::args_os().nth(1).is_some_and(|a| a == "certs") {
        std::process::exit(kbatch_proxy::certs::main(std::env::args_os().skip(1)));
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if std::env::args_os().nth(1).is_some_and(|a| a == "policy") {
        std::process::exit(i32::from(kbatch_proxy::policy::cli::main(
            std::env::args_os().skip(1),
        )));
    }
    let config = match Config::from_args(Args::parse()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kbatch-proxy: {e}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(config.args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kbatch-proxy: binding {}: {e}", config.args.listen);
            std::process::exit(1);
        }
    };
    if let Err(e) = kbatch_proxy::run(config, listener, shutdown_signal()).await {
        eprintln!("kbatch-proxy: {e}");
        std::process::exit(1);
    }
}
