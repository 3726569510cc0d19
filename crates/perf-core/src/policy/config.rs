//! The `policy` section of the configuration: the degradation ladder's thresholds, dwell time
//! and runbook lines, and the adaptive concurrency limit's bounds.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// What enters one level: any signal at or past its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LevelThresholds {
    /// Fastest SLO burn rate of the service over 5 minutes.
    pub burn_rate: f64,
    /// Share of the last minute's requests over their class's p99 budget, in units of the
    /// 1 % a p99 allows (1 = p99 exactly at its budget).
    pub slow_ratio: f64,
    /// Load: in-flight work over the concurrency limit, or utilisation of capacity.
    pub utilization: f64,
    /// What an operator does at this level.
    pub runbook: String,
}

/// The ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct LadderConfig {
    /// Least time at a level before stepping down, and calm time needed for it.
    #[serde(with = "crate::duration::serde_label")]
    pub dwell: i64,
    /// A level is left once every signal is under this share of its thresholds.
    pub recover_factor: f64,
    /// How long the signals must ask for a higher level before the ladder climbs (to the
    /// highest level they ask for then): a step onset is taken in one move, not level by
    /// level as the signals' windows fill. 0 climbs at the first evaluation.
    #[serde(with = "crate::duration::serde_label")]
    pub confirm: i64,
    /// The dwell doubles with every episode (a climb from L0) begun within this time before (up to
    /// `maxDwellFactor` times): a ladder that keeps coming back waits longer to step down.
    #[serde(with = "crate::duration::serde_label")]
    pub flap_window: i64,
    /// Largest multiple of `dwell` flapping raises it to.
    pub max_dwell_factor: f64,
    /// Lowest level that is an alert (webhooks, alert history); lower levels go on the
    /// stream only. A level left and re-entered within the dwell updates its alert instead
    /// of resolving and firing it again.
    pub alert_from: u8,
    /// Requests a window needs before its slow ratio or burn rate counts as a signal (fewer
    /// are no evidence either way: one slow request on a quiet service is not an outage).
    pub min_requests: u64,
    /// L1 (shed batch), L2 (cache fallback), L3 (defer non-critical writes), L4 (essential
    /// only).
    pub levels: Vec<LevelThresholds>,
}

impl Default for LadderConfig {
    fn default() -> Self {
        let level = |burn_rate, slow_ratio, utilization, runbook: &str| LevelThresholds {
            burn_rate,
            slow_ratio,
            utilization,
            runbook: runbook.to_string(),
        };
        LadderConfig {
            dwell: 15_000,
            recover_factor: 0.8,
            confirm: 20_000,
            flap_window: 3_600_000,
            max_dwell_factor: 16.0,
            alert_from: 2,
            min_requests: 20,
            levels: vec![
                level(6.0, 1.0, 0.8, "Batch traffic is shed. Check the heaviest callers (ecosystem-perf callers SERVICE) and recent deployments."),
                level(14.4, 2.0, 0.9, "Cacheable reads are served from cache. Page the owning team; consider scaling out (ecosystem-perf capacity plan SERVICE)."),
                level(36.0, 5.0, 0.95, "Non-critical writes are deferred to queues. Roll back the latest change if one coincides; isolate noisy tenants."),
                level(100.0, 10.0, 1.2, "Essential traffic only. Incident command: declare an incident and follow the service's disaster runbook."),
            ],
        }
    }
}

/// The whole `policy` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct PolicyConfig {
    /// The degradation ladder.
    pub ladder: LadderConfig,
    /// Lowest concurrency limit.
    pub min_concurrency: f64,
    /// Highest concurrency limit.
    pub max_concurrency: f64,
    /// Queue allowance of the limit's update (Gradient2's `queueSize`): √limit when 0.
    pub queue_size: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            ladder: LadderConfig::default(),
            min_concurrency: 4.0,
            max_concurrency: 10_000.0,
            queue_size: 0.0,
        }
    }
}

impl PolicyConfig {
    /// Checks ranges; the message names the setting.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |m: String| Err(CoreError::InvalidConfig(m));
        let l = &self.ladder;
        if l.levels.len() != 4 {
            return bad(format!(
                "policy.ladder.levels must list 4 levels (L1–L4), got {}",
                l.levels.len()
            ));
        }
        if l.dwell < 0 {
            return bad("policy.ladder.dwell must be ≥ 0".into());
        }
        if !(0..=3_600_000).contains(&l.confirm) {
            return bad("policy.ladder.confirm must be from 0 to 1h".into());
        }
        if l.flap_window < 0 {
            return bad("policy.ladder.flapWindow must be ≥ 0".into());
        }
        if !(l.max_dwell_factor.is_finite() && l.max_dwell_factor >= 1.0) {
            return bad(format!(
                "policy.ladder.maxDwellFactor must be ≥ 1, got {}",
                l.max_dwell_factor
            ));
        }
        if !(1..=5).contains(&l.alert_from) {
            return bad(format!(
                "policy.ladder.alertFrom must be a level from 1 to 4 (5: never), got {}",
                l.alert_from
            ));
        }
        if !(l.recover_factor > 0.0 && l.recover_factor <= 1.0) {
            return bad(format!(
                "policy.ladder.recoverFactor must be in (0, 1], got {}",
                l.recover_factor
            ));
        }
        for (i, pair) in l.levels.windows(2).enumerate() {
            let (a, b) = (&pair[0], &pair[1]);
            if b.burn_rate < a.burn_rate
                || b.slow_ratio < a.slow_ratio
                || b.utilization < a.utilization
            {
                return bad(format!(
                    "policy.ladder.levels[{}] must not have lower thresholds than the level before",
                    i + 1
                ));
            }
        }
        for (i, t) in l.levels.iter().enumerate() {
            for (name, v) in [
                ("burnRate", t.burn_rate),
                ("slowRatio", t.slow_ratio),
                ("utilization", t.utilization),
            ] {
                if !(v.is_finite() && v > 0.0) {
                    return bad(format!(
                        "policy.ladder.levels[{i}].{name} must be a positive number, got {v}"
                    ));
                }
            }
        }
        if !(self.min_concurrency >= 1.0 && self.max_concurrency >= self.min_concurrency) {
            return bad("policy.minConcurrency must be ≥ 1 and ≤ policy.maxConcurrency".into());
        }
        if !(self.queue_size.is_finite() && self.queue_size >= 0.0) {
            return bad("policy.queueSize must be ≥ 0".into());
        }
        Ok(())
    }
}
