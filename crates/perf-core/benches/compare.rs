//! The comparison engine's cost: a gate over 10 operations (each side 100,000 requests per
//! operation, lognormal latency) — what `POST /v1/gates/evaluate` spends after reading the
//! views — and the rank statistics alone on one operation.

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use perf_core::compare::histogram::{Histogram, PairDifferences};
use perf_core::compare::{evaluate, mann_whitney, GateConfig, OperationSample};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use std::collections::BTreeMap;

fn sample(n: usize, scale: f64, rng: &mut StdRng) -> OperationSample {
    let d = LogNormal::new(40f64.ln(), 0.7).unwrap();
    let mut s = OperationSample::default();
    for _ in 0..n {
        s.requests += 1;
        s.latency.insert(d.sample(rng) * scale);
        s.cache_hits += 9;
        s.cache_misses += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let base: BTreeMap<String, OperationSample> = (0..10)
        .map(|i| (format!("op{i}"), sample(100_000, 1.0, &mut rng)))
        .collect();
    let cand: BTreeMap<String, OperationSample> = (0..10)
        .map(|i| (format!("op{i}"), sample(100_000, 1.03, &mut rng)))
        .collect();
    let cfg = GateConfig::default();
    c.bench_function("gate_10_ops_100k_each_side", |b| {
        b.iter(|| evaluate(&base, &cand, &cfg, None))
    });
    let (hb, hc) = (
        Histogram::of(&base["op0"].latency),
        Histogram::of(&cand["op0"].latency),
    );
    c.bench_function("mann_whitney_from_sketches", |b| {
        b.iter(|| mann_whitney::from_histograms(&hc, &hb))
    });
    c.bench_function("hodges_lehmann_pair_differences", |b| {
        b.iter(|| PairDifferences::of(&hc, &hb).map(|p| p.hodges_lehmann()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
