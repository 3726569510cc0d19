//! The connection layer: accepting, bounding and closing connections, which `axum::serve`
//! leaves open-ended (no header timeout, no connection cap, no shutdown deadline).
//!
//! - **Header timeout** (`server.limits.headerTimeout`): hyper's HTTP/1 header-read timer.
//!   It runs whenever the connection waits for a request head, so it also closes idle
//!   keep-alive connections and slowloris clients that trickle header bytes.
//! - **Connection cap** (`maxConnections`, and never closer than 64 to the process's
//!   file-descriptor limit so the log, the database and `/healthz` keep their descriptors):
//!   a connection over the cap is answered a canned `503` with `Retry-After` and closed.
//! - **Accept errors** (EMFILE, ENFILE, ECONNABORTED) pause the loop for 50 ms instead of
//!   ending it.
//! - **Shutdown**: on the signal the listener closes, every connection is asked to finish
//!   its current request and close (hyper's graceful shutdown), and after
//!   `shutdownTimeout` the server goes on to its final snapshot whatever is still open. A
//!   second SIGINT/SIGTERM exits at once (everything acknowledged is already in the log).
//!
//! Written on hyper-util's auto builder (HTTP/1.1 and h2c, with upgrades for the WebSocket)
//! as `axum::serve` itself is; axum's own loop exposes none of these settings.

use crate::AppState;
use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// What the connection layer enforces.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Header (and keep-alive idle) timeout.
    pub header_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Time in-flight requests get at shutdown.
    pub shutdown_timeout: Duration,
}

/// Descriptors kept free for everything that is not a client connection.
const RESERVED_FDS: u64 = 64;

/// The connection cap actually used: `wanted`, lowered under the soft descriptor limit.
pub fn effective_max_connections(wanted: usize) -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    let room = soft.saturating_sub(RESERVED_FDS).max(1);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 97\r\n\r\n{\"error\":{\"code\":\"unavailable\",\"message\":\"too many open connections; retry in a second please\"}}";

/// Serves `router` on `listener` until `shutdown` resolves, then drains as described in the
/// module doc. Returns once every connection closed or the shutdown deadline passed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Dropping `stop_tx` tells every connection to finish; each holds a `done_rx` clone, so
    // `done_tx.closed()` resolves when the last connection is gone.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol();
    let builder = Arc::new(builder);
    let metrics = &state.durable.metrics;
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed; pausing 50 ms");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
            // Best effort: the socket's buffer takes these bytes without waiting.
            let _ = stream.try_write(OVER_CAPACITY);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(
            router
                .clone()
                .map_request(|req: Request<Incoming>| req.map(Body::new)),
        );
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        metrics.connections_open.fetch_add(1, Ordering::Relaxed);
        let state = state.clone();
        tokio::spawn(async move {
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
            state
                .durable
                .metrics
                .connections_open
                .fetch_sub(1, Ordering::Relaxed);
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    drop(stop_rx);
    drop(done_rx);
    let _ = stop_tx.send(());
    tokio::select! {
        _ = done_tx.closed() => {}
        _ = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!(
                open = metrics.connections_open.load(Ordering::Relaxed),
                "connections still open after the shutdown timeout; going on with the final snapshot"
            );
        }
        _ = shutdown_signal() => {
            tracing::warn!("second signal: exiting now (everything acknowledged is in the ingest log)");
            std::process::exit(130);
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
