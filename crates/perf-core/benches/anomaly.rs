//! Throughput of the streaming detector: points per second on one core over a seasonal
//! series with noise and spikes.

#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use perf_core::anomaly::{Detector, DetectorConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

fn bench(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let noise = Normal::new(0.0, 1.0).unwrap();
    let points: Vec<(i64, f64)> = (0..100_000)
        .map(|i| {
            let phase = i as f64 / 288.0;
            let mut v =
                100.0 + 10.0 * (2.0 * std::f64::consts::PI * phase).sin() + noise.sample(&mut rng);
            if rng.random::<f64>() < 0.001 {
                v += 30.0;
            }
            (1_700_000_000_000 + i as i64 * 300_000, v)
        })
        .collect();
    let mut g = c.benchmark_group("anomaly");
    g.throughput(Throughput::Elements(points.len() as u64));
    g.bench_function("detector_100k_points", |b| {
        b.iter(|| {
            let mut d = Detector::new(DetectorConfig::default());
            let mut flagged = 0u32;
            for &(t, v) in &points {
                flagged += u32::from(d.update(t, v).is_anomaly);
            }
            flagged
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
