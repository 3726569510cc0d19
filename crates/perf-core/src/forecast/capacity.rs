//! Headroom of one service: its demand history, forecast ahead, set against its capacity.
//!
//! **Resolution.** Hourly demand over the retention (35 days), forecast 48 hours ahead — once
//! the service has a day of history. A younger service (a new deployment, a demo) is read at
//! the coarsest step that gives 24 points — 10 minutes (up to a day), else 1 minute (up to
//! four hours; 16 minutes at least) — and forecast half its history ahead, never more than
//! 48 hours: a forecast reaches no further than the data behind it.
//! **Capacity** is the sum of the nodes' latest `capacityRps` samples (nodes that did not send
//! one count at the mean of those that did). Without any, it is inferred from utilisation:
//! the current request rate over the nodes' mean CPU utilisation of the last minute (a
//! service at 40 % CPU serving 400 rps can serve about 1,000) — documented as `inferred`.
//! **Headroom** = 1 − (peak of the forecast's upper bound over the horizon) / capacity, so it
//! already allows for the forecast's uncertainty; `currentHeadroom` = 1 − current rate /
//! capacity, the current rate measured over the last 5 minutes. **Time to exhaustion**: the first forecast step whose point forecast reaches
//! capacity, or beyond the horizon, when the fitted trend grows, the time at which that trend
//! carries the recent peak level to capacity.
//! **Latency limit** (`latency`): p99 against utilisation over the same history, fitted as
//! `p99 ≈ a + b · u / (1 − u)` (the shape of queueing delay) by least squares over the steps
//! with at least 50 requests; when `b` is significantly positive (t ≥ 2), the utilisation at
//! which p99 reaches its budget bounds how hard the replicas may run. Utilisation of a past
//! step is its rate over today's capacity.

use super::model::{fit, ForecastPoint};
use crate::engine::Engine;
use crate::error::CoreError;
use crate::view::Dim;
use serde::Serialize;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
/// Steps tried, coarsest first, with how many of each are read: hours over the retention of
/// the coarsest default resolution (35 days), 10 minutes over a day, minutes over 4 hours.
const STEPS: [(i64, i64); 3] = [(HOUR, 35 * 24), (10 * MINUTE, 144), (MINUTE, 240)];
/// Points of history at which a step is fine enough.
const ENOUGH_POINTS: usize = 24;
/// Longest forecast horizon, hours.
pub const HORIZON_HOURS: usize = 48;
/// The current rate is measured over this much time.
const CURRENT_MS: i64 = 5 * MINUTE;
/// Fewest requests in a step for its p99 to enter the latency fit.
const MIN_STEP_REQUESTS: u64 = 50;
/// Fewest steps for a latency fit.
const MIN_LATENCY_POINTS: usize = 8;

/// Where a capacity figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CapacitySource {
    /// Nodes' `capacityRps` samples.
    CapacityRps,
    /// Request rate over CPU utilisation.
    Inferred,
    /// Neither is available.
    Unknown,
}

/// How p99 latency grows with utilisation, and the utilisation that keeps it within budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatencyLimit {
    /// The p99 budget, ms.
    pub p99_budget_ms: f64,
    /// `a` of `p99 ≈ a + b · u / (1 − u)`, ms.
    pub base_ms: f64,
    /// `b`, ms.
    pub queueing_ms: f64,
    /// t statistic of `b`.
    pub t_stat: f64,
    /// Steps fitted.
    pub points: usize,
    /// Highest utilisation seen in them.
    pub max_observed_utilization: f64,
    /// Highest utilisation keeping p99 within budget: 1 when p99 does not grow with load,
    /// 0 when p99 is over budget whatever the load (replicas cannot fix it).
    pub max_utilization: f64,
    /// One sentence.
    pub explanation: String,
}

/// The answer of `GET /v1/capacity/{service}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapacityReport {
    /// Service.
    pub service: String,
    /// Requests per second over the last 5 minutes.
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
    /// 1 − current rate / capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_headroom: Option<f64>,
    /// The budget (0.30 by default).
    pub headroom_budget: f64,
    /// `ok`, `below_budget` or `unknown`.
    pub status: &'static str,
    /// Hours until the forecast reaches capacity, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours_to_exhaustion: Option<f64>,
    /// Minutes per step of the history and the forecast.
    pub step_minutes: i64,
    /// Forecast horizon, hours.
    pub horizon_hours: f64,
    /// Detected period in steps (1 = none).
    pub period_steps: usize,
    /// Trend, relative change per day.
    pub trend_per_day: f64,
    /// Steps of history used.
    pub history_steps: usize,
    /// p99 against utilisation, when a p99 budget was given and enough steps had traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencyLimit>,
    /// Forecast per step (rps).
    pub forecast: Vec<ForecastPoint>,
    /// One sentence.
    pub explanation: String,
}

