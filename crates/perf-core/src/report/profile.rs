//! `GET /v1/services/{service}/profile`: per operation count, rate, errors, latency
//! quantiles, cache hit rate and cost per request; and bottlenecks ranked by the time slow
//! requests spent in each stage (`shareOfTail` = stage time of requests over their class's
//! latency budget / their total latency).

use super::window::Window;
use crate::engine::Engine;
use crate::error::CoreError;
use crate::view::Dim;
use serde::{Deserialize, Serialize};

/// One operation's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperationProfile {
    /// Operation.
    pub operation: String,
    /// Requests.
    pub count: u64,
    /// Requests per second.
    pub rps: f64,
    /// Failed share.
    pub error_rate: f64,
    /// Median latency, ms.
    pub p50: Option<f64>,
    /// 95th percentile, ms.
    pub p95: Option<f64>,
    /// 99th percentile, ms.
    pub p99: Option<f64>,
    /// Largest latency, ms (exact).
    pub max: Option<f64>,
    /// Cache hits over lookups (`null` without lookups).
    pub cache_hit_rate: Option<f64>,
    /// Cost per request (`null` without requests).
    pub cost_per_request: Option<f64>,
}

/// A stage that dominates slow requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bottleneck {
    /// Operation.
    pub operation: String,
    /// Stage name.
    pub stage: String,
    /// Share of slow requests' latency spent in the stage.
    pub share_of_tail: f64,
    /// The operation's p99, ms.
    pub p99: Option<f64>,
}

/// A service profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Profile {
    /// Service.
    pub service: String,
    /// Window label.
    pub window: String,
    /// Operations, busiest first.
    pub operations: Vec<OperationProfile>,
    /// Bottlenecks, most tail time first.
    pub bottlenecks: Vec<Bottleneck>,
}

impl Profile {
    /// The rates of a profile computed on the same buckets as `w` but at another "now".
    pub fn rerate(&mut self, w: &Window) {
        for o in &mut self.operations {
            o.rps = w.rate(o.count);
        }
    }
}

/// The profile of `service` over the last `length` ms; `None` if the service is unknown.
pub fn profile(
    engine: &Engine,
    service: &str,
    now: i64,
    length: i64,
) -> Result<Option<Profile>, CoreError> {
    if !engine.has_service(service) {
        return Ok(None);
    }
    let width = engine.config().resolutions[0].width;
    let w = Window::last(now, length, width);
    let groups = engine.group(
        "service_operation",
        &[(Dim::Service, service)],
        w.from,
        w.to,
    )?;
    let mut operations = Vec::with_capacity(groups.len());
    let mut tails = Vec::new();
    for (key, s) in &groups {
        let operation = key[1].clone();
        let p99 = s.latency.quantile(0.99);
        if s.slow_latency_ms > 0.0 {
            for st in &s.stages {
                if st.slow_ms > 0.0 {
                    let name = engine.stage_name(st.stage).to_string();
                    tails.push((
                        st.slow_ms,
                        Bottleneck {
                            operation: operation.clone(),
                            stage: name,
                            share_of_tail: st.slow_ms / s.slow_latency_ms,
                            p99,
                        },
                    ));
                }
            }
        }
        operations.push(OperationProfile {
            operation,
            count: s.requests,
            rps: w.rate(s.requests),
            error_rate: s.error_rate().unwrap_or(0.0),
            p50: s.latency.quantile(0.5),
            p95: s.latency.quantile(0.95),
            p99,
            max: s.latency.max(),
            cache_hit_rate: s.cache_hit_rate(),
            cost_per_request: s.cost_per_request(),
        });
    }
    operations.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.operation.cmp(&b.operation))
    });
    tails.sort_by(|a, b| b.0.total_cmp(&a.0));
    let bottlenecks = tails.into_iter().take(10).map(|t| t.1).collect();
    Ok(Some(Profile {
        service: service.into(),
        window: crate::duration::format_duration(length),
        operations,
        bottlenecks,
    }))
}
