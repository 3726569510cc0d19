//! `POST /v1/gates/evaluate`: the deployment gate over live traffic (see `control::gates`).

use crate::control::gates::{self, GateRequest};
use crate::http::error::AppError;
use crate::http::extract::parse_json;
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use perf_core::compare::GateReport;
use std::sync::Arc;

/// `POST /v1/gates/evaluate`.
#[utoipa::path(
    post,
    path = "/v1/gates/evaluate",
    tag = "deploy",
    summary = "Evaluate a deployment gate",
    request_body(content = GateRequest, content_type = "application/json"),
    responses((status = 200, description = "Pass, warn or fail, per operation and metric, with the evidence", body = GateReport), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<GateReport>, AppError> {
    let req: GateRequest = parse_json(&body)?;
    let report = tokio::task::spawn_blocking(move || gates::run(&state.durable, req))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(report))
}
