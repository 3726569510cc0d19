//! `GET /v1/overview`: every service's rate, errors and latency over a recent window.
//! SLO status, degradation level and alerts are filled by the layers that own them; the
//! engine alone reports `sloStatus: "none"` (no SLO defined), level 0 and no alerts.

use super::window::Window;
use crate::engine::Engine;
use serde::{Deserialize, Serialize};

/// One service in the overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceOverview {
    /// Service.
    pub service: String,
    /// Requests in the window.
    pub requests: u64,
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
    /// `none` (no SLO defined), `ok`, `warning`, `violation`.
    pub slo_status: String,
    /// Degradation ladder level (0 = normal).
    pub degradation_level: u8,
    /// Open alerts of the service.
    pub open_alerts: u32,
}

/// The overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    /// Window label.
    pub window: String,
    /// Services, by name.
    pub services: Vec<ServiceOverview>,
}

/// The overview over the last `length` ms before `now`.
pub fn overview(engine: &Engine, now: i64, length: i64) -> Overview {
    let width = engine.config().resolutions[0].width;
    let w = Window::last(now, length, width);
    let mut services = Vec::new();
    for service in engine.services() {
        let stats = engine
            .query(
                "service_operation",
                &[(crate::view::Dim::Service, &service)],
                w.from,
                w.to,
            )
            .or_else(|_| {
                let first = engine.views()[0].def.name.clone();
                engine.query(
                    &first,
                    &[(crate::view::Dim::Service, &service)],
                    w.from,
                    w.to,
                )
            })
            .unwrap_or_default();
        services.push(ServiceOverview {
            service,
            requests: stats.requests,
            rps: w.rate(stats.requests),
            error_rate: stats.error_rate().unwrap_or(0.0),
            p50: stats.latency.quantile(0.5),
            p95: stats.latency.quantile(0.95),
            p99: stats.latency.quantile(0.99),
            slo_status: "none".into(),
            degradation_level: 0,
            open_alerts: 0,
        });
    }
    Overview {
        window: crate::duration::format_duration(length),
        services,
    }
}
