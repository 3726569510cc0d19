//! `GET /v1/services/{service}/callers`: the heaviest callers of a service by requests,
//! errors, cost or slow requests, from the bounded Space-Saving summaries. Each count is an
//! upper bound; `count − maxError` is a lower bound (see `heavy_hitters`).

use super::window::Window;
use crate::engine::Engine;
use crate::heavy_hitters::Measure;
use serde::{Deserialize, Serialize};

/// One caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallerRow {
    /// Caller identity.
    pub entity: String,
    /// Estimated weight (requests, errors, cost or slow requests), never below the truth.
    pub count: f64,
    /// Largest possible overcount.
    pub max_error: f64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Callers {
    /// Service.
    pub service: String,
    /// Window label.
    pub window: String,
    /// Ranking measure.
    pub by: Measure,
    /// Counters kept per summary bucket (callers above 1/k of a bucket's total are always found).
    pub k: usize,
    /// Heaviest first.
    pub callers: Vec<CallerRow>,
}

/// The top `limit` callers of `service` by `by` over the last `length` ms.
pub fn top_callers(
    engine: &Engine,
    service: &str,
    by: Measure,
    now: i64,
    length: i64,
    limit: usize,
) -> Callers {
    let hh = engine.config().heavy_hitters;
    let w = Window::last(now, length, hh.bucket);
    let callers = engine
        .top_callers(service, by, w.from, w.to, limit)
        .into_iter()
        .map(|c| CallerRow {
            entity: c.key,
            count: c.count,
            max_error: c.error,
        })
        .collect();
    Callers {
        service: service.to_string(),
        window: crate::duration::format_duration(length),
        by,
        k: hh.k,
        callers,
    }
}
