//! What the sampled access pattern of one cache space says, as an answer: the miss-ratio
//! curve over sizes from 1 % to 100 % of the estimated unique keys, the size each hit ratio
//! needs, the reuse-time distribution with the TTL that keeps 95 % of the reuses, and
//! recommendations in words with their numbers.
//!
//! The recommended TTL is the 95th percentile of the reuse times, rounded up (to within one
//! histogram bin) to a round duration (1 s, 2 s, 5 s, 10 s, 15 s, 30 s, 1 min, 2, 5, 10, 15, 30 min, 1 h, 2, 4, 6, 12 h,
//! 1 day). The curve's error is estimated as the largest binomial standard error over the
//! curve with the number of sampled keys as the sample size (spatial sampling draws keys,
//! not accesses); the measured error against exact simulation is in BENCHMARKS.md.

use super::mrc::Curve;
use super::shards::Shards;
use crate::duration::format_duration;
use serde::Serialize;
use std::collections::BTreeMap;

/// Hit ratios `sizeFor` answers.
pub const HIT_TARGETS: [f64; 3] = [0.85, 0.9, 0.95];
/// Sizes of the curve, in percent of the unique keys.
const CURVE_PERCENTS: [u32; 22] = [
    1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 100,
];
/// Share of reuses the recommended TTL keeps.
pub const TTL_KEEPS: f64 = 0.95;
const ROUND_TTLS_MS: [i64; 18] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000, 7_200_000, 14_400_000, 21_600_000, 43_200_000, 86_400_000,
];

/// What is known of one space besides its sampler.
#[derive(Debug, Clone, Default)]
pub struct SpaceFacts {
    /// Service.
    pub service: String,
    /// Space.
    pub space: String,
    /// Requests of the space over the window (from the views).
    pub requests: u64,
    /// Cache hits reported by the events.
    pub hits: u64,
    /// Cache lookups (hits + misses) reported by the events.
    pub lookups: u64,
    /// The cache's size in entries, when its clients report it or it is configured.
    pub current_size: Option<u64>,
    /// The cache's TTL, ms, when configured.
    pub current_ttl_ms: Option<i64>,
    /// The hit ratio the go-live gate asks for.
    pub target: f64,
}

/// One point of the miss-ratio curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MrcPoint {
    /// Cache size, entries.
    pub size: u64,
    /// LRU miss ratio at that size.
    pub miss_ratio: f64,
}

/// Reuse times and the TTL they ask for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TtlAdvice {
    /// Reuses observed (estimated over the whole space).
    pub reuses: f64,
    /// Median reuse time, ms.
    pub p50_ms: Option<f64>,
    /// 95th percentile reuse time, ms.
    pub p95_ms: Option<f64>,
    /// The round TTL at or above `p95Ms`.
    pub recommended_ms: Option<i64>,
    /// The configured TTL, ms.
    pub current_ms: Option<i64>,
    /// Share of reuses that come later than the configured TTL (they miss for it).
    pub reuses_beyond_current: Option<f64>,
}

/// LRU against W-TinyLFU, simulated on the space's sampled accesses with a cache of
/// `size × rate` entries. The replay is short (at most 8,192 sampled accesses) and starts
/// cold, so both hit ratios read below the full cache's; their difference is the finding
/// (on the test trace with scans: +8.4 points sampled, +5.0 on the full trace).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyComparison {
    /// Cache size compared at (the configured one, else the size for the target), entries.
    pub size: u64,
    /// Sampled accesses simulated.
    pub sampled_accesses: usize,
    /// LRU hit ratio.
    pub lru: f64,
    /// W-TinyLFU hit ratio.
    pub w_tiny_lfu: f64,
}

/// Smallest miniature cache worth simulating, entries.
const MIN_MINIATURE: f64 = 20.0;
/// Fewest sampled accesses worth simulating.
const MIN_TRACE: usize = 1_000;
/// Gain in hit ratio an admission filter must show to be recommended.
pub const POLICY_GAIN: f64 = 0.03;

/// The comparison at `size` entries on `s`'s sampled accesses.
fn compare_policies(s: &Shards, size: u64) -> Option<PolicyComparison> {
    let trace = s.sampled_trace();
    let miniature = size as f64 * s.rate();
    if trace.len() < MIN_TRACE || miniature < MIN_MINIATURE {
        return None;
    }
    let c = miniature.round() as usize;
    Some(PolicyComparison {
        size,
        sampled_accesses: trace.len(),
        lru: super::policy_sim::lru_hit_ratio(&trace, c),
        w_tiny_lfu: super::policy_sim::w_tinylfu_hit_ratio(&trace, c),
    })
}

