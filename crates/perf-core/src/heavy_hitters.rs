//! Bounded top-K summaries of callers (the `entity` of events): Space-Saving (Metwally et
//! al., 2005) with weights. With `k` counters, every caller whose true weight exceeds
//! `total / k` is tracked, and each tracked estimate overcounts by at most its recorded
//! `error` (itself at most `total / k`). Callers are high-cardinality, so they never get a
//! view of their own; these summaries are what risk signals read.
//!
//! Eviction scans the `k` counters for the minimum: with the default `k = 64` that is one
//! cache line walk, cheaper than keeping a heap in sync on every increment.

use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// One tracked caller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counter {
    /// Caller identity.
    pub key: String,
    /// Estimated weight (never below the true weight).
    pub count: f64,
    /// Largest possible overcount.
    pub error: f64,
}

/// A weighted Space-Saving summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpaceSaving {
    k: usize,
    counters: Vec<Counter>,
    #[serde(skip)]
    index: AHashMap<String, usize>,
}

impl SpaceSaving {
    /// A summary keeping `k` counters.
    pub fn new(k: usize) -> Self {
        SpaceSaving {
            k,
            counters: Vec::with_capacity(k.min(1024)),
            index: AHashMap::new(),
        }
    }

    fn rebuild_index(&mut self) {
        self.index = self
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| (c.key.clone(), i))
            .collect();
    }

    /// Adds `weight` to `key`.
    pub fn add(&mut self, key: &str, weight: f64) {
        if weight <= 0.0 {
            return;
        }
        if self.index.len() != self.counters.len() {
            self.rebuild_index();
        }
        if let Some(&i) = self.index.get(key) {
            self.counters[i].count += weight;
            return;
        }
        if self.counters.len() < self.k {
            self.index.insert(key.to_string(), self.counters.len());
            self.counters.push(Counter {
                key: key.to_string(),
                count: weight,
                error: 0.0,
            });
            return;
        }
        let (min_i, _) = self
            .counters
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.count.total_cmp(&b.1.count))
            .unwrap_or((0, &self.counters[0]));
        let old = std::mem::take(&mut self.counters[min_i].key);
        self.index.remove(&old);
        let floor = self.counters[min_i].count;
        self.counters[min_i] = Counter {
            key: key.to_string(),
            count: floor + weight,
            error: floor,
        };
        self.index.insert(key.to_string(), min_i);
    }

    /// Smallest tracked count when full (the most an untracked caller can have), else 0.
    pub fn floor(&self) -> f64 {
        if self.counters.len() < self.k {
            return 0.0;
        }
        self.counters
            .iter()
            .map(|c| c.count)
            .fold(f64::INFINITY, f64::min)
    }

    /// Tracked counters.
    pub fn counters(&self) -> &[Counter] {
        &self.counters
    }
}

/// The measures callers are ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Requests.
    Requests,
    /// Failed requests.
    Errors,
    /// Cost.
    Cost,
    /// Requests over the slow threshold.
    Slow,
}

/// All measures, in summary order.
pub const MEASURES: [Measure; 4] = [
    Measure::Requests,
    Measure::Errors,
    Measure::Cost,
    Measure::Slow,
];

/// Caller summaries of one service, per time bucket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CallerSummaries {
    buckets: VecDeque<(i64, [SpaceSaving; 4])>,
}

impl CallerSummaries {
    /// Records one request of `entity` at `ts`.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        k: usize,
        width: i64,
        ts: i64,
        entity: &str,
        failed: bool,
        cost: f64,
        slow: bool,
    ) {
        let start = ts.div_euclid(width) * width;
        let pos = match self.buckets.binary_search_by_key(&start, |b| b.0) {
            Ok(p) => p,
            Err(p) => {
                let fresh = std::array::from_fn(|_| SpaceSaving::new(k));
                self.buckets.insert(p, (start, fresh));
                p
            }
        };
        let s = &mut self.buckets[pos].1;
        s[0].add(entity, 1.0);
        if failed {
            s[1].add(entity, 1.0);
        }
        s[2].add(entity, cost);
        if slow {
            s[3].add(entity, 1.0);
        }
    }

    /// Drops buckets that ended before `oldest`.
    pub fn expire(&mut self, oldest: i64, width: i64) {
        while self.buckets.front().is_some_and(|b| b.0 + width <= oldest) {
            self.buckets.pop_front();
        }
    }

    /// Top callers by a measure over buckets starting in `[from, to)`, highest first; the
    /// error of a merged count adds the floors of the buckets where the caller was untracked.
    pub fn top(&self, measure: Measure, from: i64, to: i64, n: usize) -> Vec<Counter> {
        let m = MEASURES.iter().position(|x| *x == measure).unwrap_or(0);
        let in_range: Vec<&SpaceSaving> = self
            .buckets
            .iter()
            .filter(|b| b.0 >= from && b.0 < to)
            .map(|b| &b.1[m])
            .collect();
        let mut merged: AHashMap<&str, Counter> = AHashMap::new();
        for s in &in_range {
            for c in s.counters() {
                let e = merged.entry(c.key.as_str()).or_insert_with(|| Counter {
                    key: c.key.clone(),
                    count: 0.0,
                    error: 0.0,
                });
                e.count += c.count;
                e.error += c.error;
            }
        }
        for s in &in_range {
            let floor = s.floor();
            for (key, c) in merged.iter_mut() {
                if !s.counters().iter().any(|x| x.key == *key) {
                    c.error += floor;
                }
            }
        }
        let mut out: Vec<Counter> = merged.into_values().collect();
        out.sort_by(|a, b| b.count.total_cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        out.truncate(n);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_caller_above_total_over_k() {
        let mut s = SpaceSaving::new(10);
        let mut total = 0.0;
        for i in 0..10_000u32 {
            let key = if i % 5 == 0 {
                "heavy".to_string()
            } else {
                format!("c{}", i % 997)
            };
            s.add(&key, 1.0);
            total += 1.0;
        }
        let heavy = s
            .counters()
            .iter()
            .find(|c| c.key == "heavy")
            .expect("heavy hitter tracked");
        assert!(heavy.count >= 2000.0 && heavy.count - heavy.error <= 2000.0);
        assert!(heavy.error <= total / 10.0);
    }

    #[test]
    fn summaries_merge_buckets() {
        let mut c = CallerSummaries::default();
        for t in 0..100 {
            c.record(
                4,
                10,
                t,
                if t % 2 == 0 { "a" } else { "b" },
                t % 10 == 0,
                0.5,
                false,
            );
        }
        let top = c.top(Measure::Requests, 0, 100, 2);
        assert_eq!(top[0].count, 50.0);
        let errors = c.top(Measure::Errors, 0, 100, 1);
        assert_eq!((errors[0].key.as_str(), errors[0].count), ("a", 10.0));
        c.expire(50, 10);
        assert_eq!(c.top(Measure::Requests, 0, 100, 2)[0].count, 25.0);
    }
}
