//! The real binary, one file per command: ingest with partial rejection, tables (golden
//! files), JSON output, exit codes, config commands, and a graceful SIGTERM that keeps
//! everything. One test binary (the files are its modules), so it links once.

#[path = "../common/mod.rs"]
mod common;

mod backup;
mod cache;
mod capacity;
mod cluster;
mod cluster_up;
mod config;
mod decisions;
mod drill;
mod golive;
mod ingest;
mod openapi;
mod ownership;
mod reports;
mod simulate;
mod slo;
mod store;

/// The event fixture: 600 events of two services and two bad lines (101 and 201).
pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events.ndjson");

/// The fixture without its two bad lines, written to `dir/clean.ndjson`.
pub fn clean_fixture(dir: &std::path::Path) -> std::path::PathBuf {
    let clean: String = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"ts\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let events = dir.join("clean.ndjson");
    std::fs::write(&events, clean).unwrap();
    events
}

/// Standard output as text.
pub fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard output as JSON (the `--format json` answers), or a failure that shows it.
pub fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            text(out),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Ingests the fixture: 600 accepted, its two bad lines rejected (exit 3).
pub fn ingest_fixture(server: &common::Server) {
    let out = server.cli(&["ingest", FIXTURE, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["accepted"], 600);
}
