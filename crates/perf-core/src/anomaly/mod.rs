//! Streaming anomaly detection: a per-series detector ([`detector`]), the series CSV format
//! of the offline command ([`series`]), detectors over the live views ([`online`]) and the
//! clustering of concurrent anomalies into incidents ([`cluster`]).

pub mod cluster;
pub mod detector;
pub mod novelty;
pub mod online;
pub mod records;
pub mod series;

pub use detector::{Detector, DetectorConfig, Scored};

#[cfg(test)]
mod tests;
