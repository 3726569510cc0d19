//! Fixed-size SHARDS (Waldspurger et al., "Efficient MRC Construction with SHARDS", FAST'15):
//! the reuse distances of a cache space's keys, from a spatial sample of them.
//!
//! A key is sampled when the top 24 bits of its 64-bit hash are below a threshold `T`, so
//! every access of a sampled key is seen and none of the others: the sampled accesses form
//! the trace of a smaller key set with the same reuse pattern, and a stack distance `d` in
//! it stands for `d / R` in the full trace, `R = T / 2^24`. The rate starts at 1 and is
//! lowered so that at most `max_keys` keys are tracked: when one more would be kept, the
//! keys with the largest hash values are dropped and `T` becomes their value; the weights
//! already counted are rescaled by the ratio of the rates, as the paper's fixed-size variant
//! does. The SHARDS-adj correction adds the difference between the accesses expected at rate
//! `R` and the accesses sampled to the smallest distance, which removes most of the bias a
//! few very popular keys give a small sample.
//!
//! Stack distances (distinct keys since a key's previous access) come from a Fenwick tree
//! over access positions with one mark per tracked key at its latest access: the distance
//! is the number of marks after the key's previous position. Positions are renumbered when
//! they run out (every `max_keys` sampled accesses or more), so the tree stays at
//! `2 × max_keys` entries: memory is bounded by `max_keys`, not by the trace.
//!
//! Reuse times (milliseconds between a key's accesses) are kept beside the distances; both
//! are kept for the current and the previous period, so answers cover between one and two
//! periods and a space's history ages out. Keys unused since before the previous period are
//! forgotten when a period starts (their return counts as a first access), so the table
//! holds the keys of the last two periods at most, not every key ever seen.

use super::histogram::Histogram;
use ahash::AHashMap;
use serde::{Deserialize, Serialize};
use std::collections::{BinaryHeap, VecDeque};

/// Sampled accesses kept, newest last, for policy simulations (`policy_sim`).
pub const TRACE_KEEP: usize = 8_192;

/// The hash space of the sampling decision (the top 24 bits of a key hash).
pub const MODULUS: u64 = 1 << 24;

/// One tracked key.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Slot {
    /// Position of its latest access in the Fenwick tree.
    position: u32,
    /// Time of its latest access, ms.
    last_ts: i64,
}

/// What one period counted, weights at the current rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// Start of the period, ms.
    pub start: i64,
    /// Every access of the space (sampled or not).
    pub accesses: u64,
    /// Sampled accesses, rescaled to the current rate.
    pub sampled: f64,
    /// Sampled first accesses (infinite distance), rescaled.
    pub cold: f64,
    /// Scaled reuse distances of sampled reuses, rescaled.
    pub distances: Histogram,
    /// Reuse times of sampled reuses, ms, rescaled.
    pub reuse_ms: Histogram,
}

impl Period {
    fn scale(&mut self, factor: f64) {
        self.sampled *= factor;
        self.cold *= factor;
        self.distances.scale(factor);
        self.reuse_ms.scale(factor);
    }
}

/// The sampler of one cache space.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shards {
    max_keys: usize,
    period_ms: i64,
    threshold: u64,
    keys: AHashMap<u64, Slot>,
    /// The tracked keys by sample value, largest first: the next to drop.
    order: BinaryHeap<(u64, u64)>,
    /// Fenwick tree over positions: 1 where a tracked key's latest access is.
    tree: Vec<u32>,
    next_position: u32,
    /// The previous and the current period.
    periods: [Period; 2],
    /// The latest sampled accesses (keys), at most [`TRACE_KEEP`].
    trace: VecDeque<u64>,
}

/// The top 24 bits of a key hash: its place in the sampling order.
fn sample_value(key: u64) -> u64 {
    key >> 40
}

impl Shards {
    /// A sampler keeping at most `max_keys` keys, with periods of `period_ms`.
    pub fn new(max_keys: usize, period_ms: i64) -> Self {
        let max_keys = max_keys.max(16);
        Shards {
            max_keys,
            period_ms: period_ms.max(1),
            threshold: MODULUS,
            keys: AHashMap::new(),
            order: BinaryHeap::new(),
            tree: vec![0; 2 * max_keys + 1],
            next_position: 0,
            periods: [Period::default(), Period::default()],
            trace: VecDeque::new(),
        }
    }

    /// The sampling rate `R`.
    pub fn rate(&self) -> f64 {
        self.threshold as f64 / MODULUS as f64
    }

    /// Keys tracked now.
    pub fn tracked_keys(&self) -> usize {
        self.keys.len()
    }

    /// Tracked keys accessed at or after `since`, scaled to the whole key space.
    pub fn unique_keys_since(&self, since: i64) -> f64 {
        let n = self.keys.values().filter(|s| s.last_ts >= since).count();
        n as f64 / self.rate()
    }

    /// The previous and the current period (oldest first).
    pub fn periods(&self) -> &[Period; 2] {
        &self.periods
    }

    /// Records one access of `key` (a 64-bit hash) at `ts`.
    pub fn access(&mut self, key: u64, ts: i64) {
        self.roll(ts);
        self.periods[1].accesses += 1;
        if sample_value(key) >= self.threshold {
            return;
        }
        let rate = self.rate();
        if self.trace.len() == TRACE_KEEP {
            self.trace.pop_front();
        }
        self.trace.push_back(key);
        let position = self.take_position();
        let current = &mut self.periods[1];
        current.sampled += 1.0;
        let tracked = self.keys.len() as u32;
        match self.keys.get_mut(&key) {
            Some(slot) => {
                let previous = slot.position;
                // Every tracked key has one mark, so the marks after `previous` are the
                // keys minus those at or before it.
                let distance = tracked - prefix(&self.tree, previous);
                fenwick_add(&mut self.tree, previous, -1);
                current.distances.add(distance as f64 / rate, 1.0);
                current
                    .reuse_ms
                    .add(ts.saturating_sub(slot.last_ts).max(0) as f64, 1.0);
                slot.position = position;
                slot.last_ts = slot.last_ts.max(ts);
                fenwick_add(&mut self.tree, position, 1);
            }
            None => {
                current.cold += 1.0;
                self.keys.insert(
                    key,
                    Slot {
                        position,
                        last_ts: ts,
                    },
                );
                fenwick_add(&mut self.tree, position, 1);
                self.order.push((sample_value(key), key));
                if self.keys.len() > self.max_keys {
                    self.lower_rate();
                }
            }
        }
    }

