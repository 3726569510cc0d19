//! `query` and `callers`: any view as a table and JSON (and per step), callers ranked by each
//! measure.

use crate::common::*;
use crate::*;

#[test]
fn query_any_view_as_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    ingest_fixture(&server);
    let out = server.cli(&[
        "query",
        "service_node",
        "--service",
        "qnet",
        "--quantiles",
        "0.5,0.999",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_golden("query_service_node.txt", &text(&out));
    let out = server.cli(&[
        "query",
        "service_tenant",
        "--rollup",
        "--format",
        "json",
        "--from",
        "1764450000000",
        "--to",
        "1764450300000",
    ]);
    let v = json(&out);
    assert_eq!(v["groups"][0]["count"], 600);
    // --step: one row per step (GET /v1/query/range); the steps hold every request.
    let out = server.cli(&[
        "query",
        "service_tenant",
        "--step",
        "1m",
        "--format",
        "json",
        "--from",
        "1764450000000",
        "--to",
        "1764450300000",
    ]);
    let v = json(&out);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 5, "{v}");
    let total: u64 = points.iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 600, "{v}");
    let out = server.cli(&[
        "query",
        "service_node",
        "--step",
        "1m",
        "--from",
        "1764450000000",
        "--to",
        "1764450300000",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out).contains("every 60 s"), "{}", text(&out));
    let out = server.cli(&["query", "service_node", "--step", "7s"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a step finer than 10 s is the user's input"
    );
    // A 400 is the user's input: exit 2, as the exit-code table says.
    let out = server.cli(&["query", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown view"));
}

#[test]
fn callers_are_ranked_by_each_measure() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    ingest_fixture(&server);
    let out = server.cli(&["callers", "qnet", "--by", "requests", "--limit", "5"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_golden("callers_qnet.txt", &text(&out));
    let out = server.cli(&["callers", "qnet", "--by", "slow", "--format", "json"]);
    let v = json(&out);
    let slow: f64 = v["callers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_f64().unwrap())
        .sum();
    assert!(slow > 0.0 && slow < 400.0, "{v}");
    let out = server.cli(&["callers", "qnet", "--window", "2h"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("heavyHitters.keep"));
}
