//! Soak driver for BENCHMARKS.md (issue 14): against a running server (loopback only), for a
//! fixed time and all at once —
//! - paced ingest at `--rate` events/s in NDJSON batches of `--batch` (4 client threads);
//! - a cardinality flood: batches of events of never-seen services from one tenant;
//! - queries: overview, profile, `/v1/query` (per key, with quantiles) and callers, in turn;
//! - a WebSocket subscriber of `/v1/stream`;
//! - `/healthz` every 50 ms;
//! - the server's RSS (from `/proc/PID/status`) every 10 s.
//!
//! Prints the ingest and `/healthz` latency quantiles, the acknowledged events, and RSS over
//! time; `scripts/soak.sh` starts the server, runs this, restarts it and checks that every
//! acknowledged event is still counted.
//!
//! `cargo run --release --example soak -- --url http://127.0.0.1:9481 --pid PID --seconds 600 --rate 400000`

use futures_util::StreamExt;
use perf_core::sketch::LatencySketch;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod shared;
use shared::{arg, body};

fn flood_body(round: u64) -> String {
    (0..100)
        .map(|i| format!("{{\"service\":\"flood-{round}-{i}\",\"operation\":\"op\",\"node\":\"n\",\"tenant\":\"dao-flood\",\"version\":\"v{round}\",\"latencyMs\":3.0}}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn q(s: &LatencySketch, p: f64) -> f64 {
    s.quantile(p).unwrap_or(f64::NAN)
}

fn main() {
    let base = arg("--url", "http://127.0.0.1:9470");
    assert!(
        base.starts_with("http://127.") || base.starts_with("http://localhost"),
        "loopback targets only"
    );
    let pid: u32 = arg("--pid", "0").parse().expect("--pid");
    let seconds: f64 = arg("--seconds", "600").parse().expect("--seconds");
    let rate: f64 = arg("--rate", "400000").parse().expect("--rate");
    let batch: usize = arg("--batch", "2000").parse().expect("--batch");
    let threads = 4usize;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let ingest_lat = Arc::new(Mutex::new(LatencySketch::new()));
    let bodies: Arc<Vec<String>> = Arc::new((0..16).map(|s| body(batch, s)).collect());
    // Each thread sends one batch every `period` to reach `rate` together.
    let period = Duration::from_secs_f64(batch as f64 * threads as f64 / rate);
    let mut handles = Vec::new();
    for t in 0..threads {
        let (url, bodies, acked, failed, lat) = (
            format!("{base}/v1/events"),
            bodies.clone(),
            acked.clone(),
            failed.clone(),
            ingest_lat.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut local = LatencySketch::new();
            let mut next = Instant::now() + period.mul_f64(t as f64 / threads as f64);
            let mut i = t;
            while Instant::now() < deadline {
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                next += period;
                let began = Instant::now();
                let resp = http
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .body(bodies[i % bodies.len()].clone())
                    .send();
                local.insert(began.elapsed().as_secs_f64() * 1000.0);
                match resp {
                    Ok(r) if r.status().is_success() => {
                        acked.fetch_add(batch as u64, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                i += threads;
            }
            lat.lock().unwrap().merge(&local);
        }));
    }
    // The flood: 100 new services per request, 10 requests a second.
    let flood_acked = Arc::new(AtomicU64::new(0));
    {
        let (url, stop, flood_acked) = (
            format!("{base}/v1/events"),
            stop.clone(),
            flood_acked.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                let ok = http
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .body(flood_body(round))
                    .send()
                    .is_ok_and(|r| r.status().is_success());
                if ok {
                    flood_acked.fetch_add(100, Ordering::Relaxed);
                }
                round += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        }));
    }
    // Queries in turn.
    let queries = Arc::new(AtomicU64::new(0));
    {
        let (base, stop, queries) = (base.clone(), stop.clone(), queries.clone());
        handles.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let paths = [
                "/v1/overview?window=5m",
                "/v1/services/qnet/profile?window=15m",
                "/v1/query?view=service_node&service=qflow&window=15m&quantiles=0.5,0.99,0.999",
                "/v1/services/qwallet/callers?by=cost&window=1h",
                "/v1/query?view=service_tenant&window=5m&rollup=true",
            ];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let _ = http.get(format!("{base}{}", paths[i % paths.len()])).send();
                queries.fetch_add(1, Ordering::Relaxed);
                i += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        }));
    }
    // A stream subscriber.
    let stream_messages = Arc::new(AtomicU64::new(0));
    {
        let (url, stop, count) = (
            base.replacen("http://", "ws://", 1) + "/v1/stream",
            stop.clone(),
            stream_messages.clone(),
        );
        handles.push(std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
                    return;
                };
                while !stop.load(Ordering::Relaxed) {
                    match tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
                        Ok(Some(Ok(_))) => {
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => return,
                        Err(_) => {}
                    }
                }
            });
        }));
    }
    // Health checks.
    let health_lat = Arc::new(Mutex::new(LatencySketch::new()));
    {
        let (url, stop, lat) = (format!("{base}/healthz"), stop.clone(), health_lat.clone());
        handles.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut local = LatencySketch::new();
            while !stop.load(Ordering::Relaxed) {
                let began = Instant::now();
                let ok = http.get(&url).send().is_ok_and(|r| r.status().is_success());
                local.insert(if ok {
                    began.elapsed().as_secs_f64() * 1000.0
                } else {
                    1e6
                });
                std::thread::sleep(Duration::from_millis(50));
            }
            lat.lock().unwrap().merge(&local);
        }));
    }
    let mut rss = Vec::new();
    while Instant::now() < deadline {
        rss.push((start.elapsed().as_secs(), rss_kib(pid)));
        std::thread::sleep(
            Duration::from_secs(10).min(deadline.saturating_duration_since(Instant::now())),
        );
    }
    rss.push((start.elapsed().as_secs(), rss_kib(pid)));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ingest = ingest_lat.lock().unwrap();
    let health = health_lat.lock().unwrap();
    println!("soak {elapsed:.0} s at a target of {rate:.0} events/s, batches of {batch}");
    println!(
        "ingest: {} events acknowledged ({:.0}/s), {} batches failed; request p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms",
        acked.load(Ordering::Relaxed),
        acked.load(Ordering::Relaxed) as f64 / elapsed,
        failed.load(Ordering::Relaxed),
        q(&ingest, 0.5),
        q(&ingest, 0.99),
        q(&ingest, 0.999)
    );
    println!(
        "flood: {} events of new services acknowledged; queries: {}; stream messages: {}",
        flood_acked.load(Ordering::Relaxed),
        queries.load(Ordering::Relaxed),
        stream_messages.load(Ordering::Relaxed)
    );
    println!(
        "healthz: {} checks, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        health.count(),
        q(&health, 0.5),
        q(&health, 0.99),
        q(&health, 1.0)
    );
    let line: Vec<String> = rss
        .iter()
        .map(|(t, kib)| format!("{t}s {:.0}", *kib as f64 / 1024.0))
        .collect();
    println!("rss MiB: {}", line.join(", "));
    println!(
        "acknowledged total: {}",
        acked.load(Ordering::Relaxed) + flood_acked.load(Ordering::Relaxed)
    );
}
