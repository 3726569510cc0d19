//! Gate 4: the 30-day cost forecast under `costCeiling` (80 %) of the monthly budget.
//!
//! The figure is the cost report's forecast (`GET /v1/cost`: a seasonal fit of the hourly
//! cost summed over the next 30 days, or before 16 hours of history the recent mean rate
//! times 30 days) over `budgets.monthlyCostBudget`; the evidence
//! is every service's share of the last 24 hours, costliest first, and the forecast's 95 %
//! upper bound. No budget, or too little cost history for a forecast, is not a pass.

use super::error_budget::pct;
use super::{Evidence, Gate, GateStatus, Guardrails, Window};
use crate::forecast::cost::CostReport;

const DAY: i64 = 86_400_000;

/// The cost gate over the cost report at `now`.
pub fn gate(report: &CostReport, now: i64, g: &Guardrails) -> Gate {
    let name = "cost";
    let Some(budget) = report.monthly_budget else {
        return Gate::insufficient(
            name,
            g.cost_ceiling,
            "ratio",
            "no monthly cost budget: set `budgets.monthlyCostBudget` in the configuration".into(),
        );
    };
    let (Some(forecast), Some(share)) = (report.forecast_30d, report.budget_utilization) else {
        return Gate::insufficient(
            name,
            g.cost_ceiling,
            "ratio",
            format!("no 30-day forecast: {}", report.explanation),
        );
    };
    let day_total: f64 = report.services.iter().map(|s| s.last_24h).sum();
    let mut evidence: Vec<Evidence> = report
        .services
        .iter()
        .filter(|s| s.last_24h > 0.0 || s.month_to_date > 0.0)
        .map(|s| Evidence {
            subject: s.service.clone(),
            actual: Some(s.last_24h),
            threshold: None,
            requests: None,
            pass: true,
            detail: format!(
                "{:.2} in the last 24 hours ({:.1} % of all), {:.2} month to date",
                s.last_24h,
                if day_total > 0.0 {
                    100.0 * s.last_24h / day_total
                } else {
                    0.0
                },
                s.month_to_date
            ),
        })
        .collect();
    evidence.sort_by(|a, b| {
        b.actual
            .unwrap_or(0.0)
            .total_cmp(&a.actual.unwrap_or(0.0))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    let pass = share < g.cost_ceiling;
    let upper = report.forecast_30d_upper.map_or(String::new(), |u| {
        format!(" (95 % upper bound {u:.2}, {})", pct(u / budget))
    });
    Gate {
        name: name.to_string(),
        status: if pass {
            GateStatus::Pass
        } else {
            GateStatus::Fail
        },
        actual: Some(share),
        threshold: g.cost_ceiling,
        unit: "ratio".into(),
        window: Some(Window {
            from: now,
            to: now + 30 * DAY,
            description: "the next 30 days (forecast)".into(),
        }),
        reason: format!(
            "the next 30 days should cost {forecast:.2}, {} of the monthly budget {budget:.2}{upper}; the ceiling is {}",
            pct(share),
            pct(g.cost_ceiling)
        ),
        evidence,
    }
}
