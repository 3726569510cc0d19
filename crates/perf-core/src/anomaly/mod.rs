//! Streaming anomaly detection: a per-series detector ([`detector`]), the series CSV format
//! of the offline command ([`series`]), detectors over the live views ([`online`]) and the
//! clustering of concurrent anomalies into incidents ([`cluster`]).

pub mod cluster;
pub mod detector;
pub mod online;
pub mod series;

pub use detector::{Detector, DetectorConfig, Scored};

/// Upper-tail probability of the standard normal distribution.
pub(crate) fn tail_probability(z: f64) -> f64 {
    crate::compare::normal::sf(z)
}

#[cfg(test)]
mod tests;
