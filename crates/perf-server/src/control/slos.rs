//! The SLO stage: evaluates every SLO (and tenant instance) at `now`, keeps the statuses in
//! the decisions, and returns each alert transition as an effect (history, stream, webhook
//! outbox). Definitions are loaded by `config::slo::load_definitions`.
//!
//! It also watches the end of every maintenance window (a budget correction): for
//! [`OVERRUN_WATCH_MS`] after it, an SLO still burning at least its fastest tier's rate over
//! the last 5 minutes, on at least its `minEvents`, raises an "overrun" alert (the work ran
//! late, or broke something), resolved when the burn falls back or the watch ends.

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::{AlertKind, Effect, Notice};
use perf_core::slo::{AlertState, Exclusion, SloEntry, SloStatus};

/// How long after a maintenance window's end errors count as its overrun.
pub const OVERRUN_WATCH_MS: i64 = 3_600_000;

/// One evaluation: statuses kept; transitions returned as effects.
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let (evaluations, windows) = {
        let mut engine = d.engine();
        let evaluations = engine.slos_mut().evaluate(now);
        let windows: Vec<Overrun> = engine
            .slos()
            .entries()
            .iter()
            .flat_map(maintenance_ends)
            .collect();
        (evaluations, windows)
    };
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
    effects.extend(overruns(m, &windows, &statuses, now));
    m.decisions().slos = Some(statuses);
    Ok(effects)
}

/// A maintenance window of an SLO, and the burn rate the SLO's fastest tier needs.
struct Overrun {
    slo: String,
    service: String,
    id: String,
    end_ms: i64,
    factor: f64,
    min_events: u64,
}

fn maintenance_ends(e: &SloEntry) -> Vec<Overrun> {
    let period = e.def.period_ms();
    let factor = e
        .def
        .tiers
        .iter()
        .map(|t| t.factor(period))
        .fold(f64::NAN, f64::max);
    e.corrections
        .iter()
        .filter_map(|c| match c.exclusion {
            Exclusion::Maintenance { to_ms, .. } if factor.is_finite() => Some(Overrun {
                slo: e.def.name.clone(),
                service: e.def.selector.service.clone(),
                id: c.id.clone(),
                end_ms: to_ms,
                factor,
                min_events: e.def.min_events,
            }),
            _ => None,
        })
        .collect()
}

/// Raises and resolves overrun alerts: an SLO burning at its fastest tier's rate over the
/// last 5 minutes, within [`OVERRUN_WATCH_MS`] after one of its maintenance windows ended.
fn overruns(m: &Memory, windows: &[Overrun], statuses: &[SloStatus], now: i64) -> Vec<Effect> {
    let mut effects = Vec::new();
    for w in windows {
        let Some(s) = statuses
            .iter()
            .find(|s| s.name == w.slo && s.tenant.is_none())
        else {
            continue;
        };
        let burn = s.burn_rates.get("5m").copied().unwrap_or(0.0);
        let events = s.burn_rate_events.get("5m").copied().unwrap_or(0);
        let watching = (w.end_ms..w.end_ms + OVERRUN_WATCH_MS).contains(&now);
        let over = watching && burn >= w.factor && events >= w.min_events;
        let subject = format!("{}/{}", w.slo, w.id);
        if !m
            .decisions()
            .firing
            .set(AlertKind::SloOverrun, &subject, over)
        {
            continue;
        }
        let end = perf_core::time::format_rfc3339(w.end_ms);
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::SloOverrun,
            subject,
            labels: vec![
                ("service", w.service.clone()),
                ("slo", w.slo.clone()),
                ("correction", w.id.clone()),
                ("severity", "page".into()),
            ],
            summary: if over {
                format!(
                    "{}: errors continue after maintenance {:?} ended at {end}: burn rate {burn:.1}× over the last 5 min (the fastest tier fires at {:.1}×)",
                    w.slo, w.id, w.factor
                )
            } else {
                format!("{}: the burn after maintenance {:?} is back under {:.1}×", w.slo, w.id, w.factor)
            },
            description: format!(
                "The maintenance window {:?} of SLO {} ended at {end}; its events stop being excluded there, and {events} events of the last 5 minutes burned the budget at {burn:.1}×.",
                w.id, w.slo
            ),
            firing: over,
            since_ms: now,
            path: format!("/v1/slos/{}", w.slo),
        }));
    }
    // An overrun whose correction (or SLO) is gone is closed, not left firing.
    let gone: Vec<String> = m
        .decisions()
        .firing
        .of(AlertKind::SloOverrun)
        .filter(|s| !windows.iter().any(|w| *s == format!("{}/{}", w.slo, w.id)))
        .map(String::from)
        .collect();
    for subject in gone {
        m.decisions()
            .firing
            .set(AlertKind::SloOverrun, &subject, false);
        let (slo, id) = subject.split_once('/').unwrap_or((subject.as_str(), ""));
        let service = statuses
            .iter()
            .find(|s| s.name == slo)
            .map(|s| s.service.clone())
            .unwrap_or_default();
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::SloOverrun,
            subject: subject.clone(),
            labels: vec![
                ("service", service),
                ("slo", slo.to_string()),
                ("correction", id.to_string()),
                ("severity", "page".into()),
            ],
            summary: format!(
                "{slo}: maintenance {id:?} was withdrawn; its overrun alert is closed"
            ),
            description: format!("The correction {id:?} of SLO {slo} no longer exists."),
            firing: false,
            since_ms: now,
            path: format!("/v1/slos/{slo}"),
        }));
    }
    effects
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
