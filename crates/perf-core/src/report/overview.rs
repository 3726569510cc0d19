//! `GET /v1/overview`: every service's rate, errors and latency over a recent window.
//! SLO status, degradation level and alerts are filled by the layers that own them; the
//! engine alone reports `sloStatus: "none"` (no SLO defined), level 0 and no alerts. Events
//! of keys beyond the series limit appear as a service named `__overflow__`.

use super::window::Window;
use crate::engine::Engine;
use crate::stats::Stats;
use crate::view::{Dim, OVERFLOW_VALUE};
use serde::{Deserialize, Serialize};

/// One service in the overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// Series bookkeeping of one view: how many keys it holds and how many events went to its
/// `__overflow__` series because the series limit was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ViewSeries {
    /// View name.
    pub view: String,
    /// Regular series held.
    pub series: usize,
    /// Events counted in the overflow series.
    pub overflow_events: u64,
}

/// The overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    /// Window label.
    pub window: String,
    /// Services, by name.
    pub services: Vec<ServiceOverview>,
    /// Series per view and overflow.
    #[serde(default)]
    pub views: Vec<ViewSeries>,
}

impl Overview {
    /// The rates of an overview computed on the same buckets as `w` but at another "now":
    /// the counts are the same, only the time they are divided by moves.
    pub fn rerate(&mut self, w: &Window) {
        for s in &mut self.services {
            s.rps = w.rate(s.requests);
        }
    }
}

/// The overview over the last `length` ms before `now`.
pub fn overview(engine: &Engine, now: i64, length: i64) -> Overview {
    let width = engine.config().resolutions[0].width;
    let w = Window::last(now, length, width);
    let first_view = engine.views()[0].def.name.clone();
    let mut rows: Vec<(String, Stats)> = engine
        .services()
        .into_iter()
        .map(|service| {
            let stats = engine
                .query(&first_view, &[(Dim::Service, &service)], w.from, w.to)
                .unwrap_or_default();
            (service, stats)
        })
        .collect();
    // Events of keys beyond the series limit are shown, not hidden, so totals add up.
    if let Ok(Some(stats)) = engine.overflow_stats(&first_view, w.from, w.to) {
        rows.push((OVERFLOW_VALUE.to_string(), stats));
    }
    let services = rows
        .into_iter()
        .map(|(service, stats)| ServiceOverview {
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
        })
        .collect();
    let views = engine
        .views()
        .iter()
        .map(|v| ViewSeries {
            view: v.def.name.clone(),
            series: v.series_count(),
            overflow_events: v.overflow_events,
        })
        .collect();
    Overview {
        window: crate::duration::format_duration(length),
        services,
        views,
    }
}
