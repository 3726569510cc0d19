//! The SLOs on `/metrics`, as Sloth's and Pyrra's recording rules give them, so a Grafana
//! dashboard or an alerting rule reads them without this server's API: per SLO instance
//! (`slo`, `service`, and `tenant` for a per-tenant instance) the objective, the compliance
//! over its window, the share of the error budget left (negative once overspent) and the burn
//! rate per window (`window`: `5m` … `3d`), from the last evaluation cycle's statuses.
//!
//! The same figures also go out under **Sloth's recording-rule names and labels**, so the
//! Sloth Grafana dashboards (and alert rules written against them) read this server as they
//! read Prometheus with Sloth's rules loaded: `slo:sli_error:ratio_rate<W>` per window
//! (`5m` … `3d`, and the period itself for a rolling window, e.g. `ratio_rate28d`) with
//! `sloth_window`, and `slo:objective:ratio`, `slo:error_budget:ratio`,
//! `slo:time_period:days`, `slo:current_burn_rate:ratio` (the 5m window's),
//! `slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio` and
//! `sloth_slo_info`, labelled `sloth_id` (`<service>-<slo>`), `sloth_service`, `sloth_slo`
//! (and `tenant` for a per-tenant instance). The period figures are the budget's own
//! (events, or slices for a timeslice budget).

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
    render_sloth(out, statuses)
}

/// The labels Sloth puts on its series for one SLO instance.
fn sloth_labels(s: &perf_core::slo::SloStatus) -> String {
    let mut l = format!(
        "sloth_id=\"{}-{}\",sloth_service=\"{}\",sloth_slo=\"{}\"",
        escape(&s.service),
        escape(&s.name),
        escape(&s.service),
        escape(&s.name)
    );
    if let Some(t) = &s.tenant {
        let _ = write!(l, ",tenant=\"{}\"", escape(t));
    }
    l
}

/// A metric name's window suffix (`28d`), for a rolling window only.
fn rolling_suffix(window: &str) -> Option<&str> {
    window
        .bytes()
        .all(|b| b.is_ascii_alphanumeric())
        .then_some(window)
}

/// Appends the SLO figures under Sloth's names.
fn render_sloth(out: &mut String, statuses: &[perf_core::slo::SloStatus]) -> std::fmt::Result {
    // The error ratio per window: one metric name per window, as Sloth records them.
    let mut windows: Vec<String> = statuses
        .iter()
        .flat_map(|s| s.burn_rates.keys().map(|w| w.to_string()))
        .chain(
            statuses
                .iter()
                .filter_map(|s| rolling_suffix(&s.window).map(String::from)),
        )
        .collect();
    windows.sort();
    windows.dedup();
    for w in &windows {
        let name = format!("slo:sli_error:ratio_rate{w}");
        writeln!(out, "# HELP {name} Error ratio of each SLO instance over the last {w} (Sloth's recording rule).")?;
        writeln!(out, "# TYPE {name} gauge")?;
        for s in statuses {
            let budget = 1.0 - s.objective;
            let ratio = match s.burn_rates.get(w.as_str()) {
                Some(rate) => Some(rate * budget),
                // The period itself: the budget's error ratio (bad events or slices).
                None if rolling_suffix(&s.window) == Some(w.as_str()) => {
                    s.compliance.map(|c| 1.0 - c)
                }
                None => None,
            };
            if let Some(v) = ratio.filter(|v| v.is_finite()) {
                writeln!(
                    out,
                    "{name}{{{},sloth_window=\"{w}\"}} {v}",
                    sloth_labels(s)
                )?;
            }
        }
    }
    let gauges: [(&str, &str, Reading); 6] = [
        (
            "slo:objective:ratio",
            "Objective of each SLO instance (Sloth).",
            |s| Some(s.objective),
        ),
        (
            "slo:error_budget:ratio",
            "Error budget of each SLO instance as a ratio, 1 - objective (Sloth).",
            |s| Some(1.0 - s.objective),
        ),
        (
            "slo:time_period:days",
            "Period of each SLO instance, days (Sloth).",
            |s| Some(s.period_ms as f64 / 86_400_000.0),
        ),
        (
            "slo:current_burn_rate:ratio",
            "Burn rate of each SLO instance over the last 5m (Sloth).",
            |s| s.burn_rates.get("5m").copied(),
        ),
        (
            "slo:period_burn_rate:ratio",
            "Share of the error budget each SLO instance has spent over its period (Sloth).",
            |s| s.compliance.map(|_| s.error_budget.consumed),
        ),
        (
            "slo:period_error_budget_remaining:ratio",
            "Share of the error budget each SLO instance has left over its period (Sloth).",
            |s| s.compliance.map(|_| s.error_budget.remaining),
        ),
    ];
    for (name, help, value) in gauges {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        for s in statuses {
            if let Some(v) = value(s).filter(|v| v.is_finite()) {
                writeln!(out, "{name}{{{}}} {v}", sloth_labels(s))?;
            }
        }
    }
    writeln!(
        out,
        "# HELP sloth_slo_info Information of each SLO instance (Sloth)."
    )?;
    writeln!(out, "# TYPE sloth_slo_info gauge")?;
    for s in statuses {
        writeln!(
            out,
            "sloth_slo_info{{{},sloth_mode=\"ecosystem-perf\",sloth_objective=\"{}\",sloth_window=\"{}\"}} 1",
            sloth_labels(s),
            perf_core::numeric::percent_of(s.objective),
            escape(&s.window)
        )?;
    }
    Ok(())
}
