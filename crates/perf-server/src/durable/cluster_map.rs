//! Who owns which partition and where each replica answers (with `cluster.ownership:
//! leases`): the map the ownership rounds keep (`ownership.rs`), reads are forwarded and
//! merged by (`http/forward.rs`), and `GET /v1/cluster` shows.

use std::collections::BTreeMap;

/// Who owns which partition and where each replica answers, as the last ownership round
/// saw them (every `leaseTtl / 3`): what reads are forwarded and fanned out by.
#[derive(Debug, Clone, Default)]
pub struct ClusterMap {
    /// Partition → replica id holding its lease (unexpired).
    pub owners: BTreeMap<u32, String>,
    /// Replica id → the base URL it advertised.
    pub urls: BTreeMap<String, String>,
    /// The replica holding the `leader` lease (unexpired).
    pub leader: Option<String>,
}

/// A replica as `GET /v1/cluster` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct ReplicaView {
    /// Replica id.
    pub id: String,
    /// The base URL it advertised (reads are forwarded there).
    pub url: Option<String>,
    /// Partitions it owns.
    pub partitions: Vec<u32>,
}
