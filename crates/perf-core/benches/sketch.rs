//! Sketch insert and merge: ours against `sketches-ddsketch` and `hdrhistogram`, measured in
//! the same run on the same lognormal latencies (ms).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use perf_core::sketch::LatencySketch;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use std::hint::black_box;

fn latencies(n: usize) -> Vec<f64> {
    let d = LogNormal::new(3.0, 0.9).unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    (0..n).map(|_| d.sample(&mut rng)).collect()
}

fn insert(c: &mut Criterion) {
    let values = latencies(100_000);
    let mut g = c.benchmark_group("sketch_insert");
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("perf_core", |b| {
        b.iter(|| {
            let mut s = LatencySketch::new();
            for &v in &values {
                s.insert(v);
            }
            black_box(s.quantile(0.99))
        })
    });
    g.bench_function("sketches_ddsketch", |b| {
        b.iter(|| {
            let mut s =
                sketches_ddsketch::DDSketch::new(sketches_ddsketch::Config::new(0.009, 2048, 1e-9));
            for &v in &values {
                s.add(v);
            }
            black_box(s.quantile(0.99).ok())
        })
    });
    g.bench_function("hdrhistogram_3sig", |b| {
        b.iter(|| {
            // Microsecond resolution up to one hour, 3 significant digits (0.1 % resolution).
            let mut h =
                hdrhistogram::Histogram::<u32>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
            for &v in &values {
                let _ = h.record((v * 1000.0).max(1.0) as u64);
            }
            black_box(h.value_at_quantile(0.99))
        })
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    // 360 small buckets (one hour of 10 s buckets at ~30 events each) merged into one.
    let values = latencies(360 * 30);
    let ours: Vec<LatencySketch> = values
        .chunks(30)
        .map(|ch| {
            let mut s = LatencySketch::new();
            ch.iter().for_each(|&v| s.insert(v));
            s
        })
        .collect();
    let theirs: Vec<sketches_ddsketch::DDSketch> = values
        .chunks(30)
        .map(|ch| {
            let mut s =
                sketches_ddsketch::DDSketch::new(sketches_ddsketch::Config::new(0.009, 2048, 1e-9));
            ch.iter().for_each(|&v| s.add(v));
            s
        })
        .collect();
    let hdr: Vec<hdrhistogram::Histogram<u32>> = values
        .chunks(30)
        .map(|ch| {
            let mut h =
                hdrhistogram::Histogram::<u32>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
            ch.iter().for_each(|&v| {
                let _ = h.record((v * 1000.0).max(1.0) as u64);
            });
            h
        })
        .collect();
    let mut g = c.benchmark_group("sketch_merge_360_buckets");
    g.throughput(Throughput::Elements(360));
    g.bench_function("perf_core", |b| {
        b.iter_batched(
            LatencySketch::new,
            |mut acc| {
                ours.iter().for_each(|s| acc.merge(s));
                black_box(acc.quantile(0.99))
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("sketches_ddsketch", |b| {
        b.iter_batched(
            || sketches_ddsketch::DDSketch::new(sketches_ddsketch::Config::new(0.009, 2048, 1e-9)),
            |mut acc| {
                theirs.iter().for_each(|s| {
                    let _ = acc.merge(s);
                });
                black_box(acc.quantile(0.99).ok())
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("hdrhistogram_3sig", |b| {
        b.iter_batched(
            || hdrhistogram::Histogram::<u32>::new_with_bounds(1, 3_600_000_000, 3).unwrap(),
            |mut acc| {
                hdr.iter().for_each(|h| {
                    let _ = acc.add(h);
                });
                black_box(acc.value_at_quantile(0.99))
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
    println!(
        "memory per 30-value sketch: perf_core {} B heap, hdrhistogram {} B",
        ours.iter().map(|s| s.heap_bytes()).sum::<usize>() / ours.len(),
        hdr[0].distinct_values() * 4
    );
}

criterion_group!(benches, insert, merge);
criterion_main!(benches);
