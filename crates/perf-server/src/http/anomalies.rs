//! `GET /v1/anomalies?window=1h&service=`: recent anomalies and the incidents they form,
//! from the detectors' last cycle (refreshed first when older than the evaluation interval).

use crate::control::deploy::window_ms;
use crate::http::error::AppError;
use crate::http::extract::ApiQuery;
use crate::http::refreshed;
use crate::http::schemas::{AnomaliesAnswer, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// Query of `GET /v1/anomalies`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnomalyQuery {
    /// Window (default `1h`).
    window: Option<String>,
    /// Only this service.
    service: Option<String>,
}

/// `GET /v1/anomalies?window=1h&service=`.
#[utoipa::path(
    get,
    path = "/v1/anomalies",
    tag = "risk",
    summary = "Anomalies and incidents",
    params(AnomalyQuery),
    responses((status = 200, description = "Anomalies and incidents with their causes", body = AnomaliesAnswer), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<AnomalyQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let window = window_ms("window", q.window.as_deref().unwrap_or("1h"))?;
    refreshed(&state).await?;
    let now = state.durable.now();
    let decisions = state.control.decisions();
    let monitor = &decisions.anomalies;
    let in_service = |key: &[(String, String)]| {
        q.service
            .as_deref()
            .is_none_or(|svc| key.iter().any(|(d, v)| d == "service" && v == svc))
    };
    let anomalies: Vec<_> = monitor
        .anomalies()
        .filter(|a| a.at >= now - window && in_service(&a.key))
        .collect();
    let incidents: Vec<_> = monitor
        .incidents
        .all()
        .filter(|i| i.end >= now - window)
        .filter(|i| q.service.as_deref().is_none_or(|s| i.services.contains(s)))
        .collect();
    Ok(Json(serde_json::json!({
        "anomalies": anomalies,
        "incidents": incidents,
        "detectors": monitor.detector_count(),
        "unmonitored": monitor.unmonitored,
    })))
}
