//! Deterministic generator of the demo ecosystem (docs/ARCHITECTURE.md §8): five services with their
//! operations and nodes, DAO tenants, thousands of callers with a Zipf-like popularity, a
//! daily traffic shape, lognormal latency bodies with heavy Pareto tails, errors, cache hits,
//! costs, stage timings and resource samples. Incidents are pluggable ([`Incident`]): each
//! one may rewrite the events of its time span. Same seed, same events.
//!
//! [`des`] is a discrete-event simulator of routing and overload control that runs
//! ecosystem-perf's decision code in a closed loop.

mod cache_model;
mod demo_script;
pub mod des;
mod ecosystem;
mod generator;
mod incident;
mod repeating;

pub use cache_model::{CacheSim, CacheSpec};
pub use demo_script::add_hourly_incidents;
pub use ecosystem::{demo_ecosystem, Ecosystem, OperationSpec, ServiceSpec, DEMO_MEAN_UTILISATION};
pub use generator::Generator;
pub use incident::{
    AbusiveCaller, Canary, ErrorBurst, Incident, NodeSlowdown, TenantSurge, TrafficGrowth,
};
pub use repeating::Repeating;
