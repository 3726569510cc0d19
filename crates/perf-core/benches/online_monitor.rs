//! Cost of the online anomaly monitor per evaluated minute: ten services of 20 operations,
//! 6 nodes, 4 tenants and one version (2,040 detectors over the five default views), after
//! two hours of history. "quiet minute": every detector takes its point, no anomaly. "slow
//! node minute": one node of one service is eight times slower, so its incident is opened
//! and its cause analysed from the engine's counts (excess slow requests per value).

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use perf_core::anomaly::online::{Monitor, MonitorConfig};
use perf_core::{Engine, EngineConfig, Event};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};

const T0: i64 = 1_699_999_200_000;
const MINUTE: i64 = 60_000;
/// Minutes of history before the measured minutes.
const HISTORY: i64 = 120;

fn minute_events(minute: i64, rng: &mut StdRng) -> Vec<Event> {
    let latency = LogNormal::new(3.0, 0.4).unwrap();
    let mut out = Vec::with_capacity(10 * 600);
    for s in 0..10 {
        for i in 0..600i64 {
            let node = rng.random_range(0..6);
            let mut e = Event::new(
                T0 + minute * MINUTE + i * 100,
                &format!("svc-{s}"),
                &format!("op-{}", rng.random_range(0..20)),
                latency.sample(rng),
            );
            if s == 0 && node == 2 && minute > HISTORY {
                e.latency_ms *= 8.0;
            }
            e.node = format!("node-{node}");
            e.tenant = Some(format!("dao-{}", rng.random_range(0..4)));
            e.version = Some("v1".into());
            out.push(e);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(5);
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let mut monitor = Monitor::new(MonitorConfig::default());
    // History, the minute measured quiet, and two slow minutes.
    for minute in 0..=HISTORY + 2 {
        engine.ingest(&minute_events(minute, &mut rng), T0 + (minute + 1) * MINUTE);
    }
    // Evaluated through minute HISTORY − 1: now is two minutes after a minute's start.
    for minute in 0..HISTORY {
        monitor.advance(&engine, T0 + (minute + 2) * MINUTE);
    }
    println!("detectors: {}", monitor.detector_count());
    let mut g = c.benchmark_group("online_monitor");
    g.bench_function("quiet_minute_2040_detectors", |b| {
        b.iter_batched(
            || monitor.clone(),
            |mut m| m.advance(&engine, T0 + (HISTORY + 2) * MINUTE),
            BatchSize::LargeInput,
        )
    });
    let mut warmed = monitor.clone();
    warmed.advance(&engine, T0 + (HISTORY + 2) * MINUTE);
    // The first slow minute: anomalies, an incident, its cause from the counts.
    let mut probe = warmed.clone();
    let (found, changes) = probe.advance(&engine, T0 + (HISTORY + 3) * MINUTE);
    let cause = probe
        .incidents
        .all()
        .last()
        .map(|i| i.probable_cause.clone());
    println!(
        "slow node minute: {} anomalies, {} incident(s) opened; {cause:?}",
        found.len(),
        changes.opened.len()
    );
    g.bench_function("slow_node_minute_with_cause_analysis", |b| {
        b.iter_batched(
            || warmed.clone(),
            |mut m| m.advance(&engine, T0 + (HISTORY + 3) * MINUTE),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
