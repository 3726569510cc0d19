//! The longest ingest stall a snapshot causes at 100k series (issue 19): fills an engine with
//! 10,000 services × 10 operations (100,000 series in the `service_operation` view) over an
//! hour of traffic, then takes snapshots whole (one hold of the engine lock, as before the
//! slices) and in slices while a writer commits small batches, and prints the longest engine
//! hold, the longest wait of a reader probing the engine lock every millisecond, and the
//! longest commit the writer saw (which also waits for the log's fsync) during each kind.
//! `cargo run --release -p perf-server --example snapshot_stall`

#![allow(missing_docs)]

use perf_core::Event;
use perf_server::durable::{Durable, LogBatch};
use perf_server::Config;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The allocator of the `ecosystem-perf` binary (its allocator.rs says why).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const SERVICES: usize = 10_000;
const OPERATIONS: usize = 10;

fn events(n: usize, seed: usize, now: i64, spread_ms: i64) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let j = seed * n + i;
            let k = j * 7919;
            let mut e = Event::new(
                now - (k as i64 % spread_ms.max(1)),
                &format!("svc-{}", j % SERVICES),
                &format!("op{}", (j / SERVICES) % OPERATIONS),
                1.0 + (k % 300) as f64,
            );
            e.node = format!("n{}", k % 3);
            e.ok = !k.is_multiple_of(200);
            e
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.data_dir = dir.path().display().to_string();
    // Snapshots are taken by this program only.
    config.server.snapshot_interval = 24 * 3_600_000;
    // Room for 100k series in one view (the default limit is 10,000 per view).
    config.server.limits.max_series_per_view = 200_000;
    config.server.limits.max_series_per_tenant = 200_000;
    let d = Durable::open(config).expect("open");
    let now = d.now();
    let fill = Instant::now();
    for seed in 0..200 {
        // 2M events spread over the last hour: every series has buckets at every level.
        d.commit_once(LogBatch::Events(events(10_000, seed, now, 3_600_000)), None)
            .expect("commit");
    }
    let series: usize = d.engine().views().iter().map(|v| v.series_count()).sum();
    let per_view: Vec<String> = d
        .engine()
        .views()
        .iter()
        .map(|v| format!("{} {}", v.def.name, v.series_count()))
        .collect();
    println!(
        "filled in {:.1} s: {series} series ({})",
        fill.elapsed().as_secs_f64(),
        per_view.join(", ")
    );
    for kind in ["none", "whole", "sliced", "none", "whole", "sliced"] {
        let done = AtomicBool::new(false);
        let (took, hold, worst, commits, waited) = std::thread::scope(|s| {
            // What a request reading the engine waits: the lock taken every millisecond.
            let probe = s.spawn(|| {
                let mut waited = Duration::ZERO;
                while !done.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    drop(d.engine());
                    waited = waited.max(t.elapsed());
                    std::thread::sleep(Duration::from_millis(1));
                }
                waited
            });
            let writer = s.spawn(|| {
                let mut worst = Duration::ZERO;
                let mut commits = 0u64;
                let mut seed = 1_000;
                while !done.load(Ordering::Relaxed) {
                    let batch = events(100, seed, d.now(), 1_000);
                    seed += 1;
                    let t = Instant::now();
                    d.commit_once(LogBatch::Events(batch), None)
                        .expect("commit");
                    worst = worst.max(t.elapsed());
                    commits += 1;
                }
                (worst, commits)
            });
            std::thread::sleep(Duration::from_millis(200));
            let t = Instant::now();
            match kind {
                "whole" => d.snapshot_whole().expect("snapshot"),
                "sliced" => d.snapshot().expect("snapshot"),
                _ => std::thread::sleep(Duration::from_secs(3)),
            }
            let took = t.elapsed();
            let hold = match kind {
                "none" => 0,
                _ => d.metrics.snapshot_longest_hold_us.load(Ordering::Relaxed),
            };
            std::thread::sleep(Duration::from_millis(200));
            done.store(true, Ordering::Relaxed);
            let (worst, commits) = writer.join().expect("writer");
            (took, hold, worst, commits, probe.join().expect("probe"))
        });
        println!(
            "{:>6} snapshot: {:>7.1} ms in all, longest engine hold {:>6.1} ms, longest wait for the engine {:>6.1} ms, longest commit of the writer {:>6.1} ms ({commits} commits)",
            kind,
            took.as_secs_f64() * 1e3,
            hold as f64 / 1e3,
            waited.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3,
        );
    }
}
