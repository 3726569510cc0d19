//! `ingest`, `status` and `profile`: partial rejection with file lines, gzip files, retries until the server is up, exit codes, and the tables ingest feeds.

use crate::common::*;
use crate::*;
use std::process::Command;

/// Writes NDJSON `events` next to the server's data and ingests them with the CLI.
#[test]
fn ingest_status_profile_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);

    let out = server.cli(&["ingest", FIXTURE, "--batch", "128", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = json(&out);
    assert_eq!(
        (summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some(600), Some(2))
    );
    let lines: Vec<u64> = summary["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![101, 201], "rejections name their file line");

    let out = server.cli(&["status", "--window", "5m"]);
    assert_eq!(out.status.code(), Some(0));
    assert_golden("status.txt", &text(&out));

    let out = server.cli(&["profile", "qnet", "--window", "5m"]);
    assert_eq!(out.status.code(), Some(0));
    assert_golden("profile_qnet.txt", &text(&out));

    let out = server.cli(&["status", "--format", "json"]);
    let v = json(&out);
    let qnet = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "qnet")
        .unwrap();
    assert_eq!(qnet["requests"], 400);

    let out = server.cli(&["profile", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no data for service"));
    let out = server.cli(&["status", "--window", "later"]);
    assert_eq!(out.status.code(), Some(2));

    assert_eq!(
        server.terminate(),
        Some(0),
        "SIGTERM exits 0 after flushing"
    );
    let server = Server::start(dir.path(), &["--clock", "event"]);
    assert_eq!(
        total_requests(&server.url),
        600,
        "everything survives a graceful restart"
    );
}

#[test]
fn unreachable_servers_and_missing_files_have_their_exit_codes() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = Command::new(bin())
        .args(["status", "--server", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connecting to"));
    let out = Command::new(bin())
        .args(["ingest", "/nonexistent.ndjson", "--server", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(bin())
        .args(["status", "--format", "yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn status_reports_views_that_reached_their_series_limit() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("perf.yaml");
    std::fs::write(
        &config,
        "version: 1\nserver:\n  limits:\n    maxSeriesPerView: 2\n",
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--clock", "event", "--config", config.to_str().unwrap()],
    );
    let out = server.cli(&["ingest", FIXTURE]);
    assert_eq!(out.status.code(), Some(3));
    let out = server.cli(&["status"]);
    let table = text(&out);
    assert!(table.contains("series limit reached"), "{table}");
    assert!(table.contains("service_operation (200 events)"), "{table}");
    assert_eq!(
        total_requests(&server.url),
        600,
        "overflowing events still count"
    );
}

#[test]
fn ingest_retries_until_the_server_is_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let ingest = Command::new(bin())
        .args(["ingest", FIXTURE, "--format", "json", "--server", &url])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let server = Server::start_on(dir.path(), port, &["--clock", "event"]);
    let out = ingest.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "partial acceptance after retrying"
    );
    let summary = json(&out);
    assert_eq!(summary["accepted"], 600);
    assert_eq!(total_requests(&server.url), 600);
}

#[test]
fn ingest_reads_gzip_files() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz_path = dir.path().join("events.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz_path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(FIXTURE).unwrap()).unwrap();
    gz.finish().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--clock", "event"]);
    let out = server.cli(&["ingest", gz_path.to_str().unwrap(), "--format", "json"]);
    let summary = json(&out);
    assert_eq!(
        (summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some(600), Some(2))
    );
}
