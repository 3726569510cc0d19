//! Every cache space at once, as `GET /v1/cache` answers: each space's report
//! ([`super::advice`]) with its hit rates over the last 5 minutes, hour and day and its
//! share of the cacheable requests, and the hot set — the smallest set of spaces, largest
//! first, carrying the hot share (80 %) of cacheable requests, the set the go-live cache
//! gate judges.
//!
//! A space is a `cacheSpace` of the events (the `[service, cache_space]` view); keyed
//! accesses without one are sampled under their operation, whose counts come from the
//! `[service, operation]` view.

use super::advice::{report, SpaceFacts, SpaceReport};
use super::shards::Shards;
use crate::stats::Stats;
use crate::view::Dim;
use crate::Engine;
use serde::Serialize;
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000;
/// The windows hit rates are given over.
const HIT_RATE_WINDOWS: [(&str, i64); 3] = [
    ("5m", 5 * MINUTE),
    ("1h", 60 * MINUTE),
    ("24h", 1_440 * MINUTE),
];

/// Stats per (service, name).
type ByPair = BTreeMap<(String, String), Stats>;

/// Size (entries) and TTL (ms) of a space by name, when reported or configured.
pub type Configured<'a> = &'a dyn Fn(&str) -> (Option<u64>, Option<i64>);

/// What the caller knows of the spaces besides the events.
pub struct Known<'a> {
    /// Size (entries) and TTL (ms) of a space by name, when reported or configured.
    pub configured: Configured<'a>,
    /// The hit ratio the go-live gate asks for.
    pub target: f64,
    /// The share of cacheable requests the hot set carries.
    pub hot_share: f64,
}

/// The answer of `GET /v1/cache`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CacheOverview {
    /// The window counts are over (the last 24 hours).
    pub window: String,
    /// The hit ratio asked for.
    pub target: f64,
    /// Share of cacheable requests the hot set carries.
    pub hot_share: f64,
    /// The hot spaces, largest first.
    pub hot_spaces: Vec<String>,
    /// Keyed accesses of spaces past the sampler limit (not sampled).
    pub unsampled_accesses: u64,
    /// Every space, largest (by lookups) first.
    pub spaces: Vec<SpaceReport>,
}

fn view_with(engine: &Engine, dims: &[Dim]) -> Option<String> {
    engine
        .views()
        .iter()
        .find(|v| v.def.dims == dims)
        .map(|v| v.def.name.clone())
}

/// Stats per (service, name) of a two-dimension view over `[from, to)`.
fn by_pair(engine: &Engine, dims: &[Dim], from: i64, to: i64) -> ByPair {
    let Some(view) = view_with(engine, dims) else {
        return BTreeMap::new();
    };
    engine
        .group(&view, &[], from, to)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k.len() == 2)
        .map(|(k, s)| ((k[0].clone(), k[1].clone()), s))
        .collect()
}

/// What an overview reads from the engine, under its lock: the views' counts per space over
/// the three windows and a copy of the wanted spaces' samplers. The reports — curves, sizes,
/// the policy replays (milliseconds per space) — are computed from it by [`overview`] after
/// the lock is released, so a reader never holds up ingest for them.
pub struct CacheRead {
    windows: Vec<(&'static str, ByPair, ByPair)>,
    /// Every space (named with lookups, or sampled).
    names: Vec<(String, String)>,
    /// The samplers of the wanted spaces.
    samplers: BTreeMap<(String, String), Shards>,
    /// The spaces to report on.
    wanted: std::collections::BTreeSet<(String, String)>,
    dropped: u64,
}

/// Reads `engine` at `now` for an overview of the spaces `want` names (by service and
/// space); the hot set is still judged over every space.
pub fn read(engine: &Engine, now: i64, want: &dyn Fn(&str, &str) -> bool) -> CacheRead {
    let to = now + 1;
    let mut windows = Vec::new();
    for (label, len) in HIT_RATE_WINDOWS {
        windows.push((
            label,
            by_pair(engine, &[Dim::Service, Dim::CacheSpace], now - len, to),
            by_pair(engine, &[Dim::Service, Dim::Operation], now - len, to),
        ));
    }
    let (_, spaces_day, _) = windows.last().expect("three windows");
    // The spaces: every named space with lookups, and every sampled space.
    let mut names: Vec<(String, String)> = spaces_day
        .iter()
        .filter(|(_, s)| s.cache_hits + s.cache_misses > 0)
        .map(|(k, _)| k.clone())
        .collect();
    let caches = engine.caches();
    let mut samplers = BTreeMap::new();
    for (service, space, sampler) in caches.iter() {
        let key = (service.to_string(), space.to_string());
        if want(service, space) {
            samplers.insert(key.clone(), sampler.clone());
        }
        if !names.contains(&key) {
            names.push(key);
        }
    }
    let wanted = names
        .iter()
        .filter(|(service, space)| want(service, space))
        .cloned()
        .collect();
    CacheRead {
        windows,
        names,
        samplers,
        wanted,
        dropped: caches.dropped,
    }
}

/// The spaces of `read` (those it was asked for), largest by lookups first, with the hot set
/// judged over every space.
pub fn overview(read: &CacheRead, known: &Known) -> CacheOverview {
    let (_, spaces_day, operations_day) = read.windows.last().expect("three windows");
    let stats_of = |spaces: &ByPair, operations: &ByPair, key: &(String, String)| {
        spaces
            .get(key)
            .or_else(|| operations.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let lookups = |key: &(String, String)| {
        let s = stats_of(spaces_day, operations_day, key);
        s.cache_hits + s.cache_misses
    };
    // The hot set over every space, largest first.
    let mut order: Vec<(&(String, String), u64)> =
        read.names.iter().map(|k| (k, lookups(k))).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let total: u64 = order.iter().map(|(_, n)| n).sum();
    let mut carried = 0u64;
    let mut hot = std::collections::BTreeSet::new();
    let mut hot_spaces = Vec::new();
    for (key, n) in &order {
        if *n > 0 && (carried as f64) < known.hot_share * total as f64 {
            hot.insert(*key);
            hot_spaces.push(key.1.clone());
        }
        carried += n;
    }
    let spaces = order
        .iter()
        .filter(|(key, _)| read.wanted.contains(*key))
        .map(|(key, _)| {
            let s = stats_of(spaces_day, operations_day, key);
            let (size, ttl) = (known.configured)(&key.1);
            let facts = SpaceFacts {
                service: key.0.clone(),
                space: key.1.clone(),
                requests: s.requests,
                hits: s.cache_hits,
                lookups: s.cache_hits + s.cache_misses,
                current_size: size,
                current_ttl_ms: ttl,
                target: known.target,
            };
            let mut r = report(&facts, read.samplers.get(*key));
            for (label, spaces, operations) in &read.windows {
                r.hit_rates.insert(
                    label.to_string(),
                    stats_of(spaces, operations, key).cache_hit_rate(),
                );
            }
            r.hot = hot.contains(*key);
            if total > 0 {
                r.lookup_share = r.lookups as f64 / total as f64;
            }
            r
        })
        .collect();
    CacheOverview {
        window: "24h".into(),
        target: known.target,
        hot_share: known.hot_share,
        hot_spaces,
        unsampled_accesses: read.dropped,
        spaces,
    }
}
