//! A resource sample: what one node (or a whole service) has left.

use serde::{Deserialize, Serialize};

/// One validated resource sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSample {
    /// Sample time, unix milliseconds.
    pub ts_ms: i64,
    /// Service.
    pub service: String,
    /// Node.
    pub node: String,
    /// CPU utilisation of the allocation, 0–1.
    pub cpu: Option<f64>,
    /// Memory utilisation of the allocation, 0–1.
    pub memory: Option<f64>,
    /// Requests in flight.
    pub inflight: Option<u64>,
    /// Maximum sustainable requests per second.
    pub capacity_rps: Option<f64>,
    /// Replicas (service-level sample).
    pub replicas: Option<u32>,
    /// Sizes of the node's caches by cache space, entries (`cacheSizes`). Written to the
    /// ingest log in its own record layout (`log_wire.rs`), kept out of the engine's
    /// snapshot (`Resources` keeps the latest report per space apart).
    #[serde(skip)]
    pub cache_sizes: Vec<(String, u64)>,
}
