//! Crash safety with the real binary: batches are sent by concurrent clients, the server is
//! killed with SIGKILL at seeded random moments during ingest and restarted, several rounds.
//! Every acknowledged event must be counted after the restart, and none twice: the count
//! lies between the events acknowledged and the events ever sent.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const BATCH: usize = 400;

fn batch_body(round: usize, client: usize, n: usize) -> String {
    (0..BATCH)
        .map(|i| format!("{{\"service\":\"svc{client}\",\"operation\":\"op{}\",\"latencyMs\":{}.5,\"node\":\"n{round}\"}}", (n + i) % 7, i % 90))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_event_and_counts_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perf.yaml");
    std::fs::write(&config, "version: 1\nserver:\n  snapshotInterval: 1s\n").unwrap();
    let config_arg = config.display().to_string();
    let data = dir.path().join("data");
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let acked = Arc::new(AtomicU64::new(0));
    let sent = Arc::new(AtomicU64::new(0));
    for round in 0..4 {
        let server = Server::start(&data, &["--config", &config_arg]);
        let counted = total_requests(&server.url);
        let (a, s) = (acked.load(Ordering::SeqCst), sent.load(Ordering::SeqCst));
        assert!(
            counted >= a,
            "round {round}: {counted} counted < {a} acknowledged"
        );
        assert!(
            counted <= s,
            "round {round}: {counted} counted > {s} ever sent (double counting)"
        );
        acked.store(counted, Ordering::SeqCst);

        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..3)
            .map(|c| {
                let (url, stop, acked, sent) = (
                    server.url.clone(),
                    stop.clone(),
                    acked.clone(),
                    sent.clone(),
                );
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap();
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        sent.fetch_add(BATCH as u64, Ordering::SeqCst);
                        let resp = http
                            .post(format!("{url}/v1/events"))
                            .header("content-type", "application/x-ndjson")
                            .body(batch_body(round, c, n))
                            .send();
                        match resp {
                            Ok(r) if r.status().is_success() => {
                                let v: serde_json::Value = r.json().unwrap();
                                assert_eq!(v["accepted"].as_u64(), Some(BATCH as u64));
                                acked.fetch_add(BATCH as u64, Ordering::SeqCst);
                            }
                            _ => break,
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1800)));
        drop(server); // SIGKILL while the clients are sending
        stop.store(true, Ordering::SeqCst);
        for c in clients {
            c.join().unwrap();
        }
    }
    let server = Server::start(&data, &["--config", &config_arg]);
    let counted = total_requests(&server.url);
    assert!(
        acked.load(Ordering::SeqCst) > 10 * BATCH as u64,
        "the test ingested too little to mean anything"
    );
    assert!(counted >= acked.load(Ordering::SeqCst) && counted <= sent.load(Ordering::SeqCst));
}
