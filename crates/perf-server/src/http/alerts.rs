//! `GET /v1/alerts`: SLO alerts open now (pending or firing) with their statuses, and the
//! history of alert state changes of every kind.

use crate::http::error::AppError;
use crate::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use std::sync::Arc;

/// `GET /v1/alerts`: alerts open now (pending or firing) and recently resolved, and the
/// history of state changes.
pub async fn alerts(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || s.slo_statuses())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let current: Vec<serde_json::Value> = all
        .iter()
        .flat_map(|s| s.alerts.iter().map(move |a| serde_json::json!({"kind": "slo", "slo": s.name, "service": s.service, "tenant": s.tenant, "alert": a})))
        .collect();
    let history: Vec<serde_json::Value> = state
        .durable
        .store()
        .recent_alerts(100)
        .map_err(|e| AppError::Internal(e.into()))?
        .into_iter()
        .map(|r| {
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
            serde_json::json!({"at": perf_core::time::format_rfc3339(r.at_ms), "kind": r.kind, "subject": r.subject, "state": r.state, "detail": payload})
        })
        .collect();
    Ok(Json(
        serde_json::json!({"alerts": current, "history": history}),
    ))
}
