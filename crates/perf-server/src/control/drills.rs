//! Recovery drills (`/v1/drills`) and failover triggers.
//!
//! A drill is stored as a document; the drills stage of the evaluation cycle feeds each one
//! still recovering with its service's requests since it last looked, on whole finest
//! buckets (`perf_core::drill`), so the measured RTO is within one evaluation interval of
//! the truth. The report adds the RTO target, the impact in figures and the recovery gate:
//! the service's traffic since its recovery against its latest frozen baseline, with the
//! gate's statistics. The same stage runs the failover triggers of `drills.failover`: while
//! one holds, `EcosystemPerfFailover` fires and a `failover` recommendation goes on the
//! stream; both clear when it stops holding.

use super::baselines;
use super::capacity::p99_budget_ms;
use super::decisions::Memory;
use super::deploy::live_samples;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::stream::FailoverRecommendation;
use crate::effects::{AlertKind, Effect, Notice, StreamEvent};
use perf_core::compare::baseline::Selector;
use perf_core::compare::{GateReport, SideInfo};
use perf_core::drill::{Drill, DrillKind, DrillStatus, DrillView, RecoveryBudget};
use perf_core::stats::Stats;
use perf_core::view::Dim;
use perf_store::Document;
use serde::{Deserialize, Serialize};

/// Store kind of drills.
pub const DOC_KIND: &str = "drill";
/// Longest stretch of traffic after recovery the recovery gate reads.
const GATE_WINDOW_MS: i64 = 3_600_000;

/// What `POST /v1/drills` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct DrillRequest {
    /// Service drilled.
    pub service: String,
    /// `restore` or `failover`.
    pub kind: DrillKind,
    /// Identifier (default: `<service>-<kind>-<start>`).
    #[serde(default)]
    pub id: Option<String>,
}

/// A drill with what it means.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct DrillReport {
    /// The drill as measured.
    #[serde(flatten)]
    pub drill: DrillView,
    /// The RTO it is held to, ms.
    pub rto_target_ms: i64,
    /// Whether the measured RTO meets it (`null` until measured).
    pub rto_met: Option<bool>,
    /// The service since recovery against its latest baseline (`null` before recovery or
    /// without a baseline; `recoveryGateNote` says which).
    pub recovery_gate: Option<GateReport>,
    /// Why there is no recovery gate.
    pub recovery_gate_note: Option<String>,
}

fn save(d: &Durable, drill: &Drill, now: i64) -> Result<(), ControlError> {
    let body = serde_json::to_string(drill).map_err(|e| ControlError::Internal(e.to_string()))?;
    d.store().put_document(&Document {
        kind: DOC_KIND.into(),
        id: drill.id.clone(),
        service: drill.service.clone(),
        body,
        at_ms: now,
    })?;
    Ok(())
}

/// One stored drill.
pub fn load(d: &Durable, id: &str) -> Result<Drill, ControlError> {
    let doc = d
        .store()
        .get_document(DOC_KIND, id)?
        .ok_or_else(|| ControlError::NotFound(format!("no drill {id:?}")))?;
    serde_json::from_str(&doc)
        .map_err(|e| ControlError::Internal(format!("stored drill {id:?}: {e}")))
}

/// Every stored drill, oldest first.
pub fn all(d: &Durable) -> Result<Vec<Drill>, ControlError> {
    Ok(d.store()
        .list_documents(DOC_KIND)?
        .iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect())
}

/// Starts a drill now.
pub fn start(d: &Durable, req: DrillRequest) -> Result<(DrillView, Vec<Effect>), ControlError> {
    if !d.engine().has_service(&req.service) {
        return Err(ControlError::NotFound(format!(
            "no data for service {:?}",
            req.service
        )));
    }
    let now = d.now();
    let id = req.id.unwrap_or_else(|| {
        format!(
            "{}-{}-{}",
            req.service,
            match req.kind {
                DrillKind::Restore => "restore",
                DrillKind::Failover => "failover",
            },
            now
        )
    });
    super::baselines::valid_id(&id)?;
    if d.store().get_document(DOC_KIND, &id)?.is_some() {
        return Err(ControlError::Conflict(format!("drill {id:?} exists")));
    }
    let budget = RecoveryBudget {
        error_rate: d.config.drills.error_rate,
        p99_ms: p99_budget_ms(d, &req.service),
        stable_ms: d.config.drills.stable_for,
    };
    // Observation starts on the bucket holding the start.
    let width = finest_width(d);
    let mut drill = Drill::start(id, req.service, req.kind, now, budget);
    drill.observed_to = now.div_euclid(width) * width;
    save(d, &drill, now)?;
    Ok((
        drill.view(),
        vec![Effect::Stream(StreamEvent::Drill(drill.view()))],
    ))
}

/// Ends a drill's window (it is followed until it recovers).
pub fn stop(d: &Durable, id: &str) -> Result<(DrillView, Vec<Effect>), ControlError> {
    let mut drill = load(d, id)?;
    if drill.stopped_at.is_some() {
        return Err(ControlError::Conflict(format!(
            "drill {id:?} is already stopped"
        )));
    }
    let now = d.now();
    drill.stopped_at = Some(now);
    save(d, &drill, now)?;
    Ok((
        drill.view(),
        vec![Effect::Stream(StreamEvent::Drill(drill.view()))],
    ))
}

fn finest_width(d: &Durable) -> i64 {
    d.engine()
        .config()
        .resolutions
        .first()
        .map_or(10_000, |r| r.width)
        .max(1)
}

