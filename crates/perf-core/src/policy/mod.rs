//! Operation policies and the degradation ladder (the Qflow hook).
//!
//! - [`ladder`]: levels L0 normal … L4 essential only, entered on burn rate, requests over their
//!   budget or utilisation once they have asked for it for a confirmation time, left after a
//!   dwell time (hysteresis), each in one move.
//! - [`concurrency`]: an adaptive concurrency limit per service (Gradient2-style) that says
//!   how loaded a service is.
//! - [`mod@decide`]: one decision — proceed, queue_deferral, cache_fallback or reject — from a
//!   request's priority and cacheability and the service's context; pure and O(1), the call
//!   a service embeds.

pub mod concurrency;
pub mod config;
pub mod decide;
pub mod ladder;

pub use concurrency::ConcurrencyLimit;
pub use config::{LadderConfig, LevelThresholds, PolicyConfig};
pub use decide::{decide, Decision, PolicyRequest, Priority, ServiceContext};
pub use ladder::{
    burn_rate_estimate, burn_rate_signal, slow_ratio_estimate, slow_ratio_signal, AlertChange,
    Ladder, LadderSignals, PastTransition, Transition, HISTORY as LADDER_HISTORY,
};

#[cfg(test)]
mod tests;
