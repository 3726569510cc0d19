//! `POST /v1/gates/evaluate`: the deployment gate over live traffic (see `control::gates`).

use crate::control::gates::{self, GateRequest};
use crate::http::error::AppError;
use crate::http::extract::parse_json;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use perf_core::compare::GateReport;
use std::sync::Arc;

/// `POST /v1/gates/evaluate`.
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
