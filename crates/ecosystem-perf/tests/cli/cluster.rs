//! `cluster.nats.url`: the real binary ingests through a real NATS JetStream stream (started
//! by the test) and builds its aggregates by following it, with a real PostgreSQL store:
//! a replica started on an empty data directory gets every acknowledged event back — from
//! the snapshot in PostgreSQL and the stream after it — also after a `kill -9`; a retried
//! batch with the same `Idempotency-Key` counts once; with NATS down, ingest answers 503
//! and acknowledges nothing, and it works again once NATS is back.

use crate::common::*;
use crate::*;
use perf_store::testing::{Nats, Postgres};

/// `n` qwallet events from `t0`, one per second, as NDJSON.
fn wallet_events(t0: i64, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"ts\": {}, \"service\": \"qwallet\", \"operation\": \"GET /balance\", \"latencyMs\": {}, \"node\": \"w1\"}}\n",
                t0 + i as i64 * 1_000,
                20 + i % 7
            )
        })
        .collect()
}

fn post(url: &str, body: &str, key: Option<&str>) -> reqwest::blocking::Response {
    let mut req = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/x-ndjson")
        .body(body.to_string());
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    req.send().unwrap()
}

#[test]
fn replicas_on_the_stream_count_every_acknowledged_event_once() {
    let pg = Postgres::start();
    let db = pg.new_database("perf");
    let mut nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\nstore:\n  url: {db}\ncluster:\n  nats:\n    url: {}\n    partitions: 4\n",
            nats.url()
        ),
    )
    .unwrap();
    let args = ["--clock", "event", "--config", config.to_str().unwrap()];

    let a = Server::start(&dir.path().join("a"), &args);
    ingest_fixture(&a);
    assert_eq!(total_requests(&a.url), 600);
    assert!(
        !dir.path().join("a").join("log").exists(),
        "no local ingest log in cluster mode"
    );
    assert_eq!(a.terminate(), Some(0), "a final snapshot to PostgreSQL");

    // A replica on an empty data directory: the snapshot in PostgreSQL.
    let b = Server::start(&dir.path().join("b"), &args);
    assert_eq!(total_requests(&b.url), 600);
    let t0 = 1_764_450_000_000 + 3_600_000;
    assert!(post(&b.url, &wallet_events(t0, 100), None)
        .status()
        .is_success());
    let retried = wallet_events(t0 + 200_000, 10);
    for _ in 0..2 {
        let r = post(&b.url, &retried, Some("batch-7"));
        assert!(r.status().is_success(), "{}", r.text().unwrap());
    }
    assert_eq!(total_requests(&b.url), 710, "the retried batch counts once");
    let status = json(&b.cli_ok(&["cluster", "status", "--format", "json"]));
    assert_eq!(status["mode"], "stream", "{status:#}");
    assert_eq!(status["store"], "postgres");
    assert_eq!(status["stream"]["lagRecords"], 0, "{status:#}");
    assert_eq!(
        status["stream"]["appliedSequence"], status["stream"]["lastSequence"],
        "{status:#}"
    );
    assert_eq!(
        status["stream"]["ownedPartitions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let metrics = reqwest::blocking::get(format!("{}/metrics", b.url))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("ecosystem_perf_stream_lag_records 0"),
        "{metrics}"
    );

    // NATS down: not ready, batches refused with nothing stored; back: accepted again.
    nats.kill();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while reqwest::blocking::get(format!("{}/readyz", b.url))
        .unwrap()
        .status()
        .is_success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz reports the lost NATS connection"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let down = b.cli(&["cluster", "status"]);
    assert_eq!(down.status.code(), Some(1), "{}", text(&down));
    let r = post(&b.url, &wallet_events(t0 + 400_000, 5), None);
    assert_eq!(r.status(), 503);
    let body = r.text().unwrap();
    assert!(body.contains("nothing of the batch was stored"), "{body}");
    nats.restart();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = post(
            &b.url,
            &wallet_events(t0 + 500_000, 5),
            Some("after-outage"),
        );
        if r.status().is_success() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ingest works again once NATS is back: {}",
            r.text().unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(total_requests(&b.url), 715);
    drop(b); // kill -9: no final snapshot

    // Another empty data directory: the snapshot of 600 and the stream after it.
    let c = Server::start(&dir.path().join("c"), &args);
    assert_eq!(
        total_requests(&c.url),
        715,
        "every acknowledged event once, nothing refused"
    );
}

#[test]
fn a_bad_cluster_section_is_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(
        &config,
        "version: 1\ncluster:\n  nats:\n    url: http://127.0.0.1:4222\n",
    )
    .unwrap();
    let err = start_fails(&dir.path().join("data"), config.to_str().unwrap());
    assert!(err.contains("cluster.nats.url"), "{err}");
    std::fs::write(
        &config,
        "version: 1\ncluster:\n  nats:\n    url: nats://127.0.0.1:1\n",
    )
    .unwrap();
    let err = start_fails(&dir.path().join("data"), config.to_str().unwrap());
    assert!(err.contains("connecting to NATS"), "{err}");

    // Offline commands read the same configuration but never the shared stream or store.
    std::fs::write(
        &config,
        "version: 1\nstore:\n  url: postgres://perf@127.0.0.1:1/perf\ncluster:\n  nats:\n    url: nats://127.0.0.1:1\n",
    )
    .unwrap();
    let clean: String = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"ts\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let events = dir.path().join("clean.ndjson");
    std::fs::write(&events, clean).unwrap();
    let out = std::process::Command::new(bin())
        .args(["golive", "--format", "json", "--events"])
        .arg(&events)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "insufficient data, not a connection error: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
