//! `GET /v1/risk/signals?minLevel=` and `GET /v1/risk/entities/{id}`: the risk stage's last
//! scores (refreshed first when older than the evaluation interval).

use crate::control::risk::rank;
use crate::http::error::AppError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::refreshed;
use crate::http::schemas::{ErrorBody, RiskSignals};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::risk::EntityRisk;
use std::sync::Arc;

async fn last_risks(state: Arc<AppState>) -> Result<Vec<EntityRisk>, AppError> {
    refreshed(&state).await?;
    Ok(state.control.decisions().risks.clone().unwrap_or_default())
}

/// Query of `GET /v1/risk/signals`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignalsQuery {
    /// Lowest level listed: `low`, `moderate` (default), `high` or `critical`.
    min_level: Option<String>,
}

/// `GET /v1/risk/signals?minLevel=low|moderate|high|critical` (default `moderate`).
#[utoipa::path(
    get,
    path = "/v1/risk/signals",
    tag = "risk",
    summary = "Risky callers",
    params(SignalsQuery),
    responses((status = 200, description = "Callers at the level asked or above", body = RiskSignals), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn get_signals(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<SignalsQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let min = q.min_level.unwrap_or_else(|| "moderate".into());
    if !["low", "moderate", "high", "critical"].contains(&min.as_str()) {
        return Err(AppError::BadRequest(format!(
            "minLevel: {min:?} is not low, moderate, high or critical"
        )));
    }
    let risks = last_risks(state).await?;
    let tracked = risks.len();
    let entities: Vec<EntityRisk> = risks
        .into_iter()
        .filter(|r| rank(r.risk_level) >= rank(&min))
        .collect();
    Ok(Json(serde_json::json!({
        "minLevel": min,
        "trackedCallers": tracked,
        "entities": entities,
        "levels": {"low": "< 25", "moderate": "25–50", "high": "50–75", "critical": "≥ 75"},
    })))
}

/// `GET /v1/risk/entities/{id}`.
#[utoipa::path(
    get,
    path = "/v1/risk/entities/{id}",
    tag = "risk",
    summary = "One caller's risk",
    params(("id" = String, Path, description = "Caller id")),
    responses((status = 200, description = "One caller's score and signals", body = EntityRisk), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_entity(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EntityRisk>, AppError> {
    let risks = last_risks(state).await?;
    risks
        .into_iter()
        .find(|r| r.entity_id == id)
        .map(Json)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "caller {id:?} is not among the tracked callers of the last hour (heavy hitters by requests, errors, cost or slow requests)"
            ))
        })
}
