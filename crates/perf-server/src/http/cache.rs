//! `GET /v1/cache` (every cache space: hit rates, hot set, miss-ratio curve, size for 85 /
//! 90 / 95 %, reuse times and TTL, recommendations) and `GET /v1/cache/{space}` (one).
//! Reads only: the numbers come from the views and the SHARDS samplers the engine feeds at
//! ingest (`perf_core::cache`); sizes and TTLs from `cache.spaces` in the configuration.

use crate::control::cache::current as cache_overview;
use crate::http::error::AppError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::cache::advice::SpaceReport;
use perf_core::cache::overview::CacheOverview;
use std::sync::Arc;

/// Query of the cache reads.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CacheQuery {
    /// Only this service's spaces.
    service: Option<String>,
}

/// `GET /v1/cache`.
#[utoipa::path(
    get,
    path = "/v1/cache",
    tag = "capacity",
    summary = "Cache spaces",
    params(CacheQuery),
    responses((status = 200, description = "Every cache space: hit ratios, hot keys, advice", body = CacheOverview))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<CacheQuery>,
) -> Result<Json<CacheOverview>, AppError> {
    let o = tokio::task::spawn_blocking(move || {
        cache_overview(&state.durable, &|service, _| {
            q.service.as_ref().is_none_or(|s| s == service)
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(o))
}

/// `GET /v1/cache/{space}`: one space (of `?service=` when two services share the name).
#[utoipa::path(
    get,
    path = "/v1/cache/{space}",
    tag = "capacity",
    summary = "One cache space",
    params(("space" = String, Path, description = "Cache space"), CacheQuery),
    responses((status = 200, description = "One cache space: miss-ratio curve, TTL and size advice", body = SpaceReport), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    ApiPath(space): ApiPath<String>,
    ApiQuery(q): ApiQuery<CacheQuery>,
) -> Result<Json<SpaceReport>, AppError> {
    let wanted = space.clone();
    let o = tokio::task::spawn_blocking(move || {
        // Only this space is reported (its curve and replays), the hot set still over all.
        cache_overview(&state.durable, &|service, name| {
            name == wanted && q.service.as_ref().is_none_or(|s| s == service)
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    o.spaces
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no cache space {space:?}: no event with cacheSpace (or a cacheKey on an operation of that name) in the last 24 hours"
            ))
        })
}
