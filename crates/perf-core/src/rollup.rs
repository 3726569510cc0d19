//! Rolling time buckets of one series at several resolutions.
//!
//! An event goes into the finest level whose buckets still cover its time. When a bucket of
//! level L ages past that level's `keep`, it is merged into the bucket of level L + 1 that
//! contains it (coarse buckets are built by merging fine ones, never by re-reading events);
//! past the last level it is dropped. Each event is therefore in exactly one bucket, and a
//! window query merges every bucket whose start lies in `[from, to)`: exact for windows
//! aligned to the width of the levels they touch, and off by at most one bucket width of the
//! coarsest level touched at each edge otherwise.
//!
//! A bucket that nothing will reach any more (older than the keep of the level before it,
//! or, in the finest level, a minute past its end) is sealed into a compact encoding
//! ([`Cell`]) and packed with the level's other sealed buckets into one buffer
//! (rollup/level.rs); a late write opens it again.

mod cell;
mod compact;
mod level;

pub use cell::{Bucket, Cell};

use crate::duration::serde_label;
use crate::stats::Stats;
use level::Level;
use serde::{Deserialize, Serialize};

/// One resolution level: buckets `width` wide, kept for `keep` after they end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    /// Bucket width.
    #[serde(with = "serde_label")]
    pub width: i64,
    /// How long buckets of this width are kept before they merge into the next level.
    #[serde(with = "serde_label")]
    pub keep: i64,
}

/// How long after its end a bucket of the finest level is sealed (events arrive within
/// seconds; a later one opens it again).
const SEAL_FINEST_AFTER: i64 = 60_000;

/// The buckets of one series, per level, each level sorted by start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rollup {
    levels: Vec<Level>,
}

fn floor_to(ts: i64, width: i64) -> i64 {
    ts.div_euclid(width) * width
}

fn expired(start: i64, r: &Resolution, now: i64) -> bool {
    start + r.width <= now - r.keep
}

impl Rollup {
    /// An empty rollup for these resolutions.
    pub fn new(levels: usize) -> Self {
        Rollup {
            levels: (0..levels).map(|_| Level::default()).collect(),
        }
    }

    /// The bucket that must take an event at `ts`, or `None` if `ts` is past retention.
    #[inline]
    pub fn bucket_for(&mut self, res: &[Resolution], ts: i64, now: i64) -> Option<&mut Stats> {
        let level = res
            .iter()
            .position(|r| !expired(floor_to(ts, r.width), r, now))?;
        let start = floor_to(ts, res[level].width);
        Some(self.levels[level].slot(start).open())
    }

    /// Moves expired buckets down a level (or drops them past the last); returns how many
    /// requests were dropped for age.
    pub fn advance(&mut self, res: &[Resolution], now: i64) -> u64 {
        self.age(res, now).0
    }

    /// [`Rollup::advance`], also answering how many buckets it moved, dropped or sealed
    /// (the engine's sweep budgets its steps by that work).
    pub fn age(&mut self, res: &[Resolution], now: i64) -> (u64, usize) {
        let mut dropped = 0;
        let mut work = 0;
        for l in 0..self.levels.len() {
            while let Some(start) = self.levels[l].first_start() {
                if !expired(start, &res[l], now) {
                    break;
                }
                let Some((start, stats)) = self.levels[l].pop_front() else {
                    break;
                };
                work += 1;
                match res.get(l + 1) {
                    Some(next) => self.levels[l + 1]
                        .slot(floor_to(start, next.width))
                        .open()
                        .merge(&stats),
                    None => dropped += stats.requests,
                }
            }
        }
        work += self.seal_settled(res, now);
        (dropped, work)
    }

    /// Seals the buckets nothing will reach any more: in level L > 0 those that ended
    /// before the keep of level L − 1 (no finer bucket merges into them later), in the
    /// finest level those that ended a minute ago. Settled buckets form a prefix of each
    /// level's cells, so the pass looks only at the front of them (rollup/level.rs).
    fn seal_settled(&mut self, res: &[Resolution], now: i64) -> usize {
        let mut sealed = 0;
        for (l, level) in self.levels.iter_mut().enumerate() {
            let Some(r) = res.get(l) else { break };
            let settle = if l == 0 {
                SEAL_FINEST_AFTER
            } else {
                res[l - 1].keep
            };
            sealed += level.seal_settled(r.width, now - settle);
        }
        sealed
    }

    /// Merges every bucket whose start is in `[from, to)` into `out`.
    pub fn query_into(&self, from: i64, to: i64, out: &mut Stats) {
        for level in &self.levels {
            level.query_into(from, to, out);
        }
    }

    /// Adds every bucket of `other` (same resolutions) into this rollup, level by level:
    /// the result holds exactly the events of both.
    pub fn merge(&mut self, other: &Rollup) {
        if self.levels.len() < other.levels.len() {
            self.levels.resize_with(other.levels.len(), Level::default);
        }
        for (mine, theirs) in self.levels.iter_mut().zip(&other.levels) {
            mine.unpack();
            for (start, stats) in theirs.iter() {
                mine.slot(start).open().merge(&stats);
            }
        }
    }

    /// Every bucket, mutably (to rename stage ids).
    pub fn buckets_mut(&mut self) -> impl Iterator<Item = &mut Stats> {
        self.levels
            .iter_mut()
            .flat_map(|l| l.cells_mut().iter_mut().map(|b| b.1.open()))
    }

    /// True when no bucket is left.
    pub fn is_empty(&self) -> bool {
        self.levels.iter().all(|l| l.is_empty())
    }

    /// Number of buckets held.
    pub fn bucket_count(&self) -> usize {
        self.levels.iter().map(Level::len).sum()
    }

    /// Heap bytes of level `level` (its buffer, deques and the buckets' own heap).
    pub fn level_heap_bytes(&self, level: usize) -> usize {
        self.levels.get(level).map_or(0, Level::heap_bytes)
    }

    /// Heap bytes of the list of levels itself.
    pub fn levels_heap_bytes(&self) -> usize {
        crate::memory::vec(&self.levels)
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.levels.iter().map(Level::heap_bytes).sum()
    }
}

#[cfg(test)]
mod tests;
