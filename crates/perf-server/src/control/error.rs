//! What a decision can fail with, without HTTP: the http layer maps each variant to a status
//! (`AppError: From<ControlError>`), the cycle logs it under its stage's name.

use perf_store::StoreError;

/// A decision that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing by that name (service, rollout, baseline, caller).
    #[error("{0}")]
    NotFound(String),
    /// The question is malformed or cannot be answered with this configuration.
    #[error("{0}")]
    Invalid(String),
    /// The question conflicts with the current state (a taken id).
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (a stored document this binary cannot read).
    #[error("{0}")]
    Internal(String),
}
