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

/// Size (entries) and TTL (ms) of a space by name, when configured.
pub type Configured<'a> = &'a dyn Fn(&str) -> (Option<u64>, Option<i64>);

/// What the caller knows of the spaces besides the events.
pub struct Known<'a> {
    /// Size (entries) and TTL (ms) of a space by name, when configured.
    pub configured: Configured<'a>,
    /// The hit ratio the go-live gate asks for.
    pub target: f64,
    /// The share of cacheable requests the hot set carries.
    pub hot_share: f64,
}

/// The answer of `GET /v1/cache`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// Every space at `now`.
pub fn overview(engine: &Engine, now: i64, known: &Known) -> CacheOverview {
    let to = now + 1;
    let mut windows: Vec<(&str, ByPair, ByPair)> = Vec::new();
    for (label, len) in HIT_RATE_WINDOWS {
        windows.push((
            label,
            by_pair(engine, &[Dim::Service, Dim::CacheSpace], now - len, to),
            by_pair(engine, &[Dim::Service, Dim::Operation], now - len, to),
        ));
    }
    let (_, spaces_day, operations_day) = windows.last().expect("three windows");
    // The spaces: every named space with lookups, and every sampled space.
    let mut names: Vec<(String, String)> = spaces_day
        .iter()
        .filter(|(_, s)| s.cache_hits + s.cache_misses > 0)
        .map(|(k, _)| k.clone())
        .collect();
    let caches = engine.caches();
    for (service, space, _) in caches.iter() {
        let key = (service.to_string(), space.to_string());
        if !names.contains(&key) {
            names.push(key);
        }
    }
    let stats_of = |spaces: &ByPair, operations: &ByPair, key: &(String, String)| {
        spaces
            .get(key)
            .or_else(|| operations.get(key))
            .cloned()
            .unwrap_or_default()
    };
    let mut reports: Vec<SpaceReport> = names
        .iter()
        .map(|key| {
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
            let sampler = caches.get(Some(&key.0), &key.1).map(|(_, s)| s);
            let mut r = report(&facts, sampler);
            for (label, spaces, operations) in &windows {
                r.hit_rates.insert(
                    label.to_string(),
                    stats_of(spaces, operations, key).cache_hit_rate(),
                );
            }
            r
        })
        .collect();
    reports.sort_by(|a, b| {
        b.lookups
            .cmp(&a.lookups)
            .then_with(|| (&a.service, &a.space).cmp(&(&b.service, &b.space)))
    });
    let total: u64 = reports.iter().map(|r| r.lookups).sum();
    let mut carried = 0u64;
    let mut hot_spaces = Vec::new();
    for r in &mut reports {
        if total > 0 {
            r.lookup_share = r.lookups as f64 / total as f64;
            if r.lookups > 0 && (carried as f64) < known.hot_share * total as f64 {
                r.hot = true;
                hot_spaces.push(r.space.clone());
            }
            carried += r.lookups;
        }
    }
    CacheOverview {
        window: "24h".into(),
        target: known.target,
        hot_share: known.hot_share,
        hot_spaces,
        unsampled_accesses: caches.dropped,
        spaces: reports,
    }
}
