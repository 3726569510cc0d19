//! `GET /v1/capacity/{service}`: hourly demand with a daily shape, forecast 48 hours ahead
//! against the nodes' declared capacity; headroom under the budget raises an alert.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{ClockMode, Config};
use serde_json::json;

const T0: i64 = 1_764_028_800_000; // a midnight, UTC

#[tokio::test]
async fn headroom_follows_declared_capacity_and_alerts_under_the_budget() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    let t = server_with(c);
    // Five days; requests per hour follow the hour of day (300 at night to 900 at 15:00).
    for day in 0..5i64 {
        let mut body = String::new();
        for hour in 0..24i64 {
            let per_hour = 300 + 600 * (12 - (hour - 15).abs().min(12)) / 12;
            for i in 0..per_hour {
                let ts = T0 + (day * 24 + hour) * 3_600_000 + i * 3_600_000 / per_hour;
                body.push_str(
                    &json!({"ts": ts, "service": "qsvc", "operation": "GET /x", "latencyMs": 20.0})
                        .to_string(),
                );
                body.push('\n');
            }
        }
        let (status, a) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
        assert_eq!(status, StatusCode::OK, "{a}");
    }
    let end = T0 + 5 * 86_400_000 - 1_000;
    let resources = |cap: f64| {
        json!([{"ts": end, "service": "qsvc", "node": "a", "capacityRps": cap},
               {"ts": end, "service": "qsvc", "node": "b", "capacityRps": cap}])
        .to_string()
    };
    let (status, _) = post(
        &t.state,
        "/v1/resources",
        "application/json",
        resources(0.5),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, r) = get(&t.state, "/v1/capacity/qsvc").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["periodHours"], 24, "{r}");
    assert_eq!(r["capacitySource"], "capacity_rps");
    assert_eq!(r["capacityRps"], 1.0);
    let peak = r["peakForecastRps"].as_f64().unwrap();
    assert!((peak - 0.25).abs() < 0.03, "peak {peak} rps (900 per hour)");
    assert_eq!(r["status"], "ok", "{}", r["explanation"]);
    assert_eq!(r["forecast"].as_array().unwrap().len(), 48);

    // Half the capacity: the peak upper bound leaves less than 30 %.
    let (status, _) = post(
        &t.state,
        "/v1/resources",
        "application/json",
        resources(0.15),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, r) = get(&t.state, "/v1/capacity/qsvc").await;
    assert_eq!(r["status"], "below_budget", "{}", r["explanation"]);
    assert!(r["headroom"].as_f64().unwrap() < 0.3);
    perf_server::capacity::alert_cycle(&t.state).unwrap();
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    assert!(
        alerts.to_string().contains("EcosystemPerfCapacityHeadroom"),
        "{alerts}"
    );

    let (status, _) = get(&t.state, "/v1/capacity/nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
