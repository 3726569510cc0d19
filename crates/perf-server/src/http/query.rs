//! `GET /v1/query`: any view, any key or roll-up, any window, any quantiles.
//!
//! `?view=service_node&service=qnet&node=qnet-1&window=15m&quantiles=0.5,0.99,0.999&rollup=true`
//! or `from`/`to` (RFC 3339 or unix ms) instead of `window`.
//!
//! `GET /v1/query/range`: the same parameters and a `step` (`1m`), one rolled-up point per
//! step (`perf_core::report::run_range_query`): the dashboard's charts read it.

use crate::http::error::AppError;
use crate::http::extract::ApiQuery;
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::duration::parse_duration;
use perf_core::report::{
    run_query, run_range_query, QueryBudget, QueryResult, QuerySpec, RangeResult, Window,
};
use perf_core::time::parse_timestamp;
use perf_core::view::Dim;
use perf_core::CoreError;
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Query parameters; unknown ones are refused.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QueryParams {
    /// View name (see `GET /v1/overview` `views`).
    view: String,
    /// Window ending now, e.g. `15m` (or `from`/`to`).
    window: Option<String>,
    /// Start, RFC 3339 or unix ms.
    from: Option<String>,
    /// End, RFC 3339 or unix ms (default now).
    to: Option<String>,
    /// Key: service.
    service: Option<String>,
    /// Key: operation.
    operation: Option<String>,
    /// Key: node.
    node: Option<String>,
    /// Key: tenant.
    tenant: Option<String>,
    /// Key: version.
    version: Option<String>,
    /// Key: request class.
    class: Option<String>,
    /// Sum every key matching the given dims (default false: one exact key).
    rollup: Option<bool>,
    /// Comma-separated quantiles, e.g. `0.5,0.99,0.999`.
    quantiles: Option<String>,
    /// Range queries: one point per step, e.g. `1m`.
    step: Option<String>,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::BadRequest(message.into())
}

fn timestamp(field: &str, text: &str) -> Result<i64, AppError> {
    parse_timestamp(text).map_err(|e| bad(format!("{field}: {e}")))
}

/// Turns parameters into a query at engine time `now`.
pub fn spec_of(
    p: QueryParams,
    now: i64,
    finest_width: i64,
    budget: QueryBudget,
) -> Result<QuerySpec, AppError> {
    let (from, to, covered_ms) = match (&p.window, &p.from, &p.to) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(bad("give either window or from/to, not both"))
        }
        (_, Some(f), Some(t)) => {
            let (from, to) = (timestamp("from", f)?, timestamp("to", t)?);
            (from, to, to.saturating_sub(from))
        }
        (_, Some(_), None) | (_, None, Some(_)) => return Err(bad("from and to go together")),
        (window, None, None) => {
            let length = match window {
                Some(w) => parse_duration(w).map_err(|e| bad(format!("window: {e}")))?,
                None => 5 * 60_000,
            };
            let w = Window::last(now, length, finest_width);
            (w.from, w.to, w.covered_ms)
        }
    };
    let quantiles = match &p.quantiles {
        None => vec![0.5, 0.95, 0.99],
        Some(list) => list
            .split(',')
            .map(|q| {
                q.trim()
                    .parse::<f64>()
                    .map_err(|_| bad(format!("quantiles: {q:?} is not a number")))
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let filter = [
        (Dim::Service, p.service),
        (Dim::Operation, p.operation),
        (Dim::Node, p.node),
        (Dim::Tenant, p.tenant),
        (Dim::Version, p.version),
        (Dim::Class, p.class),
    ]
    .into_iter()
    .filter_map(|(d, v)| v.map(|v| (d, v)))
    .collect();
    Ok(QuerySpec {
        view: p.view,
        filter,
        from,
        to,
        covered_ms,
        rollup: p.rollup.unwrap_or(false),
        quantiles,
        budget,
    })
}

/// The time budget of a query: it stops scanning at the request timeout (past it nobody reads
/// the answer, and the engine lock is free again for ingest).
fn budget_of(state: &AppState) -> QueryBudget {
    let limits = &state.durable.config.server.limits;
    QueryBudget {
        max_quantiles: limits.max_query_quantiles,
        max_series: limits.max_query_series,
        deadline: Some(Instant::now() + Duration::from_millis(limits.request_timeout as u64)),
    }
}

/// `GET /v1/query/range`.
#[utoipa::path(
    get,
    path = "/v1/query/range",
    tag = "reports",
    summary = "Query any view over time",
    params(QueryParams),
    responses((status = 200, description = "One rolled-up point per step", body = RangeResult), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_range(
    State(state): State<Arc<AppState>>,
    ApiQuery(mut p): ApiQuery<QueryParams>,
) -> Result<Json<RangeResult>, AppError> {
    let step = p
        .step
        .take()
        .ok_or_else(|| bad("step is required (for example step=1m)"))?;
    let step = parse_duration(&step).map_err(|e| bad(format!("step: {e}")))?;
    let budget = budget_of(&state);
    tokio::task::spawn_blocking(move || {
        let now = state.durable.now();
        let engine = state.durable.engine();
        let finest = engine.config().resolutions[0].width;
        let spec = spec_of(p, now, finest, budget)?;
        run_range_query(&engine, &spec, step, finest)
            .map(Json)
            .map_err(|e| match e {
                CoreError::InvalidQuery(_) | CoreError::UnknownView(_) => bad(e.to_string()),
                other => AppError::Internal(other.into()),
            })
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}

/// `GET /v1/query`.
#[utoipa::path(
    get,
    path = "/v1/query",
    tag = "reports",
    summary = "Query any view",
    params(QueryParams),
    responses((status = 200, description = "The statistics of one key or roll-up over the window", body = QueryResult), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_query(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<QueryParams>,
) -> Result<Json<QueryResult>, AppError> {
    if p.step.is_some() {
        return Err(bad("step belongs to /v1/query/range"));
    }
    let limits = &state.durable.config.server.limits;
    // The query stops scanning at the request timeout: past it nobody reads the answer, and
    // the engine lock is free again for ingest.
    let budget = QueryBudget {
        max_quantiles: limits.max_query_quantiles,
        max_series: limits.max_query_series,
        deadline: Some(Instant::now() + Duration::from_millis(limits.request_timeout as u64)),
    };
    // A scan is CPU work under the engine lock: on a blocking thread, not the runtime's.
    tokio::task::spawn_blocking(move || {
        let now = state.durable.now();
        let engine = state.durable.engine();
        let spec = spec_of(p, now, engine.config().resolutions[0].width, budget)?;
        run_query(&engine, &spec).map(Json).map_err(|e| match e {
            CoreError::InvalidQuery(_) | CoreError::UnknownView(_) => bad(e.to_string()),
            other => AppError::Internal(other.into()),
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
}
