//! Calibrating a detector's tail probability on the series' own history.
//!
//! The detector's raw statistic is a Gaussian tail `q` of its surprise averages. On heavy
//! tailed or overdispersed data, small `q` are far more common than their nominal rate, so
//! the same score means "rare" on one series and "Tuesday" on another. [`TailCalibrator`]
//! keeps an exponentially decayed histogram of `x = −ln q` over the last ~`window` points
//! and answers the empirical tail `P(X ≥ x)`: what fraction of this series' own recent points
//! were at least this surprising. Past the last [`SUPPORT`] points' worth of tail mass, where
//! the histogram has nothing to say, the tail is extended with the Gaussian's own shape
//! (`q / q₀` from the support point), so a point rarer than anything seen keeps its order.
//! The histogram starts from [`PRIOR_POINTS`] pseudo-points distributed as a calibrated
//! Gaussian would be, so a young series is scored as before and its own history takes over
//! as it accumulates.
//!
//! O(bins) per point; 32 `f32` bins (60 for the surprise calibrator) and four scalars.

use serde::{Deserialize, Serialize};

/// Bins over `x = −ln q` in [0, BINS · WIDTH); the last bin takes everything above.
const BINS: usize = 32;
/// Bin width in nats (32 bins reach q ≈ 4e−11).
const WIDTH: f64 = 0.75;
/// Tail mass, in points, below which the histogram hands over to the Gaussian shape.
pub const SUPPORT: f64 = 10.0;
/// Pseudo-points of the calibrated-Gaussian prior.
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

/// A decayed histogram of `−ln q`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TailCalibrator(DecayedHistogram);

impl TailCalibrator {
    /// A calibrator remembering about `window` points, primed with the Gaussian prior.
    pub fn new(window: f64) -> Self {
        // For a calibrated q, X = −ln q ~ Exp(1): P(X in [a, b)) = e^−a − e^−b.
        TailCalibrator(DecayedHistogram::new(BINS, WIDTH, window, |a, b| {
            PRIOR_POINTS * ((-a).exp() - (-b).exp())
        }))
    }

    /// The calibrated tail probability of `q`: the share of recent points at least as
    /// surprising, extended past the histogram's support with the Gaussian's shape.
    pub fn tail(&self, q: f64) -> f64 {
        let x = -q.max(1e-300).ln();
        let x0 = self.0.supported(x);
        (self.0.share_from(x0) * (-(x - x0)).exp()).min(1.0)
    }

    /// Learns one point's `q`.
    pub fn learn(&mut self, q: f64) {
        self.0.add(-q.max(1e-300).ln());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibrated_input_stays_calibrated() {
        // q uniform on (0, 1): already calibrated, P(q' ≤ q) = q.
        let mut c = TailCalibrator::new(5_000.0);
        let mut u = 0.5f64;
        for _ in 0..20_000 {
            u = (u * 7.3 + 0.137).fract();
            c.learn(u.max(1e-12));
        }
        for q in [0.5, 0.1, 0.01] {
            let t = c.tail(q);
            assert!((t / q - 1.0).abs() < 0.25, "q {q}: tail {t}");
        }
    }

    #[test]
    fn frequent_small_q_are_made_ordinary() {
        // A series where q ≈ 1e−4 happens 5 % of the time: its tail is about 5 %, not 1e−4.
        let mut c = TailCalibrator::new(5_000.0);
        for i in 0..20_000 {
            c.learn(if i % 20 == 0 { 1e-4 } else { 0.5 });
        }
        let t = c.tail(1e-4);
        assert!((0.03..0.08).contains(&t), "{t}");
        // Rarer than anything seen keeps its order, and is rarer still.
        assert!(c.tail(1e-8) < t / 100.0);
    }
}
