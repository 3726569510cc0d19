//! The real binary: ingest with partial rejection, tables (golden files), JSON output, exit
//! codes, config commands, and a graceful SIGTERM that keeps everything.

mod common;

use common::*;
use std::process::Command;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events.ndjson");

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

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
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
fn config_default_and_check() {
    let out = Command::new(bin())
        .args(["config", "default"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, &out.stdout).unwrap();
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "version: 1\nserver:\n  listn: 127.0.0.1:1\n").unwrap();
    let out = Command::new(bin())
        .args(["config", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server") && err.contains("listn"), "{err}");
}

#[test]
fn serve_refuses_a_public_address_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("auth.tokens"));
}

#[test]
fn help_documents_exit_codes_and_examples() {
    let out = Command::new(bin()).arg("--help").output().unwrap();
    assert!(text(&out).contains("Exit codes"));
    for cmd in ["serve", "demo", "ingest", "status", "profile"] {
        let out = Command::new(bin()).args([cmd, "--help"]).output().unwrap();
        assert!(
            text(&out).contains("Example"),
            "{cmd} --help has no example"
        );
    }
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
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 600);
    assert_eq!(total_requests(&server.url), 600);
}

#[test]
fn query_any_view_as_table_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    server.cli(&["ingest", FIXTURE]);
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["groups"][0]["count"], 600);
    let out = server.cli(&["query", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown view"));
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
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["accepted"].as_u64(), summary["rejected"].as_u64()),
        (Some(600), Some(2))
    );
}

#[test]
fn callers_are_ranked_by_each_measure() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    server.cli(&["ingest", FIXTURE]);
    let out = server.cli(&["callers", "qnet", "--by", "requests", "--limit", "5"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_golden("callers_qnet.txt", &text(&out));
    let out = server.cli(&["callers", "qnet", "--by", "slow", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let slow: f64 = v["callers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_f64().unwrap())
        .sum();
    assert!(slow > 0.0 && slow < 400.0, "{v}");
    let out = server.cli(&["callers", "qnet", "--window", "2h"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("heavyHitters.keep"));
}

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
    let clean: String = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"ts\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let events = dir.path().join("clean.ndjson");
    std::fs::write(&events, &clean).unwrap();
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
    let offline: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    server.cli(&["ingest", events.to_str().unwrap()]);
    let out = server.cli(&["slo", "list", "--format", "json"]);
    let online: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
}

#[test]
fn tenant_list_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    server.cli(&["ingest", FIXTURE]);
    let out = server.cli(&["tenant", "list"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_golden("tenant_list.txt", &text(&out));
    let out = server.cli(&["tenant", "show", "dao-beta", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["daoId"], "dao-beta");
    assert!(v["performanceScore"].as_u64().is_some());
}

#[test]
fn capacity_show_plan_and_cost_read_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--clock", "event"]);
    // 40 minutes of a service growing 2 % per minute, 0.001 per request, on two nodes
    // declaring 4 rps each.
    let t0: i64 = 1_764_028_800_000;
    let mut events = String::new();
    for minute in 0..40i64 {
        let n = (60.0 * 1.02f64.powi(minute as i32)).round() as i64;
        for i in 0..n {
            let ts = t0 + minute * 60_000 + i * 60_000 / n;
            events.push_str(&format!(
                "{{\"ts\": {ts}, \"service\": \"grow\", \"operation\": \"GET /x\", \"latencyMs\": 12.5, \"cost\": 0.001}}\n"
            ));
        }
    }
    server.ingest_ndjson(dir.path(), "grow.ndjson", events);
    let end = t0 + 40 * 60_000 - 1_000;
    let resources = format!(
        "[{{\"ts\": {end}, \"service\": \"grow\", \"node\": \"a\", \"capacityRps\": 4.0}},
          {{\"ts\": {end}, \"service\": \"grow\", \"node\": \"b\", \"capacityRps\": 4.0}}]"
    );
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/resources", server.url))
        .header("content-type", "application/json")
        .body(resources)
        .send()
        .unwrap();
    assert!(r.status().is_success());

    let out = server.cli(&["capacity", "show", "grow", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["stepMinutes"], 1);
    assert_eq!(v["capacityRps"], 8.0);
    let out = server.cli(&["capacity", "show", "grow"]);
    let table = text(&out);
    assert!(
        table.contains("headroom now") && table.contains("1 min / 0.3 h"),
        "{table}"
    );

    let out = server.cli(&["capacity", "plan", "grow"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("target utilisation set by: headroom"),
        "{}",
        text(&out)
    );

    let out = server.cli(&["capacity", "cost", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let requests: f64 = (0..40).map(|m| (60.0 * 1.02f64.powi(m)).round()).sum();
    let mtd = v["services"][0]["monthToDate"].as_f64().unwrap();
    assert!(
        (mtd - requests * 0.001).abs() < 1e-6,
        "{mtd} vs {}",
        requests * 0.001
    );
    let out = server.cli(&["capacity", "cost"]);
    assert!(text(&out).contains("GET /x"), "{}", text(&out));

    let out = server.cli(&["capacity", "show", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
}

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
    let eds: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["services"].is_array());
    let out = server.cli(&["degradation"]);
    assert!(text(&out).contains("service"), "{}", text(&out));
}

#[test]
fn simulate_prints_the_scenario_tables() {
    let out = std::process::Command::new(bin())
        .args([
            "simulate", "overload", "--seeds", "1", "--format", "markdown",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = text(&out);
    assert!(
        md.starts_with("| strategy | goodput % of capacity |"),
        "{md}"
    );
    assert!(
        md.contains("| ecosystem-perf | ") && md.contains("| CoDel"),
        "{md}"
    );
    let out = std::process::Command::new(bin())
        .args(["simulate", "routing", "--seeds", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = std::process::Command::new(bin())
        .args(["simulate", "chaos"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        ["high", "critical"].contains(&v["riskLevel"].as_str().unwrap()),
        "{v}"
    );
    let out = server.cli(&["risk", "show", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
}
