//! A latency sketch seen as a histogram on the shared logarithmic bin scale, for the rank
//! statistics of the comparison engine. Bin `i` holds the values in `(γ^(i−1), γ^i]`, the
//! same bins in every sketch, so two samples can be ranked against each other bin by bin
//! (values in one bin are ties), and a quantile can be read at a fractional rank by
//! interpolating log-uniformly inside its bin (continuous estimates instead of 1.8 % steps).

use crate::sketch::LatencySketch;

/// Log-latency used for values counted as zero (1 µs): they have no logarithm.
const LN_ZERO_STANDIN: f64 = -6.907_755_278_982_137;

/// Counts per bin with running totals.
#[derive(Debug, Clone)]
pub struct Histogram {
    zero: u64,
    bins: Vec<(i32, u64)>,
    /// `cum[k]` = zero + counts of bins `0..k`.
    cum: Vec<u64>,
    n: u64,
}

impl Histogram {
    /// The histogram of a sketch.
    pub fn of(sketch: &LatencySketch) -> Self {
        let (zero, bins) = sketch.histogram();
        let mut cum = Vec::with_capacity(bins.len() + 1);
        let mut total = zero;
        for &(_, c) in &bins {
            cum.push(total);
            total += c;
        }
        Histogram {
            zero,
            bins,
            cum,
            n: total,
        }
    }

    /// Number of values.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True without values.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Values counted as zero.
    pub fn zero(&self) -> u64 {
        self.zero
    }

    /// Non-empty bins, ascending.
    pub fn bins(&self) -> &[(i32, u64)] {
        &self.bins
    }

    /// Natural log of the value at fractional zero-based rank `rank` in `[0, n − 1]`,
    /// interpolated log-uniformly inside its bin; `None` when empty.
    pub fn ln_at_rank(&self, rank: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = rank.clamp(0.0, (self.n - 1) as f64);
        if rank < self.zero as f64 {
            return Some(LN_ZERO_STANDIN);
        }
        // The bin whose ranks [cum, cum + count) contain floor(rank).
        let whole = rank.floor() as u64;
        let k = self.cum.partition_point(|&c| c <= whole).saturating_sub(1);
        let (index, count) = self.bins[k];
        // Spread the bin's `count` values evenly over its log-width: value j of the bin sits
        // at fraction (j + 0.5) / count.
        let within = ((rank - self.cum[k] as f64 + 0.5) / count as f64).clamp(0.0, 1.0);
        Some((f64::from(index) - 1.0 + within) * LatencySketch::LN_BIN_WIDTH)
    }

    /// Natural log of quantile `q` (fractional rank `q · (n − 1)`).
    pub fn ln_quantile(&self, q: f64) -> Option<f64> {
        self.ln_at_rank(q * self.n.saturating_sub(1) as f64)
    }
}

/// Distribution of the pairwise log-differences `ln c − ln b` over all candidate/baseline
/// pairs, in bin units (one entry per integer bin difference), for the Hodges–Lehmann
/// shift and its Moses confidence interval.
#[derive(Debug, Clone)]
pub struct PairDifferences {
    /// Smallest difference held in `weights[0]`.
    min: i64,
    weights: Vec<f64>,
    total: f64,
}

impl PairDifferences {
    /// All pairs of two histograms; values counted as zero sit one bin below the lowest
    /// non-empty bin of either side. Cost: (bins of one) × (bins of the other).
    pub fn of(candidate: &Histogram, baseline: &Histogram) -> Option<Self> {
        if candidate.is_empty() || baseline.is_empty() {
            return None;
        }
        let lowest = candidate
            .bins
            .first()
            .into_iter()
            .chain(baseline.bins.first())
            .map(|b| i64::from(b.0))
            .min()
            .unwrap_or(0)
            - 1;
        let expand = |h: &Histogram| -> Vec<(i64, f64)> {
            let mut v = Vec::with_capacity(h.bins.len() + 1);
            if h.zero > 0 {
                v.push((lowest, h.zero as f64));
            }
            v.extend(h.bins.iter().map(|&(i, c)| (i64::from(i), c as f64)));
            v
        };
        let (c, b) = (expand(candidate), expand(baseline));
        let min = c[0].0 - b[b.len() - 1].0;
        let max = c[c.len() - 1].0 - b[0].0;
        let mut weights = vec![0.0; (max - min + 1) as usize];
        for &(ic, wc) in &c {
            let base = ic - min;
            for &(ib, wb) in &b {
                weights[(base - ib) as usize] += wc * wb;
            }
        }
        let total = weights.iter().sum();
        Some(PairDifferences {
            min,
            weights,
            total,
        })
    }

    /// Number of pairs.
    pub fn pairs(&self) -> f64 {
        self.total
    }

    /// The difference (ln scale) below which `target` of the pair weight lies, spreading
    /// each integer difference uniformly over `[d − 0.5, d + 0.5]` bins.
    pub fn ln_at_weight(&self, target: f64) -> f64 {
        let target = target.clamp(0.0, self.total);
        let mut seen = 0.0;
        for (k, &w) in self.weights.iter().enumerate() {
            if w > 0.0 && seen + w >= target {
                let frac = (target - seen) / w;
                let d = (self.min + k as i64) as f64 - 0.5 + frac;
                return d * LatencySketch::LN_BIN_WIDTH;
            }
            seen += w;
        }
        (self.min + self.weights.len() as i64) as f64 * LatencySketch::LN_BIN_WIDTH
    }

    /// Hodges–Lehmann shift: the median pairwise log-difference.
    pub fn hodges_lehmann(&self) -> f64 {
        self.ln_at_weight(self.total / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch(values: impl IntoIterator<Item = f64>) -> LatencySketch {
        let mut s = LatencySketch::new();
        for v in values {
            s.insert(v);
        }
        s
    }

    #[test]
    fn interpolated_quantiles_are_within_the_sketch_accuracy() {
        let values: Vec<f64> = (1..=10_000).map(|i| i as f64 * 0.37).collect();
        let h = Histogram::of(&sketch(values.iter().copied()));
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let exact = values[(q * 9_999.0) as usize];
            let got = h.ln_quantile(q).unwrap().exp();
            assert!((got / exact - 1.0).abs() < 0.019, "q={q}: {got} vs {exact}");
        }
    }

    #[test]
    fn hodges_lehmann_recovers_a_multiplicative_shift() {
        let base: Vec<f64> = (1..=2_000).map(|i| 10.0 + i as f64 * 0.05).collect();
        let cand: Vec<f64> = base.iter().map(|v| v * 1.07).collect();
        let d = PairDifferences::of(
            &Histogram::of(&sketch(cand.iter().copied())),
            &Histogram::of(&sketch(base.iter().copied())),
        )
        .unwrap();
        assert!(
            (d.hodges_lehmann().exp() - 1.07).abs() < 0.01,
            "{}",
            d.hodges_lehmann().exp()
        );
        assert_eq!(d.pairs(), 4_000_000.0);
    }
}
