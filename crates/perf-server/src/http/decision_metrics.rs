//! The decisions on `/metrics`, for Grafana and alerting rules: runs and failures of each
//! evaluation stage, anomaly detectors and open incidents, rollouts by state with the weight of each running canary,
//! the services whose regression alert is firing, degradation levels and concurrency limits,
//! the published routing weight of every node, callers by risk level and each tenant's
//! isolation recommendation.

use crate::control::Stage;
use crate::durable::metrics::escape;
use crate::effects::AlertKind;
use crate::AppState;
use perf_core::compare::rollout::{Rollout, RolloutState};
use std::fmt::Write;

/// Appends the decision metrics.
pub fn render(out: &mut String, state: &AppState) -> std::fmt::Result {
    writeln!(
        out,
        "# HELP ecosystem_perf_evaluation_stage_runs_total Runs of each decision stage (evaluation and deployment cycles)."
    )?;
    writeln!(
        out,
        "# TYPE ecosystem_perf_evaluation_stage_runs_total counter"
    )?;
    for stage in Stage::ALL {
        let (runs, _) = state.control.counters.of(stage);
        writeln!(
            out,
            "ecosystem_perf_evaluation_stage_runs_total{{stage=\"{}\"}} {runs}",
            stage.name()
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_evaluation_stage_failures_total Runs of each decision stage that failed (the other stages still ran)."
    )?;
    writeln!(
        out,
        "# TYPE ecosystem_perf_evaluation_stage_failures_total counter"
    )?;
    for stage in Stage::ALL {
        let (_, failures) = state.control.counters.of(stage);
        writeln!(
            out,
            "ecosystem_perf_evaluation_stage_failures_total{{stage=\"{}\"}} {failures}",
            stage.name()
        )?;
    }
    let rollouts: Vec<Rollout> = state
        .durable
        .store()
        .list_documents(crate::control::rollouts::DOC_KIND)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect();
    let decisions = state.control.decisions();
    {
        let monitor = &decisions.anomalies;
        writeln!(
            out,
            "# HELP ecosystem_perf_anomaly_detectors Series-metrics with an anomaly detector."
        )?;
        writeln!(out, "# TYPE ecosystem_perf_anomaly_detectors gauge")?;
        writeln!(
            out,
            "ecosystem_perf_anomaly_detectors {}",
            monitor.detector_count()
        )?;
        writeln!(
            out,
            "# HELP ecosystem_perf_anomaly_incidents_open Anomaly incidents still open."
        )?;
        writeln!(out, "# TYPE ecosystem_perf_anomaly_incidents_open gauge")?;
        writeln!(
            out,
            "ecosystem_perf_anomaly_incidents_open {}",
            monitor.incidents.all().filter(|i| i.open).count()
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_rollouts Canary rollouts by state."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_rollouts gauge")?;
    for (st, name) in [
        (RolloutState::Running, "running"),
        (RolloutState::Completed, "completed"),
        (RolloutState::RolledBack, "rolled_back"),
    ] {
        let n = rollouts.iter().filter(|r| r.state == st).count();
        writeln!(out, "ecosystem_perf_rollouts{{state=\"{name}\"}} {n}")?;
    }
    writeln!(out, "# HELP ecosystem_perf_rollout_canary_weight Canary traffic weight (percent) of running rollouts.")?;
    writeln!(out, "# TYPE ecosystem_perf_rollout_canary_weight gauge")?;
    for r in rollouts.iter().filter(|r| r.state == RolloutState::Running) {
        writeln!(
            out,
            "ecosystem_perf_rollout_canary_weight{{rollout=\"{}\",service=\"{}\"}} {}",
            escape(&r.id),
            escape(&r.spec.service),
            r.weight
        )?;
    }
    writeln!(out, "# HELP ecosystem_perf_regression_firing Services whose current window regressed against their baseline.")?;
    writeln!(out, "# TYPE ecosystem_perf_regression_firing gauge")?;
    for s in decisions.firing.of(AlertKind::Regression) {
        writeln!(
            out,
            "ecosystem_perf_regression_firing{{service=\"{}\"}} 1",
            escape(s)
        )?;
    }
    let levels = decisions.policy.levels();
    writeln!(out, "# HELP ecosystem_perf_degradation_level Degradation ladder level per service (0 normal … 4 essential only).")?;
    writeln!(out, "# TYPE ecosystem_perf_degradation_level gauge")?;
    for (svc, level, _) in &levels {
        writeln!(
            out,
            "ecosystem_perf_degradation_level{{service=\"{}\"}} {level}",
            escape(svc)
        )?;
    }
    writeln!(out, "# HELP ecosystem_perf_degradation_transitions_total Degradation ladder level changes per service since the server started.")?;
    writeln!(
        out,
        "# TYPE ecosystem_perf_degradation_transitions_total counter"
    )?;
    for (svc, n) in decisions.policy.transitions() {
        writeln!(
            out,
            "ecosystem_perf_degradation_transitions_total{{service=\"{}\"}} {n}",
            escape(&svc)
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_concurrency_limit Adaptive concurrency limit per service."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_concurrency_limit gauge")?;
    for (svc, _, limit) in levels.iter().filter(|l| l.2.is_some()) {
        writeln!(
            out,
            "ecosystem_perf_concurrency_limit{{service=\"{}\"}} {:.3}",
            escape(svc),
            limit.unwrap_or(0.0)
        )?;
    }
    let weights = decisions.balancer.published();
    writeln!(
        out,
        "# HELP ecosystem_perf_routing_weight Published routing weight per node."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_routing_weight gauge")?;
    for (svc, node, w) in weights {
        writeln!(
            out,
            "ecosystem_perf_routing_weight{{service=\"{}\",node=\"{}\"}} {w:.4}",
            escape(&svc),
            escape(&node)
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_risk_callers Callers tracked by the risk scorer, by risk level."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_risk_callers gauge")?;
    let risks = decisions.risks.as_deref().unwrap_or_default();
    for level in ["low", "moderate", "high", "critical"] {
        let n = risks.iter().filter(|r| r.risk_level == level).count();
        writeln!(out, "ecosystem_perf_risk_callers{{level=\"{level}\"}} {n}")?;
    }
    writeln!(out, "# HELP ecosystem_perf_tenant_isolation Isolation recommendation per tenant (DAO subnet): 0 none, 1 monitor, 2 traffic throttling, 3 isolate.")?;
    writeln!(out, "# TYPE ecosystem_perf_tenant_isolation gauge")?;
    for (tenant, st) in &decisions.tenant_states {
        writeln!(
            out,
            "ecosystem_perf_tenant_isolation{{tenant=\"{}\"}} {}",
            escape(tenant),
            st.current() as u8
        )?;
    }
    Ok(())
}

/// Appends the go-live report: the verdict and each gate's status (one-hot, so an alert rule
/// reads `ecosystem_perf_golive_gate{status="fail"} == 1`), its deciding figure and its
/// threshold.
pub fn render_golive(
    out: &mut String,
    report: &perf_core::golive::GoLiveReport,
) -> std::fmt::Result {
    writeln!(out, "# HELP ecosystem_perf_golive_verdict The go-live verdict (1 for the current one), at most 30 s old.")?;
    writeln!(out, "# TYPE ecosystem_perf_golive_verdict gauge")?;
    let verdict = snake_word(&report.verdict);
    for v in ["go", "no_go", "insufficient_data"] {
        writeln!(
            out,
            "ecosystem_perf_golive_verdict{{verdict=\"{v}\"}} {}",
            u8::from(v == verdict)
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_golive_gate Each go-live gate's status (1 for the current one)."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_golive_gate gauge")?;
    for g in &report.gates {
        let status = snake_word(&g.status);
        for st in ["pass", "fail", "insufficient_data"] {
            writeln!(
                out,
                "ecosystem_perf_golive_gate{{gate=\"{}\",status=\"{st}\"}} {}",
                escape(&g.name),
                u8::from(st == status)
            )?;
        }
    }
    writeln!(out, "# HELP ecosystem_perf_golive_gate_actual Each go-live gate's deciding figure (the worst subject's), in its unit.")?;
    writeln!(out, "# TYPE ecosystem_perf_golive_gate_actual gauge")?;
    for g in report
        .gates
        .iter()
        .filter(|g| g.actual.is_some_and(f64::is_finite))
    {
        writeln!(
            out,
            "ecosystem_perf_golive_gate_actual{{gate=\"{}\",unit=\"{}\"}} {}",
            escape(&g.name),
            escape(&g.unit),
            g.actual.unwrap_or(0.0)
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_golive_gate_threshold Each go-live gate's threshold, in its unit."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_golive_gate_threshold gauge")?;
    for g in &report.gates {
        writeln!(
            out,
            "ecosystem_perf_golive_gate_threshold{{gate=\"{}\",unit=\"{}\"}} {}",
            escape(&g.name),
            escape(&g.unit),
            g.threshold
        )?;
    }
    Ok(())
}

/// An enum's wire word (`no_go`).
fn snake_word<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|w| w.as_str().map(str::to_string))
        .unwrap_or_default()
}
