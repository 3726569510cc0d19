//! Server-side latency of `POST /v1/policy/evaluate`: 50,000 decisions driven through the
//! whole router (middleware, JSON parsing, the decision, JSON answer) without a socket, after
//! one evaluation cycle over a minute of traffic. Prints p50 / p99 / p99.9 (target p99 ≤ 1 ms).
//! `cargo run --release -p perf-server --example policy_latency`

#![allow(missing_docs)]

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use perf_server::config::{ClockMode, Config};
use perf_server::{app, AppState};
use std::time::Instant;
use tower::ServiceExt;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::default();
    config.server.clock = ClockMode::Event;
    config.server.data_dir = dir.path().display().to_string();
    let state = AppState::open(config).expect("state");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let t0 = 1_764_028_800_000i64;
        let mut body = String::new();
        for i in 0..12_000i64 {
            body.push_str(&format!(
                "{{\"ts\": {}, \"service\": \"qflow\", \"operation\": \"POST /flows\", \"node\": \"n{}\", \"latencyMs\": {}}}\n",
                t0 + i * 5,
                i % 3,
                20 + i % 40
            ));
        }
        let req = Request::post("/v1/events")
            .header("content-type", "application/x-ndjson")
            .body(Body::from(body))
            .expect("request");
        let resp = app(state.clone()).oneshot(req).await.expect("ingest");
        assert!(resp.status().is_success());
        perf_server::evaluate_cycle(&state).expect("evaluation");
        let router = app(state.clone());
        let payload = r#"{"service": "qflow", "operation": "POST /flows", "tenant": "dao-7", "priority": "batch", "cacheable": true}"#;
        let mut took = Vec::with_capacity(50_000);
        for _ in 0..50_000 {
            let req = Request::post("/v1/policy/evaluate")
                .header("content-type", "application/json")
                .body(Body::from(payload))
                .expect("request");
            let start = Instant::now();
            let resp = router.clone().oneshot(req).await.expect("answer");
            let bytes = resp.into_body().collect().await.expect("body").to_bytes();
            took.push(start.elapsed().as_secs_f64() * 1e6);
            assert!(bytes.starts_with(b"{\"decision\""));
        }
        took.sort_by(f64::total_cmp);
        let q = |p: f64| took[((p * took.len() as f64) as usize).min(took.len() - 1)];
        println!(
            "POST /v1/policy/evaluate server-side: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs ({} requests)",
            q(0.5),
            q(0.99),
            q(0.999),
            took.len()
        );
    });
}
