//! Evaluating 1,000 SLOs (all burn windows and alert tiers) per cycle, with a day of
//! minute-level traffic behind each; back-filling a new SLO from 35 days of views.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use perf_core::slo::{default_tiers, Budgeting, Selector, Sli, SloDef, SloWindow};
use perf_core::{Engine, EngineConfig, Event};
use std::hint::black_box;

const T0: i64 = 1_699_999_200_000;
const MINUTE: i64 = 60_000;

fn engine_with_slos(n: usize) -> (Engine, i64) {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for i in 0..n {
        let def = SloDef {
            name: format!("slo-{i}"),
            description: None,
            selector: Selector {
                service: format!("svc{}", i % 50),
                operation: Some(format!("op{}", i / 50)),
                ..Default::default()
            },
            sli: if i % 2 == 0 {
                Sli::Availability
            } else {
                Sli::Latency {
                    threshold_ms: 100.0,
                }
            },
            objective: 0.999,
            window: SloWindow::Rolling {
                length_ms: 28 * 24 * 60 * MINUTE,
            },
            budgeting: Budgeting::Occurrences,
            per_tenant: false,
            tiers: default_tiers(),
            min_events: 10,
            from_config: false,
        };
        engine.slos_mut().upsert(def).unwrap();
    }
    // One day: every SLO sees one event per minute.
    let minutes = 24 * 60;
    for m in 0..minutes {
        let ts = T0 + m * MINUTE;
        let batch: Vec<Event> = (0..n)
            .map(|i| {
                let mut e = Event::new(
                    ts,
                    &format!("svc{}", i % 50),
                    &format!("op{}", i / 50),
                    (m % 150) as f64,
                );
                e.ok = m % 97 != 0;
                e
            })
            .collect();
        engine.ingest(&batch, ts);
    }
    (engine, T0 + minutes * MINUTE)
}

fn evaluate(c: &mut Criterion) {
    let (mut engine, now) = engine_with_slos(1_000);
    let mut g = c.benchmark_group("slo");
    g.sample_size(20);
    g.bench_function("evaluate_1000_slos", |b| {
        b.iter(|| black_box(engine.slos_mut().evaluate(now).len()))
    });
    g.finish();
    let buckets: usize = engine
        .slos()
        .entries()
        .iter()
        .map(|e| e.all.counter.buckets())
        .sum();
    println!(
        "1000 SLOs hold {buckets} buckets ({} per SLO)",
        buckets / 1000
    );
}

/// 35 days of a 20-operation service, 10 requests per operation every 10 minutes (1 M
/// events in the views), then an SLO made over it: the back-fill reads every hour and the
/// last 7 hours' minutes.
fn backfill(c: &mut Criterion) {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let steps = 35 * 24 * 6;
    let mut now = T0;
    for k in 0..steps {
        now = T0 + k * 10 * MINUTE;
        let batch: Vec<Event> = (0..200)
            .map(|i| {
                let mut e = Event::new(
                    now + i * 3_000,
                    "svc",
                    &format!("op{}", i % 20),
                    (i % 150) as f64 + 1.0,
                );
                e.ok = (k + i) % 97 != 0;
                e
            })
            .collect();
        engine.ingest(&batch, now + 10 * MINUTE - 1);
    }
    let now = now + 10 * MINUTE - 1;
    let def = |name: &str, sli: Sli, operation: Option<String>| SloDef {
        name: name.into(),
        description: None,
        selector: Selector {
            service: "svc".into(),
            operation,
            ..Default::default()
        },
        sli,
        objective: 0.999,
        window: SloWindow::Rolling {
            length_ms: 28 * 24 * 60 * MINUTE,
        },
        budgeting: Budgeting::Occurrences,
        per_tenant: false,
        tiers: default_tiers(),
        min_events: 10,
        from_config: false,
    };
    let mut g = c.benchmark_group("slo_backfill");
    g.sample_size(10);
    for (label, sli, op) in [
        ("availability_service_35d", Sli::Availability, None),
        (
            "latency_one_operation_35d",
            Sli::Latency {
                threshold_ms: 100.0,
            },
            Some("op3".to_string()),
        ),
    ] {
        g.bench_function(label, |b| {
            b.iter(|| {
                engine
                    .slos_mut()
                    .upsert(def(label, sli, op.clone()))
                    .unwrap();
                let filled = engine.backfill_slo(label, now).unwrap();
                engine.slos_mut().remove(label);
                black_box(filled.events)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, evaluate, backfill);
criterion_main!(benches);