    /// Starts a new period when `ts` is past the current one (the previous one is dropped).
    fn roll(&mut self, ts: i64) {
        let current = &mut self.periods[1];
        if current.accesses == 0 && current.sampled == 0.0 {
            current.start = ts.div_euclid(self.period_ms) * self.period_ms;
            return;
        }
        if ts >= current.start + self.period_ms {
            let start = ts.div_euclid(self.period_ms) * self.period_ms;
            let ended = std::mem::take(&mut self.periods[1]);
            // A gap longer than a period leaves nothing worth keeping as "previous".
            self.periods[0] = if start - ended.start <= self.period_ms {
                ended
            } else {
                Period::default()
            };
            self.periods[1].start = start;
            self.forget_before(self.periods[0].start.max(start - self.period_ms));
        }
    }

    /// Stops tracking keys last used before `since` (the start of the previous period): the
    /// answers cover the last two periods, so such a key's return counts as a first access.
    /// Without this the table would hold every key ever sampled until it filled, growing
    /// with uptime on a drifting working set. Once per period, linear in the keys.
    fn forget_before(&mut self, since: i64) {
        let before = self.keys.len();
        let tree = &mut self.tree;
        self.keys.retain(|_, slot| {
            let keep = slot.last_ts >= since;
            if !keep {
                fenwick_add(tree, slot.position, -1);
            }
            keep
        });
        if self.keys.len() != before {
            self.order = self.keys.keys().map(|&k| (sample_value(k), k)).collect();
            self.keys.shrink_to_fit();
        }
    }

    /// The next free position, renumbering the tracked keys first when none is left.
    fn take_position(&mut self) -> u32 {
        if self.next_position as usize >= self.tree.len() - 1 {
            // Renumber in position order without sorting or looking keys up: positions are
            // distinct and below the tree's length, so a key's new position is the number of
            // marked positions before its own (two linear passes).
            let mut rank = vec![0u32; self.tree.len()];
            for slot in self.keys.values() {
                rank[slot.position as usize] = 1;
            }
            let mut next = 0u32;
            for r in rank.iter_mut() {
                let marked = *r;
                *r = next;
                next += marked;
            }
            for slot in self.keys.values_mut() {
                slot.position = rank[slot.position as usize];
            }
            fenwick_fill(&mut self.tree, next as usize);
            self.next_position = next;
        }
        let p = self.next_position;
        self.next_position += 1;
        p
    }

    /// Drops the keys with the largest sample values until at most `max_keys` are left, and
    /// lowers the threshold to the largest dropped value; weights are rescaled.
    fn lower_rate(&mut self) {
        let old = self.threshold;
        while self.keys.len() > self.max_keys {
            let Some((value, _)) = self.order.peek().copied() else {
                break;
            };
            while let Some(&(v, k)) = self.order.peek() {
                if v < value {
                    break;
                }
                self.order.pop();
                if let Some(slot) = self.keys.remove(&k) {
                    fenwick_add(&mut self.tree, slot.position, -1);
                }
            }
            self.threshold = value;
        }
        let factor = self.threshold as f64 / old as f64;
        for p in &mut self.periods {
            p.scale(factor);
        }
    }

    /// The latest sampled accesses of keys still sampled at the current rate, oldest first:
    /// the trace of a key set `rate` times the space's, for miniature simulations.
    pub fn sampled_trace(&self) -> Vec<u64> {
        self.trace
            .iter()
            .copied()
            .filter(|k| sample_value(*k) < self.threshold)
            .collect()
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.trace.capacity() * 8
            + self.keys.capacity() * (std::mem::size_of::<(u64, Slot)>() + 1)
            + self.order.capacity() * 16
            + self.tree.capacity() * 4
            + self
                .periods
                .iter()
                .map(|p| p.distances.heap_bytes() + p.reuse_ms.heap_bytes())
                .sum::<usize>()
    }
}

/// Adds `delta` at `position` (0-based).
fn fenwick_add(tree: &mut [u32], position: u32, delta: i32) {
    let mut i = position as usize + 1;
    while i < tree.len() {
        tree[i] = tree[i].wrapping_add_signed(delta);
        i += i & i.wrapping_neg();
    }
}

/// Sets the tree to one mark at each position below `n` and none after, in linear time.
fn fenwick_fill(tree: &mut [u32], n: usize) {
    tree.iter_mut().for_each(|x| *x = 0);
    // Each node passes its sum on to its parent, including nodes past `n` that only carry
    // sums from below.
    for i in 1..tree.len() {
        if i <= n {
            tree[i] += 1;
        }
        let j = i + (i & i.wrapping_neg());
        if j < tree.len() {
            tree[j] += tree[i];
        }
    }
}

/// Sum of marks at positions `0..=position`.
fn prefix(tree: &[u32], position: u32) -> u32 {
    let mut i = position as usize + 1;
    let mut sum = 0u32;
    while i > 0 {
        sum = sum.wrapping_add(tree[i]);
        i -= i & i.wrapping_neg();
    }
    sum
}
