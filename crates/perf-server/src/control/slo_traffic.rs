//! The traffic check of an SLO's alert tiers: a tier needs `minEvents` in its short window to
//! fire, so on a service too quiet for that it never fires however bad things get — a
//! silent alert that looks armed. Judged on the SLO's own history in the views
//! (`Engine::preview_slo`): when even the busiest hour of at least a day of history, scaled
//! to the short window, stays under `minEvents`, the tier is refused with the figures. With
//! less history there is nothing to judge by and nothing is refused.

use perf_core::slo::{Backfilled, SloDef};
use perf_core::Engine;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// Why each tier of `def` could never fire at the traffic its history shows at `now`
/// (empty: every tier can, or too little history to say).
pub fn silent_tiers(engine: &Engine, def: &SloDef, now: i64) -> Vec<String> {
    match engine.preview_slo(def.clone(), now) {
        Ok((_, Some(history))) => silent_tiers_of(def, &history, now),
        _ => Vec::new(),
    }
}

/// [`silent_tiers`] on a history already read (a back-fill's summary).
pub fn silent_tiers_of(def: &SloDef, history: &Backfilled, now: i64) -> Vec<String> {
    if now - history.from < DAY {
        return Vec::new();
    }
    def.tiers
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let most = history.peak_hour_events as f64 * t.short_ms as f64 / HOUR as f64;
            (most < def.min_events as f64).then(|| {
                format!(
                    "alerting.tiers[{i}] can never fire at this SLO's traffic: its {} short window \
                     holds at most about {most:.1} events (the busiest hour since {} had {}), \
                     under minEvents {} (lengthen the short window or lower minEvents)",
                    perf_core::duration::format_duration(t.short_ms),
                    perf_core::time::format_rfc3339(history.from),
                    history.peak_hour_events,
                    def.min_events
                )
            })
        })
        .collect()
}
