//! `GET /v1/anomalies`: minutes of live data go through the detectors of every view; a node
//! that slows down becomes an incident whose probable cause is that node, with an alert.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{ClockMode, Config};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use serde_json::json;

const T0: i64 = 1_764_000_000_000;

/// A server whose clock is the newest event time.
fn event_clock_server() -> TestServer {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    server_with(c)
}

/// Ingests a minute of events, then reads the anomalies (which evaluates the minutes that
/// completed).
async fn play_minute(t: &TestServer, body: String) {
    let (status, _) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&t.state, "/v1/anomalies").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_slow_node_becomes_an_incident_caused_by_that_node() {
    let t = event_clock_server();
    let mut rng = StdRng::seed_from_u64(3);
    let d = LogNormal::new(30f64.ln(), 0.3).unwrap();
    for minute in 0..75i64 {
        let mut body = String::new();
        for node in ["n1", "n2", "n3"] {
            for i in 0..60 {
                let mut lat = d.sample(&mut rng);
                if node == "n2" && (62..66).contains(&minute) {
                    lat *= 8.0;
                }
                let e = json!({"ts": T0 + minute * 60_000 + i * 1_000, "service": "qsvc",
                    "operation": "GET /x", "node": node, "latencyMs": lat});
                body.push_str(&e.to_string());
                body.push('\n');
            }
        }
        play_minute(&t, body).await;
    }
    let (_, a) = get(&t.state, "/v1/anomalies?window=3h").await;
    let incidents = a["incidents"].as_array().unwrap();
    let slow = incidents
        .iter()
        .find(|i| {
            i["probableCause"]
                .as_str()
                .unwrap_or("")
                .contains("node n2")
        })
        .unwrap_or_else(|| panic!("no incident caused by node n2: {a}"));
    assert!(slow["metrics"].to_string().contains("p9"), "{slow}");
    assert!(a["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["key"].to_string().contains("n2")));
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    assert!(
        alerts.to_string().contains("EcosystemPerfAnomalyIncident"),
        "{alerts}"
    );
    let (status, _) = get(&t.state, "/v1/anomalies?window=banana").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The probable cause of an error incident in `service`, if one was found.
fn error_cause(a: &serde_json::Value, service: &str) -> Option<String> {
    a["incidents"]
        .as_array()?
        .iter()
        .filter(|i| i["services"].to_string().contains(service))
        .filter(|i| i["metrics"].to_string().contains("error_rate"))
        .map(|i| i["probableCause"].as_str().unwrap_or("").to_string())
        .next()
}

#[tokio::test]
async fn error_incidents_name_the_value_that_carries_the_excess_errors() {
    // Two services of three nodes and three operations, 0.3 % errors as usual. From minute
    // 62 to 66 qpay's node n2 fails 30 % of its requests; qbank fails 30 % everywhere.
    let t = event_clock_server();
    let mut rng = StdRng::seed_from_u64(11);
    let latency = LogNormal::new(30f64.ln(), 0.3).unwrap();
    for minute in 0..75i64 {
        let mut body = String::new();
        for service in ["qpay", "qbank"] {
            for node in ["n1", "n2", "n3"] {
                for i in 0..30 {
                    let op = ["GET /a", "GET /b", "POST /c"][i % 3];
                    let burst = (62..66).contains(&minute) && (service == "qbank" || node == "n2");
                    let fail_p = if burst { 0.3 } else { 0.003 };
                    let ok = rand::Rng::random::<f64>(&mut rng) >= fail_p;
                    let e = json!({"ts": T0 + minute * 60_000 + i as i64 * 2_000,
                        "service": service, "operation": op, "node": node, "ok": ok,
                        "latencyMs": latency.sample(&mut rng)});
                    body.push_str(&e.to_string());
                    body.push('\n');
                }
            }
        }
        play_minute(&t, body).await;
    }
    let (_, a) = get(&t.state, "/v1/anomalies?window=3h").await;
    let qpay = error_cause(&a, "qpay").unwrap_or_else(|| panic!("no qpay error incident: {a}"));
    assert!(
        qpay.starts_with("node n2 carries") && qpay.contains("excess errors"),
        "{qpay}"
    );
    let qbank = error_cause(&a, "qbank").unwrap_or_else(|| panic!("no qbank error incident: {a}"));
    assert_eq!(
        qbank,
        "errors rose across service qbank: no value carries them beyond its share of the requests"
    );
    // Before the bursts, single errors among 30 requests a minute are chance: no error-rate
    // anomaly (the detectors alone flag a first error where the usual rate is 0).
    let early: Vec<&serde_json::Value> = a["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["metric"] == "error_rate")
        .filter(|x| x["at"].as_str().unwrap_or("") < "2025-11-24T17:00:00Z")
        .collect();
    assert!(early.is_empty(), "{early:?}");
}
