//! The go-live report behind `GET /v1/golive` and `ecosystem-perf golive`: gathers what the
//! five gates read — the SLO statuses of the last cycle, the cost report, every service's
//! capacity report, and the disturbances that break a steady state (degradation-ladder
//! steps and anomaly incidents from the alert history, rollout steps from the rollouts) —
//! and runs `perf_core::golive`. Reads only; the offline command runs this same function on
//! a replayed data directory, so both answer alike for the same events.

use super::capacity;
use super::decisions::Memory;
use super::error::ControlError;
use super::rollouts;
use crate::config::Budgets;
use crate::durable::Durable;
use crate::effects::AlertKind;
use perf_core::golive::steady::Disturbance;
use perf_core::golive::{evaluate, GoLiveReport, Guardrails, Inputs};
use std::collections::BTreeMap;

/// Alert records read for the disturbances (the steady state is searched in the last 6
/// hours; a ladder that steps every evaluation would need more, and then has no steady state
/// anyway).
const HISTORY_RECORDS: usize = 20_000;

/// The guardrails of the `budgets:` section.
pub fn guardrails(b: &Budgets) -> Guardrails {
    Guardrails {
        read_p99_ms: b.read.p99_ms,
        write_p99_ms: b.write.p99_ms,
        complex_write_p99_ms: b.complex_write.p99_ms,
        weekly_error_budget_burn: b.weekly_error_budget_burn,
        cache_hit_rate: b.cache_hit_rate,
        cost_ceiling: b.cost_ceiling,
        headroom: b.headroom,
        ..Guardrails::default()
    }
}

/// Ladder steps, anomaly incidents and rollout steps up to `now`.
pub fn disturbances(d: &Durable, now: i64) -> Result<Vec<Disturbance>, ControlError> {
    let mut records = d.store().recent_alerts(HISTORY_RECORDS)?;
    records.reverse(); // oldest first
    let mut out = Vec::new();
    let mut open: BTreeMap<String, i64> = BTreeMap::new();
    for r in records.iter().filter(|r| r.at_ms <= now) {
        if r.kind == AlertKind::Degradation.history_kind() {
            out.push(Disturbance {
                kind: "degradation_step".into(),
                subject: r.subject.clone(),
                from: r.at_ms,
                to: r.at_ms,
            });
        } else if r.kind == AlertKind::Anomaly.history_kind() {
            if r.state == "firing" {
                open.entry(r.subject.clone()).or_insert(r.at_ms);
            } else {
                let from = open.remove(&r.subject).unwrap_or(r.at_ms);
                out.push(Disturbance {
                    kind: "anomaly_incident".into(),
                    subject: r.subject.clone(),
                    from,
                    to: r.at_ms,
                });
            }
        }
    }
    for (subject, from) in open {
        out.push(Disturbance {
            kind: "anomaly_incident".into(),
            subject,
            from,
            to: now,
        });
    }
    for r in rollouts::all(d)? {
        out.push(Disturbance {
            kind: "rollout_step".into(),
            subject: r.id.clone(),
            from: r.started_at,
            to: r.started_at,
        });
        for s in r.history.iter().filter(|s| s.weight != s.weight_before) {
            out.push(Disturbance {
                kind: "rollout_step".into(),
                subject: r.id.clone(),
                from: s.at,
                to: s.at,
            });
        }
    }
    out.retain(|x| x.from <= now);
    out.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| a.subject.cmp(&b.subject)));
    Ok(out)
}

/// The report now.
pub fn report(d: &Durable, m: &Memory) -> Result<GoLiveReport, ControlError> {
    let now = d.now();
    let g = guardrails(&d.config.budgets);
    let slos = m.decisions().slos.clone().unwrap_or_default();
    let disturbances = disturbances(d, now)?;
    let services = d.engine().services();
    let capacity: Vec<_> = services
        .iter()
        .filter_map(|svc| capacity::report(d, svc).ok())
        .collect();
    let engine = d.engine();
    let cost = perf_core::forecast::cost::cost_report(
        &engine,
        now,
        d.config.budgets.monthly_cost_budget,
        d.config.budgets.cost_ceiling,
    )
    .map_err(|e| ControlError::Invalid(e.to_string()))?;
    Ok(evaluate(
        &engine,
        &Inputs {
            now,
            slos: &slos,
            cost: &cost,
            capacity: &capacity,
            disturbances: &disturbances,
        },
        &g,
    ))
}