/// The service's requests over `[from, to)`.
fn service_stats(d: &Durable, service: &str, from: i64, to: i64) -> Result<Stats, ControlError> {
    let engine = d.engine();
    let view = engine
        .first_view_name()
        .map_err(|e| ControlError::Internal(e.to_string()))?;
    engine
        .query(&view, &[(Dim::Service, service)], from, to)
        .map_err(|e| ControlError::Internal(e.to_string()))
}

/// The drills and failover stage: follows every recovering drill up to the last complete
/// bucket, one evaluation interval at a time, and runs the failover triggers over the same
/// stretch.
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let width = finest_width(d);
    let to = now.div_euclid(width) * width;
    let mut effects = Vec::new();
    for mut drill in all(d)?
        .into_iter()
        .filter(|x| x.status == DrillStatus::Recovering)
    {
        if to <= drill.observed_to {
            continue;
        }
        // One evaluation interval at a time, however late this cycle runs (a starved
        // process, an accelerated demo): the RTO's resolution stays one interval.
        let step = (d.config.server.evaluation_interval / width).max(1) * width;
        let mut changed = false;
        while drill.observed_to < to && drill.status == DrillStatus::Recovering {
            let from = drill.observed_to;
            let end = (from + step).min(to);
            let stats = service_stats(d, &drill.service, from, end)?;
            changed |= drill.observe(from, end, &stats);
        }
        save(d, &drill, now)?;
        if changed {
            effects.push(Effect::Stream(StreamEvent::Drill(drill.view())));
        }
    }
    effects.extend(failover_triggers(d, m, to)?);
    Ok(effects)
}

fn failover_triggers(d: &Durable, m: &Memory, to: i64) -> Result<Vec<Effect>, ControlError> {
    let mut effects = Vec::new();
    for (i, rule) in d.config.drills.failover.iter().enumerate() {
        let from = m.decisions().failover.get(&i).map_or(
            to - d.config.server.evaluation_interval.max(1),
            |(_, seen)| *seen,
        );
        if to <= from {
            continue;
        }
        let stats = service_stats(d, &rule.service, from, to)?;
        let mut decisions = m.decisions();
        let (watch, seen) = decisions.failover.entry(i).or_default();
        let holds = watch.observe(rule, from, to, &stats);
        *seen = to;
        let since = watch.breach_since.unwrap_or(from);
        let reason = watch.reason.clone();
        let subject = format!("{}#{i}", rule.service);
        if !decisions.firing.set(AlertKind::Failover, &subject, holds) {
            continue;
        }
        drop(decisions);
        let since_text = perf_core::time::format_rfc3339(since);
        effects.push(Effect::Stream(StreamEvent::Failover(
            FailoverRecommendation {
                service: rule.service.clone(),
                recommendation: if holds { "failover" } else { "clear" },
                reason: reason.clone(),
                since: since_text.clone(),
            },
        )));
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::Failover,
            subject,
            labels: vec![
                ("service", rule.service.clone()),
                ("severity", "page".into()),
            ],
            summary: if holds {
                format!("{}: fail over ({reason} since {since_text})", rule.service)
            } else {
                format!("{}: the failover trigger no longer holds", rule.service)
            },
            description: format!(
                "failover trigger {i} of drills.failover: error rate ≥ {:?} or p99 ≥ {:?} ms for {}",
                rule.error_rate,
                rule.p99_ms,
                perf_core::duration::format_duration(rule.for_ms)
            ),
            firing: holds,
            since_ms: since,
            path: "/v1/drills".into(),
        }));
    }
    Ok(effects)
}

/// The report of one drill now.
pub fn report(d: &Durable, id: &str) -> Result<DrillReport, ControlError> {
    let drill = load(d, id)?;
    let target = d.config.drills.rto_target;
    let (gate, note) = match drill.recovered_at {
        None => (None, Some("not recovered yet".to_string())),
        Some(at) => match baselines::latest_of(d, &drill.service)? {
            None => (
                None,
                Some(format!(
                    "no baseline of {:?}: freeze one (ecosystem-perf baseline freeze) to judge the recovery",
                    drill.service
                )),
            ),
            Some(b) => {
                let end = (at + GATE_WINDOW_MS).min(d.now() + 1);
                let sel = Selector {
                    service: Some(drill.service.clone()),
                    operation: None,
                    version: None,
                };
                let candidate = live_samples(d, &sel, at, end)?;
                let outcome =
                    perf_core::compare::evaluate(&b.operations, &candidate, &d.config.gates, None);
                (
                    Some(GateReport {
                        deployment: format!("{} after drill {}", drill.service, drill.id),
                        service: drill.service.clone(),
                        baseline: SideInfo {
                            source: format!("baseline {}", b.id),
                            version: b.version.clone(),
                            requests: b.operations.values().map(|s| s.requests).sum(),
                        },
                        candidate: SideInfo {
                            source: format!(
                                "live traffic since the recovery at {}",
                                perf_core::time::format_rfc3339(at)
                            ),
                            version: None,
                            requests: candidate.values().map(|s| s.requests).sum(),
                        },
                        outcome,
                    }),
                    None,
                )
            }
        },
    };
    Ok(DrillReport {
        rto_target_ms: target,
        rto_met: drill.rto_ms.map(|r| r <= target),
        recovery_gate: gate,
        recovery_gate_note: note,
        drill: drill.view(),
    })
}
