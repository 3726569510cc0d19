//! Errors of the pure engine, with messages that say what to fix.

use thiserror::Error;

/// Everything the engine can refuse.
#[derive(Debug, Error)]
pub enum CoreError {
    /// A duration label could not be read.
    #[error("invalid duration {0:?}: write a number and a unit, e.g. 500ms, 10s, 5m, 1h, 28d")]
    InvalidDuration(String),
    /// A timestamp could not be read.
    #[error("invalid timestamp {0:?}: use RFC 3339, `YYYY-MM-DD HH:MM:SS`, or unix seconds/milliseconds")]
    InvalidTimestamp(String),
    /// An engine configuration is inconsistent.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(String),
    /// A query names a view that does not exist.
    #[error("unknown view {0:?}; the views are listed in GET /v1/overview (views) and the configuration")]
    UnknownView(String),
    /// A query is malformed.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A snapshot could not be decoded.
    #[error("snapshot is unreadable: {0}")]
    Snapshot(String),
}
