//! The cache spaces as the server answers them (`GET /v1/cache`, `cache list|show`) and as
//! the go-live cache gate explains a failing hot space: the engine's samplers and views
//! (`perf_core::cache::overview`) with the sizes and TTLs of `cache.spaces` and the hit
//! ratio of the go-live guardrails.

use crate::durable::Durable;
use perf_core::cache::overview::{overview, CacheOverview, Known};
use perf_core::golive::{Gate, GateStatus};
use perf_core::Engine;

/// Every space of `engine` at `now`, as configured.
pub fn overview_on(d: &Durable, engine: &Engine, now: i64) -> CacheOverview {
    let configured = |space: &str| {
        d.config
            .cache
            .spaces
            .iter()
            .find(|c| c.space == space)
            .map_or((None, None), |c| (c.size, c.ttl))
    };
    let guardrails = super::golive::guardrails(&d.config.budgets);
    let known = Known {
        configured: &configured,
        target: guardrails.cache_hit_rate,
        hot_share: guardrails.hot_share,
    };
    overview(engine, now, &known)
}

/// Every space of the server's engine now.
pub fn current(d: &Durable) -> CacheOverview {
    // Read before the engine is locked: under `clock: event`, `now` locks it too.
    let now = d.now();
    let engine = d.engine();
    overview_on(d, &engine, now)
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
