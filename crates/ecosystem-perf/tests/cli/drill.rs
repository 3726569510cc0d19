//! `drill`: a service that fails for three minutes after a drill starts and then recovers
//! gets an RTO within one evaluation interval (10 s) of the truth, an impact and a recovery
//! gate verdict against its baseline; a failover trigger fires while its rule holds.

use crate::common::*;
use crate::*;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;
const S: i64 = 1_000;

const CONFIG: &str = "version: 1
drills:
  rtoTarget: 4m
  failover:
    - {service: qwallet, errorRate: 0.2, for: 1m}
";

/// Ten seconds of qwallet from `t`: 20 requests, half failing when `failing`.
fn ten_seconds(t: i64, failing: bool) -> String {
    (0..20)
        .map(|k| {
            format!(
                "{{\"ts\": {}, \"service\": \"qwallet\", \"operation\": \"POST /pay\", \"latencyMs\": {}, \"node\": \"w1\", \"ok\": {}}}\n",
                t + k * 500,
                20 + (k * 7) % 30,
                !(failing && k % 2 == 0)
            )
        })
        .collect()
}

/// A server on the event clock with [`CONFIG`].
fn drill_server(dir: &std::path::Path) -> Server {
    let config = dir.join("c.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    Server::start(
        &dir.join("data"),
        &["--clock", "event", "--config", config.to_str().unwrap()],
    )
}

fn post_events(client: &reqwest::blocking::Client, url: &str, body: String) {
    let r = client
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .unwrap();
    assert!(r.status().is_success());
}

#[test]
fn a_three_minute_failure_is_measured_to_within_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let server = drill_server(dir.path());
    let client = reqwest::blocking::Client::new();
    let send = |t: i64, failing: bool| {
        post_events(&client, &server.url, ten_seconds(t, failing));
        // A read runs the evaluation cycle when it is due (event time).
        let r = client
            .get(format!("{}/v1/drills", server.url))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    };
    // Thirty healthy minutes, and a baseline of them.
    let mut t = T0;
    while t < T0 + 1_800 * S {
        send(t, false);
        t += 10 * S;
    }
    server.cli_ok(&[
        "baseline",
        "freeze",
        "--service",
        "qwallet",
        "--window",
        "30m",
    ]);
    // The drill starts; the service fails for three minutes, then serves well again.
    let out = server.cli_ok(&[
        "drill",
        "start",
        "--service",
        "qwallet",
        "--kind",
        "failover",
    ]);
    let id = text(&out).trim().to_string();
    let failure_ends = t + 180 * S;
    let started = t - 10 * S + 19 * 500; // the engine time at the start: the newest event
    while t < failure_ends {
        send(t, true);
        t += 10 * S;
    }
    let fired = server.cli(&["drill", "show", &id]);
    assert_eq!(
        fired.status.code(),
        Some(3),
        "still recovering: {}",
        text(&fired)
    );
    while t < failure_ends + 420 * S {
        send(t, false);
        t += 10 * S;
    }
    server.cli_ok(&["drill", "stop", &id]);

    let out = server.cli(&["drill", "show", &id, "--format", "json"]);
    let r = json(&out);
    assert_eq!(r["status"], "recovered", "{r:#}");
    let truth = failure_ends - started;
    let rto = r["rtoMs"].as_i64().unwrap();
    assert!(
        (rto - truth).abs() <= 10 * S,
        "measured RTO {rto} ms, truth {truth} ms: {r:#}"
    );
    assert_eq!(r["rtoMet"], true, "3 minutes against a 4-minute target");
    // Until recovery: the three failing minutes (and the bucket holding the start).
    assert!(r["impact"]["errorRate"].as_f64().unwrap() > 0.4, "{r:#}");
    assert_eq!(r["impact"]["worstErrorRate"], 0.5);
    assert!(
        r["impact"]["requests"].as_u64().unwrap() <= 20 * 20,
        "{r:#}"
    );
    let gate = &r["recoveryGate"];
    assert!(
        gate["recommendation"].is_string() && gate["summary"].is_string(),
        "a recovery gate verdict: {r:#}"
    );
    assert!(gate["candidate"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let table = text(&server.cli(&["drill", "show", &id]));
    assert!(
        table.contains("RTO: 3m") && table.contains("met"),
        "{table}"
    );

    // The failover trigger fired during the failure and resolved after it.
    let alerts: serde_json::Value = client
        .get(format!("{}/v1/alerts", server.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let text_alerts = alerts.to_string();
    assert!(text_alerts.contains("EcosystemPerfFailover"), "{alerts:#}");
    server.terminate();
}

/// The same failure with the evaluation cycle late (no read while the events arrive, as in a
/// starved process or an accelerated demo): the drill is still followed one evaluation
/// interval at a time, so its RTO keeps its resolution instead of growing by the lateness.
#[test]
fn a_late_cycle_measures_the_rto_to_within_an_interval_too() {
    let dir = tempfile::tempdir().unwrap();
    let server = drill_server(dir.path());
    let client = reqwest::blocking::Client::new();
    let mut t = T0;
    while t < T0 + 600 * S {
        post_events(&client, &server.url, ten_seconds(t, false));
        t += 10 * S;
    }
    let out = server.cli_ok(&[
        "drill",
        "start",
        "--service",
        "qwallet",
        "--kind",
        "failover",
    ]);
    let id = text(&out).trim().to_string();
    let started = t - 10 * S + 19 * 500;
    let failure_ends = t + 180 * S;
    // Ten minutes of events at once: one late cycle sees all of them.
    let mut body = String::new();
    while t < failure_ends + 420 * S {
        body.push_str(&ten_seconds(t, t < failure_ends));
        t += 10 * S;
    }
    post_events(&client, &server.url, body);
    let r = json(&server.cli(&["drill", "show", &id, "--format", "json"]));
    assert_eq!(r["status"], "recovered", "{r:#}");
    let (rto, truth) = (r["rtoMs"].as_i64().unwrap(), failure_ends - started);
    assert!(
        (rto - truth).abs() <= 10 * S,
        "measured RTO {rto} ms, truth {truth} ms: {r:#}"
    );
}
