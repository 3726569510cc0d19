//! The offline gate, baselines and rollouts through the real binary: exit codes 0 / 1 / 2 / 3,
//! the three output formats, bad input naming its line, mixed services reported, baseline
//! files round-tripping through `baseline freeze --out` and `gate --baseline`.

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn write_events(
    dir: &Path,
    name: &str,
    n: usize,
    service: &str,
    version: &str,
    slow: f64,
    seed: u64,
) -> PathBuf {
    let mut rng = StdRng::seed_from_u64(seed);
    let d = LogNormal::new(30f64.ln(), 0.5).unwrap();
    let mut text = String::new();
    for i in 0..n {
        let mut lat = d.sample(&mut rng);
        if rng.random::<f64>() < slow {
            lat *= 4.0;
        }
        let e = serde_json::json!({"ts": 1_764_000_000_000i64 + i as i64, "service": service,
            "operation": if i % 2 == 0 { "GET /a" } else { "GET /b" }, "latencyMs": lat,
            "ok": true, "version": version});
        text.push_str(&e.to_string());
        text.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn gate(args: &[&str]) -> Output {
    Command::new(bin()).arg("gate").args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn exit_codes_follow_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_events(dir.path(), "base.ndjson", 12_000, "qnet", "v1", 0.0, 1);
    let good = write_events(dir.path(), "good.ndjson", 12_000, "qnet", "v2", 0.0, 2);
    let bad = write_events(dir.path(), "bad.ndjson", 12_000, "qnet", "v3", 0.07, 3);

    let out = gate(&[
        "--baseline",
        s(&base),
        "--candidate",
        s(&good),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["recommendation"], "proceed");
    assert_eq!(v["deployment"], "v2");

    let out = gate(&[
        "--baseline",
        s(&base),
        "--candidate",
        s(&bad),
        "--format",
        "markdown",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("### ❌ block_deployment"), "{md}");
    assert!(
        md.contains("| GET /a | p99 |") && md.contains("<details>"),
        "{md}"
    );

    let out = gate(&["--baseline", s(&base), "--candidate", s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("REGRESSED"));
}

#[test]
fn bad_input_names_the_line_and_empty_sides_are_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_events(dir.path(), "base.ndjson", 3_000, "qnet", "v1", 0.0, 1);
    let broken = dir.path().join("broken.ndjson");
    let mut text = std::fs::read_to_string(&base).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[6] = "{\"ts\": 1764000000000, \"service\": \"qnet\", \"operation\": \"GET /a\", \"latencyMs\": -3}";
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let out = gate(&["--baseline", s(&base), "--candidate", s(&broken)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.ndjson:7:") && err.contains("latencyMs"),
        "{err}"
    );

    let empty = dir.path().join("empty.ndjson");
    std::fs::write(&empty, "").unwrap();
    let out = gate(&["--baseline", s(&base), "--candidate", s(&empty)]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = gate(&[
        "--baseline",
        s(&base),
        "--candidate",
        s(&empty),
        "--inconclusive",
        "pass",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = gate(&[
        "--baseline",
        s(&base),
        "--candidate",
        s(&empty),
        "--inconclusive",
        "fail",
    ]);
    assert_eq!(out.status.code(), Some(1));

    let missing = gate(&["--baseline", s(&base), "--candidate", "/nonexistent.ndjson"]);
    assert_eq!(missing.status.code(), Some(2));

    // Two services: reported, never mixed.
    let other = write_events(dir.path(), "other.ndjson", 1_000, "qflow", "v1", 0.0, 4);
    text = std::fs::read_to_string(&base).unwrap();
    text.push_str(&std::fs::read_to_string(&other).unwrap());
    let mixed = dir.path().join("mixed.ndjson");
    std::fs::write(&mixed, text).unwrap();
    let out = gate(&["--baseline", s(&mixed), "--candidate", s(&base)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("qflow") && err.contains("qnet") && err.contains("--service"),
        "{err}"
    );
    let out = gate(&[
        "--baseline",
        s(&mixed),
        "--candidate",
        s(&base),
        "--service",
        "qnet",
    ]);
    assert_ne!(out.status.code(), Some(2));
}

#[test]
fn a_baseline_file_gives_the_same_verdict_as_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let base = write_events(dir.path(), "base.ndjson", 12_000, "qnet", "v1", 0.0, 1);
    let bad = write_events(dir.path(), "bad.ndjson", 12_000, "qnet", "v3", 0.07, 3);
    let file = dir.path().join("qnet-v1.json");
    let out = Command::new(bin())
        .args([
            "baseline",
            "freeze",
            "--service",
            "qnet",
            "--events",
            s(&base),
            "--out",
            s(&file),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_events = gate(&[
        "--baseline",
        s(&base),
        "--candidate",
        s(&bad),
        "--format",
        "json",
    ]);
    let from_file = gate(&[
        "--baseline",
        s(&file),
        "--candidate",
        s(&bad),
        "--format",
        "json",
    ]);
    assert_eq!(from_file.status.code(), Some(1));
    let a: serde_json::Value = serde_json::from_slice(&from_events.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(a["violations"], b["violations"]);
    assert_eq!(a["operations"], b["operations"]);
}

#[test]
fn rollout_and_baseline_commands_against_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    let events = write_events(dir.path(), "e.ndjson", 2_000, "qnet", "v1", 0.0, 1);
    assert_eq!(server.cli(&["ingest", s(&events)]).status.code(), Some(0));
    let out = server.cli(&[
        "baseline",
        "freeze",
        "--service",
        "qnet",
        "--version",
        "v1",
        "--id",
        "qnet-v1",
        "--window",
        "1h",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.cli(&["baseline", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["baselines"][0]["id"], "qnet-v1");
    let out = server.cli(&[
        "rollout",
        "start",
        "--service",
        "qnet",
        "--baseline-version",
        "v1",
        "--canary-version",
        "v2",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = r["id"].as_str().unwrap().to_string();
    let out = server.cli(&["rollout", "evaluate", &id]);
    assert_eq!(out.status.code(), Some(0));
    // The API's words (`hold`, `running`), never Rust's (`Hold`, `Running`).
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains(": hold → canary weight"), "{text}");
    assert!(
        text.contains("(running)") && !text.contains("Hold"),
        "{text}"
    );
    let out = server.cli(&["rollout", "show", &id]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("waiting for data"), "{text}");
    assert!(
        text.contains(", running at ") && text.contains("hold"),
        "{text}"
    );
    assert!(
        !text.contains("Running") && !text.contains("ms of "),
        "{text}"
    );
    assert_golden("rollout_show_waiting.txt", &text);
    let out = server.cli(&[
        "rollout",
        "start",
        "--service",
        "qnet",
        "--baseline-version",
        "v1",
        "--canary-version",
        "v2",
        "--steps",
        "50,10",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        server.cli(&["baseline", "delete", "qnet-v1"]).status.code(),
        Some(0)
    );
}