/// The answer for one space.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpaceReport {
    /// Service.
    pub service: String,
    /// Space.
    pub space: String,
    /// In the hot set (the spaces, largest first, carrying the hot share of cacheable
    /// requests: the set the go-live cache gate judges).
    pub hot: bool,
    /// Its share of the cacheable requests (lookups) of every space.
    pub lookup_share: f64,
    /// Hit rate over the last 5 minutes, hour and day.
    pub hit_rates: BTreeMap<String, Option<f64>>,
    /// Requests over the window.
    pub requests: u64,
    /// Lookups (hits + misses) over the window.
    pub lookups: u64,
    /// Hits / lookups.
    pub hit_rate: Option<f64>,
    /// Accesses that carried a `cacheKey` over the sampler's periods.
    pub keyed_accesses: u64,
    /// Keys the sampler tracks.
    pub sampled_keys: usize,
    /// Its sampling rate.
    pub sampling_rate: f64,
    /// Distinct keys over the sampler's periods (estimated).
    pub unique_keys: Option<u64>,
    /// Start of the sampler's periods.
    pub since: Option<String>,
    /// LRU miss-ratio curve, sizes from 1 % to 100 % of the unique keys.
    pub mrc: Vec<MrcPoint>,
    /// Estimated error of the curve's miss ratios (one standard error).
    pub mrc_error: Option<f64>,
    /// Share of keyed accesses that are a key's first (they miss at any size).
    pub cold_miss_ratio: Option<f64>,
    /// Entries an LRU cache needs for each hit ratio (`null`: no size reaches it).
    pub size_for: BTreeMap<String, Option<u64>>,
    /// Size of the cache, entries: the newest its clients reported (`cacheSizes` on a
    /// resource sample), else the configured one.
    pub current_size: Option<u64>,
    /// LRU hit ratio at the configured size, by the curve.
    pub hit_ratio_at_current_size: Option<f64>,
    /// Reuse times and TTL.
    pub ttl: TtlAdvice,
    /// LRU against W-TinyLFU on the sampled accesses (`null`: too few samples, or no size to
    /// compare at).
    pub policy: Option<PolicyComparison>,
    /// Advice in words.
    pub recommendations: Vec<String>,
}

