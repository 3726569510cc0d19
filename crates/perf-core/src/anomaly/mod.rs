//! Streaming anomaly detection: a per-series detector ([`detector`]) and the series CSV
//! format of the offline command ([`series`]).

pub mod detector;
pub mod series;

pub use detector::{Detector, DetectorConfig, Scored};

/// Upper-tail probability of the standard normal distribution.
pub(crate) fn tail_probability(z: f64) -> f64 {
    crate::compare::normal::sf(z)
}

#[cfg(test)]
mod tests;
