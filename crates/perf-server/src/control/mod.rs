//! The control layer: every decision over time — SLOs, anomalies, policy and the ladder,
//! routing, risk, tenants, capacity, regressions, rollouts. Stages read the engine through
//! the durable layer, keep their memory in one [`Decisions`] behind one lock, and return
//! [`Effect`](crate::effects::Effect)s that the effects layer applies; none knows about HTTP.
//!
//! Lock order: the engine, then the decisions; a stage never takes the engine while it
//! holds the decisions.
//!
//! [`Control::run_cycle`] runs every stage on its own (see [`cycle`]); this file only
//! declares the modules and re-exports what the layers above use.

pub mod anomalies;
pub mod baselines;
pub mod cache;
pub mod capacity;
pub mod capacity_plan;
pub mod cycle;
pub mod decisions;
pub mod deploy;
pub mod drills;
mod error;
pub mod gates;
pub mod golive;
pub mod ladders;
pub mod memory;
pub mod overview;
pub mod policy;
pub mod regressions;
pub mod risk;
pub mod rollouts;
pub mod routing;
pub mod slo_traffic;
pub mod slos;
pub mod tenants;

pub use cycle::{Control, CycleReport, Stage, StageCounters};
pub use decisions::{Decisions, Memory};
pub use error::ControlError;
