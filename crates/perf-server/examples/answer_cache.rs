//! What the answer cache saves (issue 20): an engine of 200 services × 10 operations filled
//! with a day of traffic; the overview (last minute and last hour) and one service's profile
//! (last hour and last day) computed anew (`cache.answers.entries: 0`) against reused from
//! the cache (same data), median of 200 each, in one run.
//! `cargo run --release -p perf-server --example answer_cache`

#![allow(missing_docs)]

use perf_core::{Engine, Event};
use perf_server::answers::Answers;
use perf_server::config::AnswerCacheConfig;
use perf_server::Config;
use std::time::Instant;

/// The allocator of the `ecosystem-perf` binary (its allocator.rs says why).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SERVICES: usize = 200;
const OPERATIONS: usize = 10;
const DAY: i64 = 86_400_000;
const NOW: i64 = 1_764_028_800_000;

fn engine() -> Engine {
    let config = Config::default();
    let mut engine = Engine::new(config.engine_config()).unwrap();
    // One event per series every 10 s over a day, in batches of a minute.
    for minute in 0..1_440i64 {
        let start = NOW - DAY + minute * 60_000;
        let mut batch = Vec::with_capacity(SERVICES * OPERATIONS * 6);
        for tick in 0..6i64 {
            for s in 0..SERVICES {
                for o in 0..OPERATIONS {
                    let k = (minute * 6 + tick) as usize * 7919 + s * 31 + o;
                    let mut e = Event::new(
                        start + tick * 10_000,
                        &format!("svc-{s}"),
                        &format!("op{o}"),
                        1.0 + (k % 300) as f64,
                    );
                    e.ok = !k.is_multiple_of(200);
                    batch.push(e);
                }
            }
        }
        engine.ingest(&batch, start + 59_999);
        engine.finish_sweep();
    }
    engine
}

fn median_us(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let engine = engine();
    let now = engine.watermark();
    let off = Answers::new(
        &AnswerCacheConfig {
            entries: 0,
            report: false,
        },
        "bench",
    );
    let on = Answers::new(&AnswerCacheConfig::default(), "bench");
    println!("{SERVICES} services × {OPERATIONS} operations, a day of traffic; median of 200");
    println!("| answer | computed | reused | ratio |");
    println!("|---|---:|---:|---:|");
    for (label, window) in [("overview, 1m", 60_000), ("overview, 1h", 3_600_000)] {
        let computed = median_us(|| {
            std::hint::black_box(off.overview(&engine, now, window));
        });
        on.overview(&engine, now, window);
        let reused = median_us(|| {
            std::hint::black_box(on.overview(&engine, now, window));
        });
        println!(
            "| {label} | {computed:.0} µs | {reused:.1} µs | {:.0}× |",
            computed / reused
        );
    }
    for (label, window) in [("profile, 1h", 3_600_000), ("profile, 24h", DAY)] {
        let computed = median_us(|| {
            std::hint::black_box(off.profile(&engine, "svc-7", now, window).unwrap());
        });
        on.profile(&engine, "svc-7", now, window).unwrap();
        let reused = median_us(|| {
            std::hint::black_box(on.profile(&engine, "svc-7", now, window).unwrap());
        });
        println!(
            "| {label} | {computed:.0} µs | {reused:.1} µs | {:.0}× |",
            computed / reused
        );
    }
    let s = on.stats();
    println!(
        "lookups: {} hits, {} misses; {} bytes held for {} answers",
        s.hits,
        s.misses,
        on.heap_bytes(),
        on.entries().0
    );
}
