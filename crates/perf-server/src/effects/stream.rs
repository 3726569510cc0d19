//! What `/v1/stream` carries: [`StreamEvent`], one variant per kind, serialised as the
//! envelope `{"type", "ts", "data"}`, and the [`Bus`] it is published on. Publishing never
//! waits: without subscribers it costs nothing, and slow subscribers are dropped by the
//! WebSocket side (`http::stream`).

use perf_core::anomaly::cluster::SeriesAnomaly;
use perf_core::compare::rollout::RolloutEvaluation;
use perf_core::policy::{ConcurrencyLimit, LadderSignals};
use perf_core::report::Overview;
use perf_core::risk::EntityRisk;
use perf_core::routing::balancer::WeightChange;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast;

/// One message of the stream.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The overview of the last minute, once a second while someone listens.
    Overview(Overview),
    /// An alert changed state (the entry of the alert history).
    Alert(serde_json::Value),
    /// An anomaly on one series.
    Anomaly(SeriesAnomaly),
    /// A service moved on the degradation ladder.
    Degradation(DegradationChange),
    /// A node's routing weight moved by at least `routing.publishDelta`.
    RoutingWeight(WeightChange),
    /// A caller rose to high or critical risk.
    Risk(EntityRisk),
    /// A rollout started or was evaluated.
    Rollout(RolloutEvent),
    /// A failover trigger began or stopped holding: the recommendation.
    Failover(FailoverRecommendation),
    /// A drill started, recovered, or was stopped.
    Drill(perf_core::drill::DrillView),
    /// A cache space's advice changed in kind (not only in its figures).
    CacheAdvice(CacheAdviceChange),
}

/// A cache space's advice, when it changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheAdviceChange {
    /// Service.
    pub service: String,
    /// Space.
    pub space: String,
    /// Hit rate over the last 24 hours.
    pub hit_rate: Option<f64>,
    /// The advice now (empty: nothing to change).
    pub recommendations: Vec<String>,
}

/// A failover recommendation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverRecommendation {
    /// Service.
    pub service: String,
    /// `failover` while the trigger holds, `clear` once it stopped.
    pub recommendation: &'static str,
    /// Why.
    pub reason: String,
    /// Since when the breach has lasted (RFC 3339).
    pub since: String,
}

/// A rollout event: its start, or an evaluation.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RolloutEvent {
    /// A rollout started.
    Started {
        /// Rollout id.
        id: String,
        /// Always `start`.
        decision: &'static str,
        /// Canary weight, percent.
        weight: u32,
    },
    /// A step of a running rollout.
    Evaluated(RolloutEvaluation),
}

/// A move on the degradation ladder.
#[derive(Debug, Clone, Serialize)]
pub struct DegradationChange {
    /// Service.
    pub service: String,
    /// Level before.
    pub from: u8,
    /// Level now.
    pub to: u8,
    /// Why.
    pub reason: String,
    /// The level entered, as `GET /v1/degradation` shows it.
    pub level: LevelEntry,
}

/// One service's level on the degradation ladder (an entry of `GET /v1/degradation`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct LevelEntry {
    /// Service.
    pub service: String,
    /// 0–4.
    pub level: u8,
    /// `normal`, `shed_batch`, `cache_fallback`, `defer_writes`, `essential_only`.
    pub name: &'static str,
    /// When the level was entered.
    pub since: String,
    /// Why.
    pub reason: String,
    /// The last signals.
    pub signals: LadderSignals,
    /// The runbook line of the level (none at L0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<String>,
    /// The adaptive concurrency limit and the in-flight work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<ConcurrencyLimit>,
    /// The last level changes, oldest first (`GET /v1/degradation` only; empty on the
    /// stream, whose messages are the changes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<perf_core::policy::PastTransition>,
}

/// The broadcast bus of the stream: serialised envelopes, shared by every subscriber.
#[derive(Debug, Clone)]
pub struct Bus(
    broadcast::Sender<Arc<str>>,
    /// Mean size of a published message, bytes (a running mean, for memory accounting).
    Arc<std::sync::atomic::AtomicU64>,
);

impl Bus {
    /// A bus keeping up to `capacity` messages for the slowest subscriber.
    pub fn new(capacity: usize) -> Bus {
        Bus(broadcast::channel(capacity).0, Default::default())
    }

    /// Heap bytes of the messages the bus still holds for its slowest subscriber (their
    /// number times the running mean size of a message).
    pub fn heap_bytes(&self) -> usize {
        let mean = self.1.load(std::sync::atomic::Ordering::Relaxed) as usize;
        self.0.len() * (mean + 16)
    }

    /// Whether anyone listens (publishers skip building messages nobody reads).
    pub fn has_subscribers(&self) -> bool {
        self.0.receiver_count() > 0
    }

    /// A new subscriber.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.0.subscribe()
    }

    /// Publishes one event at engine time `ts` (a no-op without subscribers).
    pub fn publish(&self, ts: i64, event: &StreamEvent) {
        if !self.has_subscribers() {
            return;
        }
        let message: Arc<str> = envelope(ts, event).into();
        let len = message.len() as u64;
        let mean = self.1.load(std::sync::atomic::Ordering::Relaxed);
        self.1.store(
            if mean == 0 {
                len
            } else {
                mean - mean / 16 + len / 16
            },
            std::sync::atomic::Ordering::Relaxed,
        );
        let _ = self.0.send(message);
    }
}

/// The envelope `{"type", "ts", "data"}` of one event.
pub fn envelope(ts: i64, event: &StreamEvent) -> String {
    let mut v = serde_json::to_value(event).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("ts".into(), perf_core::time::format_rfc3339(ts).into());
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_names_type_ts_and_data() {
        let e = envelope(0, &StreamEvent::Alert(serde_json::json!({"slo": "x"})));
        let v: serde_json::Value = serde_json::from_str(&e).unwrap();
        assert_eq!(v["type"], "alert");
        assert_eq!(v["ts"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["data"]["slo"], "x");
        let r = StreamEvent::Rollout(RolloutEvent::Started {
            id: "r1".into(),
            decision: "start",
            weight: 5,
        });
        let v: serde_json::Value = serde_json::from_str(&envelope(0, &r)).unwrap();
        assert_eq!(v["type"], "rollout");
        assert_eq!(v["data"]["id"], "r1");
        assert_eq!(v.as_object().unwrap().len(), 3);
    }
}
