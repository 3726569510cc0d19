//! `GET /v1/routing/weights`: per-node scores and weights of a service (the QNET hook), as
//! JSON, an Envoy EDS `ClusterLoadAssignment` (`?format=envoy&port=`) or an nginx `upstream`
//! block (`?format=nginx&port=`). Inputs: the (service, node) view over `routing.window`, the
//! nodes' resource samples (CPU of the last minute, declared capacity) and the anomalies open
//! on a node (found in the last 5 minutes). The evaluation cycle recomputes every service and
//! publishes changes of at least `routing.publishDelta` on the stream (`routing_weight`).

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use perf_core::routing::{export, node_inputs, score_nodes, NodeInput, WeightsReport};
use perf_core::view::Dim;
use std::sync::Arc;

/// An anomaly on a node counts as open this long.
const ANOMALY_OPEN_MS: i64 = 5 * 60_000;

/// The name of the first view whose dimensions are exactly (service, node).
fn node_view(state: &AppState) -> Option<String> {
    state
        .config
        .views
        .iter()
        .find(|v| v.dims == [Dim::Service, Dim::Node])
        .map(|v| v.name.clone())
}

/// The inputs of every node of `service` at `now`.
fn inputs(state: &AppState, service: &str, now: i64) -> Result<Vec<NodeInput>, AppError> {
    let view = node_view(state).ok_or_else(|| {
        AppError::BadRequest("routing needs a view with dims [service, node]".into())
    })?;
    let window = state.config.routing.window;
    let mut out = {
        let engine = state.engine();
        if !engine.has_service(service) {
            return Err(AppError::NotFound(format!(
                "no data for service {service:?}"
            )));
        }
        node_inputs(
            &engine,
            &view,
            service,
            now,
            window,
            state.config.routing.fast_window,
        )
        .map_err(|e| AppError::BadRequest(e.to_string()))?
    };
    let monitor = state
        .anomaly_monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for a in monitor
        .anomalies()
        .filter(|a| a.at >= now - ANOMALY_OPEN_MS)
    {
        let on = |dim: &str| {
            a.key
                .iter()
                .find(|(d, _)| d == dim)
                .map(|(_, v)| v.as_str())
        };
        if on("service") == Some(service) {
            if let Some(node) = on("node") {
                if let Some(n) = out.iter_mut().find(|n| n.node == node) {
                    n.anomalous = true;
                }
            }
        }
    }
    Ok(out)
}

/// Evaluates `service` now: updates the balancer and publishes changes on the stream.
pub fn evaluate(state: &AppState, service: &str) -> Result<WeightsReport, AppError> {
    let now = state.now();
    let inputs = inputs(state, service, now)?;
    let config = &state.config.routing;
    let budget = crate::capacity::p99_budget_ms(state, service);
    let scores = score_nodes(
        &inputs,
        config,
        Some(budget),
        1.0 - state.config.budgets.headroom,
    );
    let (report, changes) = {
        let mut balancer = state.balancer.lock().unwrap_or_else(|p| p.into_inner());
        let names: Vec<&str> = inputs.iter().map(|n| n.node.as_str()).collect();
        balancer.forget_missing(service, &names);
        balancer.update(service, &inputs, scores, now, config)
    };
    for c in &changes {
        crate::stream::publish(state, "routing_weight", now, c);
    }
    Ok(report)
}

/// Evaluates every service (the evaluation cycle).
pub fn evaluate_all(state: &AppState) {
    let services = state.engine().services();
    for svc in services {
        if let Err(e) = evaluate(state, &svc) {
            tracing::debug!(service = %svc, error = ?e, "routing evaluation skipped");
        }
    }
}

/// Query of `GET /v1/routing/weights`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsQuery {
    service: Option<String>,
    format: Option<String>,
    port: Option<u16>,
}

/// `GET /v1/routing/weights?service=&format=json|envoy|nginx&port=`.
pub async fn get_weights(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<WeightsQuery>,
) -> Result<Response, AppError> {
    let format = q.format.unwrap_or_else(|| "json".into());
    if !matches!(format.as_str(), "json" | "envoy" | "nginx") {
        return Err(AppError::BadRequest(format!(
            "format: {format:?} is not json, envoy or nginx"
        )));
    }
    let port = q.port.unwrap_or(80);
    let Some(service) = q.service else {
        if format != "json" {
            return Err(AppError::BadRequest(
                "format envoy and nginx need ?service=".into(),
            ));
        }
        let reports = tokio::task::spawn_blocking(move || {
            let services = state.engine().services();
            services
                .iter()
                .filter_map(|s| evaluate(&state, s).ok())
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
        return Ok(Json(serde_json::json!({ "services": reports })).into_response());
    };
    let report = tokio::task::spawn_blocking(move || evaluate(&state, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(match format.as_str() {
        "envoy" => Json(export::envoy_eds(&report, port)).into_response(),
        "nginx" => (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            export::nginx_upstream(&report, port),
        )
            .into_response(),
        _ => Json(report).into_response(),
    })
}
