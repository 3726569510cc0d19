//! The SLO stage: evaluates every SLO (and tenant instance) at `now`, keeps the statuses in
//! the decisions, and returns each alert transition as an effect (history, stream, webhook
//! outbox). Definitions are loaded by `config::slo::load_definitions`.

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::Effect;
use perf_core::slo::{AlertState, SloStatus};

/// One evaluation: statuses kept; transitions returned as effects.
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let evaluations = d.engine().slos_mut().evaluate(now);
    let mut statuses = Vec::with_capacity(evaluations.len());
    let mut effects = Vec::new();
    for e in evaluations {
        for t in e.transitions {
            effects.push(Effect::SloTransition {
                status: Box::new(e.status.clone()),
                transition: t,
            });
        }
        statuses.push(e.status);
    }
    m.decisions().slos = Some(statuses);
    Ok(effects)
}

/// `sloStatus` and open alerts of a service for the overview: the worst status of its SLOs.
pub fn service_summary(statuses: &[SloStatus], service: &str) -> (String, u32) {
    let rank = |s: &str| match s {
        "violation" => 4,
        "warning" => 3,
        "ok" => 2,
        "no_data" => 1,
        _ => 0,
    };
    let mine: Vec<&SloStatus> = statuses
        .iter()
        .filter(|s| s.service == service && s.tenant.is_none())
        .collect();
    let worst = mine
        .iter()
        .map(|s| s.status.as_ref())
        .max_by_key(|s| rank(s))
        .unwrap_or("none");
    let open = mine
        .iter()
        .flat_map(|s| &s.alerts)
        .filter(|a| a.state == AlertState::Firing)
        .count() as u32;
    (worst.to_string(), open)
}
