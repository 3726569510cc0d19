//! Memory of one service's caller summaries against the number of distinct callers in an
//! hour (k = 64, 5-minute buckets): the serialised size stays flat whatever the callers.
//! `cargo run --release -p perf-core --example caller_memory`

#![allow(missing_docs)]

fn main() {
    let t0 = 1_767_225_600_000i64;
    for n in [100_000u64, 1_000_000, 10_000_000] {
        let start = std::time::Instant::now();
        let mut s = perf_core::heavy_hitters::CallerSummaries::default();
        for i in 0..n {
            let ts = t0 + (i as i64 * 3_600_000 / n as i64);
            s.record(
                64,
                300_000,
                ts,
                &format!("caller-{i}"),
                i % 7 == 0,
                0.001,
                i % 11 == 0,
            );
        }
        let bytes = serde_json::to_string(&s).expect("serialises").len();
        println!(
            "{n:>10} distinct callers: {bytes} bytes serialised ({:.1} s)",
            start.elapsed().as_secs_f64()
        );
    }
}
