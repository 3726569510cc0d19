//! A validated request event, as the engine and the ingest log keep it.

use serde::{Deserialize, Serialize};

/// Which latency budgets apply to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestClass {
    /// A read (the default).
    #[default]
    Read,
    /// A simple write.
    Write,
    /// A write spanning several steps or services.
    ComplexWrite,
}

impl RequestClass {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestClass::Read => "read",
            RequestClass::Write => "write",
            RequestClass::ComplexWrite => "complex_write",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(RequestClass::Read),
            "write" => Some(RequestClass::Write),
            "complex_write" => Some(RequestClass::ComplexWrite),
            _ => None,
        }
    }
}

/// Cache outcome of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    /// Served from cache.
    Hit,
    /// Looked up, not found.
    Miss,
}

/// One request, validated (every field within its documented range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When the request finished, unix milliseconds.
    pub ts_ms: i64,
    /// Service name.
    pub service: String,
    /// Route / RPC / operation.
    pub operation: String,
    /// Instance that served it.
    pub node: String,
    /// Latency budget class.
    pub class: RequestClass,
    /// DAO / subnet / customer.
    pub tenant: Option<String>,
    /// Caller identity.
    pub entity: Option<String>,
    /// Deployed version.
    pub version: Option<String>,
    /// Duration in milliseconds, finite and >= 0.
    pub latency_ms: f64,
    /// Outcome.
    pub ok: bool,
    /// Cache outcome.
    pub cache: Option<CacheOutcome>,
    /// Cache key space.
    pub cache_space: Option<String>,
    /// The cache key as a 64-bit hash (XXH3 of the key; with `privacy.hashCallers`, keyed by
    /// the server): the key itself is never kept.
    pub cache_key: Option<u64>,
    /// Cost in currency units, >= 0.
    pub cost: Option<f64>,
    /// Time per stage in milliseconds.
    pub stages: Vec<(String, f64)>,
}

impl Event {
    /// A minimal valid event (tests, simulator).
    pub fn new(ts_ms: i64, service: &str, operation: &str, latency_ms: f64) -> Self {
        Event {
            ts_ms,
            service: service.into(),
            operation: operation.into(),
            node: "default".into(),
            class: RequestClass::Read,
            tenant: None,
            entity: None,
            version: None,
            latency_ms,
            ok: true,
            cache: None,
            cache_space: None,
            cache_key: None,
            cost: None,
            stages: Vec::new(),
        }
    }
}

/// The hash a cache key is kept as: XXH3-64 of its UTF-8 bytes (specified, so the same key
/// hashes the same in every version and on every replica).
pub fn cache_key_hash(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}
