//! Memory over a long run, the engine and the decisions driven directly (no HTTP, no
//! log) by the simulated demo ecosystem on a manual clock, simulated days in seconds:
//! - the accounting (`AppState::memory`) matches what a counting allocator says the
//!   process holds;
//! - memory stops growing once the longest retention is full (retention shortened by
//!   configuration so that it fills within the test).
//!
//! This file installs a counting global allocator, so it is its own test binary.

use perf_server::config::Config;
use perf_server::durable::ManualClock;
use perf_server::AppState;
use perf_sim::{demo_ecosystem, Generator};
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::sync::{Arc, Mutex};

/// Counts every allocation of this test binary (no unsafe code of ours: the workspace
/// forbids it, so the counting allocator comes from `stats_alloc`).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The two tests measure the whole process's heap: they must not overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const START: i64 = 1_767_225_600_000;

const SLOS: &str = "
slos:
  - {name: qwallet-availability, service: qwallet, sli: availability, objective: 99.9, window: 7d}
  - {name: qnet-feed-latency, service: qnet, operation: GET /feed, sli: latency, thresholdMs: 200, objective: 99, window: 1d}
  - {name: qflow-availability, service: qflow, sli: availability, objective: 99.5, perTenant: true, window: 1d}
";

struct Soak {
    state: Arc<AppState>,
    clock: Arc<ManualClock>,
    generator: Generator,
    _dir: tempfile::TempDir,
}

impl Soak {
    fn new(yaml: &str, rps: f64) -> Soak {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::from_yaml(&format!("version: 1\n{yaml}")).unwrap();
        config.server.data_dir = dir.path().display().to_string();
        let clock = Arc::new(ManualClock::new(START));
        let state = AppState::open_with_clock(config, clock.clone()).unwrap();
        let mut generator = Generator::new(demo_ecosystem(rps), 7, START);
        perf_sim::add_hourly_incidents(&mut generator);
        Soak {
            state,
            clock,
            generator,
            _dir: dir,
        }
    }

    /// Plays `duration` of traffic in 10 s steps, running the evaluation cycle every
    /// `evaluate_every`; calls `each_hour` after every simulated hour.
    fn play(
        &mut self,
        duration: i64,
        evaluate_every: i64,
        mut each_hour: impl FnMut(i64, &AppState),
    ) {
        let step = 10_000;
        let until = self.generator.now_ms() + duration;
        let mut next_cycle = self.generator.now_ms();
        while self.generator.now_ms() < until {
            let events = self.generator.next_events(step);
            let now = self.generator.now_ms();
            self.clock.set(now);
            let samples = self.generator.resources(step);
            {
                let mut engine = self.state.durable.engine();
                engine.ingest(&events, now);
                engine.ingest_resources(&samples, now);
            }
            if now >= next_cycle {
                self.state.run_cycle();
                next_cycle = now + evaluate_every;
            }
            if (now - START) % HOUR == 0 {
                each_hour((now - START) / HOUR, &self.state);
            }
        }
    }
}

/// Bytes allocated and not yet freed by this process.
fn live() -> i64 {
    let s = GLOBAL.stats();
    // stats_alloc books a realloc's growth in bytes_allocated (a shrink in
    // bytes_deallocated) as well as in bytes_reallocated.
    s.bytes_allocated as i64 - s.bytes_deallocated as i64
}

#[test]
fn the_accounted_components_sum_to_the_heap_a_counting_allocator_measures() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let before = live();
    let mut soak = Soak::new(SLOS, 10.0);
    // A first hour settles what does not grow with data (buffers, tables, the clock).
    soak.play(HOUR, MINUTE, |_, _| {});
    let (heap0, accounted0) = (live(), soak.state.memory().total() as i64);
    soak.play(4 * HOUR, MINUTE, |_, _| {});
    let report = soak.state.memory();
    let (heap1, accounted1) = (live(), report.total() as i64);
    let (heap, accounted) = (heap1 - heap0, accounted1 - accounted0);
    eprintln!(
        "heap grew {heap} B, accounted {accounted} B (absolute: heap {heap1}, accounted {accounted1}); {:?}",
        report.components
    );
    assert!(
        heap > 1_000_000,
        "four hours of traffic must hold memory: {heap}"
    );
    let ratio = accounted as f64 / heap as f64;
    assert!(
        (0.8..=1.2).contains(&ratio),
        "the accounting explains {:.0} % of the heap growth",
        ratio * 100.0
    );
    let absolute = accounted1 as f64 / (heap1 - before) as f64;
    assert!(
        (0.8..=1.2).contains(&absolute),
        "the accounting explains {:.0} % of the heap",
        absolute * 100.0
    );
}

/// Every retention shortened so that the longest (a day of hourly buckets) fills within the
/// test; SLO counters keep at least nine days whatever the window, so they have their own
/// bound test in perf-core.
const SHORT_RETENTION: &str = "
retention:
  resolutions:
    - {width: 10s, keep: 5m}
    - {width: 1m, keep: 1h}
    - {width: 10m, keep: 6h}
    - {width: 1h, keep: 1d}
";

#[test]
fn memory_stops_growing_once_the_longest_retention_is_full() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut soak = Soak::new(SHORT_RETENTION, 2.0);
    let mut hourly: Vec<(i64, i64, u64)> = Vec::new();
    let mut at: std::collections::BTreeMap<i64, Vec<perf_core::memory::Part>> = Default::default();
    soak.play(3 * DAY, 10 * MINUTE, |hour, state| {
        let m = state.memory();
        hourly.push((hour, live(), m.total()));
        if hour == 42 || hour == 66 {
            at.insert(hour, m.components);
        }
    });
    for (a, b) in at[&42].iter().zip(&at[&66]) {
        eprintln!("{:>20}: {:>9} -> {:>9}", a.component, a.bytes, b.bytes);
    }
    for (h, heap, accounted) in hourly.iter().step_by(6) {
        eprintln!("hour {h:>3}: heap {heap:>10} B, accounted {accounted:>10} B");
    }
    // Retention is full after a day and a quarter (the last level's day plus the levels
    // before it); compare the second half of day two with the second half of day three.
    let peak = |from: i64, to: i64, pick: &dyn Fn(&(i64, i64, u64)) -> i64| {
        hourly
            .iter()
            .filter(|x| (from..to).contains(&x.0))
            .map(pick)
            .max()
            .unwrap()
    };
    for (what, pick) in [
        (
            "heap",
            &(|x: &(i64, i64, u64)| x.1) as &dyn Fn(&(i64, i64, u64)) -> i64,
        ),
        ("accounted", &|x: &(i64, i64, u64)| x.2 as i64),
    ] {
        let (day2, day3) = (peak(36, 48, pick), peak(60, 72, pick));
        assert!(
            day3 as f64 <= day2 as f64 * 1.03,
            "{what} kept growing after retention filled: {day2} B on day two, {day3} B on day three"
        );
    }
}
