//! The `routing` section of the configuration: how node scores are weighted, the weight
//! bounds, and the safety settings of the balancer (smoothing, slow start, capacity cap).

use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// Weights of the four scores in the overall score (a weighted geometric mean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct ScoreWeights {
    /// Latency against the other nodes and the budget.
    pub latency: f64,
    /// Errors (however fast they are returned).
    pub errors: f64,
    /// Utilisation and in-flight work against capacity.
    pub capacity: f64,
    /// Open anomalies on the node.
    pub regression: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            latency: 0.35,
            errors: 0.35,
            capacity: 0.2,
            regression: 0.1,
        }
    }
}

/// Routing settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct RoutingConfig {
    /// Recent window the scores are computed over.
    #[serde(with = "crate::duration::serde_label")]
    pub window: i64,
    /// Short window over which errors are also judged (a burst counts within seconds).
    #[serde(with = "crate::duration::serde_label")]
    pub fast_window: i64,
    /// Requests in the window below which a node keeps a neutral weight.
    pub min_requests: u64,
    /// Requests in the fast window a node needs before that window alone may judge it
    /// (recovered, or slow within seconds).
    pub min_fast_requests: u64,
    /// Score weights.
    pub weights: ScoreWeights,
    /// Lowest weight.
    pub min_weight: f64,
    /// Highest weight.
    pub max_weight: f64,
    /// Time constant with which weights rise (falls apply at once).
    #[serde(with = "crate::duration::serde_label")]
    pub recovery: i64,
    /// Weight changes smaller than this are not applied (hysteresis).
    pub hysteresis: f64,
    /// Weight changes at least this large are published on the stream.
    pub publish_delta: f64,
    /// A new or recovered node ramps from the lowest weight to its own over this time.
    #[serde(with = "crate::duration::serde_label")]
    pub slow_start: i64,
    /// Utilisation the other nodes may be pushed to when weight is taken from some.
    pub max_utilization: f64,
    /// Largest share of a service's nodes that may be down-weighted to critical at once.
    pub max_ejected_share: f64,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            window: 60_000,
            fast_window: 10_000,
            min_requests: 20,
            min_fast_requests: 10,
            weights: ScoreWeights::default(),
            min_weight: 0.1,
            max_weight: 2.0,
            recovery: 20_000,
            hysteresis: 0.05,
            publish_delta: 0.1,
            slow_start: 20_000,
            max_utilization: 0.9,
            max_ejected_share: 0.5,
        }
    }
}

impl RoutingConfig {
    /// Checks ranges; the message names the setting.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |m: String| Err(CoreError::InvalidConfig(m));
        let w = &self.weights;
        for (name, v) in [
            ("latency", w.latency),
            ("errors", w.errors),
            ("capacity", w.capacity),
            ("regression", w.regression),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("routing.weights.{name} must be ≥ 0, got {v}"));
            }
        }
        if w.latency + w.errors + w.capacity + w.regression <= 0.0 {
            return bad("routing.weights must not all be 0".into());
        }
        if !(self.min_weight > 0.0 && self.min_weight < 1.0) {
            return bad(format!(
                "routing.minWeight must be in (0, 1), got {}",
                self.min_weight
            ));
        }
        if !(self.max_weight > 1.0 && self.max_weight <= 100.0) {
            return bad(format!(
                "routing.maxWeight must be in (1, 100], got {}",
                self.max_weight
            ));
        }
        if !(self.fast_window > 0 && self.fast_window <= self.window) {
            return bad("routing.fastWindow must be positive and at most routing.window".into());
        }
        if self.window <= 0 || self.recovery < 0 || self.slow_start < 0 {
            return bad("routing.window must be positive; recovery and slowStart ≥ 0".into());
        }
        for (name, v) in [
            ("hysteresis", self.hysteresis),
            ("publishDelta", self.publish_delta),
        ] {
            if !(v.is_finite() && (0.0..1.0).contains(&v)) {
                return bad(format!("routing.{name} must be in [0, 1), got {v}"));
            }
        }
        if !(self.max_utilization > 0.0 && self.max_utilization <= 1.0) {
            return bad(format!(
                "routing.maxUtilization must be in (0, 1], got {}",
                self.max_utilization
            ));
        }
        if !(0.0..=1.0).contains(&self.max_ejected_share) {
            return bad(format!(
                "routing.maxEjectedShare must be in [0, 1], got {}",
                self.max_ejected_share
            ));
        }
        Ok(())
    }
}
