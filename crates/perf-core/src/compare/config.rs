//! Settings of a comparison: confidence, multiple-testing correction, the thresholds a
//! change must pass to count (defaults from the go-live guardrails), and how much data an
//! operation needs before it is judged. Used by offline gates, `POST /v1/gates/evaluate`,
//! rollouts and regression monitoring alike, and by the `gates` section of the config file.

use super::multiple::Correction;
use crate::error::CoreError;
use serde::{Deserialize, Serialize};

/// How far a metric may move before the move is a regression.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thresholds {
    /// Allowed relative increase of the median (0.10 = +10 %).
    pub p50: f64,
    /// Allowed relative increase of p95.
    pub p95: f64,
    /// Allowed relative increase of p99.
    pub p99: f64,
    /// Allowed increase of the error rate, absolute (0.005 = +0.5 percentage points).
    pub error_rate: f64,
    /// Cache hit rate the candidate must keep when the baseline had at least this.
    pub cache_hit_rate_min: f64,
    /// Allowed absolute drop of the cache hit rate.
    pub cache_hit_rate_drop: f64,
    /// Allowed relative increase of cost per request.
    pub cost_per_request: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            p50: 0.10,
            p95: 0.10,
            p99: 0.15,
            error_rate: 0.005,
            cache_hit_rate_min: 0.85,
            cache_hit_rate_drop: 0.05,
            cost_per_request: 0.10,
        }
    }
}

/// Everything a comparison is configured by.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateConfig {
    /// Confidence of intervals and tests (0.99: α = 0.01 for the whole family of tests).
    pub confidence: f64,
    /// Correction across all the tests of one comparison.
    pub correction: Correction,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// Requests per side below which an operation is `insufficient_data`.
    pub min_requests: u64,
    /// Operations carrying less than this share of either side's traffic may lack data
    /// without making the whole gate inconclusive (they are still listed).
    pub min_traffic_share: f64,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            confidence: 0.99,
            correction: Correction::Holm,
            thresholds: Thresholds::default(),
            min_requests: 100,
            min_traffic_share: 0.01,
        }
    }
}

impl GateConfig {
    /// α = 1 − confidence.
    pub fn alpha(&self) -> f64 {
        1.0 - self.confidence
    }

    /// Checks ranges; the message names the setting.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |m: &str| Err(CoreError::InvalidConfig(m.to_string()));
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return bad("gates.confidence must be between 0.5 and 1 (exclusive), e.g. 0.99");
        }
        let t = &self.thresholds;
        for (name, v) in [
            ("p50", t.p50),
            ("p95", t.p95),
            ("p99", t.p99),
            ("errorRate", t.error_rate),
            ("cacheHitRateDrop", t.cache_hit_rate_drop),
            ("costPerRequest", t.cost_per_request),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(CoreError::InvalidConfig(format!(
                    "gates.thresholds.{name} must be a positive number, got {v}"
                )));
            }
        }
        if !(0.0..=1.0).contains(&t.cache_hit_rate_min) {
            return bad("gates.thresholds.cacheHitRateMin must be a fraction in [0, 1]");
        }
        if t.error_rate >= 1.0 || t.cache_hit_rate_drop >= 1.0 {
            return bad("gates.thresholds: rate thresholds are fractions (0.005 = 0.5 points)");
        }
        if !(0.0..1.0).contains(&self.min_traffic_share) {
            return bad("gates.minTrafficShare must be a fraction in [0, 1)");
        }
        Ok(())
    }
}
