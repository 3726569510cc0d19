//! Making a series' point surprises mean the same on every shape.
//!
//! The detector's surprise is a residual over its typical size; on heavy-tailed, skewed or
//! count data large surprises are far more common than on Gaussian noise, so the same score
//! means "rare" on one series and "Tuesday" on another. [`SurpriseCalibrator`] keeps an
//! exponentially decayed histogram of the series' recent surprises and maps each to the
//! surprise a Gaussian residual would have at the same tail probability (a normal-score
//! transform). Past the last [`SUPPORT`] points' worth of tail mass, where the histogram has
//! nothing to say, the excess is added as it is, so a point rarer than anything seen keeps
//! its order. The histogram starts from [`PRIOR_POINTS`] pseudo-points of the Gaussian
//! surprise distribution, so a young series is scored as before.
//!
//! (Calibrating the final tail probability on the series' own history instead was measured
//! and removed as the score: it cost the NAB subset 14–20 points; BENCHMARKS.md.)
//!
//! [`ScoreRank`] does calibrate the final score on the series' own history, but beside the
//! score rather than instead of it: `percentile` is the share of the series' recent points
//! that scored lower, the same meaning on every shape, reported with every point.
//!
//! O(bins) per point; 60 (surprises) or 40 (scores) `f32` bins and four scalars.

use serde::{Deserialize, Serialize};

/// Tail mass, in points, below which the histogram hands over to the raw excess.
pub const SUPPORT: f64 = 10.0;
/// Pseudo-points of the Gaussian prior.
pub const PRIOR_POINTS: f64 = 200.0;
/// Bins of the surprise histogram over `u = ln(1 + s)`.
const S_BINS: usize = 60;
/// Their width (60 bins reach s ≈ 400).
const S_WIDTH: f64 = 0.1;
/// E|Z| for a standard normal: a Gaussian residual over its mean absolute value.
const HALF_NORMAL_MEAN: f64 = 0.797_884_560_802_865_4;

/// An exponentially decayed histogram over [0, bins · width), the last bin open-ended. New
/// points weigh `inc`, which grows instead of every bin decaying (O(1) learning), and is
/// folded back into the bins before it overflows.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DecayedHistogram {
    bins: Vec<f32>,
    width: f64,
    inc: f64,
    total: f64,
    keep: f64,
}

impl DecayedHistogram {
    /// A histogram remembering about `window` points, starting from `prior(lower edge, upper
    /// edge or infinity)` points per bin.
    fn new(bins: usize, width: f64, window: f64, prior: impl Fn(f64, f64) -> f64) -> Self {
        let bins: Vec<f32> = (0..bins)
            .map(|k| {
                let hi = if k + 1 == bins {
                    f64::INFINITY
                } else {
                    (k + 1) as f64 * width
                };
                prior(k as f64 * width, hi) as f32
            })
            .collect();
        let total = bins.iter().map(|&b| f64::from(b)).sum();
        DecayedHistogram {
            bins,
            width,
            inc: 1.0,
            total,
            keep: 1.0 - 1.0 / window.max(1.0),
        }
    }

    fn bin(&self, x: f64) -> usize {
        ((x / self.width).max(0.0) as usize).min(self.bins.len() - 1)
    }

    /// Weight at or above `x`, interpolating within its bin.
    fn mass_from(&self, x: f64) -> f64 {
        let k = self.bin(x);
        let above: f64 = self.bins[k + 1..].iter().map(|&b| f64::from(b)).sum();
        let frac = if k + 1 == self.bins.len() {
            1.0
        } else {
            ((k + 1) as f64 * self.width - x).clamp(0.0, self.width) / self.width
        };
        above + frac * f64::from(self.bins[k])
    }

    /// The share of the weight at or above `x`.
    fn share_from(&self, x: f64) -> f64 {
        (self.mass_from(x) / self.total).min(1.0)
    }

    /// The largest `x' ≤ x` (in half-bin steps) with at least [`SUPPORT`] recent points'
    /// weight at or above it: where the histogram still knows the tail.
    fn supported(&self, x: f64) -> f64 {
        let support = SUPPORT * self.inc;
        let mut x0 = x;
        while x0 > 0.0 && self.mass_from(x0) < support {
            x0 -= self.width / 2.0;
        }
        x0.max(0.0)
    }

    fn add(&mut self, x: f64) {
        self.inc /= self.keep;
        let k = self.bin(x);
        self.bins[k] += self.inc as f32;
        self.total += self.inc;
        if self.inc > 1e20 {
            for b in &mut self.bins {
                *b = (f64::from(*b) / self.inc) as f32;
            }
            self.total /= self.inc;
            self.inc = 1.0;
        }
    }
}

