//! `kbatch-proxy` binary: parse the configuration and exit non-zero with a clear message when
//! it is invalid.

use clap::Parser;
use kbatch_proxy::config::{Args, Config};

fn main() {
    let args = Args::parse();
    match Config::from_args(args) {
        Ok(cfg) => {
            eprintln!(
                "kbatch-proxy: configuration valid (listen {}); the proxy server is not implemented yet",
                cfg.args.listen
            );
        }
        Err(e) => {
            eprintln!("kbatch-proxy: {e}");
            std::process::exit(2);
        }
    }
}