/// One step of demand history.
struct Step {
    ts_ms: i64,
    rps: f64,
    requests: u64,
    p99_ms: Option<f64>,
}

/// Demand of `service` over the `count` steps of `step` ms before `now` (whole steps), from
/// the first step with requests on.
fn history(
    engine: &Engine,
    view: &str,
    service: &str,
    now: i64,
    step: i64,
    count: i64,
) -> Result<Vec<Step>, CoreError> {
    let end = now.div_euclid(step) * step;
    let filter = [(Dim::Service, service)];
    let mut out = Vec::new();
    for k in (1..=count).rev() {
        let from = end - k * step;
        let stats = engine.query(view, &filter, from, from + step)?;
        if stats.requests > 0 || !out.is_empty() {
            out.push(Step {
                ts_ms: from,
                rps: stats.requests as f64 * 1000.0 / step as f64,
                requests: stats.requests,
                p99_ms: stats.latency.quantile(0.99),
            });
        }
    }
    Ok(out)
}

/// Fits `p99 ≈ a + b · u / (1 − u)` over the steps; `None` with too few usable steps.
pub fn latency_limit(points: &[(f64, f64)], p99_budget_ms: f64) -> Option<LatencyLimit> {
    let usable: Vec<(f64, f64)> = points
        .iter()
        .filter(|(u, p)| u.is_finite() && p.is_finite() && *u >= 0.0)
        .map(|&(u, p)| {
            let u = u.min(0.98);
            (u / (1.0 - u), p)
        })
        .collect();
    let n = usable.len();
    if n < MIN_LATENCY_POINTS {
        return None;
    }
    let nf = n as f64;
    let mx = usable.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = usable.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = usable.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = usable.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let max_u = points.iter().map(|p| p.0).fold(0.0, f64::max);
    let (b, t) = if sxx > 1e-12 {
        let b = sxy / sxx;
        let a = my - b * mx;
        let sse: f64 = usable.iter().map(|p| (p.1 - a - b * p.0).powi(2)).sum();
        let se = (sse / (nf - 2.0) / sxx).sqrt();
        (
            b,
            if se > 0.0 {
                b / se
            } else {
                f64::INFINITY * b.signum()
            },
        )
    } else {
        (0.0, 0.0)
    };
    let load_bound = b > 0.0 && t >= 2.0;
    let (a, b) = if load_bound {
        (my - b * mx, b)
    } else {
        (my, 0.0)
    };
    let (max_utilization, explanation) = if a >= p99_budget_ms {
        (
            0.0,
            format!(
                "p99 is {a:.0} ms before any queueing, over its {p99_budget_ms:.0} ms budget: more replicas will not fix it"
            ),
        )
    } else if !load_bound {
        (
            1.0,
            format!(
                "p99 ({my:.0} ms on average) did not grow with load up to {:.0} % utilisation: the {p99_budget_ms:.0} ms budget does not limit replicas",
                max_u * 100.0
            ),
        )
    } else {
        let x = (p99_budget_ms - a) / b;
        let u = x / (1.0 + x);
        (
            u,
            format!(
                "p99 ≈ {a:.0} + {b:.1} · u/(1−u) ms over {n} steps: it reaches its {p99_budget_ms:.0} ms budget at {:.0} % utilisation{}",
                u * 100.0,
                if u > max_u { format!(" (beyond the {:.0} % observed)", max_u * 100.0) } else { String::new() }
            ),
        )
    };
    Some(LatencyLimit {
        p99_budget_ms,
        base_ms: a,
        queueing_ms: b,
        t_stat: t,
        points: n,
        max_observed_utilization: max_u,
        max_utilization,
        explanation,
    })
}

