//! What a comparison needs to know about one operation on one side (baseline or
//! candidate): counters, cost sums for the variance of cost per request, the latency sketch,
//! and the raw latencies while there are few of them (a bounded reservoir: the first
//! [`RESERVOIR`] values, dropped as a whole when more arrive). The raw values make the rank
//! test exact for small samples; beyond that the sketch answers with ties inside 1.8 % bins,
//! which costs no measurable power and keeps a frozen baseline a few KB per operation.

use crate::model::{CacheOutcome, Event};
use crate::sketch::LatencySketch;
use crate::stats::Stats;
use serde::{Deserialize, Serialize};

/// Raw latencies kept per operation and side.
pub const RESERVOIR: usize = 1_024;

/// One operation, one side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OperationSample {
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Cache hits.
    pub cache_hits: u64,
    /// Cache misses.
    pub cache_misses: u64,
    /// Sum of cost.
    pub cost: f64,
    /// Sum of squared cost per request.
    pub cost_sq: f64,
    /// Latency distribution.
    pub latency: LatencySketch,
    /// Every latency, while there are at most [`RESERVOIR`]; `None` once more arrived (or
    /// when built from aggregates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
}

impl OperationSample {
    /// An empty sample that keeps raw values.
    pub fn keeping_values() -> Self {
        OperationSample {
            values: Some(Vec::new()),
            ..Default::default()
        }
    }

    /// From engine aggregates (no raw values).
    pub fn from_stats(stats: &Stats) -> Self {
        OperationSample {
            requests: stats.requests,
            errors: stats.errors,
            cache_hits: stats.cache_hits,
            cache_misses: stats.cache_misses,
            cost: stats.cost,
            cost_sq: stats.cost_sq,
            latency: stats.latency.clone(),
            values: None,
        }
    }

    /// Adds one request.
    pub fn record(&mut self, event: &Event) {
        self.record_parts(event.latency_ms, event.ok, event.cache, event.cost);
    }

    /// Adds one request from its parts.
    pub fn record_parts(
        &mut self,
        latency_ms: f64,
        ok: bool,
        cache: Option<CacheOutcome>,
        cost: Option<f64>,
    ) {
        self.requests += 1;
        self.errors += u64::from(!ok);
        match cache {
            Some(CacheOutcome::Hit) => self.cache_hits += 1,
            Some(CacheOutcome::Miss) => self.cache_misses += 1,
            None => {}
        }
        let cost = cost.unwrap_or(0.0);
        self.cost += cost;
        self.cost_sq += cost * cost;
        self.latency.insert(latency_ms);
        if let Some(v) = &mut self.values {
            if v.len() < RESERVOIR {
                v.push(latency_ms);
            } else {
                self.values = None;
            }
        }
    }

    /// Cache lookups.
    pub fn lookups(&self) -> u64 {
        self.cache_hits + self.cache_misses
    }

    /// Mean cost per request and its variance per request.
    pub fn cost_moments(&self) -> Option<(f64, f64)> {
        if self.requests == 0 {
            return None;
        }
        let n = self.requests as f64;
        let mean = self.cost / n;
        let var = if self.requests > 1 {
            ((self.cost_sq - n * mean * mean) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        Some((mean, var))
    }

    /// The raw values when every request's latency is held.
    pub fn complete_values(&self) -> Option<&[f64]> {
        self.values
            .as_deref()
            .filter(|v| v.len() as u64 == self.requests)
    }
}
