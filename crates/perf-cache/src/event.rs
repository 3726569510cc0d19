//! A lookup as the ingest API takes it: one event of `POST /v1/events` with `cache`,
//! `cacheSpace` and `cacheKey` (the key's hash in hexadecimal — the server hashes what it
//! is given again, and with `privacy.hashCallers` keys it with its secret).

use crate::recorder::{Access, Identity};
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
    /// The key's XXH3-64, 16 hexadecimal digits.
    pub cache_key: String,
}

impl CacheEvent {
    /// The event of a lookup made as `who`.
    pub fn of(who: &Identity, a: &Access) -> Self {
        CacheEvent {
            ts: a.ts_ms,
            service: who.service.clone(),
            operation: who.operation.clone(),
            node: who.node.clone(),
            latency_ms: a.latency_ms.max(0.0),
            ok: true,
            cache: if a.hit { "hit" } else { "miss" },
            cache_space: a.space.to_string(),
            cache_key: format!("{:016x}", a.key),
        }
    }
}
