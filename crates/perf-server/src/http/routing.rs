//! `GET /v1/routing/weights?service=&format=json|envoy|nginx&port=`: the routing stage's last
//! per-node scores and weights (refreshed first when older than the evaluation interval), as
//! JSON, an Envoy EDS `ClusterLoadAssignment` or an nginx `upstream` block. A read never
//! steps the balancer.

use crate::control::routing::node_view;
use crate::http::error::AppError;
use crate::http::extract::ApiQuery;
use crate::http::refreshed;
use crate::http::schemas::{ErrorBody, WeightsAnswer};
use crate::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use perf_core::routing::{export, WeightsReport};
use std::sync::Arc;

/// Query of `GET /v1/routing/weights`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WeightsQuery {
    /// One service (required for `envoy` and `nginx`).
    service: Option<String>,
    /// `json` (default), `envoy` (an EDS ClusterLoadAssignment) or `nginx` (an upstream block).
    format: Option<String>,
    /// Port of the endpoints in `envoy`/`nginx` output (default 80).
    port: Option<u16>,
}

/// `GET /v1/routing/weights?service=&format=json|envoy|nginx&port=`.
#[utoipa::path(
    get,
    path = "/v1/routing/weights",
    tag = "control",
    summary = "Routing weights per node",
    params(WeightsQuery),
    responses((status = 200, description = "Without `service`: every service's weights; with it: that service's nodes, weights and their four scores, or an Envoy EDS assignment (`format=envoy`) or an NGINX upstream block (`format=nginx`)", content((WeightsAnswer = "application/json"), (String = "text/plain"))), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
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
        refreshed(&state).await?;
        let reports: Vec<WeightsReport> = state
            .control
            .decisions()
            .routing
            .values()
            .cloned()
            .collect();
        return Ok(Json(serde_json::json!({ "services": reports })).into_response());
    };
    if node_view(&state.durable).is_none() {
        return Err(AppError::BadRequest(
            "routing needs a view with dims [service, node]".into(),
        ));
    }
    if !state.durable.engine().has_service(&service) {
        return Err(AppError::NotFound(format!(
            "no data for service {service:?}"
        )));
    }
    refreshed(&state).await?;
    let report = state
        .control
        .decisions()
        .routing
        .get(&service)
        .cloned()
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no routing decision for {service:?} yet: none of its nodes reported in routing.window"
            ))
        })?;
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
