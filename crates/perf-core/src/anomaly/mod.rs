//! Streaming anomaly detection: a per-series detector ([`detector`]; its alerts need rarity
//! on the series' own extrapolated tail, [`surprise_tail`]), the series CSV format
//! of the offline command ([`series`]), detectors over the live views ([`online`]) with a
//! count check on error rates ([`error_counts`]) and the clustering of concurrent anomalies
//! into incidents ([`cluster`]), whose excess errors or slow requests are attributed from counts
//! ([`excess_cause`]).

pub mod calibration;
pub mod cause;
pub mod cluster;
pub mod detector;
pub mod error_counts;
pub mod excess_cause;
pub mod incident;
pub mod novelty;
pub mod online;
pub mod records;
pub mod series;
pub mod surprise_tail;

pub use detector::{Detector, DetectorConfig, Scored, Tuning};

#[cfg(test)]
mod tests;
