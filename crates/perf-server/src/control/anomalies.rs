//! The anomaly stage: feeds every completed minute of every view to the detectors of
//! `perf_core::anomaly::online`, publishes new anomalies on the stream (`anomaly`), and
//! raises an alert when an incident opens (resolved when it closes). Detectors live in the
//! decisions, in memory: after a restart they learn again (30 minutes of warm-up).

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::{AlertKind, Effect, Notice, StreamEvent};

/// One cycle: new minutes through the detectors, incidents opened and closed as alerts.
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let (found, opened, closed) = {
        let engine = d.engine();
        let mut decisions = m.decisions();
        let monitor = &mut decisions.anomalies;
        let (found, changes) = monitor.advance(&engine, now);
        let by_id = |ids: &[u64]| -> Vec<perf_core::anomaly::cluster::Incident> {
            ids.iter()
                .filter_map(|id| monitor.incidents.get(*id).cloned())
                .collect()
        };
        let (opened, closed) = (by_id(&changes.opened), by_id(&changes.closed));
        (found, opened, closed)
    };
    let mut effects: Vec<Effect> = found
        .into_iter()
        .map(|a| Effect::Stream(StreamEvent::Anomaly(a)))
        .collect();
    for (inc, firing) in opened
        .iter()
        .map(|i| (i, true))
        .chain(closed.iter().map(|i| (i, false)))
    {
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::Anomaly,
            subject: format!("incident-{}", inc.id),
            labels: vec![
                ("incident", inc.id.to_string()),
                (
                    "services",
                    inc.services.iter().cloned().collect::<Vec<_>>().join(","),
                ),
                ("severity", "ticket".into()),
            ],
            summary: format!(
                "{} anomalous series ({}): {}",
                inc.series,
                inc.metrics.iter().cloned().collect::<Vec<_>>().join(", "),
                inc.probable_cause
            ),
            description: format!(
                "{} anomalies since {}",
                inc.anomalies,
                perf_core::time::format_rfc3339(inc.start)
            ),
            firing,
            since_ms: inc.start,
            path: "/v1/anomalies".into(),
        }));
    }
    Ok(effects)
}
