//! The `/metrics` exposition a reviewer would read, as a golden file (with one SLO after one
//! evaluation cycle). Lines whose values
//! depend on timing or memory layout (request durations, heap and log bytes) are masked.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::*;

#[tokio::test]
async fn metrics_exposition_matches_the_golden_file() {
    let mut config = perf_server::Config::default();
    config.server.limits.max_series_per_view = 2;
    config.slos = serde_yaml_ng::from_str(
        "- {name: qnet-availability, service: qnet, sli: availability, objective: 99.9}",
    )
    .unwrap();
    let t = server_with(config);
    let body = r#"[{"service":"qnet","operation":"a","latencyMs":1},{"service":"qnet","operation":"b","latencyMs":2},
        {"service":"qnet","operation":"c","latencyMs":3},{"service":"qnet","operation":"d","latencyMs":-1},{"service":"qnet"}]"#;
    ingest(&t.state, "/v1/events", "application/json", body).await;
    ingest(
        &t.state,
        "/v1/resources",
        "application/json",
        r#"[{"service":"qnet","node":"n1","cpu":0.5}]"#,
    )
    .await;
    // One evaluation cycle: the SLO's objective, compliance, budget and burn rates appear.
    perf_server::evaluate_cycle(&t.state).unwrap();
    let (_, bytes) = send(
        &t.state,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let text = String::from_utf8(bytes).unwrap();
    let masked: String = text
        .lines()
        .map(|l| {
            let volatile = [
                "ecosystem_perf_http_request_duration_seconds",
                "ecosystem_perf_log_bytes ",
                "ecosystem_perf_series_heap_bytes ",
                "ecosystem_perf_memory_bytes{",
                "ecosystem_perf_memory_accounted_bytes ",
            ];
            if !l.starts_with('#') && volatile.iter().any(|v| l.starts_with(v)) {
                format!("{} <masked>\n", l.split(' ').next().unwrap_or(""))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/metrics.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &masked).unwrap();
    }
    assert_eq!(
        masked,
        std::fs::read_to_string(&path).expect("golden file; run with UPDATE_GOLDEN=1")
    );
}
