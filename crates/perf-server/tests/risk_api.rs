//! `GET /v1/risk/signals` and `/v1/risk/entities/{id}` with caller hashing on: a caller
//! failing and driving slow requests in the last minutes rises to high or critical, ordinary
//! callers stay low, and the caller's name never appears in clear in any answer or file.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{ClockMode, Config};
use serde_json::json;

const T0: i64 = 1_767_225_600_000;
const KEY: &str = "test-key-0123456789abcdef";

fn body(minute: i64) -> String {
    let mut out = String::new();
    for i in 0..600i64 {
        let ts = T0 + minute * 60_000 + i * 100;
        let caller = format!("user-{}", (i * 7919 + minute * 13) % 2_000);
        out.push_str(
            &json!({"ts": ts, "service": "qsvc", "operation": "GET /x", "entity": caller,
                             "latencyMs": 20.0 + (i % 30) as f64, "ok": i % 97 != 0, "cost": 0.001})
            .to_string(),
        );
        out.push('\n');
        if i % 10 == 0 {
            let bad = minute >= 52;
            out.push_str(&json!({"ts": ts + 1, "service": "qsvc", "operation": "GET /x", "entity": "mallory",
                                 "latencyMs": if bad { 900.0 } else { 25.0 }, "ok": !(bad && i % 20 == 0), "cost": if bad { 0.02 } else { 0.001 }}).to_string());
            out.push('\n');
        }
    }
    out
}

#[tokio::test]
async fn a_misbehaving_caller_rises_and_its_name_stays_hidden() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.privacy.hash_callers = true;
    c.privacy.key = KEY.into();
    let t = server_with(c);
    for minute in 0..60 {
        let (status, a) = post(&t.state, "/v1/events", "application/x-ndjson", body(minute)).await;
        assert_eq!(status, StatusCode::OK, "{a}");
    }
    let id = perf_server::privacy::pseudonym(KEY.as_bytes(), "mallory");
    let (status, r) = get(&t.state, "/v1/risk/signals?minLevel=high").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let entities = r["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1, "only the offender is high: {r}");
    assert_eq!(entities[0]["entityId"], id.as_str());
    assert!(["high", "critical"].contains(&entities[0]["riskLevel"].as_str().unwrap()));
    let kinds: Vec<&str> = entities[0]["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"slow_request_concentration") && kinds.contains(&"cost_spike"),
        "{kinds:?}"
    );
    assert!(r["trackedCallers"].as_u64().unwrap() > 10);

    let (status, e) = get(&t.state, &format!("/v1/risk/entities/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(e["entityId"], id.as_str());
    assert!(e["evidence"][0]["slowShare"].as_f64().unwrap() > 0.1, "{e}");
    let (status, _) = get(&t.state, "/v1/risk/entities/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&t.state, "/v1/risk/signals?minLevel=severe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Alerts for the new high caller.
    perf_server::evaluate_cycle(&t.state).unwrap();
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    assert!(
        alerts.to_string().contains("EcosystemPerfCallerRisk") && alerts.to_string().contains(&id),
        "{alerts}"
    );

    // The clear name appears nowhere: answers, top callers, the data directory.
    let (_, callers) = get(&t.state, "/v1/services/qsvc/callers?by=slow").await;
    assert!(callers.to_string().contains(&id));
    for text in [
        r.to_string(),
        e.to_string(),
        callers.to_string(),
        alerts.to_string(),
    ] {
        assert!(
            !text.contains("mallory") && !text.contains("user-"),
            "{text}"
        );
    }
    t.state.durable.snapshot().unwrap();
    for entry in walk(t.dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(7).any(|w| w == b"mallory"),
            "{} holds the clear caller name",
            entry.display()
        );
    }
}
