//! Mergeable latency sketch with a guaranteed relative error (DDSketch semantics).
//!
//! Every value `x > 0` falls into the bin `i = ceil(ln x / ln γ)` with `γ = (1 + α) / (1 − α)`;
//! a bin answers with `2γ^i / (γ + 1)`, which is within `α` (relative) of every value of the
//! bin. A quantile is answered from the bin holding the value of the exact rank, so its
//! relative error is at most `α` against the exact quantile `sorted[floor(q · (n − 1))]`.
//! Sketches with the same `α` merge by adding bin counts, so per-node or per-bucket sketches
//! combine into exactly the sketch of all their data (no error growth).
//!
//! Why our own and not `sketches-ddsketch` or `hdrhistogram` (both benchmarked side by side in
//! `benches/sketch.rs`, figures in BENCHMARKS.md): this engine keeps one sketch per series and
//! time bucket, so the cost that matters is memory per *small* sketch and the cost of merging
//! many of them at query time. `sketches-ddsketch` allocates a dense store of at least 128
//! bins on first insert and has no sparse mode; `hdrhistogram` needs its range fixed up front
//! (and ~3 significant digits cost tens of KiB per histogram). Our store starts sparse and
//! turns dense only when that is smaller, and merges dense stores with a slice add.
//! α is 0.009 (just under the 1 % bar, so float rounding never crosses it).

mod compact;
mod store;

use serde::{Deserialize, Serialize};
pub use store::BinStore;

/// Relative accuracy guaranteed for every quantile.
pub const RELATIVE_ACCURACY: f64 = 0.009;
/// Values below this are counted as zero (they have no finite logarithmic bin).
const MIN_POSITIVE: f64 = 1e-9;
/// Values above this share the top bin; quantiles are clamped to the exact maximum anyway.
const MAX_TRACKED: f64 = 1e12;

/// `ln γ` for α = 0.009 (checked against the formula in the tests; a literal so the insert
/// path does one multiplication instead of a division by a logarithm).
const LN_GAMMA: f64 = 0.018000486023620893;
/// `1 / ln γ`.
const INV_LN_GAMMA: f64 = 1.0 / LN_GAMMA;
/// `γ`.
const GAMMA: f64 = 1.0181634712411705;

fn ln_gamma() -> f64 {
    LN_GAMMA
}

/// A DDSketch over non-negative values (latencies in milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatencySketch {
    bins: BinStore,
    zero_count: u64,
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
}

impl LatencySketch {
    /// An empty sketch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bin index of a positive value.
    #[inline]
    fn index_of(value: f64) -> i32 {
        let v = value.min(MAX_TRACKED);
        (v.ln() * INV_LN_GAMMA).ceil() as i32
    }

    /// Representative value of a bin: within α of every value the bin holds.
    #[inline]
    fn value_of(index: i32) -> f64 {
        2.0 * (index as f64 * ln_gamma()).exp() / (GAMMA + 1.0)
    }

    /// Adds one value. Negative and non-finite values are a caller bug (validation rejects
    /// them before they reach the engine); they are clamped to zero in release builds.
    #[inline]
    pub fn insert(&mut self, value: f64) {
        debug_assert!(
            value.is_finite() && value >= 0.0,
            "invalid sketch value {value}"
        );
        let value = if value.is_finite() && value > 0.0 {
            value
        } else {
            0.0
        };
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum += value;
        if value < MIN_POSITIVE {
            self.zero_count += 1;
        } else {
            self.bins.add(Self::index_of(value), 1);
        }
    }

    /// Adds every value of `other` (exactly: the result equals the sketch of both inputs).
    pub fn merge(&mut self, other: &LatencySketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.min = other.min;
            self.max = other.max;
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count += other.count;
        self.sum += other.sum;
        self.zero_count += other.zero_count;
        self.bins.merge(&other.bins);
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Sum of values (exact up to float addition).
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Exact smallest value, `None` when empty.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Exact largest value, `None` when empty.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// The value at quantile `q` in [0, 1] (rank `floor(q · (n − 1))` of the sorted values),
    /// within [`RELATIVE_ACCURACY`] of the exact one; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = (q * (self.count - 1) as f64).floor() as u64;
        if rank < self.zero_count {
            return Some(self.min);
        }
        let target = rank - self.zero_count;
        let index = self.bins.index_at_rank(target)?;
        Some(Self::value_of(index).clamp(self.min, self.max))
    }

    /// Approximate number of values `<= threshold` (exact at bin edges; used for "share of
    /// requests slower than a budget").
    pub fn count_at_most(&self, threshold: f64) -> u64 {
        if threshold < MIN_POSITIVE {
            return if threshold >= 0.0 { self.zero_count } else { 0 };
        }
        self.zero_count + self.bins.count_at_most(Self::index_of(threshold))
    }

    /// How many values share the bin of `threshold`: those [`LatencySketch::count_at_most`]
    /// cannot place on either side of it (every other value is known to be above or below).
    pub fn count_in_bin_of(&self, threshold: f64) -> u64 {
        if threshold < MIN_POSITIVE {
            return 0;
        }
        self.count_at_most(threshold) - self.count_at_most(threshold / GAMMA)
    }

    /// The value of zero-based rank `rank` among the sorted values (within α), `None` when
    /// `rank >= count`.
    pub fn value_at_rank(&self, rank: u64) -> Option<f64> {
        if rank >= self.count {
            return None;
        }
        if rank < self.zero_count {
            return Some(self.min);
        }
        let index = self.bins.index_at_rank(rank - self.zero_count)?;
        Some(Self::value_of(index).clamp(self.min, self.max))
    }

    /// The counts behind the sketch: values counted as zero, and the non-empty logarithmic
    /// bins `(index, count)` ascending. Two sketches share one bin scale, so bins of
    /// different sketches with the same index hold the same values (rank tests use this).
    pub fn histogram(&self) -> (u64, Vec<(i32, u64)>) {
        (self.zero_count, self.bins.nonzero())
    }

    /// Representative value of bin `index` of [`LatencySketch::histogram`].
    pub fn bin_value(index: i32) -> f64 {
        Self::value_of(index)
    }

    /// Width of one bin on the natural-log scale (`ln γ`).
    pub const LN_BIN_WIDTH: f64 = LN_GAMMA;

    /// Heap bytes held by the bins (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.bins.heap_bytes()
    }
}

#[cfg(test)]
mod tests;
