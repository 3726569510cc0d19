//! The risk stage: risk signals per caller (the Qerberos hook). Each service's tracked callers are scored
//! (`perf_core::risk`) over the last hour against the service's anomaly incidents (from the
//! anomaly monitor) and the last 10 minutes when its current window regressed against its
//! baseline (the regression stage's finding); a caller of several
//! services gets its highest score, with every service's signals and evidence. The stage
//! keeps the scores in the decisions (what `GET /v1/risk/*` answers) and publishes callers that rise to `high` or `critical` on the stream (`risk`) and as
//! alerts (`EcosystemPerfCallerRisk`), resolved when they fall back under `high`.

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::{AlertKind, Effect, Notice, StreamEvent};
use perf_core::risk::{evaluate_caller, service_evidence, EntityRisk};
use std::collections::BTreeMap;

/// Span of evidence, ms.
const SPAN_MS: i64 = 3_600_000;
/// A regressed service counts over this much recent time.
const REGRESSION_MS: i64 = 10 * 60_000;

/// Every tracked caller's risk now, highest score first.
fn evaluate_all(d: &Durable, m: &Memory, now: i64) -> Result<Vec<EntityRisk>, ControlError> {
    let services = d.engine().services();
    let (incidents, regressed) = {
        let decisions = m.decisions();
        let incidents: Vec<(Vec<String>, i64, i64)> = decisions
            .anomalies
            .incidents
            .all()
            .filter(|i| i.end >= now - SPAN_MS)
            .map(|i| {
                (
                    i.services.iter().cloned().collect(),
                    i.start,
                    i.end.max(i.start + 60_000),
                )
            })
            .collect();
        (incidents, decisions.regressed.clone())
    };
    let mut merged: BTreeMap<String, EntityRisk> = BTreeMap::new();
    for svc in services {
        let windows: Vec<(i64, i64)> = incidents
            .iter()
            .filter(|(s, _, _)| s.contains(&svc))
            .map(|(_, f, t)| (*f, *t))
            .collect();
        let regressions = if regressed.contains(&svc) {
            vec![(now - REGRESSION_MS, now + 1)]
        } else {
            Vec::new()
        };
        let (series, callers) = {
            let engine = d.engine();
            service_evidence(&engine, &svc, now, SPAN_MS, &windows, &regressions)
                .map_err(|e| ControlError::Invalid(e.to_string()))?
        };
        for c in &callers {
            let r = evaluate_caller(&series, c);
            match merged.get_mut(&r.entity_id) {
                None => {
                    merged.insert(r.entity_id.clone(), r);
                }
                Some(m) => {
                    m.signals.extend(r.signals);
                    m.signals.sort_by(|a, b| b.strength.total_cmp(&a.strength));
                    m.correlations.extend(r.correlations);
                    m.evidence.extend(r.evidence);
                    if r.risk_score > m.risk_score {
                        m.risk_score = r.risk_score;
                        m.risk_level = r.risk_level;
                    }
                }
            }
        }
    }
    let mut out: Vec<EntityRisk> = merged.into_values().collect();
    out.sort_by(|a, b| {
        b.risk_score
            .total_cmp(&a.risk_score)
            .then_with(|| a.entity_id.cmp(&b.entity_id))
    });
    Ok(out)
}

/// The order of risk levels: low 0, moderate 1, high 2, critical 3.
pub fn rank(level: &str) -> u8 {
    match level {
        "critical" => 3,
        "high" => 2,
        "moderate" => 1,
        _ => 0,
    }
}

/// Scores every caller, keeps the scores, publishes callers that became high or critical
/// and resolves those that fell back (the evaluation cycle).
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let risks = evaluate_all(d, m, now)?;
    let mut decisions = m.decisions();
    let high: std::collections::BTreeSet<String> = risks
        .iter()
        .filter(|r| rank(r.risk_level) >= 2)
        .map(|r| r.entity_id.clone())
        .collect();
    let mut effects = Vec::new();
    for r in risks.iter().filter(|r| {
        rank(r.risk_level) >= 2 && !decisions.firing.is_firing(AlertKind::Risk, &r.entity_id)
    }) {
        effects.push(Effect::Stream(StreamEvent::Risk(r.clone())));
    }
    let keys: Vec<String> = decisions
        .firing
        .of(AlertKind::Risk)
        .map(str::to_string)
        .chain(high.iter().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for id in keys {
        let firing = high.contains(&id);
        if !decisions.firing.set(AlertKind::Risk, &id, firing) {
            continue;
        }
        let r = risks.iter().find(|r| r.entity_id == id);
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::Risk,
            subject: id.clone(),
            labels: vec![("entity", id.clone()), ("severity", "ticket".into())],
            summary: match r {
                Some(r) => format!("caller {id}: risk {} ({:.0})", r.risk_level, r.risk_score),
                None => format!("caller {id}: risk back to normal"),
            },
            description: r
                .map(|r| {
                    r.signals
                        .iter()
                        .map(|s| format!("{} {} on {}", s.kind, s.severity, s.service))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
            firing,
            since_ms: now,
            path: "/v1/risk/signals?minLevel=high".into(),
        }));
    }
    decisions.risks = Some(risks);
    Ok(effects)
}