/// Builds the report at `now`; `p99_budget_ms` enables the latency limit.
pub fn capacity_report(
    engine: &Engine,
    service: &str,
    now: i64,
    headroom_budget: f64,
    p99_budget_ms: Option<f64>,
) -> Result<CapacityReport, CoreError> {
    let view = engine.first_view_name()?;
    let mut steps = Vec::new();
    let mut step_ms = HOUR;
    for (step, count) in STEPS {
        steps = history(engine, &view, service, now, step, count)?;
        step_ms = step;
        if steps.len() >= ENOUGH_POINTS {
            break;
        }
    }
    if steps.is_empty() {
        return Err(CoreError::InvalidQuery(format!(
            "no requests of service {service:?} in the last {} hours",
            STEPS[0].1
        )));
    }
    let filter = [(Dim::Service, service)];
    let recent_from = (now - CURRENT_MS).max(steps[0].ts_ms);
    let current_rps = engine.query(&view, &filter, recent_from, now + 1)?.requests as f64
        / ((now + 1 - recent_from).max(MINUTE) as f64 / 1000.0);
    let series: Vec<(i64, f64)> = steps.iter().map(|s| (s.ts_ms, s.rps)).collect();
    let fitted = fit(&series).map_err(|e| {
        CoreError::InvalidQuery(format!(
            "{service}: {e} (demand per minute; it needs 16 minutes of history)"
        ))
    })?;
    let horizon = (HORIZON_HOURS as i64 * HOUR / step_ms)
        .min(series.len() as i64 / 2)
        .max(1) as usize;
    let horizon_hours = (horizon as i64 * step_ms) as f64 / HOUR as f64;
    let forecast = fitted.forecast(horizon, 0.95);
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
    let current_headroom = capacity_rps.map(|c| 1.0 - current_rps / c);
    let status = match headroom {
        None => "unknown",
        Some(h) if h < headroom_budget => "below_budget",
        Some(_) => "ok",
    };
    let step_hours = step_ms as f64 / HOUR as f64;
    let trend_per_day = (fitted.trend_per_step() * 24.0 / step_hours).exp_m1();
    let hours_to_exhaustion = capacity_rps.and_then(|cap| {
        forecast
            .iter()
            .position(|p| p.forecast >= cap)
            .map(|i| (i + 1) as f64 * step_hours)
            .or_else(|| {
                let per_step = fitted.trend_per_step();
                (per_step > 0.0 && peak_forecast_rps > 0.0).then(|| {
                    horizon_hours + (cap / peak_forecast_rps).ln().max(0.0) / per_step * step_hours
                })
            })
    });
    let latency = match (p99_budget_ms, capacity_rps) {
        (Some(budget), Some(cap)) if cap > 0.0 => {
            let points: Vec<(f64, f64)> = steps
                .iter()
                .filter(|s| s.requests >= MIN_STEP_REQUESTS)
                .filter_map(|s| s.p99_ms.map(|p| (s.rps / cap, p)))
                .collect();
            latency_limit(&points, budget)
        }
        _ => None,
    };
    // The horizon as a duration label (`1h30m`), as the table's horizon row says it.
    let ahead = crate::duration::format_duration((horizon_hours * HOUR as f64).round() as i64);
    let explanation = match (capacity_rps, headroom) {
        (Some(cap), Some(h)) => format!(
            "peak demand in the next {ahead} is {peak_forecast_rps:.1} rps (up to {peak_upper_rps:.1} at 95 %) against a capacity of {cap:.1} rps ({}): headroom {:.0} % ({} the {:.0} % budget), {:.0} % now{}",
            match capacity_source {
                CapacitySource::CapacityRps => "declared by the nodes",
                _ => "inferred from CPU utilisation",
            },
            h * 100.0,
            if h < headroom_budget { "below" } else { "within" },
            headroom_budget * 100.0,
            current_headroom.unwrap_or(h) * 100.0,
            hours_to_exhaustion
                .map(|t| format!("; capacity is reached in about {t:.1} h at the current trend"))
                .unwrap_or_default()
        ),
        _ => format!(
            "peak demand in the next {ahead} is {peak_forecast_rps:.1} rps; no capacityRps samples or CPU utilisation for the nodes of {service}, so headroom is unknown"
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
        current_headroom,
        headroom_budget,
        status,
        hours_to_exhaustion,
        step_minutes: step_ms / MINUTE,
        horizon_hours,
        period_steps: fitted.period(),
        trend_per_day,
        history_steps: series.len(),
        latency,
        forecast,
        explanation,
    })
}
