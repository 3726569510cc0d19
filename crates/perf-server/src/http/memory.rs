//! `GET /v1/memory`: the heap bytes of every component of this replica, computed now
//! (`crate::accounting`), with the process's resident set size beside them.

use crate::accounting::MemoryReport;
use crate::http::error::AppError;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

/// `GET /v1/memory`.
#[utoipa::path(
    get,
    path = "/v1/memory",
    tag = "operations",
    summary = "Memory per component",
    responses((status = 200, description = "Bytes per component, computed", body = MemoryReport))
)]
pub async fn get_memory(
    State(state): State<Arc<AppState>>,
) -> Result<Json<MemoryReport>, AppError> {
    let report = tokio::task::spawn_blocking(move || state.memory())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(report))
}
