//! `routing weights` (table, Envoy, nginx), `policy evaluate`, `degradation`, `risk signals` and `risk show`.

use crate::common::*;
use crate::*;

#[test]
fn routing_weights_as_a_table_and_for_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    let t0: i64 = 1_764_028_800_000;
    let mut events = String::new();
    for node in ["qnet-1", "qnet-2", "qnet-3"] {
        for i in 0..200i64 {
            let latency = if node == "qnet-2" {
                150.0
            } else {
                20.0 + (i % 7) as f64
            };
            events.push_str(&format!(
                "{{\"ts\": {}, \"service\": \"qnet\", \"operation\": \"GET /feed\", \"node\": \"{node}\", \"latencyMs\": {latency}}}\n",
                t0 + i * 250
            ));
        }
    }
    server.ingest_ndjson(dir.path(), "nodes.ndjson", events);

    let out = server.cli(&["routing", "weights", "qnet"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = text(&out);
    assert!(
        table.contains("qnet-2") && table.contains("█") && table.contains("degraded"),
        "{table}"
    );
    let out = server.cli(&[
        "routing", "weights", "qnet", "--format", "nginx", "--port", "8080",
    ]);
    let nginx = text(&out);
    assert!(
        nginx.starts_with("upstream qnet {") && nginx.contains("server qnet-1:8080 weight=10;"),
        "{nginx}"
    );
    let out = server.cli(&["routing", "weights", "qnet", "--format", "envoy"]);
    let eds = json(&out);
    assert_eq!(eds["cluster_name"], "qnet");
    let out = server.cli(&["routing", "weights", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn policy_evaluate_and_degradation() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    let out = server.cli(&[
        "policy",
        "evaluate",
        "--service",
        "qflow",
        "--operation",
        "POST /flows",
        "--priority",
        "batch",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text(&out).starts_with("proceed (no_data; risk low)"),
        "{}",
        text(&out)
    );
    let out = server.cli(&[
        "policy",
        "evaluate",
        "--service",
        "qflow",
        "--operation",
        "GET /x",
        "--format",
        "json",
    ]);
    let d = json(&out);
    assert_eq!(d["decision"], "proceed");
    let out = server.cli(&[
        "policy",
        "evaluate",
        "--service",
        "qflow",
        "--operation",
        "GET /x",
        "--priority",
        "urgent",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses an unknown priority"
    );
    let out = server.cli(&["degradation", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert!(v["services"].is_array());
    let out = server.cli(&["degradation"]);
    assert!(text(&out).contains("service"), "{}", text(&out));
}

#[test]
fn risk_signals_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    let t0: i64 = 1_767_225_600_000;
    let mut events = String::new();
    for minute in 0..60i64 {
        for i in 0..200i64 {
            let ts = t0 + minute * 60_000 + i * 300;
            events.push_str(&format!(
                "{{\"ts\": {ts}, \"service\": \"qsvc\", \"operation\": \"GET /x\", \"entity\": \"user-{}\", \"latencyMs\": 20, \"cost\": 0.001}}\n",
                (i * 31 + minute) % 500
            ));
            if i % 5 == 0 {
                let bad = minute >= 52;
                events.push_str(&format!(
                    "{{\"ts\": {}, \"service\": \"qsvc\", \"operation\": \"GET /x\", \"entity\": \"mallory\", \"latencyMs\": {}, \"ok\": {}, \"cost\": 0.001}}\n",
                    ts + 1,
                    if bad { 900 } else { 25 },
                    !(bad && i % 10 == 0)
                ));
            }
        }
    }
    server.ingest_ndjson(dir.path(), "callers.ndjson", events);

    let out = server.cli(&["risk", "signals", "--min-level", "high"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = text(&out);
    assert!(
        table.contains("mallory") && table.contains("slow_request_concentration"),
        "{table}"
    );
    assert!(!table.contains("user-"), "{table}");
    let out = server.cli(&["risk", "show", "mallory", "--format", "json"]);
    let v = json(&out);
    assert!(
        ["high", "critical"].contains(&v["riskLevel"].as_str().unwrap()),
        "{v}"
    );
    // The table's evidence reads as words, not as a JSON blob.
    let out = server.cli_ok(&["risk", "show", "mallory"]);
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert_golden("risk_show_mallory.txt", &table);
    assert!(table.contains("slow_request_concentration"), "{table}");
    assert!(!table.contains('{') && !table.contains('"'), "{table}");
    let out = server.cli(&["risk", "show", "nobody"]);
    assert_eq!(out.status.code(), Some(1));

    // The risk alert is open, and `alerts` lists it among every kind, filtered and paged.
    let out = server.cli_ok(&["alerts", "--kind", "risk", "--format", "json"]);
    let v = json(&out);
    let open = v["open"].as_array().unwrap();
    assert!(
        !open.is_empty() && open.iter().all(|a| a["kind"] == "risk"),
        "{v:#}"
    );
    assert!(v["open"].to_string().contains("mallory"), "{v:#}");
    // Layout and words pinned; the times depend on when a cycle first saw the risk.
    let out = server.cli_ok(&["alerts", "--kind", "risk", "--state", "firing"]);
    assert_golden("alerts_risk_firing.txt", &mask_timestamps(&text(&out)));
    let out = server.cli_ok(&["alerts", "--limit", "1"]);
    let page = text(&out);
    assert!(
        page.contains("open now: ") && page.contains("risk") && page.contains("firing"),
        "{page}"
    );
    let out = server.cli(&["alerts", "--state", "burning"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the server refuses the state: bad input"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pending, firing or resolved"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
