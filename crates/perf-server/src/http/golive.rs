//! `GET /v1/golive`: the go/no-go report — verdict, the five gates with their figures,
//! windows, reasons and evidence (`perf_core::golive`). Reads the decisions of the last cycle
//! (a cycle runs first when they are older than `server.evaluationInterval`).

use crate::http::error::AppError;
use crate::http::refreshed;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::golive::GoLiveReport;
use std::sync::Arc;

/// `GET /v1/golive`.
pub async fn get(State(state): State<Arc<AppState>>) -> Result<Json<GoLiveReport>, AppError> {
    refreshed(&state).await?;
    let r = tokio::task::spawn_blocking(move || {
        crate::control::golive::report(&state.durable, &state.control.memory)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(r))
}
