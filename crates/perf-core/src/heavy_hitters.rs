//! Bounded top-K summaries of callers (the `entity` of events): Space-Saving (Metwally et
//! al., 2005) with weights. With `k` counters, every caller whose true weight exceeds
//! `total / k` is tracked, and each tracked estimate overcounts by at most its recorded
//! `error` (itself at most `total / k`). Callers are high-cardinality, so they never get a
//! view of their own; these summaries are what risk signals read.
//!
//! Written here rather than taken from a crate: the summaries must be weighted (cost), take a
//! precomputed hash (one hash per event for four summaries), serialise into snapshots, and
//! report Space-Saving's per-counter error; the crates we looked at offer unweighted
//! top-K only.

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

/// Hashes caller keys; fixed seeds so that summaries restored from a snapshot find their keys.
fn hasher() -> ahash::RandomState {
    ahash::RandomState::with_seeds(0x5eed, 0xca11, 0xe7, 0x1d)
}

/// The hash of a caller key, computed once per event for all four summaries.
pub fn key_hash(key: &str) -> u64 {
    hasher().hash_one(key)
}

/// A weighted Space-Saving summary. Counters live in a min-heap by count (`heap` holds
/// counter indices, `pos` the heap position of each counter), so finding the smallest
/// counter is O(1) and an increment re-sifts in O(log k); callers are found through a map
/// from key hash to counter index, with the key compared on every hit. An evicted counter's
/// key buffer is reused for the newcomer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SpaceSaving {
    k: usize,
    counters: Vec<Counter>,
    #[serde(skip)]
    heap: Vec<usize>,
    #[serde(skip)]
    pos: Vec<usize>,
    #[serde(skip)]
    index: AHashMap<u64, usize>,
}

impl SpaceSaving {
    /// Heap bytes: counters with their keys, the heap, positions and the key index.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_map, string, vec};
        vec(&self.counters)
            + self.counters.iter().map(|c| string(&c.key)).sum::<usize>()
            + vec(&self.heap)
            + vec(&self.pos)
            + hash_map(&self.index)
    }

    /// A summary keeping `k` counters.
    pub fn new(k: usize) -> Self {
        SpaceSaving {
            k,
            ..Default::default()
        }
    }

    /// Rebuilds the heap and index (after a snapshot is loaded).
    fn rebuild(&mut self) {
        self.index = self
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| (key_hash(&c.key), i))
            .collect();
        self.heap = (0..self.counters.len()).collect();
        self.pos = (0..self.counters.len()).collect();
        for i in (0..self.heap.len() / 2).rev() {
            self.sift_down(i);
        }
    }

    fn count_at(&self, heap_pos: usize) -> f64 {
        self.counters[self.heap[heap_pos]].count
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.pos[self.heap[a]] = a;
        self.pos[self.heap[b]] = b;
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut smallest = i;
            if l < self.heap.len() && self.count_at(l) < self.count_at(smallest) {
                smallest = l;
            }
            if r < self.heap.len() && self.count_at(r) < self.count_at(smallest) {
                smallest = r;
            }
            if smallest == i {
                return;
            }
            self.swap(i, smallest);
            i = smallest;
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.count_at(parent) <= self.count_at(i) {
                return;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    /// Adds `weight` to `key` (whose [`key_hash`] is `hash`).
    pub fn add(&mut self, key: &str, hash: u64, weight: f64) {
        if weight <= 0.0 || self.k == 0 {
            return;
        }
        if self.heap.len() != self.counters.len() {
            self.rebuild();
        }
        if let Some(&i) = self.index.get(&hash) {
            if self.counters[i].key == key {
                self.counters[i].count += weight;
                self.sift_down(self.pos[i]);
                return;
            }
            // A 64-bit hash collision: the newcomer is simply not indexed by hash; it can
            // still be counted below as an untracked caller.
        }
        if self.counters.len() < self.k {
            let i = self.counters.len();
            self.counters.push(Counter {
                key: key.to_string(),
                count: weight,
                error: 0.0,
            });
            self.index.entry(hash).or_insert(i);
            self.heap.push(i);
            self.pos.push(self.heap.len() - 1);
            self.sift_up(self.heap.len() - 1);
            return;
        }
        let i = self.heap[0];
        let old_hash = key_hash(&self.counters[i].key);
        if self.index.get(&old_hash) == Some(&i) {
            self.index.remove(&old_hash);
        }
        let c = &mut self.counters[i];
        let floor = c.count;
        c.key.clear();
        c.key.push_str(key);
        c.count = floor + weight;
        c.error = floor;
        self.index.entry(hash).or_insert(i);
        self.sift_down(0);
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Heap bytes of every bucket's four summaries.
    pub fn heap_bytes(&self) -> usize {
        crate::memory::deque(&self.buckets)
            + self
                .buckets
                .iter()
                .flat_map(|b| b.1.iter())
                .map(SpaceSaving::heap_bytes)
                .sum::<usize>()
    }

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
        let hash = key_hash(entity);
        s[0].add(entity, hash, 1.0);
        if failed {
            s[1].add(entity, hash, 1.0);
        }
        s[2].add(entity, hash, cost);
        if slow {
            s[3].add(entity, hash, 1.0);
        }
    }

    /// The buckets: start (ms) and the summaries by measure, in [`MEASURES`] order.
    pub fn buckets(&self) -> impl Iterator<Item = (i64, &[SpaceSaving; 4])> {
        self.buckets.iter().map(|(start, s)| (*start, s))
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
            s.add(&key, key_hash(&key), 1.0);
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

    proptest::proptest! {
        /// Space-Saving's guarantees against exact counts: estimates never undercount,
        /// `count - error` never overcounts, and every caller above `total / k` is tracked.
        #[test]
        fn guarantees_hold_against_exact_counts(
            stream in proptest::collection::vec((0u32..40, 0.1f64..5.0), 1..2000),
            k in 2usize..16,
        ) {
            let mut s = SpaceSaving::new(k);
            let mut exact: std::collections::HashMap<String, f64> = Default::default();
            for (id, w) in &stream {
                let key = format!("c{}", id % 40);
                s.add(&key, key_hash(&key), *w);
                *exact.entry(key).or_default() += w;
            }
            let total: f64 = exact.values().sum();
            for c in s.counters() {
                let truth = exact[&c.key];
                proptest::prop_assert!(c.count + 1e-9 >= truth);
                proptest::prop_assert!(c.count - c.error <= truth + 1e-9);
            }
            for (key, truth) in &exact {
                if *truth > total / k as f64 + 1e-9 {
                    proptest::prop_assert!(s.counters().iter().any(|c| &c.key == key), "{key} {truth} untracked");
                }
            }
        }
    }
}
