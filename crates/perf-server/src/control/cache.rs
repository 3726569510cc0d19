//! The cache spaces as the server answers them (`GET /v1/cache`, `cache list|show`) and as
//! the go-live cache gate explains a failing hot space: the engine's samplers and views
//! (`perf_core::cache::overview`) with the sizes the caches' clients report (`cacheSizes` on
//! resource samples; else the size in `cache.spaces`), the TTLs of `cache.spaces` and the hit
//! ratio of the go-live guardrails. The deployment cycle's cache stage puts a space's advice
//! on the stream (`cache_advice`) when it changes in kind — its words without their figures,
//! so a hit rate moving from 71 to 72 % is not news, a new "raise the TTL" is.

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::stream::CacheAdviceChange;
use crate::effects::{Effect, StreamEvent};
use perf_core::cache::overview::{overview, read, CacheOverview, CacheRead, Known};
use perf_core::golive::{Gate, GateStatus};
use perf_core::Engine;

/// What the spaces are compared with: the reported sizes (`reported`, by space), else
/// `cache.spaces`, and the go-live gate's hit ratio and hot share (not
/// `control::golive::guardrails`: the go-live report reads this module, and modules do not
/// import in a circle).
fn overview_of(
    d: &Durable,
    read: &CacheRead,
    reported: &std::collections::BTreeMap<String, u64>,
) -> CacheOverview {
    let configured = |space: &str| {
        let (size, ttl) = d
            .config
            .cache
            .spaces
            .iter()
            .find(|c| c.space == space)
            .map_or((None, None), |c| (c.size, c.ttl));
        (reported.get(space).copied().or(size), ttl)
    };
    let known = Known {
        configured: &configured,
        target: d.config.budgets.cache_hit_rate,
        hot_share: perf_core::golive::Guardrails::default().hot_share,
    };
    overview(read, &known)
}

/// The spaces `want` names (by service and space) of `engine` at `now`, as configured.
pub fn overview_on(
    d: &Durable,
    engine: &Engine,
    now: i64,
    want: &dyn Fn(&str, &str) -> bool,
) -> CacheOverview {
    overview_of(
        d,
        &read(engine, now, want),
        &engine.resources().cache_sizes(),
    )
}

/// The spaces `want` names of the server's engine now: the engine (and the samplers') lock is
/// held only to read counts and copy the wanted samplers; curves, sizes and policy replays
/// are computed after it is released.
pub fn current(d: &Durable, want: &dyn Fn(&str, &str) -> bool) -> CacheOverview {
    // Read before the engine is locked: under `clock: event`, `now` locks it too.
    let now = d.now();
    let (read, reported) = {
        let engine = d.engine();
        (read(&engine, now, want), engine.resources().cache_sizes())
    };
    overview_of(d, &read, &reported)
}

/// Adds to each failing space of the go-live cache gate what its access pattern says (the
/// space's recommendations): the gate says that it fails, the advice what would fix it.
pub fn explain_gate(gate: &mut Gate, spaces: &CacheOverview) {
    if gate.name != "cache" || gate.status == GateStatus::InsufficientData {
        return;
    }
    for e in gate.evidence.iter_mut().filter(|e| !e.pass) {
        let Some(space) = spaces
            .spaces
            .iter()
            .find(|s| e.subject == format!("{}/{}", s.service, s.space))
        else {
            continue;
        };
        if !space.recommendations.is_empty() {
            e.detail
                .push_str(&format!("; advice: {}", space.recommendations.join("; ")));
        }
    }
}

/// The advice's words without their figures: what counts as a change.
fn kind_of(recommendations: &[String]) -> String {
    recommendations
        .iter()
        .map(|r| {
            r.chars()
                .filter(|c| !c.is_ascii_digit() && *c != '.')
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The cache stage: a `cache_advice` stream event for each space whose advice changed in
/// kind since the last cycle (a new space with advice included).
pub fn evaluate(d: &Durable, m: &Memory, _now: i64) -> Result<Vec<Effect>, ControlError> {
    let spaces = current(d, &|_, _| true);
    let mut decisions = m.decisions();
    let mut effects = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for s in spaces.spaces {
        let key = (s.service.clone(), s.space.clone());
        let kind = kind_of(&s.recommendations);
        seen.insert(key.clone());
        let before = decisions.cache_advice.insert(key, kind.clone());
        let changed = match before {
            Some(b) => b != kind,
            None => !s.recommendations.is_empty(),
        };
        if changed {
            effects.push(Effect::Stream(StreamEvent::CacheAdvice(
                CacheAdviceChange {
                    service: s.service,
                    space: s.space,
                    hit_rate: s.hit_rate,
                    recommendations: s.recommendations,
                },
            )));
        }
    }
    decisions.cache_advice.retain(|k, _| seen.contains(k));
    Ok(effects)
}
