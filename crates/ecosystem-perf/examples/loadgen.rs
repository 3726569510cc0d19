//! HTTP ingest load generator for BENCHMARKS.md: several client threads post pre-built
//! NDJSON batches to a running server for a fixed time (loopback only) and report sustained
//! events/s and the request latency distribution.
//!
//! `cargo run --release --example loadgen -- --url http://127.0.0.1:9470 --threads 4 --batch 5000 --seconds 20`

use perf_core::sketch::LatencySketch;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod shared;
use shared::{arg, body};

fn main() {
    let url = format!("{}/v1/events", arg("--url", "http://127.0.0.1:9470"));
    assert!(
        url.starts_with("http://127.") || url.starts_with("http://localhost"),
        "loopback targets only"
    );
    let threads: usize = arg("--threads", "4").parse().expect("--threads");
    let batch: usize = arg("--batch", "5000").parse().expect("--batch");
    let seconds: f64 = arg("--seconds", "20").parse().expect("--seconds");
    let bodies: Arc<Vec<String>> = Arc::new((0..16).map(|s| body(batch, s)).collect());
    let latencies = Arc::new(Mutex::new(LatencySketch::new()));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (url, bodies, latencies) = (url.clone(), bodies.clone(), latencies.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                let mut sent = 0u64;
                let mut local = LatencySketch::new();
                let mut i = t;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let resp = http
                        .post(&url)
                        .header("content-type", "application/x-ndjson")
                        .body(bodies[i % bodies.len()].clone())
                        .send()
                        .expect("request");
                    assert!(resp.status().is_success(), "status {}", resp.status());
                    let _ = resp.bytes();
                    local.insert(began.elapsed().as_secs_f64() * 1000.0);
                    sent += batch as u64;
                    i += threads;
                }
                latencies.lock().unwrap().merge(&local);
                sent
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = start.elapsed().as_secs_f64();
    let l = latencies.lock().unwrap();
    println!(
        "threads {threads} batch {batch}: {total} events in {elapsed:.1} s = {:.0} events/s; requests {} p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        total as f64 / elapsed,
        l.count(),
        l.quantile(0.5).unwrap_or(0.0),
        l.quantile(0.99).unwrap_or(0.0),
        l.max().unwrap_or(0.0)
    );
}
