//! `slo` and `tenant`: the offline check gives the numbers the server gives; tenant list and show.

use crate::common::*;
use crate::*;
use std::process::Command;

const SLOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/slos.yaml");

#[test]
fn slo_check_offline_gives_the_numbers_the_server_gives() {
    let out = Command::new(bin())
        .args(["slo", "check", "--config", SLOS, "--events", FIXTURE])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the fixture's malformed line is bad input"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("events.ndjson:101"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let events = clean_fixture(dir.path());
    let out = Command::new(bin())
        .args(["slo", "check", "--config", SLOS, "--events"])
        .arg(&events)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offline = json(&out);
    let out = Command::new(bin())
        .args(["slo", "check", "--config", SLOS, "--events"])
        .arg(&events)
        .output()
        .unwrap();
    assert_golden("slo_check.txt", &text(&out));

    let server = Server::start(
        &dir.path().join("data"),
        &["--clock", "event", "--config", SLOS],
    );
    server.cli_ok(&["ingest", events.to_str().unwrap()]);
    let out = server.cli(&["slo", "list", "--format", "json"]);
    let online = json(&out);
    for key in [
        "name",
        "total",
        "good",
        "compliance",
        "errorBudget",
        "burnRates",
        "status",
    ] {
        let pick = |v: &serde_json::Value| {
            v["slos"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["tenant"].is_null())
                .map(|s| s[key].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pick(&online),
            pick(&offline),
            "{key} differs between server and offline check"
        );
    }
    let out = server.cli(&["slo", "show", "route-latency"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("route-latency · latency ≤ 100 ms on qnet"),
        "{}",
        text(&out)
    );
    let out = server.cli(&["slo", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1));

    // What if: the same history against another objective; the SLO itself is unchanged.
    let now: serde_json::Value =
        json(&server.cli(&["slo", "show", "feed-availability", "--format", "json"]));
    let compliance = now["compliance"].as_f64().unwrap() * 100.0;
    let looser = format!("{:.3}", (compliance - 0.5).max(1.0));
    let out = server.cli(&[
        "slo",
        "what-if",
        "--objective",
        &looser,
        "--window",
        "28d",
        "feed-availability",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("verdict: met"), "{}", text(&out));
    assert!(text(&out).contains("28d"), "{}", text(&out));
    let stricter = format!("{:.3}", (compliance + 0.5).min(99.999));
    let out = server.cli(&[
        "slo",
        "what-if",
        "--objective",
        &stricter,
        "feed-availability",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("verdict: missed"), "{}", text(&out));
    let again: serde_json::Value =
        json(&server.cli(&["slo", "show", "feed-availability", "--format", "json"]));
    assert_eq!(again["objective"], now["objective"]);
    assert_eq!(again["total"], now["total"]);

    // A maintenance window over the fixture's first 10 minutes: its GET /feed events leave
    // the SLO (a brute-force count over the file), and come back when it is withdrawn.
    let (from, to) = (1_764_450_000_000i64, 1_764_450_600_000i64);
    let inside = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["service"] == "qnet" && e["operation"] == "GET /feed")
        .filter(|e| (from..to).contains(&e["ts"].as_i64().unwrap()))
        .count() as u64;
    assert!(inside > 0);
    let out = server.cli(&[
        "slo",
        "correct",
        "feed-availability",
        "--id",
        "db-upgrade",
        "--from",
        "2025-11-29T21:00:00Z",
        "--to",
        "2025-11-29T21:10:00Z",
        "--reason",
        "database upgrade",
        "--author",
        "ana",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text(&out).contains("db-upgrade"), "{}", text(&out));
    assert!(text(&out).contains(&inside.to_string()), "{}", text(&out));
    let corrected: serde_json::Value =
        json(&server.cli(&["slo", "show", "feed-availability", "--format", "json"]));
    assert_eq!(
        corrected["total"].as_u64().unwrap(),
        now["total"].as_u64().unwrap() - inside
    );
    let listed = json(&server.cli(&[
        "slo",
        "corrections",
        "feed-availability",
        "--format",
        "json",
    ]));
    assert_eq!(listed["corrections"][0]["excludedEvents"], inside);
    assert_eq!(listed["corrections"][0]["reason"], "database upgrade");
    let out = server.cli(&[
        "slo",
        "correct",
        "feed-availability",
        "--id",
        "bad",
        "--from",
        "2025-11-29T21:00:30Z",
        "--to",
        "2025-11-29T21:10:00Z",
        "--reason",
        "r",
    ]);
    assert_eq!(out.status.code(), Some(2), "bad input: {}", text(&out));
    let out = server.cli(&["slo", "withdraw", "feed-availability", "db-upgrade"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: serde_json::Value =
        json(&server.cli(&["slo", "show", "feed-availability", "--format", "json"]));
    assert_eq!(back["total"], now["total"]);
}

#[test]
fn tenant_list_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    ingest_fixture(&server);
    let out = server.cli(&["tenant", "list"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_golden("tenant_list.txt", &text(&out));
    let out = server.cli(&["tenant", "show", "dao-beta", "--format", "json"]);
    let v = json(&out);
    assert_eq!(v["daoId"], "dao-beta");
    assert!(v["performanceScore"].as_u64().is_some());
    assert!(v["cost"]["monthToDate"].as_f64().is_some(), "{v}");
    let out = server.cli(&["tenant", "show", "dao-beta"]);
    assert!(text(&out).contains("this month"), "{}", text(&out));
}
