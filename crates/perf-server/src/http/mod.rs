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
pub mod openapi;
pub mod policy;
pub mod query;
pub mod regressions;
pub mod reports;
pub mod risk;
pub mod rollouts;
pub mod routing;
pub mod schemas;
pub mod slo_corrections;
pub mod slo_metrics;
pub mod slo_preview;
pub mod slos;
pub mod stream;
pub mod tenants;

use crate::config::Config;
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The router with every route and middleware.
pub fn app(state: Arc<AppState>) -> Router {
    let limits = &state.durable.config.server.limits;
    let limit = limits.max_body_bytes;
    let body_timeout = Duration::from_millis(limits.body_timeout as u64);
    let (router, _) = openapi::routes().split_for_parts();
    router
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
