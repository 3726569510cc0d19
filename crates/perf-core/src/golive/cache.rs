//! Gate 3: hot queries hit the cache at least `cacheHitRate` (85 %) of the time.
//!
//! Over the last 24 hours, per cache space (`cacheSpace` of the events, the
//! `[service, cache_space]` view) — or, when no event names one, per cacheable operation
//! (an operation with cache hits or misses) — the hot set is the smallest set of spaces,
//! largest first, that carries at least `hot_share` (80 %) of the cacheable requests. Every
//! space in it must reach the hit rate; the cold tail is shown but not judged (a rarely used
//! space with a cold cache is not what users feel).

use super::{status_of, Evidence, Gate, GateStatus, Guardrails, Window};
use crate::view::Dim;
use crate::Engine;

const DAY: i64 = 86_400_000;
/// Cold spaces listed after the hot set.
const COLD_SHOWN: usize = 5;

/// The cache gate at `now`.
pub fn gate(engine: &Engine, now: i64, g: &Guardrails) -> Gate {
    let name = "cache";
    let window = Window {
        from: now - DAY,
        to: now + 1,
        description: "the last 24 hours".into(),
    };
    let by = |dims: &[Dim]| {
        engine
            .views()
            .iter()
            .find(|v| v.def.dims == dims)
            .map(|v| v.def.name.clone())
    };
    // (subject, hits, lookups) per space.
    let mut spaces: Vec<(String, u64, u64)> = Vec::new();
    let mut unit = "cache space";
    for (dims, label) in [
        (&[Dim::Service, Dim::CacheSpace][..], "cache space"),
        (&[Dim::Service, Dim::Operation][..], "cacheable operation"),
    ] {
        let Some(view) = by(dims) else { continue };
        let Ok(groups) = engine.group(&view, &[], window.from, window.to) else {
            continue;
        };
        spaces = groups
            .into_iter()
            .filter(|(_, s)| s.cache_hits + s.cache_misses > 0)
            .map(|(key, s)| (key.join("/"), s.cache_hits, s.cache_hits + s.cache_misses))
            .collect();
        if !spaces.is_empty() {
            unit = label;
            break;
        }
    }
    if spaces.is_empty() {
        return Gate::insufficient(
            name,
            g.cache_hit_rate,
            "ratio",
            "no cacheable requests in the last 24 hours: events report `cache` (hit or miss) and `cacheSpace`".into(),
        );
    }
    spaces.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let total: u64 = spaces.iter().map(|s| s.2).sum();
    let mut carried = 0u64;
    let mut evidence = Vec::new();
    let mut cold = Vec::new();
    for (subject, hits, lookups) in &spaces {
        let rate = *hits as f64 / *lookups as f64;
        let share = *lookups as f64 / total as f64;
        let hot = (carried as f64) < g.hot_share * total as f64;
        carried += lookups;
        let e = Evidence {
            subject: subject.clone(),
            actual: Some(rate),
            threshold: Some(g.cache_hit_rate),
            requests: Some(*lookups),
            pass: rate >= g.cache_hit_rate,
            detail: format!(
                "{} hits of {lookups} cacheable requests ({:.1} % of all cacheable){}",
                hits,
                share * 100.0,
                if hot { "" } else { "; cold, not judged" }
            ),
        };
        if hot {
            evidence.push(e);
        } else {
            cold.push(e);
        }
    }
    let hot_count = evidence.len();
    evidence.sort_by(|a, b| {
        a.actual
            .unwrap_or(0.0)
            .total_cmp(&b.actual.unwrap_or(0.0))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    let status = status_of(&evidence);
    let worst = evidence.first().cloned();
    let reason = match status {
        GateStatus::Fail => {
            let low: Vec<String> = evidence
                .iter()
                .filter(|e| !e.pass)
                .map(|e| format!("{} hits {:.1} %", e.subject, e.actual.unwrap_or(0.0) * 100.0))
                .collect();
            format!(
                "{} (at least {:.0} % needed on the {hot_count} hot {unit}s carrying {:.0} % of cacheable requests)",
                low.join("; "),
                g.cache_hit_rate * 100.0,
                g.hot_share * 100.0
            )
        }
        _ => format!(
            "the {hot_count} hot {unit}s (carrying {:.0} % of cacheable requests) all hit at least {:.0} %; lowest {} at {:.1} %",
            g.hot_share * 100.0,
            g.cache_hit_rate * 100.0,
            worst.as_ref().map_or("", |e| e.subject.as_str()),
            worst.as_ref().and_then(|e| e.actual).unwrap_or(0.0) * 100.0
        ),
    };
    evidence.extend(cold.into_iter().take(COLD_SHOWN));
    Gate {
        name: name.to_string(),
        status,
        actual: worst.and_then(|e| e.actual),
        threshold: g.cache_hit_rate,
        unit: "ratio".into(),
        window: Some(window),
        reason,
        evidence,
    }
}
