//! `GET /v1/routing/weights`: a slow node and a fail-fast node lose weight, the others keep
//! theirs; Envoy and nginx exports; a recovered node slow-starts; bad queries are refused; in
//! a closed loop through the API a healed node gets its traffic back within a minute.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{ClockMode, Config};
use serde_json::json;

const T0: i64 = 1_764_028_800_000;

/// One minute of traffic from `start`: 300 requests per node; `slow` is 5× slower; `failing`
/// fails 80 % of its requests in 1 ms.
fn minute(start: i64, slow: Option<&str>, failing: Option<&str>) -> String {
    let mut body = String::new();
    for node in ["n1", "n2", "n3", "n4"] {
        for i in 0..300i64 {
            let ts = start + i * 200;
            let base = 20.0 + (i % 10) as f64 * 3.0;
            let (latency, ok) = if Some(node) == failing && i % 5 != 0 {
                (1.0, false)
            } else if Some(node) == slow {
                (base * 5.0, true)
            } else {
                (base, true)
            };
            body.push_str(
                &json!({"ts": ts, "service": "qnet", "operation": "GET /feed", "node": node,
                        "latencyMs": latency, "ok": ok})
                .to_string(),
            );
            body.push('\n');
        }
    }
    body
}

fn weight(r: &serde_json::Value, node: &str) -> f64 {
    r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == node)
        .unwrap()["weight"]
        .as_f64()
        .unwrap()
}

