//! The caching service's measurements: per cache space, the access pattern of its keys
//! (events carry `cacheKey`, kept only as a 64-bit hash), sampled with SHARDS
//! ([`shards`]), turned into an LRU miss-ratio curve ([`mrc`]), the size a hit ratio needs,
//! the reuse-time distribution and the TTL that keeps the reuses, LRU against W-TinyLFU on
//! the sampled accesses ([`policy_sim`]), and advice in words ([`advice`]).
//!
//! Memory per space is bounded by the sampler's key limit: at the default 8,192 keys (the
//! paper's) a full sampler holds 0.72 MiB (key table, drop order, Fenwick tree, two periods
//! of histograms, the last 8,192 sampled accesses for policy simulations; measured in the
//! tests, ≤ 0.75 MiB asserted), and the number of spaces by [`MAX_SPACES`] (64: at most
//! ≈ 46 MiB for cache sampling); the accesses of spaces past the limit are counted, not
//! sampled. Until issue 20's last step the limit was 4,096 (0.40 MiB): the same mean curve
//! error, but spatial sampling's bias on the size for a hit ratio grows as 1/rate, and at
//! Zipf 1.2 the size for 85 % came out 8.4 % too large on average over twelve seeds (up to
//! 12.9 %), against 3.4 % (at most 7.0 %) at 8,192 (`examples/mrc_size_seeds.rs`,
//! BENCHMARKS.md).

pub mod advice;
pub mod histogram;
pub mod mrc;
pub mod overview;
pub mod policy_sim;
pub mod shards;

use crate::model::Event;
use serde::{Deserialize, Serialize};
use shards::Shards;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Cache spaces tracked at most (per engine).
pub const MAX_SPACES: usize = 64;
/// Keys the sampler of one space tracks at most, by default.
pub const DEFAULT_MAX_KEYS: usize = 8_192;
/// Length of a sampler period by default: answers cover the last one to two periods.
pub const DEFAULT_PERIOD_MS: i64 = 6 * 3_600_000;

/// How the samplers are sized (runtime settings, not part of a snapshot).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplerSettings {
    /// Keys per space.
    pub max_keys: usize,
    /// Period length, ms.
    pub period_ms: i64,
}

impl Default for SamplerSettings {
    fn default() -> Self {
        SamplerSettings {
            max_keys: DEFAULT_MAX_KEYS,
            period_ms: DEFAULT_PERIOD_MS,
        }
    }
}

/// The samplers of every (service, space).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CacheSpaces {
    /// Service → space → sampler (nested so an access looks up borrowed names).
    spaces: BTreeMap<String, BTreeMap<String, Shards>>,
    count: usize,
    /// Keyed accesses of spaces past [`MAX_SPACES`].
    pub dropped: u64,
    #[serde(skip)]
    settings: Option<SamplerSettings>,
}

impl CacheSpaces {
    /// Sets how new samplers are sized.
    pub fn set_settings(&mut self, settings: SamplerSettings) {
        self.settings = Some(settings);
    }

    fn settings(&self) -> SamplerSettings {
        self.settings.unwrap_or_default()
    }

    /// Records an access of `key` in `service`'s `space` at `ts`.
    pub fn access(&mut self, service: &str, space: &str, key: u64, ts: i64) {
        if let Some(s) = self.spaces.get_mut(service).and_then(|m| m.get_mut(space)) {
            s.access(key, ts);
            return;
        }
        if self.count >= MAX_SPACES {
            self.dropped += 1;
            return;
        }
        let settings = self.settings();
        let mut s = Shards::new(settings.max_keys, settings.period_ms);
        s.access(key, ts);
        self.spaces
            .entry(service.to_string())
            .or_default()
            .insert(space.to_string(), s);
        self.count += 1;
    }

    /// Records the keyed events of a batch (the space: `cacheSpace`, else the operation).
    /// A run of events in the same space (a client's batch usually is one) looks its sampler
    /// up once: comparing two short names costs less than hashing them for every event.
    pub fn record(&mut self, events: &[Event]) {
        let mut i = 0;
        while i < events.len() {
            let e = &events[i];
            i += 1;
            let Some(key) = e.cache_key else { continue };
            let space = e.cache_space.as_deref().unwrap_or(&e.operation);
            self.access(&e.service, space, key, e.ts_ms);
            let Some(sampler) = self
                .spaces
                .get_mut(e.service.as_str())
                .and_then(|m| m.get_mut(space))
            else {
                continue;
            };
            while let Some(next) = events.get(i) {
                match next.cache_key {
                    None => {}
                    Some(k)
                        if next.service == e.service
                            && next.cache_space.as_deref().unwrap_or(&next.operation) == space =>
                    {
                        sampler.access(k, next.ts_ms)
                    }
                    Some(_) => break,
                }
                i += 1;
            }
        }
    }

    /// Every (service, space) with its sampler.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Shards)> {
        self.spaces.iter().flat_map(|(service, m)| {
            m.iter()
                .map(move |(space, s)| (service.as_str(), space.as_str(), s))
        })
    }

    /// The sampler of a space (of any service when `service` is `None`).
    pub fn get(&self, service: Option<&str>, space: &str) -> Option<(&str, &Shards)> {
        self.iter()
            .find(|(sv, sp, _)| *sp == space && service.is_none_or(|x| x == *sv))
            .map(|(sv, _, s)| (sv, s))
    }

    /// Keeps only the spaces of services `keep` names.
    pub fn retain_services(&mut self, keep: impl Fn(&str) -> bool) {
        self.spaces.retain(|service, _| keep(service));
        self.count = self.spaces.values().map(BTreeMap::len).sum();
    }

    /// Copies in the spaces of `other`'s services that `take` names (replacing).
    pub fn take_from(&mut self, other: &CacheSpaces, take: impl Fn(&str) -> bool) {
        for (service, m) in &other.spaces {
            if take(service) {
                self.spaces.insert(service.clone(), m.clone());
            }
        }
        self.count = self.spaces.values().map(BTreeMap::len).sum();
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.iter()
            .map(|(a, b, s)| a.len() + b.len() + s.heap_bytes() + 64)
            .sum()
    }
}

/// The samplers behind a lock of their own, so that a server can record a batch's keys
/// after it has released the engine lock: it takes this lock before letting the engine lock
/// go (hand over hand), so batches reach the samplers in the order they reached the views,
/// and anyone who holds the engine lock and then takes this one (a snapshot) sees both at the
/// same batch. A clone is a deep copy, never a second handle.
#[derive(Debug, Default)]
pub struct SharedCaches(Arc<Mutex<CacheSpaces>>);

impl SharedCaches {
    /// The samplers, locked.
    pub fn lock(&self) -> MutexGuard<'_, CacheSpaces> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Another handle on the same samplers (to lock them beyond the engine lock).
    pub fn handle(&self) -> SharedCachesHandle {
        SharedCachesHandle(self.0.clone())
    }
}

impl Clone for SharedCaches {
    fn clone(&self) -> Self {
        SharedCaches(Arc::new(Mutex::new(self.lock().clone())))
    }
}

/// A handle on an engine's samplers, taken under the engine lock ([`SharedCaches::handle`]).
pub struct SharedCachesHandle(Arc<Mutex<CacheSpaces>>);

impl SharedCachesHandle {
    /// The samplers, locked.
    pub fn lock(&self) -> MutexGuard<'_, CacheSpaces> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
