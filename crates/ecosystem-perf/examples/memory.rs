//! Memory per active series for BENCHMARKS.md: feeds the engine 15 minutes of traffic over N
//! distinct (service, operation) keys — each key also lands in the node, tenant, version and
//! operation-version views — and reports the process RSS growth and the engine's own count
//! of series heap bytes.
//!
//! `cargo run --release --example memory -- 1000 10000 100000`

use perf_core::{Engine, EngineConfig, Event};

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    let t0 = 1_699_999_200_000i64;
    for n in sizes {
        let before = rss_bytes();
        let config = EngineConfig {
            max_series_per_view: n + 10,
            ..EngineConfig::default()
        };
        let mut engine = Engine::new(config).unwrap();
        // 15 minutes, one event per key every 30 s (30 buckets per key at 10 s resolution).
        let steps = 30;
        for step in 0..steps {
            let ts = t0 + step * 30_000;
            let batch: Vec<Event> = (0..n)
                .map(|k| {
                    let mut e = Event::new(
                        ts,
                        &format!("svc{}", k % 50),
                        &format!("op{k}"),
                        5.0 + (k % 97) as f64 + step as f64,
                    );
                    e.node = format!("node-{}", k % 12);
                    e.tenant = Some(format!("dao-{}", k % 4));
                    e.version = Some("v1".into());
                    e
                })
                .collect();
            engine.ingest(&batch, ts);
        }
        let after = rss_bytes();
        let series: usize = engine.views().iter().map(|v| v.series_count()).sum();
        println!(
            "{n} keys ({series} series over 5 views): RSS +{:.1} MiB = {:.0} B per key; engine series heap {:.1} MiB",
            (after.saturating_sub(before)) as f64 / 1048576.0,
            after.saturating_sub(before) as f64 / n as f64,
            engine.heap_bytes() as f64 / 1048576.0
        );
        drop(engine);
    }
}
