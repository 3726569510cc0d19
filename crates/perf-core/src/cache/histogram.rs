//! A weighted histogram of non-negative values on log-linear bins: bin 0 holds values below
//! 1, then each power of two is cut into [`SUB_BINS`] equal parts (≈ 3 % wide), up to 2^40.
//! It holds the scaled reuse distances of a cache space (entries) and its reuse times
//! (milliseconds). Weights are `f64` because SHARDS rescales them when its sampling rate
//! drops and adds a (possibly negative) correction to the first bin.
//!
//! Written here rather than taken from a crate: the latency sketch's bins are for latencies
//! and count integers; HDR histograms count integers too and cannot be rescaled.

use serde::{Deserialize, Serialize};

/// Bins per power of two.
pub const SUB_BINS: usize = 32;
/// Powers of two covered (values up to 2^40: a trillion entries, 35 years in ms).
const OCTAVES: usize = 40;
/// Number of bins.
pub const BINS: usize = 1 + OCTAVES * SUB_BINS;

/// See the module doc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    weights: Vec<f64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            weights: vec![0.0; BINS],
        }
    }
}

/// Mantissa bits of an `f64`.
const MANTISSA_BITS: u32 = 52;
/// log2 of [`SUB_BINS`]: the top mantissa bits that name the sub-bin.
const SUB_BITS: u32 = SUB_BINS.trailing_zeros();

/// The bin of `value` (≥ 0; larger than the range goes to the last bin). Read off the
/// float's bits: the exponent is the octave, the top mantissa bits the sub-bin (exactly
/// `floor((value / 2^octave − 1) · SUB_BINS)`), so recording a reuse costs no logarithm.
#[inline]
pub fn bin_of(value: f64) -> usize {
    if value.is_nan() || value < 1.0 {
        return 0;
    }
    let bits = value.to_bits();
    let octave = ((bits >> MANTISSA_BITS) & 0x7ff) as usize - 1023;
    if octave >= OCTAVES {
        return BINS - 1;
    }
    let sub = ((bits >> (MANTISSA_BITS - SUB_BITS)) & (SUB_BINS as u64 - 1)) as usize;
    1 + octave * SUB_BINS + sub
}

/// The lower edge of bin `i` (0 for bin 0).
pub fn lower_edge(i: usize) -> f64 {
    if i == 0 {
        return 0.0;
    }
    let octave = (i - 1) / SUB_BINS;
    let sub = (i - 1) % SUB_BINS;
    (1u64 << octave) as f64 * (1.0 + sub as f64 / SUB_BINS as f64)
}

/// The upper edge of bin `i` (1 for bin 0).
pub fn upper_edge(i: usize) -> f64 {
    if i == 0 {
        1.0
    } else {
        lower_edge(i + 1)
    }
}

impl Histogram {
    /// Adds `weight` at `value`.
    pub fn add(&mut self, value: f64, weight: f64) {
        self.weights[bin_of(value)] += weight;
    }

    /// Adds `weight` to bin 0 (values below 1).
    pub fn add_to_first(&mut self, weight: f64) {
        self.weights[0] += weight;
    }

    /// Multiplies every weight by `factor`.
    pub fn scale(&mut self, factor: f64) {
        for w in &mut self.weights {
            *w *= factor;
        }
    }

    /// Adds another histogram's weights.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.weights.iter_mut().zip(&other.weights) {
            *a += b;
        }
    }

    /// Sum of the weights.
    pub fn total(&self) -> f64 {
        self.weights.iter().sum()
    }

    /// Weight of values at least `x`, interpolating linearly inside the bin holding `x`.
    pub fn weight_at_least(&self, x: f64) -> f64 {
        let i = bin_of(x);
        let (lo, hi) = (lower_edge(i), upper_edge(i));
        let inside = self.weights[i] * ((hi - x) / (hi - lo)).clamp(0.0, 1.0);
        inside + self.weights[i + 1..].iter().sum::<f64>()
    }

    /// The smallest value with at least `fraction` of the weight at or below it,
    /// interpolated inside its bin; `None` when empty.
    pub fn quantile(&self, fraction: f64) -> Option<f64> {
        let total = self.total();
        if total <= 0.0 {
            return None;
        }
        let target = fraction.clamp(0.0, 1.0) * total;
        let mut below = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            if *w > 0.0 && below + w >= target {
                let within = ((target - below) / w).clamp(0.0, 1.0);
                return Some(lower_edge(i) + within * (upper_edge(i) - lower_edge(i)));
            }
            below += w.max(0.0);
        }
        Some(lower_edge(BINS - 1))
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.weights.capacity() * std::mem::size_of::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_range_in_order_and_edges_bracket_their_values() {
        let mut last = 0;
        for v in [0.0, 0.5, 1.0, 1.03, 1.5, 2.0, 3.0, 100.0, 1e6, 1e9, 1e12] {
            let i = bin_of(v);
            assert!(i >= last, "{v}");
            last = i;
            assert!(
                lower_edge(i) <= v && (v < upper_edge(i) || i == BINS - 1),
                "{v} in {i}"
            );
            assert!(upper_edge(i) / lower_edge(i).max(1.0) <= 1.0 + 1.0 / SUB_BINS as f64 + 1e-9);
        }
        assert_eq!(bin_of(f64::NAN), 0);
        // The bit reading is the arithmetic definition.
        for v in (0..200_000).map(|i| 1.0 + i as f64 * 0.731) {
            let octave = v.log2().floor() as usize;
            let sub = ((v / (1u64 << octave) as f64 - 1.0) * SUB_BINS as f64) as usize;
            assert_eq!(bin_of(v), 1 + octave * SUB_BINS + sub, "{v}");
        }
        assert_eq!(bin_of(1e30), BINS - 1);
    }

    #[test]
    fn tail_weight_and_quantiles_follow_the_values() {
        let mut h = Histogram::default();
        for v in 1..=1000 {
            h.add(v as f64, 1.0);
        }
        assert!((h.total() - 1000.0).abs() < 1e-9);
        // 500 values ≥ 501; within one bin's width.
        assert!((h.weight_at_least(501.0) - 500.0).abs() < 16.0);
        let median = h.quantile(0.5).unwrap();
        assert!((median - 500.0).abs() < 16.0, "{median}");
        h.scale(0.5);
        assert!((h.total() - 500.0).abs() < 1e-9);
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
