//! `GET /v1/alerts`: open alerts of every kind (not only SLO tiers), the history filtered by
//! state, kind and service and paged by id, bad parameters refused, and history older than
//! `alerting.historyRetention` pruned (issue 24).

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{ClockMode, Config};
use perf_store::AlertRecord;

const T0: i64 = 1_764_000_000_000;
const DAY: i64 = 86_400_000;

fn record(
    at_ms: i64,
    kind: &str,
    subject: &str,
    state: &str,
    payload: serde_json::Value,
) -> AlertRecord {
    AlertRecord {
        at_ms,
        kind: kind.into(),
        subject: subject.into(),
        state: state.into(),
        payload: payload.to_string(),
    }
}

fn subjects(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}/{} {}",
                r["kind"].as_str().unwrap(),
                r["subject"].as_str().unwrap(),
                r["state"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn every_kind_is_open_and_the_history_pages_and_filters() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    let t = server_with(c);
    let store = t.state.durable.store();
    let rows = [
        record(
            T0,
            "slo",
            "feed-availability",
            "firing",
            serde_json::json!({"slo": "feed-availability", "service": "qnet"}),
        ),
        record(
            T0 + 1_000,
            "degradation",
            "qwallet",
            "firing",
            serde_json::json!({"labels": {"service": "qwallet"}}),
        ),
        record(
            T0 + 2_000,
            "anomaly",
            "qnet/n1",
            "firing",
            serde_json::json!({"labels": {"service": "qnet"}}),
        ),
        record(
            T0 + 3_000,
            "risk",
            "mallory",
            "firing",
            serde_json::json!({"labels": {"service": "qsvc"}}),
        ),
        record(
            T0 + 4_000,
            "risk",
            "mallory",
            "resolved",
            serde_json::json!({"labels": {"service": "qsvc"}}),
        ),
    ];
    for r in &rows {
        store.append_alert(r).unwrap();
    }
    let (status, all) = get(&t.state, "/v1/alerts").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(
        subjects(&all["open"]),
        [
            "anomaly/qnet/n1 firing",
            "degradation/qwallet firing",
            "slo/feed-availability firing"
        ]
    );
    assert_eq!(all["history"].as_array().unwrap().len(), 5);
    assert!(all["next"].is_null());

    let (_, q) = get(&t.state, "/v1/alerts?kind=degradation").await;
    assert_eq!(subjects(&q["open"]), ["degradation/qwallet firing"]);
    assert_eq!(subjects(&q["history"]), ["degradation/qwallet firing"]);
    let (_, q) = get(&t.state, "/v1/alerts?service=qnet").await;
    assert_eq!(
        subjects(&q["history"]),
        ["anomaly/qnet/n1 firing", "slo/feed-availability firing"]
    );
    let (_, q) = get(&t.state, "/v1/alerts?state=resolved").await;
    assert_eq!(subjects(&q["history"]), ["risk/mallory resolved"]);
    assert!(q["open"].as_array().unwrap().is_empty());

    // Pages of two, through `next`, make the whole history in order.
    let mut paged = Vec::new();
    let mut path = "/v1/alerts?limit=2".to_string();
    loop {
        let (status, page) = get(&t.state, &path).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["history"].as_array().unwrap().len() <= 2);
        paged.extend(subjects(&page["history"]));
        match page["next"].as_i64() {
            Some(next) => path = format!("/v1/alerts?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(paged, subjects(&all["history"]));

    for bad in [
        "/v1/alerts?state=burning",
        "/v1/alerts?limit=0",
        "/v1/alerts?limit=100000",
        "/v1/alerts?before=-1",
        "/v1/alerts?colour=red",
    ] {
        let (status, body) = get(&t.state, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn history_past_its_retention_is_pruned_with_the_snapshot() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.alerting.history_retention = 30 * DAY;
    let t = server_with(c);
    let store = t.state.durable.store();
    store
        .append_alert(&record(T0, "slo", "old", "firing", serde_json::json!({})))
        .unwrap();
    store
        .append_alert(&record(
            T0 + 20 * DAY,
            "slo",
            "recent",
            "firing",
            serde_json::json!({}),
        ))
        .unwrap();
    // The clock moves to 31 days after the first row with an event.
    let event = format!(
        r#"[{{"ts": {}, "service": "qnet", "operation": "op", "latencyMs": 5}}]"#,
        T0 + 31 * DAY
    );
    let (status, _) = post(&t.state, "/v1/events", "application/json", event).await;
    assert_eq!(status, StatusCode::OK);
    t.state.durable.snapshot().unwrap();
    let (_, all) = get(&t.state, "/v1/alerts").await;
    assert_eq!(subjects(&all["history"]), ["slo/recent firing"]);
}
