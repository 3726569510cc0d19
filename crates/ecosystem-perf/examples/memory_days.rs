//! Memory per series over simulated days at 10,000 series per view (issue 19): drives the
//! engine directly (no HTTP, no log) with N (service, operation) keys, one event per key
//! every 30 s of simulated time — the sparse, many-series shape, where a bucket holds one or
//! a few requests — with the default retention (`EngineConfig::default()`: 10 s for 15 min,
//! 1 min for 4 h, 10 min for a day, 1 h for 35 days), and prints once per simulated day the
//! engine's own count of its heap, what the allocator (jemalloc, as in the binary) has
//! handed out and holds resident, and the process RSS, each per series.
//!
//! `cargo run --release -p ecosystem-perf --example memory_days -- [keys] [days] [hourly keep, days]`
//! (defaults 10000, 7 and the default 35: with a shorter hourly keep the curve shows where
//! memory stops growing once the longest retention is full).

use perf_core::{Engine, EngineConfig, Event};

/// The allocator of the `ecosystem-perf` binary (its allocator.rs says why).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const DAY: i64 = 86_400_000;
const STEP: i64 = 30_000;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

fn heap() -> (u64, u64) {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().expect("jemalloc epoch");
    (
        stats::allocated::read().expect("allocated") as u64,
        stats::resident::read().expect("resident") as u64,
    )
}

fn mib(b: u64) -> f64 {
    b as f64 / 1_048_576.0
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let keys = args.first().copied().unwrap_or(10_000);
    let days = args.get(1).copied().unwrap_or(7) as i64;
    let mut config = EngineConfig {
        max_series_per_view: keys + 10,
        ..EngineConfig::default()
    };
    if let Some(&keep) = args.get(2) {
        if let Some(hourly) = config.resolutions.last_mut() {
            hourly.keep = keep as i64 * DAY;
        }
    }
    let hourly_keep = config.resolutions.last().map_or(0, |r| r.keep / DAY);
    let mut engine = Engine::new(config).expect("engine");
    // One batch per step: every key once, its latency moving with the key and the step.
    let mut batch: Vec<Event> = (0..keys)
        .map(|k| {
            let mut e = Event::new(0, &format!("svc{}", k % 50), &format!("op{k}"), 1.0);
            e.node = format!("node-{}", k % 12);
            e.tenant = Some(format!("dao-{}", k % 4));
            e.version = Some("v1".into());
            e
        })
        .collect();
    let start = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
    let rss_before = rss_bytes();
    let wall = std::time::Instant::now();
    println!(
        "{keys} keys, one event per key every 30 s, {days} simulated days, hourly buckets kept {hourly_keep} days"
    );
    println!("| day | events | series | engine heap | per series | allocated | resident (allocator) | RSS | RSS per series |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut events = 0u64;
    for step in 0..days * DAY / STEP {
        let ts = start + step * STEP;
        for (k, e) in batch.iter_mut().enumerate() {
            e.ts_ms = ts;
            e.latency_ms = 5.0 + ((k * 31 + step as usize * 7) % 190) as f64;
            e.ok = !(k + step as usize).is_multiple_of(97);
        }
        engine.ingest(&batch, ts);
        events += keys as u64;
        if (step + 1) * STEP % DAY == 0 {
            let series: usize = engine.views().iter().map(|v| v.series_count()).sum();
            let accounted = engine.heap_bytes() as u64;
            let (allocated, resident) = heap();
            let rss = rss_bytes();
            println!(
                "| {} | {:.1} M | {series} | {:.1} MiB | {:.0} B | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.0} B |",
                (step + 1) * STEP / DAY,
                events as f64 / 1e6,
                mib(accounted),
                accounted as f64 / series as f64,
                mib(allocated),
                mib(resident),
                mib(rss),
                rss.saturating_sub(rss_before) as f64 / series as f64,
            );
        }
    }
    let mut parts = engine.memory();
    parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
    let largest: Vec<String> = parts
        .iter()
        .take(6)
        .map(|p| format!("{} {:.1} MiB", p.component, mib(p.bytes)))
        .collect();
    println!("largest components: {}", largest.join(", "));
    println!("{:.0} s", wall.elapsed().as_secs_f64());
}
