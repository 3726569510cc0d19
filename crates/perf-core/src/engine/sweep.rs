//! Aging buckets in bounded steps. Every finest bucket width the engine must move expired
//! buckets of every series to coarser levels and seal settled ones; at 100k series one pass
//! took ~100 ms under the engine lock, and the first pass after a restart (every bucket
//! decoded, none sealed) seconds. A sweep instead does a bounded amount of work per
//! `advance` (each ingest call), resuming where it stopped, with the engine's latest time; a
//! width that passes during a pass makes it start over once it ends.
//!
//! The work per call is sized for a server that ingests many times per width. When widths
//! pass faster than passes end (few, large calls: a backfill on the event clock, or an
//! engine driven over simulated days), the budget grows with the number of widths the
//! sweep is behind, up to `SWEEP_MAX_CATCH_UP` times, and falls back once a pass ends with
//! no width passed: without it, a 20k-series engine fed one batch per 30 s of event time
//! aged a fifth of what arrived and grew past 9 GB in two simulated days.
//!
//! Queries do not depend on it: a window merges every bucket whose start lies in it, in
//! whatever level the bucket is, and an event goes to the level its own time selects. A
//! series aged a few calls late only holds finer buckets (and expired ones) a little longer.

use super::{Engine, Sweep};
use std::time::{Duration, Instant};

impl Engine {
    /// Ages series of the pending sweep until `budget` units of work are spent (a series
    /// costs one, plus one per bucket it moves, drops or seals: the first pass after a restart
    /// seals every bucket and must not stall ingest either) or, when given, `time` has passed
    /// (checked every 32 series: what a unit costs depends on the allocator's state, from
    /// ~1 µs to ~30 µs per bucket on a fragmented heap of gigabytes).
    pub(super) fn sweep_some(&mut self, mut budget: usize, time: Option<Duration>) {
        if !self.sweep.pending {
            return;
        }
        self.touch();
        let started = Instant::now();
        let mut aged = 0usize;
        let now = self.watermark;
        let res = &self.config.resolutions;
        while budget > 0 {
            let Some(view) = self.views.get_mut(self.sweep.view) else {
                // Caught up when no width passed during the pass; else still behind.
                self.sweep = Sweep {
                    pending: self.sweep.again,
                    behind: if self.sweep.again {
                        self.sweep.behind
                    } else {
                        0
                    },
                    per_call: self.sweep.per_call,
                    ..Sweep::default()
                };
                if self.sweep.pending {
                    continue;
                }
                return;
            };
            let first = self.sweep.view == 0;
            let series = view.series_mut();
            let mut to = self.sweep.series.min(series.len());
            while to < series.len() && budget > 0 {
                aged += 1;
                if aged.is_multiple_of(32) && time.is_some_and(|t| started.elapsed() >= t) {
                    budget = 0;
                    break;
                }
                let (dropped, work) = series[to].rollup.age(res, now);
                // The first view holds every event once; the others hold the same events again.
                if first {
                    self.counters.expired += dropped;
                }
                budget = budget.saturating_sub(1 + work);
                to += 1;
            }
            self.sweep.series = to;
            if to == series.len() {
                view.drop_empty_series();
                self.sweep.view += 1;
                self.sweep.series = 0;
            }
        }
    }

    /// Finishes the pending sweep at once (tests, and callers that need every bucket aged).
    pub fn finish_sweep(&mut self) {
        self.sweep_some(usize::MAX, None);
    }

    /// Spends at most `n` units of work per call from now on (tests of the sweep on small
    /// engines).
    #[cfg(test)]
    pub(crate) fn set_sweep_per_call(&mut self, n: usize) {
        self.sweep.per_call = Some(n);
    }
}

#[cfg(test)]
mod tests {
    use crate::config::EngineConfig;
    use crate::model::Event;
    use crate::Engine;

    /// On an hour boundary: hour windows are exact whatever level their buckets are in.
    const T0: i64 = 1_699_999_200_000;
    const MIN: i64 = 60_000;

