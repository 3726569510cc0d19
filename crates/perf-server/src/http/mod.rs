//! The http layer: handlers only, one file per resource, and the middleware in front of
//! them (auth, browser guards, admission, body timeouts, durations). Handlers read the
//! durable state and the last decisions; a GET never decides — when the decisions are older
//! than `server.evaluationInterval` it asks for a cycle through the control layer's single
//! flight, never beside one. Writes that decide (a rollout step, a changed SLO) call the
//! control layer and apply the effects it returns.

pub mod admission;
pub mod alerts;
pub mod anomalies;
pub mod auth;
pub mod backup;
pub mod baselines;
pub mod browser;
pub mod cache;
pub mod cache_merge;
pub mod capacity;
pub mod cluster;
pub mod dashboard;
pub mod decision_metrics;
pub mod drills;
pub mod error;
pub mod extract;
pub mod forward;
pub mod gates;
pub mod golive;
pub mod health;
pub mod ingest;
pub mod listen;
pub mod memory;
pub mod policy;
pub mod query;
pub mod regressions;
pub mod reports;
pub mod risk;
pub mod rollouts;
pub mod routing;
pub mod slo_metrics;
pub mod slos;
pub mod stream;
pub mod tenants;

use crate::config::Config;
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The router with every route and middleware.
pub fn app(state: Arc<AppState>) -> Router {
    let limits = &state.durable.config.server.limits;
    let limit = limits.max_body_bytes;
    let body_timeout = Duration::from_millis(limits.body_timeout as u64);
    Router::new()
        .route("/", get(dashboard::page))
        .route("/assets/{file}", get(dashboard::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/v1/events", post(ingest::post_events))
        .route("/v1/resources", post(ingest::post_resources))
        .route("/v1/overview", get(reports::get_overview))
        .route("/v1/memory", get(memory::get_memory))
        .route("/v1/services/{service}/profile", get(reports::get_profile))
        .route("/v1/services/{service}/callers", get(reports::get_callers))
        .route("/v1/query", get(query::get_query))
        .route("/v1/query/range", get(query::get_range))
        .route("/v1/slos", get(slos::list))
        .route(
            "/v1/slos/{name}",
            get(slos::get_one).put(slos::put).delete(slos::delete),
        )
        .route("/v1/alerts", get(alerts::alerts))
        .route("/v1/baselines", get(baselines::list).post(baselines::post))
        .route(
            "/v1/baselines/{id}",
            get(baselines::get_one).delete(baselines::delete),
        )
        .route("/v1/gates/evaluate", post(gates::post))
        .route("/v1/rollouts", get(rollouts::list).post(rollouts::post))
        .route("/v1/rollouts/{id}", get(rollouts::get_one))
        .route("/v1/rollouts/{id}/evaluate", post(rollouts::evaluate))
        .route("/v1/regressions", get(regressions::get))
        .route("/v1/anomalies", get(anomalies::list))
        .route("/v1/cost", get(capacity::get_cost))
        .route("/v1/cache", get(cache::list))
        .route("/v1/cache/{space}", get(cache::get_one))
        .route("/v1/golive", get(golive::get))
        .route("/v1/golive/freeze", post(golive::post_freeze))
        .route("/v1/golive/frozen", get(golive::get_frozen))
        .route("/v1/admin/backup", post(backup::post))
        .route("/v1/cluster", get(cluster::get))
        .route("/v1/drills", get(drills::list).post(drills::post))
        .route("/v1/drills/{id}", get(drills::get_one))
        .route("/v1/drills/{id}/stop", post(drills::stop))
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
        .fallback(health::not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            forward::route,
        ))
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
        .durable
        .metrics
        .observe(&method, &route, start.elapsed().as_secs_f64());
    response
}

/// Before a read of the last decisions: [`AppState::refresh`] on a blocking thread.
pub async fn refreshed(state: &Arc<AppState>) -> Result<(), error::AppError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.refresh())
        .await
        .map_err(|e| error::AppError::Internal(e.into()))
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
