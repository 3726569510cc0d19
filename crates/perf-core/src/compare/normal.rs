//! The standard normal distribution, through `statrs` (its `sf` keeps precision far in the
//! upper tail, where `1 − cdf` would round to zero).

use statrs::distribution::{ContinuousCDF, Normal};

fn standard() -> Normal {
    Normal::standard()
}

/// P(Z ≤ z).
pub fn cdf(z: f64) -> f64 {
    standard().cdf(z)
}

/// P(Z > z).
pub fn sf(z: f64) -> f64 {
    standard().sf(z)
}

/// The z with P(Z ≤ z) = p, for p in (0, 1).
pub fn quantile(p: f64) -> f64 {
    standard().inverse_cdf(p)
}
