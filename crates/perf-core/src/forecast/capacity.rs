//! Headroom of one service: its hourly demand over the retention, forecast for 48 hours, set
//! against its capacity.
//!
//! **Capacity** is the sum of the nodes' latest `capacityRps` samples (nodes that did not send
//! one count at the mean of those that did). Without any, it is inferred from utilisation:
//! the current request rate over the nodes' mean CPU utilisation of the last minute (a
//! service at 40 % CPU serving 400 rps can serve about 1,000) — documented as `inferred`.
//! **Headroom** = 1 − (peak of the forecast's upper bound over the horizon) / capacity, so it
//! already allows for the forecast's uncertainty. **Time to exhaustion**: the first forecast
//! hour whose point forecast reaches capacity, or beyond the horizon, when the fitted trend
//! grows, the time at which that trend carries the recent peak level to capacity.

use super::model::{fit, ForecastPoint};
use crate::engine::Engine;
use crate::error::CoreError;
use crate::view::Dim;
use serde::Serialize;

const HOUR: i64 = 3_600_000;
/// Hours of history read (the coarsest default resolution keeps 35 days).
const HISTORY_HOURS: i64 = 35 * 24;
/// Forecast horizon, hours.
pub const HORIZON_HOURS: usize = 48;

/// Where a capacity figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacitySource {
    /// Nodes' `capacityRps` samples.
    CapacityRps,
    /// Request rate over CPU utilisation.
    Inferred,
    /// Neither is available.
    Unknown,
}

/// The answer of `GET /v1/capacity/{service}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityReport {
    /// Service.
    pub service: String,
    /// Requests per second over the last hour.
    pub current_rps: f64,
    /// Peak point forecast over the horizon, rps.
    pub peak_forecast_rps: f64,
    /// Peak of the upper bound (95 %), rps.
    pub peak_upper_rps: f64,
    /// Capacity, rps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_rps: Option<f64>,
    /// Where the capacity comes from.
    pub capacity_source: CapacitySource,
    /// Nodes counted.
    pub nodes: usize,
    /// 1 − peak upper / capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headroom: Option<f64>,
    /// The budget (0.30 by default).
    pub headroom_budget: f64,
    /// `ok`, `below_budget` or `unknown`.
    pub status: &'static str,
    /// Hours until the forecast reaches capacity, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_to_exhaustion: Option<f64>,
    /// Detected period in hours (1 = none).
    pub period_hours: usize,
    /// Trend, relative change per day.
    pub trend_per_day: f64,
    /// Hours of history used.
    pub history_hours: usize,
    /// Hourly forecast (rps).
    pub forecast: Vec<ForecastPoint>,
    /// One sentence.
    pub explanation: String,
}

/// Builds the report at `now`.
pub fn capacity_report(
    engine: &Engine,
    service: &str,
    now: i64,
    headroom_budget: f64,
) -> Result<CapacityReport, CoreError> {
    let view = engine
        .views()
        .first()
        .ok_or_else(|| CoreError::InvalidQuery("no views".into()))?
        .def
        .name
        .clone();
    let end = now.div_euclid(HOUR) * HOUR;
    let filter = [(Dim::Service, service)];
    let mut series = Vec::new();
    for h in (1..=HISTORY_HOURS).rev() {
        let from = end - h * HOUR;
        let rps = engine.query(&view, &filter, from, from + HOUR)?.requests as f64 / 3600.0;
        if rps > 0.0 || !series.is_empty() {
            series.push((from, rps));
        }
    }
    if series.is_empty() {
        return Err(CoreError::InvalidQuery(format!(
            "no requests of service {service:?} in the last {HISTORY_HOURS} hours"
        )));
    }
    let current_rps = engine.query(&view, &filter, now - HOUR, now + 1)?.requests as f64 / 3600.0;
    let fitted = fit(&series).map_err(|e| {
        CoreError::InvalidQuery(format!(
            "{service}: {e} (hourly demand; it needs 16 hours of history)"
        ))
    })?;
    let forecast = fitted.forecast(HORIZON_HOURS, 0.95);
    let peak_forecast_rps = forecast.iter().map(|p| p.forecast).fold(0.0, f64::max);
    let peak_upper_rps = forecast.iter().map(|p| p.upper).fold(0.0, f64::max);

    let nodes: Vec<_> = engine.resources().of_service(service).collect();
    let declared: Vec<f64> = nodes
        .iter()
        .filter_map(|(_, r)| r.last.capacity_rps)
        .collect();
    let (capacity_rps, capacity_source) = if !declared.is_empty() {
        let mean = declared.iter().sum::<f64>() / declared.len() as f64;
        (Some(mean * nodes.len() as f64), CapacitySource::CapacityRps)
    } else {
        let cpus: Vec<f64> = nodes
            .iter()
            .filter_map(|(_, r)| r.minutes.back().and_then(|m| m.cpu_mean()))
            .filter(|c| *c > 0.01)
            .collect();
        if cpus.is_empty() || current_rps <= 0.0 {
            (None, CapacitySource::Unknown)
        } else {
            let cpu = cpus.iter().sum::<f64>() / cpus.len() as f64;
            (Some(current_rps / cpu), CapacitySource::Inferred)
        }
    };
    let headroom = capacity_rps.map(|c| 1.0 - peak_upper_rps / c);
    let status = match headroom {
        None => "unknown",
        Some(h) if h < headroom_budget => "below_budget",
        Some(_) => "ok",
    };
    let trend_per_day = (fitted.trend_per_step() * 24.0).exp_m1();
    let hours_to_exhaustion = capacity_rps.and_then(|cap| {
        forecast
            .iter()
            .position(|p| p.forecast >= cap)
            .map(|i| (i + 1) as f64)
            .or_else(|| {
                let per_hour = fitted.trend_per_step();
                (per_hour > 0.0 && peak_forecast_rps > 0.0).then(|| {
                    HORIZON_HOURS as f64 + (cap / peak_forecast_rps).ln().max(0.0) / per_hour
                })
            })
    });
    let explanation = match (capacity_rps, headroom) {
        (Some(cap), Some(h)) => format!(
            "peak demand in the next {HORIZON_HOURS} h is {peak_forecast_rps:.1} rps (up to {peak_upper_rps:.1} at 95 %) against a capacity of {cap:.1} rps ({}): headroom {:.0} % ({} the {:.0} % budget){}",
            match capacity_source {
                CapacitySource::CapacityRps => "declared by the nodes",
                _ => "inferred from CPU utilisation",
            },
            h * 100.0,
            if h < headroom_budget { "below" } else { "within" },
            headroom_budget * 100.0,
            hours_to_exhaustion
                .map(|t| format!("; capacity is reached in about {t:.0} h at the current trend"))
                .unwrap_or_default()
        ),
        _ => format!(
            "peak demand in the next {HORIZON_HOURS} h is {peak_forecast_rps:.1} rps; no capacityRps samples or CPU utilisation for the nodes of {service}, so headroom is unknown"
        ),
    };
    Ok(CapacityReport {
        service: service.to_string(),
        current_rps,
        peak_forecast_rps,
        peak_upper_rps,
        capacity_rps,
        capacity_source,
        nodes: nodes.len(),
        headroom,
        headroom_budget,
        status,
        hours_to_exhaustion,
        period_hours: fitted.period(),
        trend_per_day,
        history_hours: series.len(),
        forecast,
        explanation,
    })
}
