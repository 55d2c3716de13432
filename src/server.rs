//! The accept loop: optional TLS (ALPN h2 + http/1.1), hyper-util's auto HTTP/1+2 builder with
//! upgrades, a header-read timeout, and graceful shutdown (stop accepting, let in-flight
//! requests finish within a grace period).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::router::{handle, AppState};

/// Server timing knobs.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// How long a client may take to send request headers.
    pub header_read_timeout: Duration,
    /// How long in-flight requests may run after shutdown starts.
    pub shutdown_grace: Duration,
}

/// Serve until `shutdown` resolves, then drain.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    state: Arc<AppState>,
    opts: ServerOptions,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(250);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let state = state.clone();
        // The request's future is boxed: hyper keeps one allocation the size of the service's
        // future for the connection's whole life, and `handle`'s is large (about 16 KiB); a
        // box of a pointer keeps an idle watch's connection small, and the request's own
        // state is freed as soon as its answer's headers are out.
        let service = hyper::service::service_fn(move |req| {
            let state = state.clone();
            let fut: Pin<Box<dyn Future<Output = _> + Send>> =
                Box::pin(
                    async move { Ok::<_, std::convert::Infallible>(handle(state, req).await) },
                );
            fut
        });
        match &acceptor {
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls =
                        match tokio::time::timeout(opts.header_read_timeout, acceptor.accept(tcp))
                            .await
                        {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => {
                                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    if let Err(e) = watcher.watch(conn.into_owned()).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
            None => {
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                let fut = graceful.watch(conn.into_owned());
                tokio::spawn(async move {
                    if let Err(e) = fut.await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    if tokio::time::timeout(opts.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing remaining connections");
    }
}
