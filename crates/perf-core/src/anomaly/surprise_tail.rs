//! How rare a point's surprise is on *this* series, far past what its history has shown.
//!
//! An alert is meant to be rarer than about one in 10,000 points on any series without
//! anomalies. A rank over the series' last few thousand points cannot say "1 in 10,000" (it
//! has not seen 10,000), and the score's Gaussian tail says it far too often on heavy tailed
//! data (Pareto noise or overdispersed counts reach 5–9 typical residuals every few days).
//! [`SurpriseTail`] extrapolates instead, as peaks-over-threshold statistics do: above
//! [`THRESHOLD`] typical residuals the surprises are taken to follow a power law,
//! `P(S ≥ s) = ζ · (s / THRESHOLD)^(−1/γ)`, with `ζ` the series' share of points above the
//! threshold and `γ` Hill's estimator, the mean of `ln(s / THRESHOLD)` over those points.
//! A power law is the tail of Pareto noise and of bursty counts; fitted on Gaussian,
//! Poisson or lognormal surprises it is heavier than theirs, so on light tails the estimate
//! errs towards "not so rare" (an alert needs a larger surprise than the Gaussian bar), not
//! towards false alarms. (The moment estimator of Dekkers, Einmahl and de Haan, which fits
//! light tails too, was measured here and not taken: its second moment is so noisy on a few
//! hundred excesses that it fitted heavier tails than Hill's on count series.)
//!
//! Streaming and O(1): `ζ` is an exponentially weighted share over ~[`SHARE_MEMORY`]
//! points, `γ` an exponentially weighted mean over the last ~[`EXCESS_MEMORY`] points above
//! the threshold, each starting from a prior (2 %, and `γ` = [`PRIOR_SHAPE`] worth
//! [`PRIOR_EXCEEDANCES`] points) so a young series is judged cautiously. An excess past
//! the current fit's 1-in-100,000 level is learnt as if at that level, so one anomaly does
//! not make a series heavy-tailed while a tail that really is heavier still pushes the fit
//! out. Four `f32`s: the detector's state stays under 4 KB, where a histogram of the
//! surprises would not.
//!
//! The detector feeds it from its first point, warm-up included, when the running scale is
//! still settling and surprises run large (learnt clipped, at the prior's 1-in-100,000
//! level): those few excesses keep a young series' fit heavier than the prior alone for its
//! first few hundred excesses. Measured, not designed: skipping them raises Pareto noise's
//! false alerts from 0.85 to 1.58 per 10,000 points (BENCHMARKS.md), so they stay until an
//! explicit cautious prior that does the same is chosen.
//!
//! Written here rather than taken from a crate: the streaming extreme-value libraries fit a
//! generalised Pareto by maximum likelihood over stored excesses (SPOT), which needs the
//! excesses kept per series; the Hill form needs two numbers.

use serde::{Deserialize, Serialize};

/// Where the tail starts, in typical residuals (the surprise's unit): about the top 2 % of
/// Gaussian noise.
pub const THRESHOLD: f64 = 3.0;
/// Points the share above the threshold remembers.
pub const SHARE_MEMORY: f64 = 10_000.0;
/// Points above the threshold the tail's index remembers (~15,000 points at 2 %).
pub const EXCESS_MEMORY: f64 = 300.0;
/// Pseudo-points of the prior share.
const PRIOR_POINTS: f64 = 1_500.0;
/// The prior share above the threshold (Gaussian noise: ~2 %).
const PRIOR_SHARE: f64 = 0.02;
/// Pseudo-exceedances of the prior tail index.
pub const PRIOR_EXCEEDANCES: f64 = 10.0;
/// The prior tail index `γ` (a power law of index ~7; Gaussian noise fits ~0.13, the
/// synthetic Pareto noise of index 2.5 fits ~0.5).
pub const PRIOR_SHAPE: f64 = 0.15;
/// Excesses past the current fit's level of this tail are learnt as if at that level.
const CLIP_TAIL: f64 = 1e-5;

/// Streaming peaks-over-threshold (Hill) fit of the upper tail of a series' surprises.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurpriseTail {
    /// Points learnt (f32 throughout: counts only matter up to the memories, and the
    /// detector's state stays under 4 KB).
    points: f32,
    /// Exponentially weighted share of the points above [`THRESHOLD`].
    share: f32,
    /// Points above it so far.
    exceedances: f32,
    /// Exponentially weighted mean of `ln(s / THRESHOLD)` over them.
    log_excess: f32,
}

impl Default for SurpriseTail {
    fn default() -> Self {
        SurpriseTail {
            points: 0.0,
            share: PRIOR_SHARE as f32,
            exceedances: 0.0,
            log_excess: 0.0,
        }
    }
}

