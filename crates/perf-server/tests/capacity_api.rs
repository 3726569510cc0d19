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
    assert_eq!(r["periodSteps"], 24, "{r}");
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
    perf_server::run_deployment_cycle(&t.state).unwrap();
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    assert!(
        alerts.to_string().contains("EcosystemPerfCapacityHeadroom"),
        "{alerts}"
    );

    // The plan scales out to keep the budget, and the HPA manifest says so.
    let (status, plan) = get(&t.state, "/v1/capacity/qsvc/plan").await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["currentReplicas"], 2);
    let needed = plan["neededReplicas"].as_u64().unwrap();
    let upper = r["peakUpperRps"].as_f64().unwrap();
    assert_eq!(
        needed,
        (upper / (0.15 * 0.7) - 1e-9).ceil() as u64,
        "hand formula"
    );
    assert_eq!(plan["scaleOut"], true);
    assert_eq!(plan["schedule"].as_array().unwrap().len(), 48);
    assert!(
        plan["schedule"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["replicas"].as_u64().unwrap() >= 2),
        "never below the current replicas"
    );
    let (status, json) = get(&t.state, "/v1/capacity/qsvc/hpa?format=json").await;
    assert_eq!(status, StatusCode::OK);
    let hpa: k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler =
        serde_json::from_value(json.clone()).unwrap();
    let spec = hpa.spec.unwrap();
    assert_eq!(json["apiVersion"], "autoscaling/v2");
    assert_eq!(spec.scale_target_ref.name, "qsvc");
    assert_eq!(
        spec.max_replicas as u64,
        plan["maxReplicas"].as_u64().unwrap()
    );
    assert_eq!(
        spec.min_replicas.map(|m| m as u64),
        plan["minReplicas"].as_u64()
    );
    let target = &spec.metrics.unwrap()[0];
    assert_eq!(
        target.resource.as_ref().unwrap().target.average_utilization,
        Some(70)
    );
    let down = spec.behavior.unwrap().scale_down.unwrap();
    assert_eq!(down.stabilization_window_seconds, Some(300));
    let (status, bytes) = send(
        &t.state,
        axum::http::Request::get("/v1/capacity/qsvc/hpa")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let yaml = String::from_utf8(bytes).unwrap();
    assert!(
        yaml.contains("kind: HorizontalPodAutoscaler") && yaml.contains("maxReplicas:"),
        "{yaml}"
    );

    let (status, _) = get(&t.state, "/v1/capacity/nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cost_per_operation_month_to_date_forecast_and_savings() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.budgets.monthly_cost_budget = Some(100.0);
    let t = server_with(c);
    // Eight days from the 1st of a month: 600 requests an hour, a tenth of them costly.
    let month = 1_764_547_200_000; // 2025-12-01T00:00:00Z
    for day in 0..8i64 {
        let mut body = String::new();
        for hour in 0..24i64 {
            for i in 0..600i64 {
                let ts = month + (day * 24 + hour) * 3_600_000 + i * 6_000;
                let (op, cost) = if i % 10 == 0 {
                    ("POST /y", 0.01)
                } else {
                    ("GET /x", 0.001)
                };
                body.push_str(&json!({"ts": ts, "service": "qsvc", "operation": op, "latencyMs": 20.0, "cost": cost}).to_string());
                body.push('\n');
            }
        }
        let (status, _) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
        assert_eq!(status, StatusCode::OK);
    }
    // A week and a day of history: enough to recommend dropping replicas.
    let end = month + 8 * 86_400_000 - 1_000;
    let nodes = json!([{"ts": end, "service": "qsvc", "node": "a", "capacityRps": 5.0},
                       {"ts": end, "service": "qsvc", "node": "b", "capacityRps": 5.0}]);
    ingest(
        &t.state,
        "/v1/resources",
        "application/json",
        nodes.to_string(),
    )
    .await;
    let (status, r) = get(&t.state, "/v1/cost").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    let svc = &r["services"][0];
    assert_eq!(svc["service"], "qsvc");
    // Per day: 24 × (60 × 0.01 + 540 × 0.001) = 27.36; month to date eight days = 218.88.
    assert!(
        (svc["last24h"].as_f64().unwrap() - 27.36).abs() < 0.2,
        "{svc}"
    );
    assert!(
        (r["monthToDate"].as_f64().unwrap() - 218.88).abs() < 0.01,
        "{r}"
    );
    let post_op = svc["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["operation"] == "POST /y")
        .unwrap();
    assert!((post_op["costPerRequest"].as_f64().unwrap() - 0.01).abs() < 1e-9);
    // About 27 a day: ~820 over 30 days against a budget of 100.
    let f = r["forecast30d"].as_f64().unwrap();
    assert!((f / 820.8 - 1.0).abs() < 0.05, "forecast {f}");
    assert_eq!(r["status"], "over_budget");
    // 0.17 rps against 10 rps of capacity: one of the two replicas is enough.
    let rec = &r["recommendations"][0];
    assert_eq!(rec["service"], "qsvc");
    assert_eq!(rec["dropReplicas"], 1, "{rec}");
}

#[tokio::test]
async fn a_young_growing_service_is_read_per_minute_and_scales_out_before_its_headroom_runs_out() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    let t = server_with(c);
    // 90 minutes of traffic growing 1.2 % per minute (from 100 to ~290 requests per minute),
    // latency growing with load; two nodes declaring 5 rps each (600 per minute in all).
    let mut body = String::new();
    for minute in 0..90i64 {
        let per_minute = (100.0 * 1.012f64.powi(minute as i32)).round() as i64;
        let util = per_minute as f64 / 600.0;
        for i in 0..per_minute {
            let ts = T0 + minute * 60_000 + i * 60_000 / per_minute;
            let latency = 20.0 * (1.0 + 2.0 * util / (1.0 - util)) * (1.0 + (i % 10) as f64 / 10.0);
            body.push_str(
                &json!({"ts": ts, "service": "young", "operation": "GET /x", "latencyMs": latency})
                    .to_string(),
            );
            body.push('\n');
        }
    }
    let (status, a) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    let end = T0 + 90 * 60_000 - 1_000;
    let resources = json!([{"ts": end, "service": "young", "node": "a", "capacityRps": 5.0},
                           {"ts": end, "service": "young", "node": "b", "capacityRps": 5.0}]);
    let (status, _) = post(
        &t.state,
        "/v1/resources",
        "application/json",
        resources.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, r) = get(&t.state, "/v1/capacity/young").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["stepMinutes"], 1, "{r}");
    assert_eq!(r["periodSteps"], 1);
    // Half the history ahead: 89 or 90 whole minutes → 44–45 minutes.
    let horizon = r["horizonHours"].as_f64().unwrap();
    assert!((0.73..=0.76).contains(&horizon), "{horizon}");
    // Growth 1.2 % per minute (trendPerDay is that compounded over a day).
    let per_minute = r["trendPerDay"].as_f64().unwrap().ln_1p() / 1440.0;
    assert!(
        (per_minute - 0.012f64.ln_1p()).abs() < 0.002,
        "{per_minute}"
    );
    // Now ~4.8 rps of 10: 52 % headroom now; the forecast peak leaves less than 30 %.
    let now = r["currentHeadroom"].as_f64().unwrap();
    assert!((0.45..0.58).contains(&now), "{now}");
    assert_eq!(r["status"], "below_budget", "{}", r["explanation"]);
    // p99 grows with load: the fit finds it.
    let l = &r["latency"];
    assert!(l["queueingMs"].as_f64().unwrap() > 0.0, "{l}");

    let (status, p) = get(&t.state, "/v1/capacity/young/plan").await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["currentReplicas"], 2);
    assert_eq!(p["scaleOut"], true, "{}", p["explanation"]);
    assert!(p["neededReplicas"].as_u64().unwrap() >= 3);
    assert_eq!(
        p["schedule"].as_array().unwrap().len(),
        r["forecast"].as_array().unwrap().len()
    );
}
