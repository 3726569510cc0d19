//! What one bucket of one series holds: counters and a latency sketch, plus time per stage
//! for all requests and for slow ones (to rank bottlenecks by their share of the tail).
//! Merging two `Stats` gives exactly the `Stats` of both sets of events.

use crate::model::{CacheOutcome, Event};
use crate::sketch::LatencySketch;
use serde::{Deserialize, Serialize};

/// Time spent in one stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTime {
    /// Interned stage name.
    pub stage: u32,
    /// Sum over all requests, ms.
    pub total_ms: f64,
    /// Sum over slow requests, ms.
    pub slow_ms: f64,
}

/// Aggregates of a set of events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Cache hits.
    pub cache_hits: u64,
    /// Cache misses.
    pub cache_misses: u64,
    /// Total cost.
    pub cost: f64,
    /// Sum of squared cost per request (for the variance of cost per request).
    pub cost_sq: f64,
    /// Requests over their class's slow threshold.
    pub slow: u64,
    /// Sum of latency of slow requests, ms.
    pub slow_latency_ms: f64,
    /// Latency distribution.
    pub latency: LatencySketch,
    /// Stage times, sorted by stage id.
    pub stages: Vec<StageTime>,
}

impl Stats {
    /// Adds one event; `stage_ids` are the interned names of `event.stages`, in order.
    #[inline]
    pub fn record(&mut self, event: &Event, slow_threshold: f64, stage_ids: &[u32]) {
        self.requests += 1;
        self.errors += u64::from(!event.ok);
        match event.cache {
            Some(CacheOutcome::Hit) => self.cache_hits += 1,
            Some(CacheOutcome::Miss) => self.cache_misses += 1,
            None => {}
        }
        let cost = event.cost.unwrap_or(0.0);
        self.cost += cost;
        self.cost_sq += cost * cost;
        let slow = event.latency_ms > slow_threshold;
        if slow {
            self.slow += 1;
            self.slow_latency_ms += event.latency_ms;
        }
        self.latency.insert(event.latency_ms);
        for (&id, &(_, ms)) in stage_ids.iter().zip(&event.stages) {
            let st = self.stage_mut(id);
            st.total_ms += ms;
            if slow {
                st.slow_ms += ms;
            }
        }
    }

    fn stage_mut(&mut self, id: u32) -> &mut StageTime {
        let pos = match self.stages.binary_search_by_key(&id, |s| s.stage) {
            Ok(p) => p,
            Err(p) => {
                self.stages.insert(
                    p,
                    StageTime {
                        stage: id,
                        ..Default::default()
                    },
                );
                p
            }
        };
        &mut self.stages[pos]
    }

    /// Adds everything of `other`.
    pub fn merge(&mut self, other: &Stats) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.cache_hits += other.cache_hits;
        self.cache_misses += other.cache_misses;
        self.cost += other.cost;
        self.cost_sq += other.cost_sq;
        self.slow += other.slow;
        self.slow_latency_ms += other.slow_latency_ms;
        self.latency.merge(&other.latency);
        for s in &other.stages {
            let mine = self.stage_mut(s.stage);
            mine.total_ms += s.total_ms;
            mine.slow_ms += s.slow_ms;
        }
    }

    /// Renames stage ids (`map[old] = new`, for stats moved between engines whose stage
    /// names were interned in another order); stages mapped to the same id are summed.
    pub fn remap_stages(&mut self, map: &[u32]) {
        if self.stages.is_empty() {
            return;
        }
        let old = std::mem::take(&mut self.stages);
        for s in old {
            let mine = self.stage_mut(map.get(s.stage as usize).copied().unwrap_or(s.stage));
            mine.total_ms += s.total_ms;
            mine.slow_ms += s.slow_ms;
        }
    }

    /// Failed share of requests, `None` without requests.
    pub fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.errors as f64 / self.requests as f64)
    }

    /// Hits over lookups, `None` without cache lookups.
    pub fn cache_hit_rate(&self) -> Option<f64> {
        let lookups = self.cache_hits + self.cache_misses;
        (lookups > 0).then(|| self.cache_hits as f64 / lookups as f64)
    }

    /// Cost per request, `None` without requests.
    pub fn cost_per_request(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.cost / self.requests as f64)
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.latency.heap_bytes() + self.stages.capacity() * std::mem::size_of::<StageTime>()
    }
}
