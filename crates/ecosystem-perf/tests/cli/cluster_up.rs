//! `scripts/cluster-up.sh`, the one-command local cluster, run as a user runs it (with this
//! build's binary): it prints three replica URLs; events sent to one are counted by the
//! merged overview of another; the replicas share the partitions; on SIGTERM it stops
//! everything it started and removes its directory.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Ends the script (SIGTERM: it stops what it started) if the test fails half-way; a
/// process left running would keep the test's output open.
struct Script(std::process::Child);

impl Drop for Script {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[test]
fn the_local_cluster_script_starts_three_replicas_that_share_the_work_and_cleans_up() {
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cluster-up.sh");
    let mut child = Script(
        Command::new("bash")
            .arg(&script)
            .arg(bin())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    // Read what it prints until it is up (everything it starts has started by then).
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let (mut urls, mut work) = (Vec::new(), None);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(_) => panic!("cluster-up.sh did not come up: {urls:?}"),
        };
        if let Some(dir) = line.strip_prefix("ecosystem-perf cluster in ") {
            work = Some(std::path::PathBuf::from(dir.trim()));
        }
        if let Some(rest) = line.trim().strip_prefix("replica ") {
            if let Some(url) = rest.split_whitespace().find(|w| w.starts_with("http://")) {
                urls.push(url.to_string());
            }
        }
        if line.starts_with("Send events") {
            break;
        }
    }
    assert_eq!(urls.len(), 3, "{urls:?}");
    let work = work.expect("the script names its directory");

    let cluster = |url: &str| -> serde_json::Value {
        reqwest::blocking::get(format!("{url}/v1/cluster"))
            .unwrap()
            .json()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster(&urls[2])["replicas"].as_array().map_or(0, Vec::len) != 3 {
        assert!(
            Instant::now() < deadline,
            "three owners: {:#}",
            cluster(&urls[2])
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The script's replicas run on the wall clock: the last five minutes.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 300_000;
    let body: String = (0..300)
        .map(|i| {
            format!(
                "{{\"ts\": {}, \"service\": \"svc-{}\", \"operation\": \"op\", \"latencyMs\": 12, \"node\": \"n1\"}}\n",
                t0 + i * 1_000,
                i % 12
            )
        })
        .collect();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/events", urls[0]))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while total_requests(&urls[2]) != 300 {
        assert!(
            Instant::now() < deadline,
            "the merged overview counts every event"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // SIGTERM: the script stops what it started and removes its directory.
    let stopped = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the script ends");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!work.exists(), "{} is removed", work.display());
    for url in &urls {
        assert!(
            reqwest::blocking::get(format!("{url}/healthz")).is_err(),
            "{url} stopped"
        );
    }
}
