//! Detectors over the live views: for every series of every view, each completed minute
//! gives four points — throughput (requests per second), error rate, p95 and p99 latency —
//! and each point goes through its own [`Detector`]. Anomalous points are kept (bounded) and
//! clustered into incidents ([`super::cluster`]).
//!
//! Bounds: at most `max_detectors` detectors (≈ 3.6 KB each; 4,000 by default ≈ 15 MB); a
//! series seen after that is not monitored (its skipped points are counted in
//! `unmonitored`). A minute without any
//! request of a series is skipped for that series.

use super::cluster::{Changes, Incidents, SeriesAnomaly};
use super::detector::{Detector, DetectorConfig};
use crate::engine::Engine;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

const MINUTE: i64 = 60_000;

/// The metrics monitored per series.
pub const METRICS: [&str; 4] = ["throughput", "error_rate", "p95", "p99"];

/// Settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct MonitorConfig {
    /// Detector settings.
    pub detector: DetectorConfig,
    /// Most detectors kept.
    pub max_detectors: usize,
    /// Anomalies kept for `GET /v1/anomalies`.
    pub max_anomalies: usize,
    /// Minutes without a new anomaly that close an incident.
    pub incident_gap_minutes: i64,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            detector: DetectorConfig::default(),
            max_detectors: 4_000,
            max_anomalies: 2_000,
            incident_gap_minutes: 5,
        }
    }
}

/// Detectors, recent anomalies and incidents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Monitor {
    config: MonitorConfig,
    detectors: HashMap<String, Detector>,
    /// Next minute to evaluate (start, unix ms).
    next_minute: Option<i64>,
    anomalies: VecDeque<SeriesAnomaly>,
    /// Incidents.
    pub incidents: Incidents,
    /// Points (series-metric minutes) skipped because the detector bound was reached.
    pub unmonitored: u64,
    /// Values seen per (service, dimension), for the cause analysis.
    values: HashMap<(String, String), std::collections::BTreeSet<String>>,
}

impl Monitor {
    /// An empty monitor.
    pub fn new(config: MonitorConfig) -> Self {
        Monitor {
            config,
            detectors: HashMap::new(),
            next_minute: None,
            anomalies: VecDeque::new(),
            incidents: Incidents::new(config.incident_gap_minutes * MINUTE),
            unmonitored: 0,
            values: HashMap::new(),
        }
    }

    /// Detectors in use.
    pub fn detector_count(&self) -> usize {
        self.detectors.len()
    }

    /// Recent anomalies, oldest first.
    pub fn anomalies(&self) -> impl Iterator<Item = &SeriesAnomaly> {
        self.anomalies.iter()
    }

    /// Feeds every minute completed before `now` (with a minute of slack for late events);
    /// returns the new anomalies and the incidents that opened or closed.
    pub fn advance(&mut self, engine: &Engine, now: i64) -> (Vec<SeriesAnomaly>, Changes) {
        let last_complete = (now - MINUTE).div_euclid(MINUTE) * MINUTE - MINUTE;
        let mut minute = match self.next_minute {
            Some(m) => m,
            None => last_complete,
        };
        // After a long pause only the last hour is replayed.
        minute = minute.max(last_complete - 60 * MINUTE);
        let mut found = Vec::new();
        while minute <= last_complete {
            found.extend(self.evaluate_minute(engine, minute));
            minute += MINUTE;
        }
        self.next_minute = Some(minute);
        for a in &found {
            self.anomalies.push_back(a.clone());
            while self.anomalies.len() > self.config.max_anomalies {
                self.anomalies.pop_front();
            }
        }
        let values = &self.values;
        let siblings = |service: &str, dim: &str, _value: &str| {
            values
                .get(&(service.to_string(), dim.to_string()))
                .map_or(0, |v| v.len())
        };
        let changes = self.incidents.add(&found, now, &siblings);
        (found, changes)
    }

    fn evaluate_minute(&mut self, engine: &Engine, minute: i64) -> Vec<SeriesAnomaly> {
        let mut found = Vec::new();
        for view in engine.views() {
            let name = view.def.name.clone();
            let dims: Vec<&'static str> = view.def.dims.iter().map(|d| d.as_str()).collect();
            let Ok(groups) = engine.group(&name, &[], minute, minute + MINUTE) else {
                continue;
            };
            for (key, stats) in groups {
                for (d, v) in dims.iter().zip(&key).skip(1) {
                    let set = self
                        .values
                        .entry((key[0].clone(), d.to_string()))
                        .or_default();
                    if set.len() < 1_000 {
                        set.insert(v.clone());
                    }
                }
                let values = [
                    Some(stats.requests as f64 / 60.0),
                    stats.error_rate(),
                    stats.latency.quantile(0.95),
                    stats.latency.quantile(0.99),
                ];
                for (metric, value) in METRICS.iter().zip(values) {
                    let Some(value) = value else { continue };
                    let id = format!("{name}|{}|{metric}", key.join("|"));
                    if !self.detectors.contains_key(&id) {
                        if self.detectors.len() >= self.config.max_detectors {
                            self.unmonitored += 1;
                            continue;
                        }
                        self.detectors
                            .insert(id.clone(), Detector::new(self.config.detector));
                    }
                    let Some(detector) = self.detectors.get_mut(&id) else {
                        continue;
                    };
                    let s = detector.update(minute, value);
                    if s.is_anomaly {
                        found.push(SeriesAnomaly {
                            view: name.clone(),
                            key: dims
                                .iter()
                                .zip(&key)
                                .map(|(d, v)| (d.to_string(), v.clone()))
                                .collect(),
                            metric: metric.to_string(),
                            at: minute,
                            value,
                            expected: s.expected,
                            score: s.score,
                        });
                    }
                }
            }
        }
        found
    }
}
