//! `GET /v1/overview` (every service, with the last decisions folded in),
//! `GET /v1/services/{service}/profile` and `GET /v1/services/{service}/callers`.

use crate::http::error::AppError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::duration::parse_duration;
use perf_core::heavy_hitters::Measure;
use perf_core::report::{top_callers, Callers, Overview, Profile};
use serde::Deserialize;
use std::sync::Arc;

/// `?window=5m`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WindowParam {
    /// Window, e.g. `5m`, `1h` (default `5m`; at most the retention).
    window: Option<String>,
}

const DEFAULT_WINDOW: i64 = 5 * 60_000;

fn window_of(params: WindowParam, retention: i64) -> Result<i64, AppError> {
    let Some(text) = &params.window else {
        return Ok(DEFAULT_WINDOW);
    };
    let ms = parse_duration(text).map_err(|e| AppError::BadRequest(format!("window: {e}")))?;
    if ms > retention {
        return Err(AppError::BadRequest(format!(
            "window: {text} is longer than the retention"
        )));
    }
    Ok(ms)
}

/// `GET /v1/overview?window=5m`.
#[utoipa::path(
    get,
    path = "/v1/overview",
    tag = "reports",
    summary = "Every service at a glance",
    params(WindowParam),
    responses((status = 200, description = "Every service with its SLO state, ladder level and open alerts", body = Overview), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn get_overview(
    State(state): State<Arc<AppState>>,
    ApiQuery(params): ApiQuery<WindowParam>,
) -> Result<Json<Overview>, AppError> {
    let window = window_of(params, state.durable.engine().config().retention())?;
    let overview = tokio::task::spawn_blocking(move || {
        state.refresh();
        crate::control::overview::current(
            &state.durable,
            &state.control.memory,
            &state.answers,
            window,
        )
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(overview))
}

/// `GET /v1/services/{service}/profile?window=5m`.
#[utoipa::path(
    get,
    path = "/v1/services/{service}/profile",
    tag = "reports",
    summary = "A service's profile",
    params(("service" = String, Path, description = "Service name"), WindowParam),
    responses((status = 200, description = "Operations, latency, bottlenecks and stage times of one service", body = Profile), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_profile(
    State(state): State<Arc<AppState>>,
    ApiPath(service): ApiPath<String>,
    ApiQuery(params): ApiQuery<WindowParam>,
) -> Result<Json<Profile>, AppError> {
    let now = state.durable.now();
    let engine = state.durable.engine();
    let window = window_of(params, engine.config().retention())?;
    state
        .answers
        .profile(&engine, &service, now, window)
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no data for service {service:?}")))
}

/// `?by=requests&window=1h&limit=20`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallerParams {
    /// What to rank callers by (default `requests`).
    by: Option<Measure>,
    /// Window (default and most: `heavyHitters.keep`).
    window: Option<String>,
    /// How many callers (default 20).
    limit: Option<usize>,
}

/// `GET /v1/services/{service}/callers?by=requests|errors|cost|slow&window=1h&limit=20`.
#[utoipa::path(
    get,
    path = "/v1/services/{service}/callers",
    tag = "reports",
    summary = "A service's top callers",
    params(("service" = String, Path, description = "Service name"), CallerParams),
    responses((status = 200, description = "The top callers of one service (heavy hitters)", body = Callers), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_callers(
    State(state): State<Arc<AppState>>,
    ApiPath(service): ApiPath<String>,
    ApiQuery(p): ApiQuery<CallerParams>,
) -> Result<Json<Callers>, AppError> {
    let now = state.durable.now();
    let engine = state.durable.engine();
    let keep = engine.config().heavy_hitters.keep;
    let window = match &p.window {
        Some(w) => parse_duration(w).map_err(|e| AppError::BadRequest(format!("window: {e}")))?,
        None => keep,
    };
    if window > keep {
        return Err(AppError::BadRequest(format!(
            "window: caller summaries are kept for {} (heavyHitters.keep)",
            perf_core::duration::format_duration(keep)
        )));
    }
    let limit = p.limit.unwrap_or(20);
    if limit == 0 || limit > 1000 {
        return Err(AppError::BadRequest(
            "limit must be between 1 and 1000".into(),
        ));
    }
    if !engine.has_service(&service) {
        return Err(AppError::NotFound(format!(
            "no data for service {service:?}"
        )));
    }
    let by = p.by.unwrap_or(Measure::Requests);
    Ok(Json(top_callers(&engine, &service, by, now, window, limit)))
}
