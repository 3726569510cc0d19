//! Cost: per service and operation the cost per request (last 24 hours), the month to date
//! (calendar month, UTC), and a 30-day forecast of the whole ecosystem's cost from its hourly
//! cost series (the demand forecaster applied to cost), set against the monthly budget and
//! its ceiling (0.80 of the budget by default).

use super::model::fit;
use crate::engine::Engine;
use crate::error::CoreError;
use crate::view::Dim;
use chrono::{Datelike, TimeZone, Utc};
use serde::Serialize;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const HISTORY_HOURS: i64 = 35 * 24;
const FORECAST_HOURS: usize = 30 * 24;

/// One operation's cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperationCost {
    /// Operation.
    pub operation: String,
    /// Cost per request over the last 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_request: Option<f64>,
    /// Cost over the last 24 hours.
    pub last_24h: f64,
    /// Cost since the start of the month (UTC).
    pub month_to_date: f64,
}

/// One service's cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceCost {
    /// Service.
    pub service: String,
    /// Cost per request over the last 24 hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_per_request: Option<f64>,
    /// Cost over the last 24 hours.
    pub last_24h: f64,
    /// Month to date.
    pub month_to_date: f64,
    /// Per operation, costliest first.
    pub operations: Vec<OperationCost>,
}

/// The cost report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CostReport {
    /// Per service, costliest first.
    pub services: Vec<ServiceCost>,
    /// Month to date, all services.
    pub month_to_date: f64,
    /// Forecast of the next 30 days, all services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_30d: Option<f64>,
    /// Its 95 % upper bound (sum of the hourly upper bounds: conservative).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_30d_upper: Option<f64>,
    /// How the forecast was made: `hourly_model` (the demand forecaster on the hourly cost
    /// series, 16 hours or more of it) or `recent_rate` (a younger ecosystem: the mean cost
    /// per 10 minutes of the hours it has, times 30 days; no trend, no seasonality).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_basis: Option<&'static str>,
    /// The monthly budget, when configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly_budget: Option<f64>,
    /// forecast_30d / budget.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_utilization: Option<f64>,
    /// The ceiling (0.80).
    pub ceiling: f64,
    /// `ok`, `over_ceiling`, `over_budget` or `no_budget`.
    pub status: &'static str,
    /// One sentence.
    pub explanation: String,
}

/// The cost of the next 30 days of what `filter` selects in `view` (everything with no
/// filter): the demand forecaster on its hourly cost series once it has 16 hours of it, else
/// the recent rate per 10 minutes. All `None` with under 30 minutes of cost.
pub fn forecast_30_days(
    engine: &Engine,
    view: &str,
    filter: &[(Dim, &str)],
    now: i64,
) -> Result<CostForecast, CoreError> {
    let end = now.div_euclid(HOUR) * HOUR;
    let mut hourly = Vec::new();
    for h in (1..=HISTORY_HOURS).rev() {
        let from = end - h * HOUR;
        let cost = engine.query(view, filter, from, from + HOUR)?.cost;
        if cost > 0.0 || !hourly.is_empty() {
            hourly.push((from, cost));
        }
    }
    let (total, upper, basis) = match fit(&hourly) {
        Ok(f) => {
            let fc = f.forecast(FORECAST_HOURS, 0.95);
            (
                Some(fc.iter().map(|p| p.forecast).sum::<f64>()),
                Some(fc.iter().map(|p| p.upper).sum::<f64>()),
                Some("hourly_model"),
            )
        }
        Err(_) => match recent_rate(engine, view, filter, now)? {
            Some((f, upper)) => (Some(f), Some(upper), Some("recent_rate")),
            None => (None, None, None),
        },
    };
    Ok(CostForecast {
        total,
        upper,
        basis,
    })
}

/// A 30-day cost forecast ([`forecast_30_days`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostForecast {
    /// The forecast.
    pub total: Option<f64>,
    /// Its 95 % upper bound.
    pub upper: Option<f64>,
    /// `hourly_model` or `recent_rate`.
    pub basis: Option<&'static str>,
}

/// Ten minutes, the step of the young ecosystem's estimate.
const TEN_MINUTES: i64 = 600_000;

/// For an ecosystem with under 16 hours of cost: the mean cost per 10 minutes since its first
/// costly 10 minutes (at least three of them), times 30 days, and the 95 % upper bound of that
/// mean (normal approximation) times 30 days. `None` with less.
fn recent_rate(
    engine: &Engine,
    view: &str,
    filter: &[(Dim, &str)],
    now: i64,
) -> Result<Option<(f64, f64)>, CoreError> {
    let end = now.div_euclid(TEN_MINUTES) * TEN_MINUTES;
    let mut steps: Vec<f64> = Vec::new();
    for k in (1..=16 * 6).rev() {
        let from = end - k * TEN_MINUTES;
        let cost = engine.query(view, filter, from, from + TEN_MINUTES)?.cost;
        if cost > 0.0 || !steps.is_empty() {
            steps.push(cost);
        }
    }
    if steps.len() < 3 {
        return Ok(None);
    }
    let n = steps.len() as f64;
    let mean = steps.iter().sum::<f64>() / n;
    let var = steps.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let per_30_days = (30 * DAY / TEN_MINUTES) as f64;
    Ok(Some((
        mean * per_30_days,
        (mean + 1.96 * (var / n).sqrt()) * per_30_days,
    )))
}

