//! The HTTP server of ecosystem-perf: `app(state) -> Router` with ingest, reports, the
//! WebSocket stream, `/metrics` and the dashboard; and `run`, which serves it with periodic
//! snapshots and a graceful shutdown that flushes everything acknowledged.

mod admission;
mod anomalies;
pub mod auth;
mod browser;
pub mod capacity;
pub mod capacity_plan;
pub mod config;
mod dashboard;
mod decision_metrics;
pub mod deploy;
pub mod error;
mod extract;
mod ingest;
mod listen;
pub mod metrics;
mod policy;
pub mod privacy;
mod query;
mod query_view;
mod risk;
mod routing;
mod slos;
pub mod state;
pub mod stream;
mod tenants;
pub mod webhooks;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use config::Config;
pub use ingest::gunzip;
pub use state::AppState;

/// The router with every route and middleware.
pub fn app(state: Arc<AppState>) -> Router {
    let limit = state.config.server.limits.max_body_bytes;
    let body_timeout = Duration::from_millis(state.config.server.limits.body_timeout as u64);
    Router::new()
        .route("/", get(dashboard::page))
        .route("/healthz", get(query::healthz))
        .route("/readyz", get(query::readyz))
        .route("/metrics", get(query::metrics))
        .route("/v1/events", post(ingest::post_events))
        .route("/v1/resources", post(ingest::post_resources))
        .route("/v1/overview", get(query::get_overview))
        .route("/v1/services/{service}/profile", get(query::get_profile))
        .route("/v1/services/{service}/callers", get(query::get_callers))
        .route("/v1/query", get(query_view::get_query))
        .route("/v1/slos", get(slos::list))
        .route(
            "/v1/slos/{name}",
            get(slos::get_one).put(slos::put).delete(slos::delete),
        )
        .route("/v1/alerts", get(slos::alerts))
        .route(
            "/v1/baselines",
            get(deploy::baselines::list).post(deploy::baselines::post),
        )
        .route(
            "/v1/baselines/{id}",
            get(deploy::baselines::get_one).delete(deploy::baselines::delete),
        )
        .route("/v1/gates/evaluate", post(deploy::gates::post))
        .route(
            "/v1/rollouts",
            get(deploy::rollouts::list).post(deploy::rollouts::post),
        )
        .route("/v1/rollouts/{id}", get(deploy::rollouts::get_one))
        .route(
            "/v1/rollouts/{id}/evaluate",
            post(deploy::rollouts::evaluate),
        )
        .route("/v1/regressions", get(deploy::regressions::get))
        .route("/v1/anomalies", get(anomalies::list))
        .route("/v1/cost", get(capacity::get_cost))
        .route("/v1/routing/weights", get(routing::get_weights))
        .route("/v1/policy/evaluate", post(policy::post_evaluate))
        .route("/v1/degradation", get(policy::get_degradation))
        .route("/v1/risk/signals", get(risk::get_signals))
        .route("/v1/risk/entities/{id}", get(risk::get_entity))
        .route("/v1/capacity/{service}", get(capacity::get))
        .route("/v1/capacity/{service}/plan", get(capacity::get_plan))
        .route("/v1/capacity/{service}/hpa", get(capacity::get_hpa))
        .route("/v1/tenants", get(tenants::list))
        .route("/v1/tenants/{id}/evaluation", get(tenants::get_one))
        .route("/v1/stream", get(stream::stream))
        .fallback(query::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            auth::Auth::new(state.clone()),
            auth::require_token,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            browser::guard,
        ))
        .layer(middleware::from_fn_with_state(
            admission::Admission::new(state.clone()),
            admission::admit,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            observe_duration,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> error::AppError {
    error::AppError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

async fn observe_duration(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    state
        .metrics
        .observe(&method, &route, start.elapsed().as_secs_f64());
    response
}

/// Refuses a non-loopback listen address when no token is configured.
pub fn check_exposure(config: &Config) -> anyhow::Result<SocketAddr> {
    let addr: SocketAddr = config.server.listen.parse()?;
    if config.auth.tokens.is_empty() && !addr.ip().is_loopback() {
        anyhow::bail!(
            "refusing to listen on {addr} without authentication: add a token under auth.tokens in the \
             configuration (e.g. {{name: ops, token: \"${{PERF_TOKEN}}\", scopes: [ingest, read]}}) or listen on 127.0.0.1"
        );
    }
    Ok(addr)
}

/// Serves `state` on `listener` until `shutdown` completes; then refuses new writes, lets
/// in-flight requests finish, and writes a final snapshot.
pub async fn run(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let snapshots = tokio::spawn(snapshot_every(state.clone()));
    let publisher = tokio::spawn(stream::publish_overview_every_second(state.clone()));
    let evaluator = tokio::spawn(evaluate_every(state.clone()));
    let notifier = tokio::spawn(webhooks::deliver_forever(state.clone()));
    let deployments = tokio::spawn(deploy::cycle_forever(state.clone()));
    let flag = state.clone();
    let l = &state.config.server.limits;
    let limits = listen::ConnectionLimits {
        header_timeout: Duration::from_millis(l.header_timeout as u64),
        max_connections: listen::effective_max_connections(l.max_connections),
        shutdown_timeout: Duration::from_millis(l.shutdown_timeout as u64),
    };
    if limits.max_connections < l.max_connections {
        tracing::warn!(
            configured = l.max_connections,
            used = limits.max_connections,
            "maxConnections lowered to stay under the file-descriptor limit (ulimit -n)"
        );
    }
    listen::serve(
        listener,
        app(state.clone()),
        limits,
        state.clone(),
        async move {
            shutdown.await;
            flag.begin_shutdown();
            tracing::info!("shutting down: no new writes, finishing requests in flight");
        },
    )
    .await;
    snapshots.abort();
    publisher.abort();
    evaluator.abort();
    notifier.abort();
    deployments.abort();
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.snapshot()).await??;
    tracing::info!("final snapshot written");
    Ok(())
}

async fn snapshot_every(state: Arc<AppState>) {
    let every = Duration::from_millis(state.config.server.snapshot_interval.max(1000) as u64);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = state.snapshot_due.notified() => {}
        }
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.snapshot()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "snapshot failed; the log keeps everything until the next one")
            }
            Err(e) => tracing::error!(error = %e, "snapshot task failed"),
        }
    }
}

/// Runs the SLO evaluation cycle every `server.evaluationInterval`.
async fn evaluate_every(state: Arc<AppState>) {
    let every = Duration::from_millis(state.config.server.evaluation_interval.max(100) as u64);
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let s = state.clone();
        match tokio::task::spawn_blocking(move || evaluate_cycle(&s)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "SLO evaluation failed"),
            Err(e) => tracing::error!(error = %e, "SLO evaluation task failed"),
        }
    }
}

/// One evaluation cycle now: SLOs, anomaly detectors, the degradation ladders and policy
/// contexts, routing weights, caller risk (the server runs it every
/// `server.evaluationInterval`).
pub fn evaluate_cycle(state: &AppState) -> anyhow::Result<()> {
    slos::evaluate(state)?;
    anomalies::evaluate(state)?;
    policy::evaluate(state)?;
    routing::evaluate_all(state);
    risk::evaluate(state)?;
    Ok(())
}

/// Evaluates every SLO now (the cycle does it every `server.evaluationInterval`).
pub fn evaluate_slos(state: &AppState) -> anyhow::Result<()> {
    slos::evaluate(state)
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
