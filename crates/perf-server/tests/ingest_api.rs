//! Ingest through `app()`: formats, partial acceptance, and every bad-input class of
//! docs/ARCHITECTURE.md §6 with its status, a clear message, and no change to any count.

mod common;

use axum::http::StatusCode;
use common::*;
use flate2::write::GzEncoder;
use std::io::Write;

const JSON: &str = "application/json";

fn ev(service: &str, latency: f64) -> serde_json::Value {
    serde_json::json!({"service": service, "operation": "GET /x", "latencyMs": latency})
}

#[tokio::test]
async fn a_json_array_is_accepted_and_counted() {
    let t = server();
    let body =
        serde_json::json!([ev("qnet", 10.0), ev("qnet", 20.0), ev("qflow", 5.0)]).to_string();
    let (status, answer) = post(&t.state, "/v1/events", JSON, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        answer,
        serde_json::json!({"accepted": 3, "rejected": 0, "errors": []})
    );
    assert_eq!(total_requests(&t.state), 3);
    let (status, overview) = get(&t.state, "/v1/overview").await;
    assert_eq!(status, StatusCode::OK);
    let services = overview["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    assert_eq!(services[1]["service"], "qnet");
    assert_eq!(services[1]["requests"], 2);
}

#[tokio::test]
async fn ndjson_and_gzip_bodies_are_read() {
    let t = server();
    let ndjson = format!("{}\n{}\n", ev("a", 1.0), ev("a", 2.0));
    let (status, answer) = post(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        ndjson.clone(),
    )
    .await;
    assert_eq!(
        (status, answer["accepted"].as_u64()),
        (StatusCode::OK, Some(2))
    );
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(ndjson.as_bytes()).unwrap();
    let req = axum::http::Request::post("/v1/events")
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body(axum::body::Body::from(gz.finish().unwrap()))
        .unwrap();
    let (status, _) = send(&t.state, req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(total_requests(&t.state), 4);
}

#[tokio::test]
async fn partial_batches_keep_the_valid_events() {
    let t = server();
    let body = serde_json::json!([ev("a", 1.0), {"service": "a", "operation": "o", "latencyMs": -3}, ev("a", 2.0)]).to_string();
    let (status, answer) = post(&t.state, "/v1/events", JSON, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (answer["accepted"].as_u64(), answer["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(answer["errors"][0]["index"], 1);
    assert_eq!(answer["errors"][0]["field"], "latencyMs");
    assert_eq!(total_requests(&t.state), 2);
}

/// Each case: body, expected status, and a fragment the message must contain.
#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let t = server();
    let future = perf_server::durable::system_now() + 3_600_000;
    let cases: Vec<(String, StatusCode, &str)> = vec![
        ("{not json".into(), StatusCode::BAD_REQUEST, "malformed JSON"),
        ("[{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":NaN}]".into(), StatusCode::BAD_REQUEST, "malformed JSON"),
        ("[{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":1e999}]".into(), StatusCode::BAD_REQUEST, "latencyMs"),
        ("[{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":\"12\"}]".into(), StatusCode::BAD_REQUEST, "latencyMs"),
        ("[{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":-1}]".into(), StatusCode::BAD_REQUEST, "finite number >= 0"),
        ("[{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":1,\"class\":\"bulk\"}]".into(), StatusCode::BAD_REQUEST, "read, write, complex_write"),
        (format!("[{{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":1,\"ts\":{future}}}]"), StatusCode::BAD_REQUEST, "in the future"),
        ("[{\"service\":\"a\",\"operation\":\"o\",\"latencyMs\":1,\"ts\":\"1999-01-01T00:00:00Z\"}]".into(), StatusCode::BAD_REQUEST, "older than the retention"),
        ("".into(), StatusCode::BAD_REQUEST, "no events"),
        ("[]".into(), StatusCode::BAD_REQUEST, "no events"),
        ("\"hello\"".into(), StatusCode::BAD_REQUEST, "expected a JSON array"),
    ];
    for (body, want, fragment) in cases {
        let (status, answer) = post(&t.state, "/v1/events", JSON, body.clone()).await;
        assert_eq!(status, want, "{body}: {answer}");
        assert!(
            answer.to_string().contains(fragment),
            "{body}: {answer} lacks {fragment:?}"
        );
    }
    assert_eq!(total_requests(&t.state), 0);
    let (_, metrics) = send(
        &t.state,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("ecosystem_perf_events_rejected_total{reason=\"latencyMs\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("ecosystem_perf_events_accepted_total 0"));
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_nothing_is_kept() {
    let mut config = perf_server::Config::default();
    config.server.limits.max_body_bytes = 10_000;
    config.server.limits.max_decompressed_bytes = 20_000;
    config.server.limits.max_batch_events = 50;
    let t = server_with(config);
    let big: Vec<_> = (0..400).map(|_| ev("a", 1.0)).collect();
    let (status, answer) = post(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::to_string(&big).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"]["code"], "payload_too_large");
    let many: Vec<_> = (0..60).map(|_| ev("a", 1.0)).collect();
    let (status, _) = post(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::to_string(&many).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&vec![b' '; 100_000]).unwrap();
    let req = axum::http::Request::post("/v1/events")
        .header("content-encoding", "gzip")
        .body(axum::body::Body::from(gz.finish().unwrap()))
        .unwrap();
    assert_eq!(send(&t.state, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(total_requests(&t.state), 0);
}

#[tokio::test]
async fn resources_are_validated_and_kept() {
    let t = server();
    let body = r#"[{"service":"qnet","node":"n1","cpu":0.5,"capacityRps":300},{"service":"qnet","node":"n2","cpu":2}]"#;
    let (status, answer) = post(&t.state, "/v1/resources", JSON, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["errors"][0]["field"], "cpu");
    assert_eq!(t.state.durable.engine().resources().len(), 1);
}

#[tokio::test]
async fn reports_refuse_bad_parameters() {
    let t = server();
    ingest(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::json!([ev("qnet", 3.0)]).to_string(),
    )
    .await;
    let (status, profile) = get(&t.state, "/v1/services/qnet/profile?window=15m").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["operations"][0]["count"], 1);
    assert_eq!(
        get(&t.state, "/v1/services/nope/profile").await.0,
        StatusCode::NOT_FOUND
    );
    let (status, err) = get(&t.state, "/v1/overview?window=soon").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"].as_str().unwrap().contains("window"));
    assert_eq!(
        get(&t.state, "/v1/overview?window=90d").await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(get(&t.state, "/v1/nothing").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_query_endpoint_answers_any_view_key_window_and_quantile() {
    let t = server();
    let now = perf_server::durable::system_now();
    let body: Vec<_> = (0..40)
        .map(|i| serde_json::json!({"service": "qnet", "operation": "GET /x", "node": format!("n{}", i % 2), "latencyMs": i as f64 + 1.0, "ts": now - 1000}))
        .collect();
    ingest(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::to_string(&body).unwrap(),
    )
    .await;
    let (status, r) = get(
        &t.state,
        "/v1/query?view=service_node&service=qnet&window=1h&quantiles=0.5,1",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["groups"].as_array().unwrap().len(), 2);
    assert_eq!(r["groups"][0]["count"], 20);
    let (_, r) = get(
        &t.state,
        "/v1/query?view=service_node&node=n1&rollup=true&quantiles=1",
    )
    .await;
    assert_eq!(
        r["groups"][0]["quantiles"]["1"].as_f64().unwrap().round(),
        40.0
    );
    let from = perf_core::time::format_rfc3339(now - 60_000);
    let to = perf_core::time::format_rfc3339(now + 60_000);
    let (status, r) = get(
        &t.state,
        &format!("/v1/query?view=service_operation&rollup=true&from={from}&to={to}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["groups"][0]["count"], 40);
    for bad in [
        "/v1/query?view=nope",
        "/v1/query?view=service_node&quantiles=2",
        "/v1/query?view=service_node&quantiles=abc",
        "/v1/query?view=service_node&tenant=dao-1",
        "/v1/query?view=service_node&window=1h&from=1&to=2",
        "/v1/query?view=service_node&from=1",
        "/v1/query?view=service_node&colour=red",
        "/v1/query",
    ] {
        let (status, err) = get(&t.state, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
    }
}

/// `GET /v1/query/range`: one rolled-up point per step, empty steps present, points adding up
/// to the window's query; a missing, misaligned or too fine step is refused.
#[tokio::test]
async fn the_range_endpoint_answers_one_point_per_step() {
    let t = server();
    let now = perf_server::durable::system_now();
    // 30 requests two minutes ago, 10 slower ones in the last minute.
    let body: Vec<_> = (0..40)
        .map(|i| {
            let (ts, ms) = if i < 30 { (now - 150_000, 5.0) } else { (now - 20_000, 80.0) };
            serde_json::json!({"service": "qnet", "operation": "GET /x", "node": format!("n{}", i % 2), "latencyMs": ms, "ts": ts})
        })
        .collect();
    ingest(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::to_string(&body).unwrap(),
    )
    .await;
    let (status, r) = get(
        &t.state,
        "/v1/query/range?view=service_node&service=qnet&window=10m&step=1m&quantiles=0.99",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let points = r["points"].as_array().unwrap();
    assert!((10..=11).contains(&points.len()), "{}", points.len());
    assert_eq!(r["step"], 60_000);
    let counts: Vec<u64> = points
        .iter()
        .map(|p| p["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts.iter().sum::<u64>(), 40, "{counts:?}");
    assert!(counts.contains(&30) && counts.contains(&10), "{counts:?}");
    let slow = points.iter().find(|p| p["count"] == 10).unwrap();
    assert!(slow["quantiles"]["0.99"].as_f64().unwrap() > 50.0, "{slow}");
    let empty = points.iter().find(|p| p["count"] == 0).unwrap();
    assert!(empty["quantiles"]["0.99"].is_null(), "{empty}");
    for bad in [
        "/v1/query/range?view=service_node&window=10m",
        "/v1/query/range?view=service_node&window=10m&step=15s",
        "/v1/query/range?view=service_node&window=10m&step=soon",
        "/v1/query/range?view=service_node&window=30d&step=10s",
        "/v1/query?view=service_node&step=1m",
    ] {
        let (status, err) = get(&t.state, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
    }
}

#[tokio::test]
async fn under_the_event_clock_a_bogus_future_timestamp_cannot_move_time() {
    let mut config = perf_server::Config::default();
    config.server.clock = perf_server::config::ClockMode::Event;
    let t = server_with(config);
    let old = r#"[{"ts":"2025-01-01T00:00:00Z","service":"a","operation":"o","latencyMs":1}]"#;
    assert_eq!(
        post(&t.state, "/v1/events", JSON, old).await.0,
        StatusCode::OK
    );
    let bogus = r#"[{"ts":"2099-01-01T00:00:00Z","service":"a","operation":"o","latencyMs":1}]"#;
    let (status, answer) = post(&t.state, "/v1/events", JSON, bogus).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer.to_string().contains("in the future"));
    let next = r#"[{"ts":"2025-01-01T00:01:00Z","service":"a","operation":"o","latencyMs":1}]"#;
    assert_eq!(
        post(&t.state, "/v1/events", JSON, next).await.0,
        StatusCode::OK
    );
    assert_eq!(total_requests(&t.state), 2);
    let (_, overview) = get(&t.state, "/v1/overview").await;
    assert_eq!(
        overview["services"][0]["requests"], 2,
        "event time follows the replayed data"
    );
}

#[tokio::test]
async fn extreme_windows_do_not_crash() {
    let t = server();
    ingest(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::json!([ev("qnet", 3.0)]).to_string(),
    )
    .await;
    // A window past what a duration can say is refused, naming the field.
    let (status, body) = get(
        &t.state,
        "/v1/query?view=service_node&window=99999999999999w",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("window:"),
        "{body}"
    );
    // Ranges to the ends of time are answered, with the one event in them.
    for path in [
        "/v1/query?view=service_node&from=-9223372036854775000&to=9223372036854775000",
        "/v1/query?view=service_node&window=10000000d&rollup=true",
    ] {
        let (status, body) = get(&t.state, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["groups"][0]["count"], 1, "{path}: {body}");
    }
}

#[tokio::test]
async fn callers_endpoint_ranks_and_refuses_bad_parameters() {
    let t = server();
    let body: Vec<_> = (0..30)
        .map(|i| serde_json::json!({"service": "qnet", "operation": "o", "latencyMs": 1, "entity": if i % 3 == 0 { "heavy" } else { "light" }, "cost": 0.5}))
        .collect();
    ingest(
        &t.state,
        "/v1/events",
        JSON,
        serde_json::to_string(&body).unwrap(),
    )
    .await;
    let (status, v) = get(&t.state, "/v1/services/qnet/callers?by=requests&window=5m").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["callers"][0]["entity"], "light");
    assert_eq!(v["callers"][0]["count"], 20.0);
    assert_eq!(v["callers"][1]["count"], 10.0);
    let (_, v) = get(&t.state, "/v1/services/qnet/callers?by=cost").await;
    assert_eq!(v["callers"][1]["count"], 5.0);
    for (path, want) in [
        (
            "/v1/services/qnet/callers?by=height",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/services/qnet/callers?limit=0", StatusCode::BAD_REQUEST),
        (
            "/v1/services/qnet/callers?window=2h",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/services/none/callers", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(get(&t.state, path).await.0, want, "{path}");
    }
}
