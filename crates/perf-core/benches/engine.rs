//! The whole engine update per event (five default views, caller summaries, stages), and the
//! profile of a service with 100 operations over one hour; the update and the decoding with
//! and without `cacheKey` on the same events (issue 20: at most 10 % more); sealing a busy
//! bucket and reading it back.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use perf_core::model::CacheOutcome;
use perf_core::report::profile;
use perf_core::{Engine, EngineConfig, Event};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::hint::black_box;

const T0: i64 = 1_699_999_200_000;

fn events(n: usize, ops: usize, span_ms: i64, seed: u64) -> Vec<Event> {
    let d = LogNormal::new(3.0, 0.8).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v: Vec<Event> = (0..n)
        .map(|i| {
            let mut e = Event::new(
                T0 + (i as i64 * span_ms) / n as i64,
                "qnet",
                &format!("op{}", rng.random_range(0..ops)),
                d.sample(&mut rng),
            );
            e.node = format!("node-{}", rng.random_range(0..6));
            e.tenant = Some(format!("dao-{}", rng.random_range(0..4)));
            e.version = Some("v1".into());
            e.entity = Some(format!("caller-{}", rng.random_range(0..5000)));
            e.cost = Some(0.001);
            e.cache = Some(if rng.random_bool(0.9) {
                CacheOutcome::Hit
            } else {
                CacheOutcome::Miss
            });
            e.stages = vec![
                ("db".into(), e.latency_ms * 0.6),
                ("render".into(), e.latency_ms * 0.4),
            ];
            e
        })
        .collect();
    v.sort_by_key(|e| e.ts_ms);
    v
}

/// Cache keys of a Zipf(0.9)-like popularity over 200,000 keys (log-uniform ranks).
fn key_of(rng: &mut StdRng) -> String {
    let rank = 200_000f64.powf(rng.random::<f64>()) as u64;
    format!("item-{rank}")
}

/// The same events in a cache space, with or without a key.
fn with_space(mut batch: Vec<Event>, keys: bool) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(9);
    for e in &mut batch {
        e.cache_space = Some("qnet:search".into());
        let key = key_of(&mut rng);
        if keys {
            e.cache_key = Some(perf_core::model::cache_key_hash(&key));
        }
    }
    batch
}

fn update(c: &mut Criterion) {
    let batch = events(10_000, 20, 10_000, 1);
    let mut g = c.benchmark_group("engine_update");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("five_views_callers_stages", |b| {
        let mut engine = Engine::new(EngineConfig::default()).unwrap();
        engine.ingest(&batch, T0 + 10_000);
        b.iter(|| engine.ingest(black_box(&batch), T0 + 10_000))
    });
    for (name, keys) in [("cache_space", false), ("cache_space_and_key", true)] {
        let batch = with_space(batch.clone(), keys);
        g.bench_function(name, |b| {
            let mut engine = Engine::new(EngineConfig::default()).unwrap();
            engine.ingest(&batch, T0 + 10_000);
            b.iter(|| engine.ingest(black_box(&batch), T0 + 10_000))
        });
    }
    g.finish();
}

fn profile_query(c: &mut Criterion) {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let all = events(1_000_000, 100, 3_600_000, 2);
    for chunk in all.chunks(10_000) {
        engine.ingest(chunk, chunk.last().unwrap().ts_ms);
    }
    let now = T0 + 3_600_000;
    let mut g = c.benchmark_group("profile");
    g.bench_function("100_operations_1h", |b| {
        b.iter(|| black_box(profile(&engine, "qnet", now, 3_600_000).unwrap()))
    });
    g.finish();
}

fn decode(c: &mut Criterion) {
    use perf_core::model::{decode_events, BodyFormat, TimeBounds};
    let body: String = events(10_000, 20, 10_000, 3)
        .iter()
        .map(|e| {
            format!(
                "{{\"ts\":{},\"service\":\"{}\",\"operation\":\"{}\",\"node\":\"{}\",\"tenant\":\"dao-1\",\"entity\":\"{}\",\"version\":\"v1\",\"latencyMs\":{:.3},\"ok\":true,\"cache\":\"hit\",\"cost\":0.001}}\n",
                e.ts_ms, e.service, e.operation, e.node, e.entity.as_deref().unwrap_or(""), e.latency_ms
            )
        })
        .collect();
    let bounds = TimeBounds {
        now_ms: T0 + 10_000,
        max_age_ms: 86_400_000,
        max_future_ms: 300_000,
    };
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("ndjson_validate_10k", |b| {
        b.iter(|| {
            black_box(decode_events(body.as_bytes(), BodyFormat::Ndjson, &bounds, 50_000).unwrap())
        })
    });
    // The same lines in a cache space, without and with a key.
    let mut rng = StdRng::seed_from_u64(9);
    let (mut spaced, mut keyed) = (String::new(), String::new());
    for line in body.lines() {
        let open = &line[..line.len() - 1];
        spaced.push_str(&format!("{open},\"cacheSpace\":\"qnet:search\"}}\n"));
        keyed.push_str(&format!(
            "{open},\"cacheSpace\":\"qnet:search\",\"cacheKey\":\"{}\"}}\n",
            key_of(&mut rng)
        ));
    }
    for (name, text) in [
        ("ndjson_cache_space_10k", &spaced),
        ("ndjson_cache_space_and_key_10k", &keyed),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    decode_events(text.as_bytes(), BodyFormat::Ndjson, &bounds, 50_000).unwrap(),
                )
            })
        });
    }
    g.finish();
}

/// Sealing a busy bucket (a demo minute: 2,400 requests) and reading it back, the work the
/// aging sweep and every query over settled buckets do per bucket.
fn sealed_cell(c: &mut Criterion) {
    use perf_core::rollup::Cell;
    use perf_core::stats::Stats;
    let mut stats = Stats::default();
    for e in events(2_400, 1, 60_000, 4) {
        stats.record(&e, 200.0, &[]);
    }
    let mut g = c.benchmark_group("cell");
    g.bench_function("seal_2400_requests", |b| {
        b.iter(|| {
            let mut cell = Cell::Open(Box::new(stats.clone()));
            cell.seal();
            black_box(cell)
        })
    });
    let mut sealed = Cell::Open(Box::new(stats.clone()));
    sealed.seal();
    g.bench_function("read_2400_requests", |b| {
        b.iter(|| {
            let mut out = Stats::default();
            sealed.merge_into(&mut out);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, update, profile_query, decode, sealed_cell);
criterion_main!(benches);