/// The start of `now`'s calendar month (UTC).
pub fn month_start(now: i64) -> i64 {
    let d = Utc.timestamp_millis_opt(now).single().unwrap_or_default();
    Utc.with_ymd_and_hms(d.year(), d.month(), 1, 0, 0, 0)
        .single()
        .map_or(now, |m| m.timestamp_millis())
}

/// Builds the report at `now`.
pub fn cost_report(
    engine: &Engine,
    now: i64,
    monthly_budget: Option<f64>,
    ceiling: f64,
) -> Result<CostReport, CoreError> {
    let view = engine
        .views()
        .iter()
        .find(|v| v.def.dims == [Dim::Service, Dim::Operation])
        .or_else(|| engine.views().first())
        .ok_or_else(|| CoreError::InvalidQuery("no views".into()))?
        .def
        .name
        .clone();
    let op_pos = engine
        .view(&view)?
        .def
        .dims
        .iter()
        .position(|d| *d == Dim::Operation);
    let month = month_start(now);
    let mut services = Vec::new();
    for svc in engine.services() {
        let filter = [(Dim::Service, svc.as_str())];
        let day = engine.group(&view, &filter, now - DAY, now + 1)?;
        let mtd = engine.group(&view, &filter, month, now + 1)?;
        let mut ops: std::collections::BTreeMap<String, OperationCost> = Default::default();
        let name = |key: &[String]| op_pos.map_or_else(|| "(all)".to_string(), |p| key[p].clone());
        for (key, s) in &day {
            let e = ops.entry(name(key)).or_insert_with(|| OperationCost {
                operation: name(key),
                cost_per_request: None,
                last_24h: 0.0,
                month_to_date: 0.0,
            });
            e.last_24h += s.cost;
            e.cost_per_request = s.cost_per_request();
        }
        for (key, s) in &mtd {
            ops.entry(name(key))
                .or_insert_with(|| OperationCost {
                    operation: name(key),
                    cost_per_request: None,
                    last_24h: 0.0,
                    month_to_date: 0.0,
                })
                .month_to_date += s.cost;
        }
        let requests: u64 = day.iter().map(|(_, s)| s.requests).sum();
        let last_24h: f64 = day.iter().map(|(_, s)| s.cost).sum();
        let mut operations: Vec<OperationCost> = ops.into_values().collect();
        operations.sort_by(|a, b| b.last_24h.total_cmp(&a.last_24h));
        services.push(ServiceCost {
            cost_per_request: (requests > 0).then(|| last_24h / requests as f64),
            last_24h,
            month_to_date: operations.iter().map(|o| o.month_to_date).sum(),
            service: svc,
            operations,
        });
    }
    services.sort_by(|a, b| b.last_24h.total_cmp(&a.last_24h));
    let month_to_date = services.iter().map(|s| s.month_to_date).sum();

    let CostForecast {
        total: forecast_30d,
        upper: forecast_30d_upper,
        basis: forecast_basis,
    } = forecast_30_days(engine, &view, &[], now)?;
    let budget = monthly_budget.filter(|b| *b > 0.0);
    let budget_utilization = budget.zip(forecast_30d).map(|(b, f)| f / b);
    let status = match budget_utilization {
        None => "no_budget",
        Some(u) if u > 1.0 => "over_budget",
        Some(u) if u > ceiling => "over_ceiling",
        Some(_) => "ok",
    };
    let basis = if forecast_basis == Some("recent_rate") {
        " (from the recent rate: under 16 hours of history, no trend or seasonality yet)"
    } else {
        ""
    };
    let explanation = match (forecast_30d, budget, budget_utilization) {
        (Some(f), Some(b), Some(u)) => format!(
            "the next 30 days should cost {f:.2}{basis} ({:.0} % of the monthly budget {b:.2}; ceiling {:.0} %)",
            u * 100.0,
            ceiling * 100.0
        ),
        (Some(f), _, _) => format!("the next 30 days should cost {f:.2}; no monthly budget is configured (budgets.monthlyCostBudget)"),
        _ => "not enough cost history for a forecast (30 minutes needed; 16 hours for the hourly model)".into(),
    };
    Ok(CostReport {
        services,
        month_to_date,
        forecast_30d,
        forecast_30d_upper,
        forecast_basis,
        monthly_budget: budget,
        budget_utilization,
        ceiling,
        status,
        explanation,
    })
}
