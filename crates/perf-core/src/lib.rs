//! The pure engine of ecosystem-perf: the data model and its validation, a mergeable latency
//! sketch, rolling multi-resolution views, caller summaries, and the reports built from
//! them. No I/O, no clock, no global state: time is always an argument, so everything here
//! is deterministic, testable and embeddable.

pub mod anomaly;
mod bitpack;
pub mod cache;
pub mod compare;
pub mod config;
pub mod drill;
pub mod duration;
pub mod engine;
pub mod error;
pub mod forecast;
pub mod golive;
pub mod heavy_hitters;
pub mod interner;
pub mod memory;
pub mod model;
pub mod numeric;
pub mod policy;
pub mod report;
pub mod resources;
pub mod risk;
pub mod rollup;
pub mod routing;
pub mod sketch;
pub mod slo;
pub mod stats;
pub mod tenant;
pub mod time;
mod varint;
pub mod view;

pub use config::EngineConfig;
pub use engine::Engine;
pub use error::CoreError;
pub use model::{Event, ResourceSample};
