//! `golive`: the offline report over an event file equals the server's for the same events
//! fed the same way; formats and exit codes.

use crate::common::*;
use crate::*;
use std::process::Command;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

const CONFIG: &str = "version: 1
budgets:
  monthlyCostBudget: 1000
slos:
  - name: wallet-availability
    service: qwallet
    sli: availability
    objective: 99.9
    window: 28d
";

/// Three hours of a wallet, one NDJSON text per minute: 20 cached reads (18 hits) and 5
/// writes, one failed write every ten minutes in the first two hours (each steps the
/// degradation ladder up and back down), none in the last.
fn minutes() -> Vec<String> {
    (0..180)
        .map(|m| {
            let t = T0 + m * MINUTE;
            let mut out = String::new();
            for k in 0..20 {
                out.push_str(&format!(
                    "{{\"ts\": {}, \"service\": \"qwallet\", \"operation\": \"GET /balance\", \"class\": \"read\", \"latencyMs\": {}, \"node\": \"n1\", \"cost\": 0.001, \"ok\": true, \"cache\": \"{}\", \"cacheSpace\": \"balances\"}}\n",
                    t + k * 2_500,
                    40 + (k * 7) % 23,
                    if k < 18 { "hit" } else { "miss" }
                ));
            }
            for k in 0..5 {
                out.push_str(&format!(
                    "{{\"ts\": {}, \"service\": \"qwallet\", \"operation\": \"POST /transfer\", \"class\": \"write\", \"latencyMs\": {}, \"node\": \"n1\", \"cost\": 0.002, \"ok\": {}}}\n",
                    t + 1_000 + k * 11_000,
                    90 + k * 4,
                    !(k == 0 && m % 10 == 0 && m < 120)
                ));
            }
            out
        })
        .collect()
}

#[test]
fn offline_and_server_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("golive.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let minutes = minutes();
    let events = dir.path().join("day.ndjson");
    std::fs::write(&events, minutes.concat()).unwrap();

    let offline = Command::new(bin())
        .args(["golive", "--format", "json", "--config"])
        .arg(&config)
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    let report = json(&offline);
    // The error budget and the cost fail (below), so the verdict is no-go although headroom
    // has no capacity to judge: exit 1.
    assert_eq!(report["verdict"], "no_go", "{report:#}");
    assert_eq!(offline.status.code(), Some(1));
    let gate = |name: &str| {
        report["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap()
            .clone()
    };
    let latency = gate("latency");
    assert_eq!(latency["status"], "pass", "{latency:#}");
    assert_eq!(
        latency["window"]["to"], "2026-01-01T02:59:00.000Z",
        "the last 30 whole minutes before the one in progress: {latency:#}"
    );
    assert_eq!(latency["evidence"].as_array().unwrap().len(), 2);
    // 12 failed requests of 4,500 (0.27 %) against 0.1 %: 2.67 times the budget's rate, a
    // week burns 2.67 × 7 / 28 = 67 % of it.
    let budget = gate("error_budget");
    assert_eq!(budget["status"], "fail", "{budget:#}");
    let burn = budget["actual"].as_f64().unwrap();
    assert!(
        (burn - 12.0 / 4_500.0 / 0.001 * 0.25).abs() < 0.01,
        "{budget:#}"
    );
    let cache = gate("cache");
    assert_eq!(cache["status"], "pass", "{cache:#}");
    assert_eq!(cache["evidence"][0]["subject"], "qwallet/balances");
    // 0.03 a minute: 30 days cost 1,296 of the budget's 1,000 (the recent rate: three
    // hours are too few for the hourly model).
    let cost = gate("cost");
    assert_eq!(cost["status"], "fail", "{cost:#}");
    let share = cost["actual"].as_f64().unwrap();
    assert!((share - 1.296).abs() < 0.01, "{cost:#}");
    assert_eq!(gate("headroom")["status"], "insufficient_data");

    // The server on the event clock, fed minute by minute with a read after each (the read
    // runs the cycle when due, as the offline replay does).
    let server = Server::start(
        &dir.path().join("data"),
        &["--clock", "event", "--config", config.to_str().unwrap()],
    );
    let client = reqwest::blocking::Client::new();
    for m in &minutes {
        let r = client
            .post(format!("{}/v1/events", server.url))
            .header("content-type", "application/x-ndjson")
            .body(m.clone())
            .send()
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let r = client
            .get(format!("{}/v1/overview", server.url))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }
    let online = server.cli(&["golive", "--format", "json"]);
    assert_eq!(online.status.code(), Some(1));
    assert_eq!(
        json(&online),
        report,
        "the server and the offline replay agree"
    );

    // Table and Markdown name the verdict and every gate.
    let table = text(&server.cli(&["golive"]));
    assert!(table.contains("verdict: NO-GO"), "{table}");
    for name in ["latency", "error_budget", "cache", "cost", "headroom"] {
        assert!(table.contains(name), "{table}");
    }
    let md = text(&server.cli(&["golive", "--format", "markdown"]));
    assert!(md.starts_with("## Go-live readiness: **NO-GO**"), "{md}");
    assert!(md.contains("| error_budget | FAIL |"), "{md}");
    server.terminate();
}

#[test]
fn no_gate_failing_and_one_lacking_data_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    // No SLO: the error-budget gate names the setting that would fix it.
    std::fs::write(&config, "version: 1\n").unwrap();
    let events = dir.path().join("e.ndjson");
    std::fs::write(&events, minutes()[150..].concat()).unwrap();
    let out = Command::new(bin())
        .args(["golive", "--format", "json", "--config"])
        .arg(&config)
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "{report:#}");
    assert_eq!(report["verdict"], "insufficient_data");
    let budget = &report["gates"][1];
    assert_eq!(budget["name"], "error_budget");
    assert!(
        budget["reason"].as_str().unwrap().contains("slos"),
        "{budget:#}"
    );
}

