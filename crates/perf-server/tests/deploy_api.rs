//! Deployments over the API: baselines frozen, listed, kept across a restart and deleted;
//! the gate over live traffic; canary rollouts promoted step by step or rolled back with an
//! alert; regressions against the latest baseline with an alert from the background cycle.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use perf_server::config::{ClockMode, Config};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use serde_json::{json, Value};
use std::sync::Arc;

const T0: i64 = 1_764_000_000_000;

fn config() -> Config {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c
}

/// NDJSON of `n` requests of one version over `[from, from + span)`: lognormal latency, a
/// share of them four times slower.
fn events(from: i64, span: i64, n: usize, version: &str, slow_share: f64, seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let d = LogNormal::new(40f64.ln(), 0.5).unwrap();
    let mut out = String::new();
    for i in 0..n {
        let mut lat = d.sample(&mut rng);
        if rng.random::<f64>() < slow_share {
            lat *= 4.0;
        }
        let op = if i % 3 == 0 {
            "POST /pay"
        } else {
            "GET /balance"
        };
        let e = json!({"ts": from + (i as i64 * span) / n as i64, "service": "qwallet", "operation": op,
            "node": "n1", "latencyMs": lat, "ok": true, "version": version});
        out.push_str(&e.to_string());
        out.push('\n');
    }
    out
}

