//! `backup`, `restore`, `selfcheck` against the real binary: a backup taken while a client
//! ingests as fast as it can restores to exactly a prefix of the acknowledged batches (none
//! lost, none twice), and the restored copy answers like the live server; a truncated or
//! altered backup is refused with what is wrong, leaving the directory empty.

use crate::common::*;
use crate::*;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

/// Batch `i`: `10 + i % 7` events at second `i` (sizes vary, so a count names its prefix).
fn batch(i: usize) -> (String, u64) {
    let n = 10 + i % 7;
    let mut body = String::new();
    for k in 0..n {
        body.push_str(&format!(
            "{{\"ts\": {}, \"service\": \"qledger\", \"operation\": \"POST /entry\", \"latencyMs\": {}, \"node\": \"n{}\", \"ok\": true}}\n",
            T0 + i as i64 * 1_000 + k as i64,
            5 + (i + k) % 40,
            k % 3
        ));
    }
    (body, n as u64)
}

#[test]
fn a_backup_under_full_ingest_restores_a_prefix_of_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--clock", "event"]);
    let acked = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (url, acked, stop) = (server.url.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let (body, _) = batch(i);
                let r = client
                    .post(format!("{url}/v1/events"))
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                i += 1;
                acked.store(i, Ordering::SeqCst);
            }
        })
    };
    while acked.load(Ordering::SeqCst) < 300 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let file = dir.path().join("live.backup");
    let before = acked.load(Ordering::SeqCst);
    server.cli_ok(&["backup", "--to", file.to_str().unwrap()]);
    let after = acked.load(Ordering::SeqCst);
    // Keep ingesting a while after the backup, then stop.
    let target = after + 200;
    while acked.load(Ordering::SeqCst) < target {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();

    // The restored copy answers like the live server for the hour before the backup.
    let check = server.cli(&["selfcheck", "--from", file.to_str().unwrap()]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        text(&check),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        text(&check).contains("answers identical"),
        "{}",
        text(&check)
    );

    // Restored and started: the total is the sum of a prefix of the batches, at least those
    // acknowledged before the backup began and at most those acknowledged when it ended.
    let restored = dir.path().join("restored");
    let out = Command::new(bin())
        .args(["restore", "--from"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&restored)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = Server::start(&restored, &["--clock", "event"]);
    let total = total_requests(&copy.url);
    let prefix: Vec<u64> = (0..=after)
        .scan(0u64, |sum, i| {
            let s = *sum;
            if i < after {
                *sum += batch(i).1;
            }
            Some(s)
        })
        .collect();
    let k = prefix.iter().position(|&s| s == total);
    assert!(
        k.is_some_and(|k| k >= before && k <= after),
        "restored {total} requests: not the sum of the first {before}..={after} batches"
    );
    copy.terminate();
    server.terminate();
}

#[test]
fn a_damaged_backup_is_refused_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--clock", "event"]);
    let (body, _) = batch(0);
    server.ingest_ndjson(dir.path(), "one.ndjson", body);
    let file = dir.path().join("b.backup");
    server.cli_ok(&["backup", "--to", file.to_str().unwrap()]);
    server.terminate();
    let good = std::fs::read(&file).unwrap();
    let restore = |bytes: &[u8], name: &str| {
        let damaged = dir.path().join(format!("{name}.backup"));
        std::fs::write(&damaged, bytes).unwrap();
        let target = dir.path().join(name);
        let out = Command::new(bin())
            .args(["restore", "--from"])
            .arg(&damaged)
            .arg("--data-dir")
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let empty = std::fs::read_dir(&target).map_or(true, |mut d| d.next().is_none());
        assert!(empty, "{name}: the directory is left empty");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = restore(&good[..good.len() / 2], "truncated");
    assert!(e.contains("truncated"), "{e}");
    let mut altered = good.clone();
    let at = good.len() - 100;
    altered[at] ^= 1;
    let e = restore(&altered, "altered");
    assert!(e.contains("altered") && e.contains("SHA-256"), "{e}");
    let e = restore(b"not a backup at all", "foreign");
    assert!(e.contains("not an ecosystem-perf backup"), "{e}");
    // Into a directory that is not empty: refused, nothing changed.
    let busy = dir.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let out = Command::new(bin())
        .args(["restore", "--from"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&busy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(busy.join("keep.txt")).unwrap(),
        "mine"
    );
}
