//! Evaluating 1,000 SLOs (all burn windows and alert tiers) per cycle, with a day of
//! minute-level traffic behind each, and 100 journeys over them; back-filling a new SLO from
//! 35 days of views; counting events into an SLO with and without a business-hours budget
//! correction.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use perf_core::slo::{
    default_tiers, Budgeting, CompositeDef, Correction, Exclusion, Member, Selector, Sli, SloDef,
    SloSet, SloWindow,
};
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
    // 100 journeys of 10 members each over the same SLOs.
    for j in 0..100 {
        let journey = CompositeDef {
            def: SloDef {
                name: format!("journey-{j}"),
                selector: Selector {
                    service: format!("journey-{j}"),
                    ..Default::default()
                },
                objective: 0.99,
                ..engine.slos().entries()[0].def.clone()
            },
            members: (0..10)
                .map(|k| Member {
                    slo: format!("slo-{}", (j * 10 + k) % 1000),
                    weight: 1.0 + k as f64,
                    key: k == 0,
                })
                .collect(),
        };
        engine.slos_mut().upsert_composite(journey).unwrap();
    }
    g.bench_function("evaluate_1000_slos_and_100_journeys", |b| {
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

/// 100,000 events of one service counted into one SLO, plain and with a business-hours
/// correction (a time-zone conversion per event).
fn corrections(c: &mut Criterion) {
    let slo = SloDef {
        name: "office".into(),
        description: None,
        selector: Selector {
            service: "svc".into(),
            ..Default::default()
        },
        sli: Sli::Availability,
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
    let events: Vec<Event> = (0..100_000i64)
        .map(|i| Event::new(T0 + i * 600, "svc", "op", 10.0))
        .collect();
    let now = T0 + 100_000 * 600;
    let mut g = c.benchmark_group("slo");
    g.sample_size(20);
    for corrected in [false, true] {
        let mut set = SloSet::new(100);
        set.upsert(slo.clone()).unwrap();
        if corrected {
            let office = Correction {
                id: "office".into(),
                exclusion: Exclusion::BusinessHours {
                    days: 0b0011111,
                    start_minute: 9 * 60,
                    end_minute: 17 * 60,
                    tz: chrono_tz::Europe::Berlin,
                },
                reason: "bench".into(),
                author: "bench".into(),
                token: None,
                created_ms: T0,
                from_config: false,
            };
            set.set_corrections("office", vec![office]).unwrap();
        }
        let label = if corrected {
            "record_100k_events_business_hours"
        } else {
            "record_100k_events_plain"
        };
        g.bench_function(label, |b| {
            b.iter(|| {
                let mut s = set.clone();
                for e in &events {
                    s.record(e, now);
                }
                black_box(s.entries().len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, evaluate, backfill, corrections);
criterion_main!(benches);
