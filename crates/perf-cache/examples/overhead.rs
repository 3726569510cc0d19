//! What the instrumentation costs: a lookup through [`perf_cache::InstrumentedCache`]
//! against the same lookup on a bare `moka::sync::Cache`, in one run (a warm cache of
//! 10,000 entries, keys Zipf(0.9) over 100,000 ids, a miss inserts; one thread and two
//! threads), with a reporter draining the recorder every 100 ms into a sink that discards,
//! as a service would run it; and the hit ratios of the two on the same key stream (they
//! must match: the wrapper does not change what moka does).
//!
//! `cargo run --release -p perf-cache --example overhead`

use perf_cache::{Batch, Builder, Identity, InstrumentedCache, Recorder, Reporter};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use std::time::Instant;

const LOOKUPS: usize = 2_000_000;

fn keys(seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(100_000.0, 0.9).unwrap();
    (0..LOOKUPS).map(|_| zipf.sample(&mut rng) as u64).collect()
}

fn bare(keys: &[u64], cache: &moka::sync::Cache<u64, u64>) -> (f64, u64) {
    let started = Instant::now();
    let mut hits = 0;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, k);
        }
    }
    (
        started.elapsed().as_secs_f64() * 1e9 / keys.len() as f64,
        hits,
    )
}

fn instrumented(keys: &[u64], cache: &InstrumentedCache<u64, u64>) -> (f64, u64) {
    let started = Instant::now();
    let mut hits = 0;
    for &k in keys {
        if cache.get(&k).is_some() {
            hits += 1;
        } else {
            cache.insert(k, k);
        }
    }
    (
        started.elapsed().as_secs_f64() * 1e9 / keys.len() as f64,
        hits,
    )
}

fn main() {
    for threads in [1usize, 2] {
        let streams: Vec<Vec<u64>> = (0..threads as u64).map(keys).collect();
        let moka = moka::sync::Cache::builder().max_capacity(10_000).build();
        // Room for a second of lookups: the cost measured is the recording, not dropping.
        let recorder = Recorder::new(Identity::new("s", "op", "n"), 2_000_000);
        let inst: InstrumentedCache<u64, u64> =
            Builder::new("space").max_capacity(10_000).build(&recorder);
        let reporter = Reporter::spawn(
            recorder.clone(),
            |_: &Batch| Ok(0),
            std::time::Duration::from_millis(100),
        );
        let run = |f: &(dyn Fn(&[u64]) -> (f64, u64) + Sync)| {
            std::thread::scope(|s| {
                let handles: Vec<_> = streams.iter().map(|k| s.spawn(|| f(k))).collect();
                let results: Vec<(f64, u64)> =
                    handles.into_iter().map(|h| h.join().unwrap()).collect();
                let ns = results.iter().map(|r| r.0).sum::<f64>() / results.len() as f64;
                let hits: u64 = results.iter().map(|r| r.1).sum();
                (ns, hits as f64 / (LOOKUPS * threads) as f64)
            })
        };
        // Warm both, then measure each twice, interleaved.
        run(&|k| bare(k, &moka));
        run(&|k| instrumented(k, &inst));
        let mut b = Vec::new();
        let mut i = Vec::new();
        for _ in 0..2 {
            b.push(run(&|k| bare(k, &moka)));
            i.push(run(&|k| instrumented(k, &inst)));
        }
        drop(reporter);
        assert_eq!(recorder.stats().dropped, 0, "every lookup recorded");
        let best = |v: &[(f64, f64)]| v.iter().map(|x| x.0).fold(f64::MAX, f64::min);
        let (bn, inn) = (best(&b), best(&i));
        println!(
            "{threads} thread(s): bare moka {bn:.0} ns/lookup (hits {:.1} %), instrumented {inn:.0} ns/lookup (hits {:.1} %), +{:.0} ns ({:+.0} %)",
            b[1].1 * 100.0,
            i[1].1 * 100.0,
            inn - bn,
            (inn / bn - 1.0) * 100.0
        );
    }
}
