//! A lookup as the ingest API takes it: one event of `POST /v1/events` with `cache`,
//! `cacheSpace` and `cacheKey` (the key's hash in hexadecimal — the server hashes what it
//! is given again, and with `privacy.hashCallers` keys it with its secret).

use crate::recorder::{Access, Identity};
use crate::reporter::Batch;
use serde::Serialize;

/// One lookup on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheEvent {
    /// When the lookup ended, unix ms.
    pub ts: i64,
    /// Service.
    pub service: String,
    /// Operation.
    pub operation: String,
    /// Instance.
    pub node: String,
    /// The lookup's duration, ms.
    pub latency_ms: f64,
    /// Always true: a lookup that failed to load never returned.
    pub ok: bool,
    /// `hit` or `miss`.
    pub cache: &'static str,
    /// The cache space.
    pub cache_space: String,
    /// The key's XXH64, 16 hexadecimal digits.
    pub cache_key: String,
}

impl CacheEvent {
    /// The events of a batch.
    pub fn of_batch(batch: &Batch) -> Vec<Self> {
        batch
            .accesses
            .iter()
            .map(|a| CacheEvent::of(batch.who, batch.space_of(a), a))
            .collect()
    }

    /// The event of a lookup in `space` made as `who`.
    pub fn of(who: &Identity, space: &str, a: &Access) -> Self {
        CacheEvent {
            ts: a.ts_ms,
            service: who.service.clone(),
            operation: who.operation.clone(),
            node: who.node.clone(),
            latency_ms: a.latency_ms.max(0.0),
            ok: true,
            cache: if a.hit { "hit" } else { "miss" },
            cache_space: space.to_string(),
            cache_key: format!("{:016x}", a.key),
        }
    }
}
