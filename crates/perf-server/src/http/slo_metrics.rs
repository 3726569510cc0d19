//! The SLOs on `/metrics`, as Sloth's and Pyrra's recording rules give them, so a Grafana
//! dashboard or an alerting rule reads them without this server's API: per SLO instance
//! (`slo`, `service`, and `tenant` for a per-tenant instance) the objective, the compliance
//! over its window, the share of the error budget left (negative once overspent) and the burn
//! rate per window (`window`: `5m` … `3d`), from the last evaluation cycle's statuses.

use crate::durable::metrics::escape;
use crate::AppState;
use std::fmt::Write;

/// A gauge's value for one SLO instance, if it has one.
type Reading = fn(&perf_core::slo::SloStatus) -> Option<f64>;

/// Appends the SLO metrics.
pub fn render(out: &mut String, state: &AppState) -> std::fmt::Result {
    let decisions = state.control.decisions();
    let statuses = decisions.slos.as_deref().unwrap_or_default();
    let labels = |s: &perf_core::slo::SloStatus| {
        let mut l = format!(
            "slo=\"{}\",service=\"{}\"",
            escape(&s.name),
            escape(&s.service)
        );
        if let Some(t) = &s.tenant {
            let _ = write!(l, ",tenant=\"{}\"", escape(t));
        }
        l
    };
    let gauges: [(&str, &str, Reading); 3] = [
        (
            "ecosystem_perf_slo_objective",
            "Objective of each SLO instance, as a fraction (0.999).",
            |s| Some(s.objective),
        ),
        (
            "ecosystem_perf_slo_compliance",
            "Good share of each SLO instance over its window (events or slices); absent without data.",
            |s| s.compliance,
        ),
        (
            "ecosystem_perf_slo_error_budget_remaining",
            "Share of each SLO instance's error budget left in its window (negative once overspent).",
            |s| Some(s.error_budget.remaining),
        ),
    ];
    for (name, help, value) in gauges {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        for s in statuses {
            if let Some(v) = value(s).filter(|v| v.is_finite()) {
                writeln!(out, "{name}{{{}}} {v}", labels(s))?;
            }
        }
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_slo_burn_rate Burn rate of each SLO instance per window (1 spends the budget exactly over the SLO period)."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_slo_burn_rate gauge")?;
    for s in statuses {
        for (window, rate) in &s.burn_rates {
            if rate.is_finite() {
                writeln!(
                    out,
                    "ecosystem_perf_slo_burn_rate{{{},window=\"{window}\"}} {rate}",
                    labels(s)
                )?;
            }
        }
    }
    Ok(())
}