/// Makes a series' point surprises (|residual| / typical residual) Gaussian-shaped: each is
/// replaced by the surprise a Gaussian residual would have at the same tail probability
/// under this series' own recent surprises (a normal-score transform). Downstream, averages
/// and their tails then mean the same on heavy-tailed, skewed or count data as on Gaussian
/// noise. Past the histogram's support the excess is added as it is, so order is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SurpriseCalibrator(DecayedHistogram);

impl SurpriseCalibrator {
    /// A calibrator remembering about `window` points, primed with [`PRIOR_POINTS`] of the
    /// Gaussian surprise distribution (so a young series is scored as before).
    pub fn new(window: f64) -> Self {
        // s = |Z| / E|Z| over u = ln(1 + s): P(S ≥ s) = 2·sf(s·E|Z|).
        let tail = |u: f64| {
            if u.is_infinite() {
                0.0
            } else {
                2.0 * crate::compare::normal::sf(u.exp_m1() * HALF_NORMAL_MEAN)
            }
        };
        SurpriseCalibrator(DecayedHistogram::new(S_BINS, S_WIDTH, window, |a, b| {
            PRIOR_POINTS * (tail(a) - tail(b))
        }))
    }

    /// The Gaussian-shaped surprise of `s`.
    pub fn gaussianize(&self, s: f64) -> f64 {
        let u = s.max(0.0).ln_1p();
        let u0 = self.0.supported(u);
        let p = self.0.share_from(u0).max(1e-300);
        let g = crate::compare::normal::quantile(1.0 - p / 2.0).max(0.0) / HALF_NORMAL_MEAN;
        g + (s - u0.exp_m1()).max(0.0)
    }

    /// Learns one point's surprise.
    pub fn learn(&mut self, s: f64) {
        self.0.add(s.max(0.0).ln_1p());
    }
}

/// Bins of the score histogram over `u = 10 · score` (decades of tail probability).
const R_BINS: usize = 40;
/// Their width: a quarter decade (the last bin holds score 1).
const R_WIDTH: f64 = 0.25;

/// Where a score stands among this series' own recent scores: `percentile(score)` is the
/// share of the last ~`window` points (exponentially decayed) that scored lower, so 0.99
/// means "higher than 99 % of this series' recent points", whatever the series' shape. The
/// histogram starts from [`PRIOR_POINTS`] pseudo-points of the nominal score distribution
/// (tail probabilities uniform: `P(score ≥ s) = 10^(−10 s)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreRank(DecayedHistogram);

impl ScoreRank {
    /// Bytes its bins take on the heap.
    pub const HEAP_BYTES: usize = R_BINS * std::mem::size_of::<f32>();

    /// A rank remembering about `window` points.
    pub fn new(window: f64) -> Self {
        let tail = |u: f64| if u.is_infinite() { 0.0 } else { 10f64.powf(-u) };
        ScoreRank(DecayedHistogram::new(R_BINS, R_WIDTH, window, |a, b| {
            PRIOR_POINTS * (tail(a) - tail(b))
        }))
    }

    /// The share of recent points with a lower score (0 for a score of 0).
    pub fn percentile(&self, score: f64) -> f64 {
        if score <= 0.0 {
            return 0.0;
        }
        1.0 - self.0.share_from(10.0 * score.min(1.0))
    }

    /// Learns one point's score.
    pub fn learn(&mut self, score: f64) {
        self.0.add(10.0 * score.clamp(0.0, 1.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, LogNormal, Normal};

    #[test]
    fn gaussian_surprises_stay_as_they_are() {
        let mut c = SurpriseCalibrator::new(5_000.0);
        let normal = Normal::new(0.0, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..20_000 {
            let z: f64 = normal.sample(&mut rng);
            c.learn(z.abs() / HALF_NORMAL_MEAN);
        }
        for s in [1.0, 2.0, 3.0] {
            let g = c.gaussianize(s);
            assert!((g / s - 1.0).abs() < 0.1, "{s} → {g}");
        }
    }

    #[test]
    fn heavy_tailed_surprises_are_made_ordinary_and_keep_their_order() {
        // Lognormal surprises scaled to mean 1: a 6 is common here, rare for a Gaussian.
        let mut c = SurpriseCalibrator::new(5_000.0);
        let ln = LogNormal::new(0.0, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(4);
        let mean = (0.5f64).exp();
        for _ in 0..20_000 {
            c.learn(ln.sample(&mut rng) / mean);
        }
        let g6 = c.gaussianize(6.0);
        assert!(g6 < 4.0, "{g6}");
        assert!(c.gaussianize(3.0) < g6 && g6 < c.gaussianize(12.0));
        // Far past anything seen, the excess counts as it is.
        assert!(c.gaussianize(500.0) > 400.0);
    }
}
