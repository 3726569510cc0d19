//! `GET /v1/regressions?service=&window=1h&days=14`: current windows against baselines and
//! p99 trends (see `control::regressions`). Reads only.

use crate::control::deploy::window_ms;
use crate::control::regressions::{regressions, trends};
use crate::http::error::AppError;
use crate::http::extract::ApiQuery;
use crate::http::schemas::{ErrorBody, RegressionsAnswer};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// Query of `GET /v1/regressions`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RegressionQuery {
    /// Only this service.
    service: Option<String>,
    /// Window compared with the baselines (default `1h`).
    window: Option<String>,
    /// Days of trend, 3–35 (default 14).
    days: Option<usize>,
}

/// `GET /v1/regressions?service=&window=1h&days=14`.
#[utoipa::path(
    get,
    path = "/v1/regressions",
    tag = "deploy",
    summary = "Regressions and trends",
    params(RegressionQuery),
    responses((status = 200, description = "Regressions against frozen baselines and day-over-day trends", body = RegressionsAnswer), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<RegressionQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let window = window_ms("window", q.window.as_deref().unwrap_or("1h"))?;
    let days = q.days.unwrap_or(14);
    if !(3..=35).contains(&days) {
        return Err(AppError::BadRequest("days: between 3 and 35".into()));
    }
    let answer = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, AppError> {
        let svc = q.service.as_deref();
        let r = regressions(&state.durable, svc, window)?;
        let t = trends(&state.durable, svc, days)?;
        Ok(serde_json::json!({"regressions": r, "trends": t}))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(answer))
}