#[tokio::test]
async fn slow_and_failing_nodes_lose_weight_and_recover_with_slow_start() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    let t = server_with(c);
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        minute(T0, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = get(&t.state, "/v1/routing/weights?service=qnet").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    for n in ["n1", "n2", "n3", "n4"] {
        assert_eq!(weight(&r, n), 1.0, "{r}");
    }
    assert_eq!(r["nodes"][0]["recommendation"], "healthy");

    // n2 five times slower, n4 failing fast.
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        minute(T0 + 60_000, Some("n2"), Some("n4")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, r) = get(&t.state, "/v1/routing/weights?service=qnet").await;
    let (w1, w2, w4) = (weight(&r, "n1"), weight(&r, "n2"), weight(&r, "n4"));
    assert!(w2 < 0.6, "the slow node loses weight: {r}");
    assert!(
        w4 <= 0.15,
        "the fail-fast node loses more, however fast it is: {r}"
    );
    assert!(w1 >= 1.0, "{r}");
    let n4 = r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "n4")
        .unwrap();
    assert_eq!(n4["recommendation"], "critical");
    assert!(n4["errorRateScore"].as_f64().unwrap() < 0.1);
    assert!(n4["latencyScore"].as_f64().unwrap() >= 0.99);
    assert!(r["explanation"].as_str().unwrap().contains("n4"), "{r}");

    // Exports.
    let (status, eds) = get(
        &t.state,
        "/v1/routing/weights?service=qnet&format=envoy&port=8080",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let eps = eds["endpoints"][0]["lb_endpoints"].as_array().unwrap();
    assert_eq!(eps.len(), 4);
    assert_eq!(
        eps[0]["endpoint"]["address"]["socket_address"]["address"],
        "n1"
    );
    assert!(eps[3]["load_balancing_weight"].as_u64().unwrap() <= 15);
    let (status, bytes) = send(
        &t.state,
        axum::http::Request::get("/v1/routing/weights?service=qnet&format=nginx")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let nginx = String::from_utf8(bytes).unwrap();
    assert!(
        nginx.starts_with("upstream qnet {") && nginx.contains("server n4:80 weight=1;"),
        "{nginx}"
    );

    // Healthy again: n4 ramps up (slow start) instead of jumping back.
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        minute(T0 + 120_000, None, None),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, r) = get(&t.state, "/v1/routing/weights?service=qnet").await;
    let n4 = r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "n4")
        .unwrap()
        .clone();
    assert_eq!(n4["slowStart"], true, "{r}");
    assert!(weight(&r, "n4") < 0.5, "{r}");
    assert!(weight(&r, "n2") > w2, "the slow node recovers: {r}");

    // The weights and the ladder are on /metrics.
    perf_server::evaluate_cycle(&t.state).unwrap();
    let (status, bytes) = send(
        &t.state,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let metrics = String::from_utf8(bytes).unwrap();
    assert!(
        metrics.contains("ecosystem_perf_routing_weight{service=\"qnet\",node=\"n4\"} "),
        "{metrics}"
    );
    assert!(metrics.contains("ecosystem_perf_degradation_level{service=\"qnet\"} "));

    // All services at once; bad queries.
    let (status, all) = get(&t.state, "/v1/routing/weights").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["services"][0]["service"], "qnet");
    let (status, _) = get(&t.state, "/v1/routing/weights?service=nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(&t.state, "/v1/routing/weights?service=qnet&format=haproxy").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&t.state, "/v1/routing/weights?service=qnet&colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// Issue 21's closed loop through the API: 8 nodes share 160 requests a second in proportion
/// to the weights `GET /v1/routing/weights` answers (polled every second, evaluated every
/// second); n7 fails 75 % of its requests from 100 s to 160 s, then is healthy. It must lose
/// its traffic while failing and be back to half its fair share of the weight within 40 s of
/// healing, to 90 % within 90 s; the healthy nodes stay within 0.9–1.1 before the incident.
#[tokio::test]
async fn a_healed_node_gets_its_traffic_back_within_a_minute() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.server.evaluation_interval = 1_000;
    let t = server_with(c);
    let nodes: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
    let mut weights = [1.0f64; 8];
    let (mut back_half, mut back_90, mut lowest) = (None, None, 1.0f64);
    for sec in 0..260i64 {
        let total: f64 = weights.iter().sum();
        let mut body = String::new();
        for (i, node) in nodes.iter().enumerate() {
            let n = (160.0 * weights[i] / total).round() as i64;
            for k in 0..n {
                let failing = i == 7 && (100..160).contains(&sec) && k % 4 != 0;
                body.push_str(
                    &json!({"ts": T0 + sec * 1_000 + k * 1_000 / n.max(1), "service": "qnet",
                            "operation": "GET /feed", "node": node,
                            "latencyMs": if failing { 1.0 } else { 20.0 + (k % 7) as f64 },
                            "ok": !failing})
                    .to_string(),
                );
                body.push('\n');
            }
        }
        let (status, _) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
        assert_eq!(status, StatusCode::OK);
        let (status, r) = get(&t.state, "/v1/routing/weights?service=qnet").await;
        assert_eq!(status, StatusCode::OK, "{r}");
        for (i, node) in nodes.iter().enumerate() {
            weights[i] = weight(&r, node);
        }
        if (30..100).contains(&sec) {
            for (i, w) in weights.iter().enumerate() {
                assert!(
                    (0.9..=1.1).contains(w),
                    "{sec} s: n{i} at {w} before any incident"
                );
            }
        }
        if (110..160).contains(&sec) {
            lowest = lowest.min(weights[7]);
        }
        if sec >= 160 {
            let share = weights[7] / weights.iter().sum::<f64>() * 8.0;
            if share >= 0.5 && back_half.is_none() {
                back_half = Some(sec - 160);
            }
            if share >= 0.9 && back_90.is_none() {
                back_90 = Some(sec - 160);
            }
        }
    }
    assert!(
        lowest <= 0.15,
        "the failing node loses its traffic: {lowest}"
    );
    let half = back_half.expect("back to half its fair share");
    let ninety = back_90.expect("back to 90 % of its fair share");
    eprintln!("healed: half its share after {half} s, 90 % after {ninety} s");
    assert!(half <= 40, "half its share after {half} s");
    assert!(ninety <= 90, "90 % of its share after {ninety} s");
}
