//! Canary rollouts (`/v1/rollouts`). Rollouts and their history live in the store; an
//! evaluation reads both versions' requests since the rollout started from the engine, runs
//! the state machine of `perf_core::compare::rollout`, stores the result, and returns its
//! publication on the stream (`rollout`) and, on a rollback, an alert as effects. The
//! deployment cycle evaluates running rollouts every `server.deploymentInterval`, so a canary that regresses is rolled back even when no
//! controller asks.

use super::decisions::Memory;
use super::deploy::live_samples;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::stream::RolloutEvent;
use crate::effects::{AlertKind, Effect, Notice, StreamEvent};
use perf_core::compare::baseline::Selector;
use perf_core::compare::rollout::{
    Decision, Rollout, RolloutEvaluation, RolloutSpec, RolloutState,
};
use perf_store::Document;

/// Store kind of rollouts.
pub const DOC_KIND: &str = "rollout";

/// One stored rollout.
pub fn load(d: &Durable, id: &str) -> Result<Rollout, ControlError> {
    let doc = d
        .store()
        .get_document(DOC_KIND, id)?
        .ok_or_else(|| ControlError::NotFound(format!("no rollout {id:?}")))?;
    serde_json::from_str(&doc)
        .map_err(|e| ControlError::Internal(format!("stored rollout {id:?}: {e}")))
}

fn save(d: &Durable, r: &Rollout, now: i64) -> Result<(), ControlError> {
    let body = serde_json::to_string(r).map_err(|e| ControlError::Internal(e.to_string()))?;
    d.store().put_document(&Document {
        kind: DOC_KIND.into(),
        id: r.id.clone(),
        service: r.spec.service.clone(),
        body,
        at_ms: now,
    })?;
    Ok(())
}

/// Every stored rollout.
pub fn all(d: &Durable) -> Result<Vec<Rollout>, ControlError> {
    let docs = d.store().list_documents(DOC_KIND)?;
    Ok(docs
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect())
}

/// Evaluates one rollout now and stores the result (blocking work).
pub fn evaluate_one(
    d: &Durable,
    m: &Memory,
    id: &str,
    now: i64,
) -> Result<(RolloutEvaluation, Vec<Effect>), ControlError> {
    let _one_at_a_time = m.rollout_lock();
    let mut r = load(d, id)?;
    let side = |version: &str| Selector {
        service: Some(r.spec.service.clone()),
        operation: None,
        version: Some(version.to_string()),
    };
    let (from, to) = (r.started_at, now + 1);
    let baseline = live_samples(d, &side(&r.spec.baseline_version), from, to)?;
    let canary = live_samples(d, &side(&r.spec.canary_version), from, to)?;
    let defs: Vec<perf_core::slo::SloDef> = d
        .engine()
        .slos()
        .entries()
        .iter()
        .filter(|e| e.def.selector.service == r.spec.service)
        .map(|e| e.def.clone())
        .collect();
    let refs: Vec<&perf_core::slo::SloDef> = defs.iter().collect();
    let was = r.state;
    let eval = r.evaluate(&baseline, &canary, &refs, &d.config.gates, now);
    let mut effects = Vec::new();
    if was == RolloutState::Running {
        save(d, &r, now)?;
        effects.push(Effect::Stream(StreamEvent::Rollout(
            RolloutEvent::Evaluated(eval.clone()),
        )));
        if eval.decision == Decision::Rollback {
            effects.push(Effect::Alert(Notice {
                kind: AlertKind::Rollout,
                subject: r.id.clone(),
                labels: vec![
                    ("service", r.spec.service.clone()),
                    ("rollout", r.id.clone()),
                    ("canary_version", r.spec.canary_version.clone()),
                    ("severity", "page".into()),
                ],
                summary: format!(
                    "{} canary {} rolled back",
                    r.spec.service, r.spec.canary_version
                ),
                description: eval.reasons.join("; "),
                firing: true,
                since_ms: now,
                path: format!("/v1/rollouts/{}", r.id),
            }));
        }
    }
    Ok((eval, effects))
}

/// Evaluates every running rollout (the background cycle); with partitions owned by
/// leases, those of the services this replica owns (each owner steps its own).
pub fn evaluate_running(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let running: Vec<String> = all(d)?
        .into_iter()
        .filter(|r| r.state == RolloutState::Running && d.owns_service(&r.spec.service))
        .map(|r| r.id)
        .collect();
    let mut effects = Vec::new();
    for id in running {
        match evaluate_one(d, m, &id, now) {
            Ok((_, e)) => effects.extend(e),
            Err(e) => tracing::warn!(rollout = %id, error = %e, "rollout evaluation failed"),
        }
    }
    Ok(effects)
}

/// Starts and stores a rollout (blocking work); a taken id is a conflict.
pub fn start(
    d: &Durable,
    m: &Memory,
    id: String,
    spec: RolloutSpec,
    now: i64,
) -> Result<(Rollout, Vec<Effect>), ControlError> {
    let rollout =
        Rollout::start(id, spec, now).map_err(|e| ControlError::Invalid(e.to_string()))?;
    let _one_at_a_time = m.rollout_lock();
    let taken = d.store().get_document(DOC_KIND, &rollout.id)?.is_some();
    if taken {
        return Err(ControlError::Conflict(format!(
            "a rollout {:?} exists",
            rollout.id
        )));
    }
    save(d, &rollout, now)?;
    let started = Effect::Stream(StreamEvent::Rollout(RolloutEvent::Started {
        id: rollout.id.clone(),
        decision: "start",
        weight: rollout.weight,
    }));
    Ok((rollout, vec![started]))
}