#[test]
fn bad_offline_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(&config, "version: 1\nbudgets: {cacheHitRat: 0.9}\n").unwrap();
    let events = dir.path().join("e.ndjson");
    std::fs::write(&events, minutes()[0].clone()).unwrap();
    let out = Command::new(bin())
        .args(["golive", "--config"])
        .arg(&config)
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cacheHitRat"));
    // --events without --config is a usage error.
    let out = Command::new(bin())
        .args(["golive", "--events"])
        .arg(&events)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn frozen_guardrails_are_used_and_changing_them_needs_force_and_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("a.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let server = Server::start(
        &data,
        &["--clock", "event", "--config", config.to_str().unwrap()],
    );
    let events = dir.path().join("hour.ndjson");
    std::fs::write(&events, minutes()[..60].concat()).unwrap();
    server.cli_ok(&["ingest", events.to_str().unwrap()]);
    let out = server.cli_ok(&["baseline", "freeze", "--golive"]);
    let id = text(&out).trim().to_string();
    assert!(id.starts_with("golive-"), "{id}");
    let report = json(&server.cli(&["golive", "--format", "json"]));
    assert_eq!(report["frozen"]["id"], id.as_str());
    assert_eq!(report["frozen"]["configDiffers"], false);
    let baselines = json(&server.cli(&["baseline", "list", "--format", "json"]));
    assert!(
        baselines.to_string().contains("golive-qwallet-"),
        "{baselines}"
    );
    server.terminate();

    // The configuration tightens the read budget: the frozen one still decides.
    let tighter = dir.path().join("b.yaml");
    std::fs::write(
        &tighter,
        CONFIG.replace("budgets:\n", "budgets:\n  read: {p95Ms: 100, p99Ms: 150}\n"),
    )
    .unwrap();
    let server = Server::start(
        &data,
        &["--clock", "event", "--config", tighter.to_str().unwrap()],
    );
    let report = json(&server.cli(&["golive", "--format", "json"]));
    assert_eq!(report["guardrails"]["readP99Ms"], 200.0);
    assert_eq!(report["frozen"]["configDiffers"], true);
    let refused = server.cli(&["baseline", "freeze", "--golive"]);
    assert_eq!(refused.status.code(), Some(2));
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("readP99Ms") && why.contains("--force"),
        "{why}"
    );
    server.cli_ok(&["baseline", "freeze", "--golive", "--force"]);
    let report = json(&server.cli(&["golive", "--format", "json"]));
    assert_eq!(report["guardrails"]["readP99Ms"], 150.0);
    assert_eq!(report["frozen"]["configDiffers"], false);
    let frozen: serde_json::Value =
        reqwest::blocking::get(format!("{}/v1/golive/frozen", server.url))
            .unwrap()
            .json()
            .unwrap();
    let changes = frozen["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{frozen:#}");
    assert_eq!(changes[0]["old"]["readP99Ms"], 200.0);
    assert_eq!(changes[0]["new"]["readP99Ms"], 150.0);
    server.terminate();
}