    /// 600 services × 2 operations, a few thousand series over the views.
    fn minute(m: i64) -> Vec<Event> {
        (0..1_200)
            .map(|i| {
                Event::new(
                    T0 + m * MIN + (i % 50) * 1_000,
                    &format!("svc-{}", i % 600),
                    &format!("op{}", i % 2),
                    1.0 + (i % 37) as f64,
                )
            })
            .collect()
    }

    /// Every series' buckets, level by level (series are in the same order in both engines).
    fn buckets(e: &Engine) -> Vec<crate::rollup::Rollup> {
        e.views()
            .iter()
            .flat_map(|v| v.series())
            .map(|s| s.rollup.clone())
            .collect()
    }

    fn answers(e: &Engine) -> Vec<String> {
        let mut out = Vec::new();
        for v in e.views() {
            for w in 0..5 {
                let (from, to) = (T0 + w * 60 * MIN, T0 + (w + 1) * 60 * MIN);
                let mut g = e.group(&v.def.name, &[], from, to).unwrap();
                g.sort_by(|a, b| a.0.cmp(&b.0));
                out.extend(
                    g.into_iter()
                        .map(|(k, s)| format!("{w} {k:?} {} {:?}", s.requests, s.latency)),
                );
            }
        }
        out
    }

    /// Few, large ingest calls, each past several widths (a backfill on the event clock): the
    /// sweep catches up instead of aging a fixed share per call while buckets pile up.
    #[test]
    fn a_sweep_behind_catches_up() {
        let mut stepped = Engine::new(EngineConfig::default()).unwrap();
        // A pass needs several calls at this budget, and each call is three widths later.
        stepped.set_sweep_per_call(2_000);
        let mut whole = Engine::new(EngineConfig::default()).unwrap();
        for step in 0..240 {
            let ts = T0 + step * 30_000;
            let events: Vec<Event> = minute(0)
                .into_iter()
                .map(|mut e| {
                    e.ts_ms = ts;
                    e
                })
                .collect();
            stepped.ingest(&events, ts);
            whole.ingest(&events, ts);
            whole.finish_sweep();
        }
        let series: usize = whole.views().iter().map(|v| v.series_count()).sum();
        assert!(series > 2_000 / 2, "{series} series");
        let (behind, caught_up) = (stepped.heap_bytes(), whole.heap_bytes());
        assert!(
            (behind as f64) < 1.2 * caught_up as f64,
            "{behind} bytes against {caught_up} for the same buckets aged at every call"
        );
    }

    /// An engine aged a bounded number of series per call answers every query as one aged
    /// whole at every call, and ends in the same buckets once its sweep is done.
    #[test]
    fn a_bounded_sweep_answers_as_a_whole_pass_does() {
        let mut stepped = Engine::new(EngineConfig::default()).unwrap();
        // 500 units of work per call: a pass takes several calls.
        stepped.set_sweep_per_call(500);
        let mut whole = Engine::new(EngineConfig::default()).unwrap();
        // Four hours of minutes with traffic now and then: buckets age through the levels.
        for m in (0..240).step_by(20) {
            let events = minute(m);
            let now = T0 + m * MIN + 55_000;
            stepped.ingest(&events, now);
            whole.ingest(&events, now);
            whole.finish_sweep();
            assert!(
                answers(&stepped) == answers(&whole),
                "answers differ at minute {m}"
            );
        }
        let series: usize = whole.views().iter().map(|v| v.series_count()).sum();
        assert!(series > 2 * 500, "{series} series");
        // Two quiet hours later much has to age: one call does 500 units of it ...
        let later = T0 + 6 * 60 * MIN;
        stepped.advance(later);
        whole.advance(later);
        whole.finish_sweep();
        assert!(buckets(&stepped) != buckets(&whole));
        // ... the next calls finish the pass, into the same buckets.
        for i in 1..=100 {
            stepped.advance(later + i);
        }
        assert!(buckets(&stepped) == buckets(&whole));
        assert!(
            answers(&stepped) == answers(&whole),
            "answers differ at the end"
        );
    }
}
