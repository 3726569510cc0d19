//! Gate 2: the weekly error-budget burn of every SLO under `weeklyErrorBudgetBurn` (10 %).
//!
//! The figure is the SLO status's `weeklyBudgetBurn`: the share of the period's error budget
//! the last 7 days burn at their rate (`burn rate over 7 d × 7 d / period`), so a 30-day SLO
//! that burnt 10 % of its budget in the last week is at 0.10 whatever its period. Judged per
//! SLO over all its events (per-tenant instances are the tenant gates' business). An SLO
//! without events has nothing to say: the gate then lacks data rather than passes.

use super::{status_of, Evidence, Gate, GateStatus, Guardrails, Window};
use crate::slo::SloStatus;

/// The error-budget gate over the SLO statuses of the last evaluation.
pub fn gate(statuses: &[SloStatus], now: i64, g: &Guardrails) -> Gate {
    let name = "error_budget";
    let limit = g.weekly_error_budget_burn;
    let slos: Vec<&SloStatus> = statuses.iter().filter(|s| s.tenant.is_none()).collect();
    if slos.is_empty() {
        return Gate::insufficient(
            name,
            limit,
            "ratio",
            "no SLO is defined: add them under `slos` in the configuration (or POST /v1/slos)"
                .into(),
        );
    }
    let mut evidence: Vec<Evidence> = Vec::new();
    let mut silent = Vec::new();
    for s in &slos {
        if s.total == 0 || s.compliance.is_none() {
            silent.push(s.name.clone());
            continue;
        }
        let burn = s.weekly_budget_burn;
        evidence.push(Evidence {
            subject: s.name.clone(),
            actual: Some(burn),
            threshold: Some(limit),
            requests: Some(s.total),
            pass: burn < limit,
            detail: format!(
                "{} of the {} budget burnt per week at the last 7 days' rate ({} {} SLO on {}, objective {:.3} %, {} of {} events good in the window)",
                pct(burn),
                s.window,
                s.budgeting_method,
                s.sli,
                s.service,
                s.objective * 100.0,
                s.good,
                s.total
            ),
        });
    }
    evidence.sort_by(|a, b| {
        b.actual
            .unwrap_or(0.0)
            .total_cmp(&a.actual.unwrap_or(0.0))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    for name in &silent {
        evidence.push(Evidence {
            subject: name.clone(),
            actual: None,
            threshold: Some(limit),
            requests: Some(0),
            pass: true,
            detail: "no events in the SLO's window".into(),
        });
    }
    let judged: Vec<Evidence> = evidence
        .iter()
        .filter(|e| e.actual.is_some())
        .cloned()
        .collect();
    let mut status = status_of(&judged);
    if status == GateStatus::Pass && !silent.is_empty() {
        status = GateStatus::InsufficientData;
    }
    let worst = judged.first();
    let reason = match status {
        GateStatus::Fail => {
            let over: Vec<String> = judged
                .iter()
                .filter(|e| !e.pass)
                .map(|e| {
                    format!(
                        "{} burns {} per week",
                        e.subject,
                        pct(e.actual.unwrap_or(0.0))
                    )
                })
                .collect();
            format!("{} (limit {})", over.join("; "), pct(limit))
        }
        GateStatus::InsufficientData => format!(
            "no events yet for {}: an SLO without data cannot pass",
            silent.join(", ")
        ),
        GateStatus::Pass => format!(
            "every SLO burns under {} of its budget per week (worst: {} at {})",
            pct(limit),
            worst.map_or("", |e| e.subject.as_str()),
            pct(worst.and_then(|e| e.actual).unwrap_or(0.0))
        ),
    };
    Gate {
        name: name.to_string(),
        status,
        actual: worst.and_then(|e| e.actual),
        threshold: limit,
        unit: "ratio".into(),
        window: Some(Window {
            from: now - 7 * 86_400_000,
            to: now,
            description: "the last 7 days".into(),
        }),
        reason,
        evidence,
    }
}

pub(crate) fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}
