//! Distribution-free uncertainty of a quantile and of the ratio of two quantiles.
//!
//! For a sample of n values the number below the true p-quantile is Binomial(n, p), so the
//! order statistics of ranks `np ± z·√(np(1−p))` bound the quantile with confidence given by
//! z, whatever the distribution (the classical order-statistic interval). We read those two
//! order statistics from the sketch, take the half-distance between their logarithms over z
//! as the standard error of the log-quantile, add the variance of the bin discretisation,
//! and combine two independent samples in quadrature: the standard error of the log of the
//! quantile ratio. This is the construction Price & Bonett (2002) use for ratios of medians,
//! applied at any quantile; its normal-theory interval `ln r ± z·se` and test `ln r / se`
//! hold for every continuous latency shape, which a parametric (lognormal) interval would not.

use super::histogram::Histogram;
use crate::sketch::LatencySketch;

/// Critical value used to read the order statistics that estimate the standard error.
const Z_SE: f64 = 1.959_963_984_540_054;

/// Fewest values beyond the quantile (n·(1−p), and n·p) for an estimate to be trusted.
pub const MIN_TAIL_COUNT: f64 = 10.0;

/// Natural log of a quantile and its standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LnQuantile {
    /// ln of the estimate.
    pub ln: f64,
    /// Standard error of `ln`.
    pub se: f64,
}

/// Whether a sample of `n` holds enough values on both sides of quantile `p`.
pub fn enough(n: u64, p: f64) -> bool {
    let n = n as f64;
    n * (1.0 - p) >= MIN_TAIL_COUNT && n * p >= MIN_TAIL_COUNT
}

/// The p-quantile of a histogram with its standard error; `None` when empty.
pub fn ln_quantile(h: &Histogram, p: f64) -> Option<LnQuantile> {
    let n = h.len();
    if n == 0 {
        return None;
    }
    let nf = n as f64;
    let centre = p * (nf - 1.0);
    let spread = Z_SE * (nf * p * (1.0 - p)).sqrt();
    let lo = h.ln_at_rank(centre - spread)?;
    let hi = h.ln_at_rank(centre + spread)?;
    let bin = LatencySketch::LN_BIN_WIDTH;
    let se_order = (hi - lo) / (2.0 * Z_SE);
    Some(LnQuantile {
        ln: h.ln_at_rank(centre)?,
        se: se_order.max(bin / 100.0),
    })
}

/// ln(candidate quantile / baseline quantile) and its standard error.
pub fn ln_ratio(candidate: &Histogram, baseline: &Histogram, p: f64) -> Option<LnQuantile> {
    let c = ln_quantile(candidate, p)?;
    let b = ln_quantile(baseline, p)?;
    Some(LnQuantile {
        ln: c.ln - b.ln,
        se: (c.se * c.se + b.se * b.se).sqrt(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_error_shrinks_like_one_over_root_n() {
        let sample = |n: usize| {
            let mut s = LatencySketch::new();
            // A deterministic lognormal-like sample via the normal quantile function.
            for i in 0..n {
                let u = (i as f64 + 0.5) / n as f64;
                s.insert((super::super::normal::quantile(u) * 0.6).exp() * 50.0);
            }
            Histogram::of(&s)
        };
        let small = ln_quantile(&sample(4_000), 0.95).unwrap();
        let large = ln_quantile(&sample(64_000), 0.95).unwrap();
        let ratio = small.se / large.se;
        assert!((3.0..5.0).contains(&ratio), "se ratio {ratio}");
        // Asymptotic theory: se = σ·√(p(1−p)/n)/φ(z_p) = 0.6·0.00345/0.1031 ≈ 0.0201 at 4,000.
        assert!((small.se - 0.0201).abs() < 0.004, "{}", small.se);
        assert!(enough(1_000, 0.99) && !enough(999, 0.99));
    }
}
