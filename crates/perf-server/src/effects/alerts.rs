//! Alerts as one vocabulary: [`AlertKind`] names every kind of alert the server raises, with
//! its `alertname` label and its history kind in one place; [`Notice`] is one firing or
//! resolved notification; [`Firing`] is the one set of alerts firing now, so that a
//! condition that holds cycle after cycle raises one notification, not one per cycle.

use serde::Serialize;
use std::collections::BTreeSet;

/// Every kind of alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An SLO's error budget burns too fast (multi-window burn rate).
    Slo,
    /// A service's current window blocks against its latest baseline.
    Regression,
    /// A canary was rolled back.
    Rollout,
    /// A service's headroom fell under the budget.
    Capacity,
    /// An anomaly incident is open.
    Anomaly,
    /// A service is above L0 on the degradation ladder.
    Degradation,
    /// A caller's risk is high or critical.
    Risk,
    /// A failover trigger holds: fail the service over.
    Failover,
    /// Errors continued past the end of an SLO's maintenance window.
    SloOverrun,
}

impl AlertKind {
    /// Whether the alert is raised when [`Firing::set`] reports a change of a condition
    /// checked every cycle (so undoing that change makes the next cycle raise it again).
    pub fn announced_by_firing(self) -> bool {
        matches!(
            self,
            AlertKind::Regression
                | AlertKind::Capacity
                | AlertKind::Risk
                | AlertKind::Failover
                | AlertKind::SloOverrun
        )
    }

    /// The `alertname` label receivers see.
    pub fn alertname(self) -> &'static str {
        match self {
            AlertKind::Slo => "EcosystemPerfSloBurnRate",
            AlertKind::Regression => "EcosystemPerfRegression",
            AlertKind::Rollout => "EcosystemPerfCanaryRollback",
            AlertKind::Capacity => "EcosystemPerfCapacityHeadroom",
            AlertKind::Anomaly => "EcosystemPerfAnomalyIncident",
            AlertKind::Degradation => "EcosystemPerfDegradation",
            AlertKind::Risk => "EcosystemPerfCallerRisk",
            AlertKind::Failover => "EcosystemPerfFailover",
            AlertKind::SloOverrun => "EcosystemPerfSloMaintenanceOverrun",
        }
    }

    /// The `kind` of its entries in the alert history.
    pub fn history_kind(self) -> &'static str {
        match self {
            AlertKind::Slo => "slo",
            AlertKind::Regression => "regression",
            AlertKind::Rollout => "rollout",
            AlertKind::Capacity => "capacity",
            AlertKind::Anomaly => "anomaly",
            AlertKind::Degradation => "degradation",
            AlertKind::Risk => "risk",
            AlertKind::Failover => "failover",
            AlertKind::SloOverrun => "slo_overrun",
        }
    }
}

/// One firing or resolved notification of an alert that is not an SLO burn (those carry
/// their SLO status, see [`super::Effect::SloTransition`]).
#[derive(Debug, Clone)]
pub struct Notice {
    /// What kind of alert.
    pub kind: AlertKind,
    /// What it is about (service, incident, rollout, caller): the history's subject.
    pub subject: String,
    /// Further labels (service, operation, severity…).
    pub labels: Vec<(&'static str, String)>,
    /// One line.
    pub summary: String,
    /// Detail.
    pub description: String,
    /// Firing (true) or resolved.
    pub firing: bool,
    /// When it started.
    pub since_ms: i64,
    /// API path that shows it, e.g. `/v1/regressions`.
    pub path: String,
}

impl Notice {
    /// The labels as a map.
    pub fn labels_map(&self) -> std::collections::BTreeMap<&str, String> {
        self.labels.iter().map(|(k, v)| (*k, v.clone())).collect()
    }
}

/// The alerts firing now, by kind and subject.
#[derive(Debug, Default, Clone)]
pub struct Firing(BTreeSet<(AlertKind, String)>);

impl Firing {
    /// Heap bytes of the set of firing alerts.
    pub fn heap_bytes(&self) -> usize {
        perf_core::memory::btree_set(&self.0) + self.0.iter().map(|(_, s)| s.len()).sum::<usize>()
    }

    /// Records the state of `(kind, subject)`; true when it changed (a notification is due).
    pub fn set(&mut self, kind: AlertKind, subject: &str, firing: bool) -> bool {
        let key = (kind, subject.to_string());
        if firing {
            self.0.insert(key)
        } else {
            self.0.remove(&key)
        }
    }

    /// Whether `(kind, subject)` is firing.
    pub fn is_firing(&self, kind: AlertKind, subject: &str) -> bool {
        self.0.contains(&(kind, subject.to_string()))
    }

    /// The subjects of one kind that are firing, in order.
    pub fn of(&self, kind: AlertKind) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, s)| s.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_change_is_reported_once() {
        let mut f = Firing::default();
        assert!(f.set(AlertKind::Regression, "api", true));
        assert!(!f.set(AlertKind::Regression, "api", true));
        assert!(f.is_firing(AlertKind::Regression, "api"));
        assert!(!f.is_firing(AlertKind::Capacity, "api"));
        assert_eq!(f.of(AlertKind::Regression).collect::<Vec<_>>(), ["api"]);
        assert!(f.set(AlertKind::Regression, "api", false));
        assert!(!f.set(AlertKind::Regression, "api", false));
    }

    #[test]
    fn alertnames_are_distinct() {
        let all = [
            AlertKind::Slo,
            AlertKind::Regression,
            AlertKind::Rollout,
            AlertKind::Capacity,
            AlertKind::Anomaly,
            AlertKind::Degradation,
            AlertKind::Risk,
            AlertKind::Failover,
            AlertKind::SloOverrun,
        ];
        let names: BTreeSet<_> = all.iter().map(|k| k.alertname()).collect();
        let kinds: BTreeSet<_> = all.iter().map(|k| k.history_kind()).collect();
        assert_eq!((names.len(), kinds.len()), (all.len(), all.len()));
    }
}