impl SurpriseTail {
    /// Estimated share of this series' points with a surprise at least `s` (1 at or below
    /// the threshold).
    pub fn tail(&self, s: f64) -> f64 {
        if s <= THRESHOLD {
            return 1.0;
        }
        f64::from(self.share).max(1e-6) * (-(s / THRESHOLD).ln() / self.index()).exp()
    }

    /// The surprise whose estimated tail is `p` (at least the threshold).
    pub fn level_at(&self, p: f64) -> f64 {
        let ln_ratio = (f64::from(self.share).max(1e-6) / p.max(1e-300))
            .ln()
            .max(0.0);
        THRESHOLD * (self.index() * ln_ratio).exp()
    }

    /// The tail index `γ`: Hill's estimate on the excesses seen, blended with the prior by
    /// their counts.
    pub fn index(&self) -> f64 {
        let k = f64::from(self.exceedances).min(EXCESS_MEMORY);
        let w = k / (k + PRIOR_EXCEEDANCES);
        (w * f64::from(self.log_excess) + (1.0 - w) * PRIOR_SHAPE).max(1e-3)
    }

    /// Learns one point's surprise.
    pub fn learn(&mut self, s: f64) {
        self.points += 1.0;
        let above = s > THRESHOLD;
        let w = 1.0 / (f64::from(self.points) + PRIOR_POINTS).min(SHARE_MEMORY);
        let share = f64::from(self.share);
        self.share = (share + w * (f64::from(u8::from(above)) - share)) as f32;
        if above {
            let excess = (s.min(self.level_at(CLIP_TAIL)) / THRESHOLD).ln();
            self.exceedances += 1.0;
            let w = 1.0 / f64::from(self.exceedances).min(EXCESS_MEMORY);
            let mean = f64::from(self.log_excess);
            self.log_excess = (mean + w * (excess - mean)) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal, Pareto};

    /// The share of `samples` at or above the estimated `p` level, after learning on them.
    fn realised_share(samples: &[f64], p: f64) -> f64 {
        let mut t = SurpriseTail::default();
        let mut above = 0;
        let warm = 5_000;
        for (i, &s) in samples.iter().enumerate() {
            if i >= warm && t.tail(s) <= p {
                above += 1;
            }
            t.learn(s);
        }
        above as f64 / (samples.len() - warm) as f64
    }

    #[test]
    fn a_pareto_tail_is_extrapolated_to_its_rate() {
        // Pareto index 2.5 (γ = 0.4): the level of 1 in 1,000 is met about that often,
        // though it lies far past the threshold, where few points have been seen.
        let mut rng = StdRng::seed_from_u64(5);
        let d = Pareto::new(1.0, 2.5).unwrap();
        let samples: Vec<f64> = (0..400_000).map(|_| d.sample(&mut rng)).collect();
        let share = realised_share(&samples, 1e-3);
        assert!((0.4e-3..2.5e-3).contains(&share), "{share}");
    }

    #[test]
    fn on_gaussian_surprises_the_estimate_errs_towards_not_rare() {
        let mut rng = StdRng::seed_from_u64(6);
        let n = Normal::new(0.0, 1.0).unwrap();
        let samples: Vec<f64> = (0..400_000)
            .map(|_| f64::abs(n.sample(&mut rng)) / 0.798)
            .collect();
        let share = realised_share(&samples, 1e-3);
        assert!(share <= 1.2e-3, "{share}");
        // … but not so far that a Gaussian series never reaches a level of 1 in 10,000.
        let mut t = SurpriseTail::default();
        for &s in &samples {
            t.learn(s);
        }
        let bar = t.level_at(1e-4);
        assert!((4.0..10.0).contains(&bar), "{bar}");
    }

    #[test]
    fn one_anomaly_does_not_make_a_series_heavy_tailed() {
        let mut rng = StdRng::seed_from_u64(8);
        let n = Normal::new(0.0, 1.0).unwrap();
        let mut t = SurpriseTail::default();
        for _ in 0..20_000 {
            t.learn(f64::abs(n.sample(&mut rng)) / 0.798);
        }
        let before = t.index();
        t.learn(1_000.0);
        let after = t.index();
        assert!(after - before < 0.01, "{before} → {after}");
        // A tail that really is heavier pushes the fit out.
        let d = Pareto::new(1.0, 2.0).unwrap();
        for _ in 0..20_000 {
            t.learn(3.0 * d.sample(&mut rng));
        }
        assert!(t.index() > 0.35, "{}", t.index());
    }
}
