//! The effects layer: what decisions do to the world. Control stages return [`Effect`]s
//! instead of acting; [`Effects::apply`] turns each into its entry in the alert history (the
//! store), its message on the stream, and its notification in every webhook receiver's
//! outbox — in that order, so nothing is notified that the history does not hold.
//!
//! In a cluster where every replica applies every partition only the leader
//! ([`Durable::is_leader`]) writes the history and the outbox; with partitions owned by
//! leases each replica writes them for its own services ([`Durable::writes_notifications`]).
//! Every replica still publishes on its own stream, so its subscribers see the alerts. A new
//! owner does not know what its predecessor announced: with leases an alert whose last
//! history record already has the state and labels being raised is not written or sent
//! again.
//!
//! Imports the durable layer only.

pub mod alerts;
pub mod stream;
pub mod webhooks;

pub use alerts::{AlertKind, Firing, Notice};
pub use stream::{Bus, StreamEvent};

use crate::durable::Durable;
use perf_core::slo::{AlertState, SloStatus, Transition};
use perf_store::{AlertRecord, StoreError};
use std::collections::BTreeMap;

/// One thing a decision does.
#[derive(Debug, Clone)]
pub enum Effect {
    /// A message on the stream only.
    Stream(StreamEvent),
    /// An alert that is not an SLO burn fired or resolved.
    Alert(Notice),
    /// An SLO burn-rate alert changed state.
    SloTransition {
        /// The SLO (or tenant instance) after the evaluation.
        status: Box<SloStatus>,
        /// The change.
        transition: Transition,
    },
}

/// The outlets of effects besides the store: the stream's bus.
pub struct Effects {
    /// The stream of `/v1/stream`.
    pub bus: Bus,
    /// What receivers were last told of each SLO instance's incident (`webhooks::Incident`):
    /// so that the tiers changing in one evaluation send one notification. Not kept across
    /// restarts: after one, the next change is sent whatever was sent before (receivers
    /// deduplicate by the fingerprint).
    incidents: std::sync::Mutex<std::collections::HashMap<String, webhooks::Incident>>,
}

impl Default for Effects {
    fn default() -> Self {
        Effects {
            bus: Bus::new(1024),
            incidents: Default::default(),
        }
    }
}

impl Effects {
    /// Applies effects in order at engine time `now`; stops at the first store failure
    /// (what was applied before it stays applied).
    pub fn apply(
        &self,
        durable: &Durable,
        effects: Vec<Effect>,
        now: i64,
    ) -> Result<(), StoreError> {
        self.apply_or_return(durable, effects, now)
            .map_err(|(e, _)| e)
    }

    /// [`Effects::apply`] that, on a store failure, also hands back the effects not applied
    /// (the failing one first), so the caller can undo the memory that announced them.
    pub fn apply_or_return(
        &self,
        durable: &Durable,
        effects: Vec<Effect>,
        now: i64,
    ) -> Result<(), (StoreError, Vec<Effect>)> {
        let mut rest = effects.into_iter();
        while let Some(e) = rest.next() {
            let done = match &e {
                Effect::Stream(event) => {
                    self.bus.publish(now, event);
                    Ok(())
                }
                Effect::Alert(n) => self.raise(durable, n, now),
                Effect::SloTransition { status, transition } => {
                    self.slo_transition(durable, status, transition, now)
                }
            };
            if let Err(err) = done {
                let mut unapplied = vec![e];
                unapplied.extend(rest);
                return Err((err, unapplied));
            }
        }
        Ok(())
    }

    fn raise(&self, durable: &Durable, n: &Notice, now: i64) -> Result<(), StoreError> {
        let labels: BTreeMap<String, String> = n
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let payload = serde_json::json!({"alertname": n.kind.alertname(), "labels": labels, "summary": n.summary, "description": n.description});
        if !durable.writes_notifications() {
            self.bus.publish(now, &StreamEvent::Alert(payload));
            return Ok(());
        }
        let state = if n.firing { "firing" } else { "resolved" };
        // A partition's new owner starts without the memory of what its predecessor had
        // announced: an alert the history already holds in this state with these labels
        // (the same alert, as Alertmanager identifies one) is not sent again.
        let announced = |r: AlertRecord| {
            let last: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
            r.state == state && last["labels"] == payload["labels"]
        };
        if durable.partitioned()
            && durable
                .store()
                .last_alert(n.kind.history_kind(), &n.subject)?
                .is_some_and(announced)
        {
            self.bus.publish(now, &StreamEvent::Alert(payload));
            return Ok(());
        }
        durable.store().append_alert(&AlertRecord {
            at_ms: now,
            kind: n.kind.history_kind().into(),
            subject: n.subject.clone(),
            state: state.into(),
            payload: payload.to_string(),
        })?;
        self.bus.publish(now, &StreamEvent::Alert(payload));
        webhooks::enqueue_notice(durable, n, now)
    }

    fn slo_transition(
        &self,
        durable: &Durable,
        status: &SloStatus,
        t: &Transition,
        now: i64,
    ) -> Result<(), StoreError> {
        let payload = serde_json::json!({"slo": status.name, "service": status.service, "tenant": status.tenant, "from": t.from, "alert": t.alert});
        let state_name = serde_json::to_value(t.alert.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        if !durable.writes_notifications() {
            self.bus.publish(now, &StreamEvent::Alert(payload));
            return Ok(());
        }
        durable.store().append_alert(&AlertRecord {
            at_ms: now,
            kind: AlertKind::Slo.history_kind().into(),
            subject: match &status.tenant {
                Some(tenant) => format!("{}/{tenant}", status.name),
                None => status.name.clone(),
            },
            state: state_name,
            payload: payload.to_string(),
        })?;
        self.bus.publish(now, &StreamEvent::Alert(payload));
        if t.alert.state == AlertState::Pending {
            return Ok(());
        }
        let (incident, describing) = webhooks::incident_now(status, t);
        let key = format!(
            "{}\u{0}{}",
            status.name,
            status.tenant.as_deref().unwrap_or("")
        );
        let told = self
            .incidents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, incident);
        if told != Some(incident) {
            webhooks::enqueue_slo(
                durable,
                status,
                &describing,
                incident != webhooks::Incident::Resolved,
                now,
            )?;
        }
        Ok(())
    }
}