/// The round TTL at or above `ms`, where "above" forgives one histogram bin: a percentile
/// is only known to within its bin (≈ 3 %), so reuses at exactly 60 s give 1 min, not 2.
fn round_ttl(ms: f64) -> i64 {
    let ms = ms / (1.0 + 1.0 / super::histogram::SUB_BINS as f64);
    ROUND_TTLS_MS
        .iter()
        .copied()
        .find(|&t| t as f64 >= ms)
        .unwrap_or((ms / 86_400_000.0).ceil() as i64 * 86_400_000)
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p >= 10.0 || p == 0.0 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

fn duration_words(ms: f64) -> String {
    if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else {
        format_duration(((ms / 1_000.0).round() as i64) * 1_000)
    }
}

/// The report of a space from its sampler (if any keys were reported) and its facts.
pub fn report(facts: &SpaceFacts, sampler: Option<&Shards>) -> SpaceReport {
    let hit_rate = (facts.lookups > 0).then(|| facts.hits as f64 / facts.lookups as f64);
    let mut out = SpaceReport {
        service: facts.service.clone(),
        space: facts.space.clone(),
        hot: false,
        lookup_share: 0.0,
        hit_rates: BTreeMap::new(),
        requests: facts.requests,
        lookups: facts.lookups,
        hit_rate,
        keyed_accesses: 0,
        sampled_keys: 0,
        sampling_rate: 1.0,
        unique_keys: None,
        since: None,
        mrc: Vec::new(),
        mrc_error: None,
        cold_miss_ratio: None,
        size_for: HIT_TARGETS.iter().map(|t| (format!("{t}"), None)).collect(),
        current_size: facts.current_size,
        hit_ratio_at_current_size: None,
        ttl: TtlAdvice {
            reuses: 0.0,
            p50_ms: None,
            p95_ms: None,
            recommended_ms: None,
            current_ms: facts.current_ttl_ms,
            reuses_beyond_current: None,
        },
        policy: None,
        recommendations: Vec::new(),
    };
    let Some(s) = sampler else {
        out.recommendations.push(format!(
            "{}: no cacheKey on its events, so its access pattern is unknown: send cacheKey (kept only as a hash) to get its miss-ratio curve, size and TTL advice",
            facts.space
        ));
        return out;
    };
    let periods: Vec<_> = s.periods().iter().filter(|p| p.accesses > 0).collect();
    let since = periods.first().map(|p| p.start);
    let curve = Curve::of(&periods, s.rate());
    out.keyed_accesses = periods.iter().map(|p| p.accesses).sum();
    out.sampled_keys = s.tracked_keys();
    out.sampling_rate = s.rate();
    out.since = since.map(crate::time::format_rfc3339);
    let unique = since.map_or(0.0, |t| s.unique_keys_since(t));
    if curve.total > 0.0 {
        out.unique_keys = Some(unique.round() as u64);
        out.cold_miss_ratio = Some((curve.cold / curve.total).clamp(0.0, 1.0));
        let keys = (s.tracked_keys().max(1)) as f64;
        let mut worst = 0.0f64;
        for p in CURVE_PERCENTS {
            let size = (unique * p as f64 / 100.0).round().max(1.0);
            let m = curve.miss_ratio(size);
            worst = worst.max((m * (1.0 - m) / keys).sqrt());
            out.mrc.push(MrcPoint {
                size: size as u64,
                miss_ratio: m,
            });
        }
        out.mrc.dedup_by_key(|p| p.size);
        out.mrc_error = Some(worst);
        for t in HIT_TARGETS {
            out.size_for
                .insert(format!("{t}"), curve.size_for(t).map(|x| x as u64));
        }
        out.hit_ratio_at_current_size =
            facts.current_size.map(|c| 1.0 - curve.miss_ratio(c as f64));
    }
    let mut reuse = super::histogram::Histogram::default();
    for p in &periods {
        reuse.merge(&p.reuse_ms);
    }
    let reuses = reuse.total();
    if reuses > 0.0 {
        out.ttl.reuses = reuses / s.rate();
        out.ttl.p50_ms = reuse.quantile(0.5);
        out.ttl.p95_ms = reuse.quantile(TTL_KEEPS);
        out.ttl.recommended_ms = out.ttl.p95_ms.map(round_ttl);
        out.ttl.reuses_beyond_current = facts
            .current_ttl_ms
            .map(|t| (reuse.weight_at_least(t as f64) / reuses).clamp(0.0, 1.0));
    }
    let compare_at = facts.current_size.or_else(|| {
        out.size_for
            .get(&format!("{}", facts.target))
            .copied()
            .flatten()
    });
    out.policy = compare_at.and_then(|c| compare_policies(s, c));
    out.recommendations = recommendations(facts, &out, &curve);
    out
}

fn recommendations(facts: &SpaceFacts, r: &SpaceReport, curve: &Curve) -> Vec<String> {
    let mut out = Vec::new();
    let name = &facts.space;
    let target = facts.target;
    let needed = curve.size_for(target).map(|x| x as u64);
    let hits = r.hit_rate.map_or("an unknown share".to_string(), pct);
    let below = r.hit_rate.is_some_and(|h| h < target);
    match (needed, facts.current_size) {
        (None, _) if curve.total > 0.0 && below => out.push(format!(
            "{name} hits {hits}; {} of its keyed accesses are the first of their key, so no cache size reaches {}: cache keys that repeat, or a coarser key",
            pct(r.cold_miss_ratio.unwrap_or(0.0)),
            pct(target)
        )),
        (Some(n), Some(current)) if below && n > current => out.push(format!(
            "{name} hits {hits}; {n} entries (now {current}) would reach {} as an LRU cache",
            pct(target)
        )),
        (Some(n), None) if below => out.push(format!(
            "{name} hits {hits}; an LRU cache of {n} entries would reach {} (its size is not configured: set cache.spaces[].size to compare)",
            pct(target)
        )),
        (Some(n), Some(current)) if below => out.push(format!(
            "{name} hits {hits} though {current} entries are enough for {} by its reuse pattern ({n} needed): entries leave before they are reused — check the TTL and invalidations",
            pct(target)
        )),
        (Some(n), Some(current)) if !below && r.hit_rate.is_some() && n * 2 <= current => {
            out.push(format!(
                "{name} hits {hits} with {current} entries; {n} would still reach {}: the cache could shrink",
                pct(target)
            ))
        }
        _ => {}
    }
    if let Some(p) = &r.policy {
        if p.w_tiny_lfu >= p.lru + POLICY_GAIN {
            out.push(format!(
                "{name}: an admission filter (W-TinyLFU, as in Caffeine or moka) would hit about {:.0} points more than LRU at {} entries ({} against {} on {} sampled accesses, a short cold-started replay that reads low): frequency matters here (one-time keys or scans push popular ones out of an LRU)",
                (p.w_tiny_lfu - p.lru) * 100.0,
                p.size,
                pct(p.w_tiny_lfu),
                pct(p.lru),
                p.sampled_accesses
            ));
        }
    }
    if let (Some(current), Some(beyond), Some(rec), Some(p95)) = (
        facts.current_ttl_ms,
        r.ttl.reuses_beyond_current,
        r.ttl.recommended_ms,
        r.ttl.p95_ms,
    ) {
        if beyond > 1.0 - TTL_KEEPS && rec > current {
            out.push(format!(
                "{} of {name}'s reuses come within {}, its TTL is {}: {} of reuses miss for it; raise it to {}",
                pct(TTL_KEEPS),
                duration_words(p95),
                duration_words(current as f64),
                pct(beyond),
                duration_words(rec as f64)
            ));
        }
    }
    out
}
