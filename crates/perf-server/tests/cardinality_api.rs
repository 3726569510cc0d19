//! Issue 14 (7): what a flood of keys leaves behind. Before: each unknown key that failed to
//! parse added a permanent `/metrics` label (20 requests, a 100 MB `/metrics`), and series
//! were never freed, so after a flood a new service landed in `__overflow__` forever, also
//! after a restart.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{ClockMode, Config};
use serde_json::json;

async fn metrics_text(t: &TestServer) -> String {
    let req = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    String::from_utf8(send(&t.state, req).await.1).unwrap()
}

#[tokio::test]
async fn invented_field_names_add_no_metrics_labels() {
    let t = server();
    let mut after_first = String::new();
    for r in 0..20 {
        let body: String = (0..100)
            .map(|i| format!("{{\"service\":\"q\",\"operation\":\"o\",\"latencyMs\":1,\"k{r}_{i}\":\"\\q\"}}\n"))
            .collect();
        let (status, answer) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_eq!(answer["errors"][0]["field"], format!("k{r}_0"), "{answer}");
        if r == 0 {
            // Twice: the first read adds its own route's duration histogram.
            metrics_text(&t).await;
            after_first = metrics_text(&t).await;
        }
    }
    let after = metrics_text(&t).await;
    assert!(
        !after.contains("k7_3"),
        "an invented field name became a label"
    );
    assert!(after.contains("reason=\"other_field\"} 2000"), "{after}");
    // Only counter values changed (a few digits), no line was added.
    assert_eq!(after.lines().count(), after_first.lines().count());
}

fn short_retention(dir_config: &mut Config) {
    dir_config.server.clock = ClockMode::Event;
    dir_config.retention.resolutions = serde_yaml_ng::from_str("[{width: 10s, keep: 1m}]").unwrap();
    dir_config.server.limits.max_series_per_view = 5;
}

fn service_keys(body: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"]["service"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn series_idle_past_retention_are_dropped_and_new_keys_get_their_own_again() {
    let mut c = Config::default();
    short_retention(&mut c);
    let t = server_with(c.clone());
    let t0 = perf_server::durable::system_now() - 600_000;
    let flood: Vec<_> = (0..8)
        .map(|i| json!({"ts": t0, "service": format!("flood{i}"), "operation": "op", "latencyMs": 1.0}))
        .collect();
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/json",
        serde_json::to_string(&flood).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = get(&t.state, "/v1/query?view=service_operation&window=1m").await;
    assert!(
        service_keys(&body).contains(&"__overflow__".to_string()),
        "{body}"
    );
    // Two minutes later (past the 1 m retention) a new service arrives.
    let later =
        json!({"ts": t0 + 120_000, "service": "newcomer", "operation": "op", "latencyMs": 1.0});
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/json",
        later.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = get(&t.state, "/v1/query?view=service_operation&window=1m").await;
    assert_eq!(service_keys(&body), vec!["newcomer"], "{body}");
    assert_eq!(
        t.state
            .durable
            .engine()
            .view("service_operation")
            .unwrap()
            .series()
            .len(),
        1
    );
    // The same after a restart (snapshot plus log replay).
    t.state.durable.snapshot().unwrap();
    let dir = t.dir;
    drop(t.state);
    c.server.data_dir = dir.path().display().to_string();
    let again = perf_server::AppState::open(c).unwrap();
    assert_eq!(
        again
            .durable
            .engine()
            .view("service_operation")
            .unwrap()
            .series()
            .len(),
        1
    );
}

#[tokio::test]
async fn one_tenant_cannot_fill_a_tenant_view_for_the_others() {
    let mut c = Config::default();
    c.server.limits.max_series_per_tenant = 3;
    let t = server_with(c);
    let events: Vec<_> = (0..10)
        .map(|i| json!({"service": format!("s{i}"), "operation": "op", "latencyMs": 1.0, "tenant": "noisy"}))
        .chain(std::iter::once(json!({"service": "s0", "operation": "op", "latencyMs": 1.0, "tenant": "quiet"})))
        .collect();
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/json",
        serde_json::to_string(&events).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = get(&t.state, "/v1/query?view=service_tenant&window=1h").await;
    let mut tenants: Vec<(String, u64)> = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"]["tenant"].as_str().unwrap().to_string(),
                g["count"].as_u64().unwrap(),
            )
        })
        .collect();
    tenants.sort();
    assert_eq!(
        tenants,
        vec![
            ("__overflow__".into(), 7),
            ("noisy".into(), 1),
            ("noisy".into(), 1),
            ("noisy".into(), 1),
            ("quiet".into(), 1)
        ],
        "{body}"
    );
}