async fn ingest(state: &Arc<perf_server::AppState>, body: String) {
    let (status, answer) = post(state, "/v1/events", "application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

async fn post_json(
    state: &Arc<perf_server::AppState>,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    post(state, path, "application/json", body.to_string()).await
}

#[tokio::test]
async fn baselines_are_frozen_listed_kept_and_deleted() {
    let t = server_with(config());
    ingest(&t.state, events(T0, 600_000, 6_000, "v1", 0.0, 1)).await;
    let (status, b) = post_json(
        &t.state,
        "/v1/baselines",
        json!({"service": "qwallet", "version": "v1", "window": "1h", "id": "qwallet-v1"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(b["requests"], 6000);
    assert_eq!(b["operations"].as_object().unwrap().len(), 2);
    let (status, again) = post_json(
        &t.state,
        "/v1/baselines",
        json!({"service": "qwallet", "version": "v1", "id": "qwallet-v1"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    // No data is refused, bad fields are named, and nothing is stored for either.
    let (status, e) = post_json(
        &t.state,
        "/v1/baselines",
        json!({"service": "qwallet", "version": "v9"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no requests"),
        "{e}"
    );
    let (status, e) = post_json(
        &t.state,
        "/v1/baselines",
        json!({"service": "qwallet", "windw": "1h"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        e["error"]["message"].as_str().unwrap().contains("windw"),
        "{e}"
    );
    let (status, e) = post(
        &t.state,
        "/v1/baselines",
        "application/json",
        "{\"service\": ",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (_, list) = get(&t.state, "/v1/baselines").await;
    assert_eq!(list["baselines"].as_array().unwrap().len(), 1);
    // A baseline file (what `baseline freeze --out` writes) can be posted back under another id.
    let (_, full) = get(&t.state, "/v1/baselines/qwallet-v1").await;
    let mut copy = full.clone();
    copy["id"] = json!("imported");
    let (status, _) = post_json(&t.state, "/v1/baselines", copy).await;
    assert_eq!(status, StatusCode::CREATED);

    // Kept across a restart.
    let dir = t.dir;
    let mut c = config();
    c.server.data_dir = dir.path().display().to_string();
    drop(t.state);
    let state = perf_server::AppState::open(c).unwrap();
    let (_, list) = get(&state, "/v1/baselines").await;
    assert_eq!(list["baselines"].as_array().unwrap().len(), 2);
    let req = Request::delete("/v1/baselines/qwallet-v1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::NO_CONTENT);
    let req = Request::delete("/v1/baselines/qwallet-v1")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&state, req).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_gate_blocks_a_slow_version_and_passes_a_clean_one() {
    let t = server_with(config());
    ingest(&t.state, events(T0, 600_000, 9_000, "v1", 0.0, 1)).await;
    ingest(&t.state, events(T0, 600_000, 9_000, "v2", 0.0, 2)).await;
    ingest(&t.state, events(T0, 600_000, 9_000, "v3", 0.06, 3)).await;
    let (status, good) = post_json(
        &t.state,
        "/v1/gates/evaluate",
        json!({"service": "qwallet", "candidateVersion": "v2", "baselineVersion": "v1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{good}");
    assert_eq!(good["recommendation"], "proceed", "{}", good["summary"]);
    assert_eq!(good["passed"], true);
    let (_, bad) = post_json(&t.state, "/v1/gates/evaluate", json!({"service": "qwallet", "candidateVersion": "v3", "baselineVersion": "v1", "deployment": "qwallet 3.0"})).await;
    assert_eq!(bad["recommendation"], "block_deployment");
    assert_eq!(bad["deployment"], "qwallet 3.0");
    let v = &bad["violations"][0];
    assert_eq!(v["type"], "p99_latency_degradation");
    for key in [
        "current",
        "baseline",
        "threshold",
        "severity",
        "interval",
        "pValue",
    ] {
        assert!(!v[key].is_null(), "{key} missing in {v}");
    }
    let metric = &bad["operations"][0]["metrics"][2];
    for key in [
        "change",
        "interval",
        "pValue",
        "threshold",
        "samples",
        "explanation",
    ] {
        assert!(!metric[key].is_null(), "{key} missing in {metric}");
    }
    // Without a stored baseline and without baselineVersion: a clear 400.
    let (status, e) = post_json(
        &t.state,
        "/v1/gates/evaluate",
        json!({"service": "qwallet", "candidateVersion": "v3"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no baseline"));
    let (status, _) = post_json(
        &t.state,
        "/v1/gates/evaluate",
        json!({"service": "qwallet", "baselineVersion": "v1", "analysis": {"confidence": 2}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // An unknown version is no data, never a pass.
    let (_, none) = post_json(
        &t.state,
        "/v1/gates/evaluate",
        json!({"service": "qwallet", "candidateVersion": "v7", "baselineVersion": "v1"}),
    )
    .await;
    assert_eq!(none["recommendation"], "insufficient_data");
}

/// Runs a rollout: each round ingests a minute of both versions (the canary at its weight),
/// then evaluates. Returns the decisions.
async fn drive(
    state: &Arc<perf_server::AppState>,
    id: &str,
    canary_slow: f64,
    rounds: usize,
) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut weight = 10u64;
    for round in 0..rounds {
        let from = T0 + round as i64 * 60_000;
        let canary = (6_000 * weight / 100) as usize;
        if canary < 6_000 {
            ingest(
                state,
                events(from, 60_000, 6_000 - canary, "v1", 0.0, 100 + round as u64),
            )
            .await;
        }
        if canary > 0 {
            ingest(
                state,
                events(from, 60_000, canary, "v2", canary_slow, 200 + round as u64),
            )
            .await;
        }
        let (status, e) = post_json(state, &format!("/v1/rollouts/{id}/evaluate"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "{e}");
        weight = e["weight"].as_u64().unwrap();
        out.push((e["decision"].as_str().unwrap().to_string(), weight));
        if e["state"] != "running" {
            break;
        }
    }
    out
}

#[tokio::test]
async fn a_clean_canary_is_promoted_and_a_slow_one_rolled_back_with_an_alert() {
    let t = server_with(config());
    ingest(&t.state, events(T0 - 60_000, 60_000, 100, "v1", 0.0, 9)).await;
    let spec = |id: &str| json!({"id": id, "service": "qwallet", "baselineVersion": "v1", "canaryVersion": "v2", "steps": [10, 50, 100], "minStepDuration": "2m"});
    let (status, r) = post_json(&t.state, "/v1/rollouts", spec("clean")).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["weight"], 10);
    let decisions = drive(&t.state, "clean", 0.0, 12).await;
    assert_eq!(
        decisions.last().unwrap(),
        &("complete".to_string(), 100),
        "{decisions:?}"
    );
    assert!(
        decisions.contains(&("promote".to_string(), 50)),
        "{decisions:?}"
    );
    assert!(decisions.iter().any(|d| d.0 == "hold"), "{decisions:?}");
    let (_, shown) = get(&t.state, "/v1/rollouts/clean").await;
    assert_eq!(shown["state"], "completed");
    assert_eq!(shown["history"].as_array().unwrap().len(), decisions.len());

    let t = server_with(config());
    ingest(&t.state, events(T0 - 60_000, 60_000, 100, "v1", 0.0, 9)).await;
    post_json(&t.state, "/v1/rollouts", spec("slow")).await;
    let decisions = drive(&t.state, "slow", 0.08, 12).await;
    assert_eq!(decisions.last().unwrap().0, "rollback", "{decisions:?}");
    assert_eq!(decisions.last().unwrap().1, 0);
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    assert!(
        alerts.to_string().contains("EcosystemPerfCanaryRollback"),
        "{alerts}"
    );
    // An ended rollout answers its final decision and changes nothing.
    let (_, again) = post_json(&t.state, "/v1/rollouts/slow/evaluate", json!({})).await;
    assert_eq!(again["decision"], "rollback");
    // Bad specs and unknown ids.
    let (status, e) = post_json(&t.state, "/v1/rollouts", json!({"service": "qwallet", "baselineVersion": "v1", "canaryVersion": "v2", "steps": [50, 10]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, _) = post_json(&t.state, "/v1/rollouts/nope/evaluate", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn regressions_compare_the_current_window_with_the_latest_baseline_and_alert() {
    let t = server_with(config());
    ingest(&t.state, events(T0, 3_600_000, 10_000, "v1", 0.0, 1)).await;
    let (status, _) = post_json(
        &t.state,
        "/v1/baselines",
        json!({"service": "qwallet", "window": "1h"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // The next hour is slower in the tail.
    ingest(
        &t.state,
        events(T0 + 3_600_000, 3_600_000, 10_000, "v2", 0.08, 2),
    )
    .await;
    let (status, r) = get(&t.state, "/v1/regressions?window=1h").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["regressions"][0]["service"], "qwallet");
    assert_eq!(
        r["regressions"][0]["recommendation"], "block_deployment",
        "{}",
        r["regressions"][0]["summary"]
    );
    assert!(r["trends"].is_array());
    perf_server::run_deployment_cycle(&t.state).unwrap();
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    assert!(
        alerts.to_string().contains("EcosystemPerfRegression"),
        "{alerts}"
    );
    let (status, _) = get(&t.state, "/v1/regressions?days=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
