//! `cluster.ownership: leases` with the real binary, a real NATS JetStream stream and a real
//! PostgreSQL store: one replica takes every partition; a second one joins and the
//! partitions are shared (handed over with their snapshots, nothing lost or counted twice
//! across the two); `kill -9` one and the other owns its partitions again within the lease
//! TTL + 5 s, with every acknowledged event counted exactly once.

use crate::common::*;
use perf_store::testing::{Nats, Postgres};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const SERVICES: usize = 16;

/// `per` events of each of 16 services from `t0`, as NDJSON.
fn events(t0: i64, per: usize) -> String {
    (0..per * SERVICES)
        .map(|i| {
            format!(
                "{{\"ts\": {}, \"service\": \"svc-{}\", \"operation\": \"op\", \"latencyMs\": {}, \"node\": \"n1\"}}\n",
                t0 + i as i64 * 100,
                i % SERVICES,
                10 + i % 13
            )
        })
        .collect()
}

fn post(url: &str, body: &str) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/x-ndjson")
        .body(body.to_string())
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
}

/// Requests per service this replica counts.
fn per_service(url: &str) -> BTreeMap<String, u64> {
    let v: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/overview?window=35d"))
        .unwrap()
        .json()
        .unwrap();
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_string(),
                s["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn owned(url: &str) -> usize {
    let v: serde_json::Value = reqwest::blocking::get(format!("{url}/v1/cluster"))
        .unwrap()
        .json()
        .unwrap();
    v["stream"]["ownedPartitions"].as_array().unwrap().len()
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every service counted by exactly one replica, with `each` requests.
fn counted_once(replicas: &[&Server], each: u64) -> Result<(), String> {
    let mut all: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in replicas {
        for (service, n) in per_service(&r.url) {
            all.entry(service).or_default().push(n);
        }
    }
    let wanted: Vec<u64> = vec![each];
    if all.len() == SERVICES && all.values().all(|v| *v == wanted) {
        Ok(())
    } else {
        Err(format!("{all:?}"))
    }
}

#[test]
fn partitions_are_shared_by_leases_and_taken_over_after_a_kill() {
    let pg = Postgres::start();
    let db = pg.new_database("perf");
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cluster.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\nserver:\n  snapshotInterval: 1s\nstore:\n  url: {db}\ncluster:\n  leaseTtl: 2s\n  ownership: leases\n  nats:\n    url: {}\n    partitions: 8\n",
            nats.url()
        ),
    )
    .unwrap();
    let args = ["--clock", "event", "--config", config.to_str().unwrap()];
    let t0: i64 = 1_767_225_600_000;

    let a = Server::start(&dir.path().join("a"), &args);
    wait_for(
        "the first replica owns every partition",
        Duration::from_secs(10),
        || owned(&a.url) == 8,
    );
    post(&a.url, &events(t0, 20));
    assert_eq!(counted_once(&[&a], 20), Ok(()));

    // A second replica joins: four partitions each, handed over with their state.
    let b = Server::start(&dir.path().join("b"), &args);
    wait_for("the partitions are shared", Duration::from_secs(20), || {
        owned(&a.url) == 4 && owned(&b.url) == 4
    });
    assert_eq!(
        counted_once(&[&a, &b], 20),
        Ok(()),
        "nothing lost in the hand-over"
    );
    assert!(
        per_service(&a.url).len() < SERVICES && !per_service(&b.url).is_empty(),
        "each replica holds its own services only"
    );
    post(&b.url, &events(t0 + 600_000, 30));
    wait_for(
        "both replicas applied their partitions",
        Duration::from_secs(10),
        || counted_once(&[&a, &b], 50).is_ok(),
    );

    // kill -9 the second: the first owns everything again within the TTL + 5 s, from the
    // second's snapshots and the stream after them.
    let killed = Instant::now();
    drop(b);
    wait_for(
        "the survivor owns every partition",
        Duration::from_secs(7),
        || owned(&a.url) == 8,
    );
    eprintln!("partitions owned again after {:?}", killed.elapsed());
    assert_eq!(
        counted_once(&[&a], 50),
        Ok(()),
        "every acknowledged event once"
    );
    post(&a.url, &events(t0 + 1_200_000, 10));
    assert_eq!(counted_once(&[&a], 60), Ok(()));
}
