//! SLOs over the API: read-only configured SLOs, create/update/delete with JSON and YAML,
//! persistence across a restart, alerts firing on a burst and showing in the overview.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config};

fn config_with_slo() -> Config {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.slos = vec![serde_yaml_ng::from_str::<SloConfig>(
        "{name: feed-availability, service: qnet, sli: availability, objective: 99.9, window: 30d}",
    )
    .unwrap()];
    c
}

async fn put(
    state: &std::sync::Arc<perf_server::AppState>,
    name: &str,
    ct: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let req = Request::put(format!("/v1/slos/{name}"))
        .header("content-type", ct)
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, bytes) = send(state, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

async fn delete(state: &std::sync::Arc<perf_server::AppState>, name: &str) -> StatusCode {
    send(
        state,
        Request::delete(format!("/v1/slos/{name}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .0
}

#[tokio::test]
async fn configured_slos_are_read_only_and_api_slos_are_managed_and_kept() {
    let t = server_with(config_with_slo());
    let (status, list) = get(&t.state, "/v1/slos").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["slos"][0]["name"], "feed-availability");
    assert_eq!(list["slos"][0]["status"], "no_data");
    assert_eq!(
        put(
            &t.state,
            "feed-availability",
            "application/json",
            r#"{"service":"qnet","sli":"availability","objective":99}"#
        )
        .await
        .0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        delete(&t.state, "feed-availability").await,
        StatusCode::CONFLICT
    );

    let (status, _) = put(&t.state, "route-latency", "application/json", r#"{"service":"qnet","operation":"POST /route","sli":"latency","thresholdMs":300,"objective":99}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let yaml = "service: qnet\noperation: POST /route\nsli: latency\nthresholdMs: 250\nobjective: 99.5\nwindow: {calendar: month, timeZone: Europe/Berlin}\n";
    assert_eq!(
        put(&t.state, "route-latency", "application/yaml", yaml)
            .await
            .0,
        StatusCode::OK
    );
    let (status, err) = put(
        &t.state,
        "bad",
        "application/json",
        r#"{"service":"qnet","sli":"latency","objective":99}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("thresholdMs"));
    let (status, err) = put(
        &t.state,
        "other",
        "application/json",
        r#"{"name":"x","service":"qnet","sli":"availability","objective":99}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = put(
        &t.state,
        "typo",
        "application/json",
        r#"{"service":"qnet","sli":"availability","objectve":99}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");

    let openslo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/slo/openslo-valid.yaml"
    ))
    .unwrap();
    let one_doc = openslo.split("---").nth(1).unwrap().to_string();
    let (status, body) = put(&t.state, "feed-latency", "application/yaml", &one_doc).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        put(&t.state, "feed-latency", "application/yaml", &openslo)
            .await
            .0,
        StatusCode::BAD_REQUEST,
        "two SLOs in one PUT"
    );
    let (status, one) = get(&t.state, "/v1/slos/route-latency").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["objective"], 0.995);
    assert_eq!(one["thresholdMs"], 250.0);
    assert_eq!(one["window"], "month Europe/Berlin");
    assert_eq!(one["readOnly"], false);

    // Kept across a restart.
    let config = {
        let mut c = config_with_slo();
        c.server.data_dir = t.dir.path().display().to_string();
        c
    };
    drop(t.state);
    let state = perf_server::AppState::open(config).unwrap();
    assert_eq!(
        get(&state, "/v1/slos/route-latency").await.0,
        StatusCode::OK
    );
    assert_eq!(
        delete(&state, "route-latency").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get(&state, "/v1/slos/route-latency").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(delete(&state, "route-latency").await, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_error_burst_fires_a_page_that_shows_everywhere() {
    let t = server_with(config_with_slo());
    let t0 = 1_780_000_000_000i64 - 1_780_000_000_000i64 % 60_000;
    // An hour of clean traffic, then five minutes at 50 % errors.
    let mut body = String::new();
    for m in 0..65 {
        for k in 0..20 {
            let ok = m < 60 || k % 2 == 0;
            body.push_str(&format!("{{\"ts\":{},\"service\":\"qnet\",\"operation\":\"GET /feed\",\"latencyMs\":5,\"ok\":{ok}}}\n", t0 + m * 60_000 + k * 1000));
        }
    }
    let (status, answer) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    perf_server::evaluate_slos(&t.state).unwrap();
    let (_, slo) = get(&t.state, "/v1/slos/feed-availability").await;
    assert_eq!(slo["total"], 1300);
    assert_eq!(slo["good"], 1250);
    let page = slo["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["longWindow"] == "1h")
        .expect("the 1h/5m page")
        .clone();
    assert_eq!(page["state"], "firing", "{slo}");
    assert_eq!(page["severity"], "page");
    assert!(page["burnRateShort"].as_f64().unwrap() >= page["factor"].as_f64().unwrap());
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    // However many of its tiers fire, the SLO has one incident, at its highest severity.
    let incidents = alerts["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{alerts}");
    assert_eq!(incidents[0]["slo"], "feed-availability");
    assert_eq!(incidents[0]["severity"], "page");
    let firing_tiers = slo["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .count();
    assert_eq!(
        incidents[0]["tiers"].as_array().unwrap().len(),
        firing_tiers
    );
    assert!(incidents[0]["summary"]
        .as_str()
        .unwrap()
        .contains("error budget"));
    assert!(alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["alert"]["state"] == "firing"));
    assert!(alerts["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["state"] == "firing" && h["subject"] == "feed-availability"));
    let (_, overview) = get(&t.state, "/v1/overview").await;
    let qnet = &overview["services"][0];
    assert_ne!(qnet["sloStatus"], "none");
    assert!(qnet["openAlerts"].as_u64().unwrap() >= 1);
    // The same evaluation again records nothing new.
    let before = alerts["history"].as_array().unwrap().len();
    perf_server::evaluate_slos(&t.state).unwrap();
    let (_, again) = get(&t.state, "/v1/alerts").await;
    assert_eq!(
        again["history"].as_array().unwrap().len(),
        before,
        "no duplicate alerts"
    );
}

#[tokio::test]
async fn tenants_are_evaluated_with_the_dao_shape() {
    let t = server_with(config_with_slo());
    let t0 = 1_780_000_000_000i64 - 1_780_000_000_000i64 % 60_000;
    let mut body = String::new();
    for s in 0..600 {
        for (tenant, ok) in [("dao-alpha", true), ("dao-beta", s % 10 != 0)] {
            body.push_str(&format!("{{\"ts\":{},\"service\":\"qnet\",\"operation\":\"o\",\"latencyMs\":30,\"tenant\":\"{tenant}\",\"ok\":{ok}}}\n", t0 + s * 1000));
        }
    }
    assert_eq!(
        post(&t.state, "/v1/events", "application/x-ndjson", body)
            .await
            .0,
        StatusCode::OK
    );
    let (status, list) = get(&t.state, "/v1/tenants").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let ids: Vec<&str> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["daoId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["dao-alpha", "dao-beta"]);
    let (_, beta) = get(&t.state, "/v1/tenants/dao-beta/evaluation").await;
    assert_eq!(beta["sloCompliance"]["availability"]["status"], "violation");
    assert_eq!(beta["sloCompliance"]["latency"]["status"], "compliant");
    assert!(beta["errorBudgetBurn"].as_f64().unwrap() > 50.0);
    assert_eq!(
        beta["isolationRecommendation"], "isolate",
        "burn ≥ 14.4 with half the load: {beta}"
    );
    assert_eq!(
        beta["noisyNeighbour"]["surging"], false,
        "steady traffic is no surge"
    );
    let (_, alpha) = get(&t.state, "/v1/tenants/dao-alpha/evaluation").await;
    assert_eq!(
        alpha["isolationRecommendation"], "none",
        "a steady, healthy tenant: {alpha}"
    );
    assert_eq!(alpha["subnet"], "qnet");
    assert_eq!(alpha["performanceScore"], 100);
    // A tenant nothing was seen of is a 404, as an unknown service is (issue 24).
    let (status, nobody) = get(&t.state, "/v1/tenants/dao-zeta/evaluation").await;
    assert_eq!(status, axum::http::StatusCode::NOT_FOUND, "{nobody}");
    assert_eq!(nobody["error"]["code"], "not_found");
}

/// History from the first minute (issue 23): an SLO made over the API after 60,000 events
/// were ingested counts them at once, exactly, and says so (`backfilled`); one added to the
/// configuration file is filled when the server restarts with it, and a restart that keeps
/// it does not count its history twice.
#[tokio::test]
async fn a_new_slo_is_filled_from_the_history_the_views_hold() {
    const T0: i64 = 1_767_225_600_000;
    let t = server_with(config_with_slo());
    let mut failed = 0u64;
    let events: Vec<String> = (0..60_000i64)
        .map(|i| {
            let ok = i % 250 != 0;
            failed += u64::from(!ok);
            serde_json::json!({"ts": T0 + i * 100, "service": "qwallet", "operation": "POST /transfer",
                               "latencyMs": 20 + i % 50, "ok": ok})
            .to_string()
        })
        .collect();
    for chunk in events.chunks(10_000) {
        ingest(
            &t.state,
            "/v1/events",
            "application/x-ndjson",
            chunk.join("\n"),
        )
        .await;
    }
    let (status, made) = put(
        &t.state,
        "wallet",
        "application/json",
        r#"{"service": "qwallet", "sli": "availability", "objective": 99.9}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["backfilled"]["events"], 60_000, "{made}");
    assert_eq!(made["backfilled"]["latencyBound"], 0, "{made}");
    assert_eq!(
        made["backfilled"]["from"], "2026-01-01T00:00:00.000Z",
        "{made}"
    );
    // Would a stricter or a looser objective have been met? Nothing is saved.
    for (objective, verdict) in [(99.9, "missed"), (99.0, "met")] {
        let body =
            format!(r#"{{"service": "qwallet", "sli": "availability", "objective": {objective}}}"#);
        let (status, preview) = post(&t.state, "/v1/slos/preview", "application/json", body).await;
        assert_eq!(status, StatusCode::OK, "{preview}");
        assert_eq!(preview["verdict"], verdict, "{preview}");
        assert_eq!(preview["slo"]["total"], 60_000);
        assert_eq!(preview["slo"]["good"], 60_000 - failed);
        assert_eq!(preview["history"]["events"], 60_000);
    }
    let (_, list) = get(&t.state, "/v1/slos").await;
    assert_eq!(
        list["slos"].as_array().unwrap().len(),
        2,
        "a preview saved nothing: {list}"
    );
    let (status, _) = post(
        &t.state,
        "/v1/slos/preview",
        "application/json",
        "{\"service\": \"qwallet\"}",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, one) = get(&t.state, "/v1/slos/wallet").await;
    assert_eq!(one["total"], 60_000, "{one}");
    assert_eq!(one["good"], 60_000 - failed, "{one}");
    assert_eq!(one["backfilled"]["events"], 60_000);

    // In the configuration file: filled at the restart that brings it, not at the next.
    let mut c = config_with_slo();
    c.slos.push(
        serde_yaml_ng::from_str::<SloConfig>(
            "{name: wallet-fast, service: qwallet, sli: latency, thresholdMs: 40, objective: 99}",
        )
        .unwrap(),
    );
    c.server.data_dir = t.dir.path().display().to_string();
    let dir = t.dir;
    drop(t.state);
    for restart in 0..2 {
        let state = perf_server::AppState::open(c.clone()).unwrap();
        let (_, fast) = get(&state, "/v1/slos/wallet-fast").await;
        assert_eq!(fast["total"], 60_000, "restart {restart}: {fast}");
        let bound = fast["backfilled"]["latencyBound"].as_u64().unwrap();
        // Exactly: ok and at most 40 ms.
        let exact = (0..60_000i64)
            .filter(|i| i % 250 != 0 && 20 + i % 50 <= 40)
            .count() as i64;
        let good = fast["good"].as_i64().unwrap();
        assert!(
            (good - exact).unsigned_abs() <= bound,
            "good {good}, exact {exact}, bound {bound}"
        );
        let (_, wallet) = get(&state, "/v1/slos/wallet").await;
        assert_eq!(wallet["total"], 60_000, "restart {restart}: {wallet}");
        drop(state);
    }
    drop(dir);
}

/// An alert tier that can never fire at the SLO's traffic is refused: two days of a quiet
/// service (six requests an hour) cannot put the 10 events `minEvents` asks into the default
/// page tier's 5-minute short window; tiers whose short windows can are accepted.
#[tokio::test]
async fn a_tier_too_short_for_the_traffic_is_refused() {
    const T0: i64 = 1_767_225_600_000;
    let t = server_with(config_with_slo());
    let events: Vec<String> = (0..2 * 24 * 6)
        .map(|i: i64| {
            serde_json::json!({"ts": T0 + i * 600_000, "service": "qcron", "operation": "tick", "latencyMs": 5})
                .to_string()
        })
        .collect();
    ingest(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        events.join("\n"),
    )
    .await;
    let (status, refused) = put(
        &t.state,
        "cron",
        "application/json",
        r#"{"service": "qcron", "sli": "availability", "objective": 99}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let why = refused["error"]["message"].as_str().unwrap();
    assert!(
        why.contains("alerting.tiers[0] can never fire at this SLO's traffic"),
        "{why}"
    );
    assert!(
        why.contains("busiest hour") && why.contains("had 6"),
        "{why}"
    );
    let (status, _) = get(&t.state, "/v1/slos/cron").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a refused SLO is not kept");
    let (status, made) = put(
        &t.state,
        "cron",
        "application/json",
        r#"{"service": "qcron", "sli": "availability", "objective": 99,
            "alerting": {"minEvents": 10, "tiers": [{"severity": "ticket", "budgetPercent": 10, "longWindow": "3d", "shortWindow": "6h"}]}}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
}

/// The SLO figures on `/metrics` under Sloth's recording-rule names (issue 23), so Sloth's
/// dashboards read them: every window's error ratio is the answer's burn rate × (1 −
/// objective), the period's error ratio is 1 − compliance, the budget figures are the
/// answer's, and the labels are Sloth's.
#[tokio::test]
async fn slo_figures_are_on_metrics_under_sloths_names() {
    let t = server_with(config_with_slo());
    let t0 = 1_780_000_000_000i64 - 1_780_000_000_000i64 % 60_000;
    let mut body = String::new();
    for m in 0..65 {
        for k in 0..20 {
            let ok = m < 60 || k % 4 != 0;
            body.push_str(&format!("{{\"ts\":{},\"service\":\"qnet\",\"operation\":\"GET /feed\",\"latencyMs\":5,\"ok\":{ok}}}\n", t0 + m * 60_000 + k * 1000));
        }
    }
    assert_eq!(
        post(&t.state, "/v1/events", "application/x-ndjson", body)
            .await
            .0,
        StatusCode::OK
    );
    perf_server::evaluate_slos(&t.state).unwrap();
    let (_, slo) = get(&t.state, "/v1/slos/feed-availability").await;
    let (status, bytes) = send(
        &t.state,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(bytes).unwrap();
    let labels =
        r#"sloth_id="qnet-feed-availability",sloth_service="qnet",sloth_slo="feed-availability""#;
    let value = |name: &str, extra: &str| -> f64 {
        let prefix = format!("{name}{{{labels}{extra}}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line[prefix.len()..].parse().unwrap()
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
    let budget = 1.0 - 0.999;
    for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] {
        let burn = slo["burnRates"][w].as_f64().unwrap();
        let ratio = value(
            &format!("slo:sli_error:ratio_rate{w}"),
            &format!(",sloth_window=\"{w}\""),
        );
        assert!(close(ratio, burn * budget), "{w}: {ratio} vs {burn}");
    }
    // 25 bad of the last 5 minutes' 100 events: 25 % errors, a 250× burn.
    assert!(close(
        value("slo:sli_error:ratio_rate5m", ",sloth_window=\"5m\""),
        0.25
    ));
    assert!(close(value("slo:current_burn_rate:ratio", ""), 250.0));
    let compliance = slo["compliance"].as_f64().unwrap();
    assert!(close(
        value("slo:sli_error:ratio_rate30d", ",sloth_window=\"30d\""),
        1.0 - compliance
    ));
    assert!(close(value("slo:objective:ratio", ""), 0.999));
    assert!(close(value("slo:error_budget:ratio", ""), budget));
    assert!(close(value("slo:time_period:days", ""), 30.0));
    assert!(close(
        value("slo:period_burn_rate:ratio", ""),
        slo["errorBudget"]["consumed"].as_f64().unwrap()
    ));
    assert!(close(
        value("slo:period_error_budget_remaining:ratio", ""),
        slo["errorBudget"]["remaining"].as_f64().unwrap()
    ));
    assert!(text.contains(&format!("sloth_slo_info{{{labels},sloth_mode=\"ecosystem-perf\",sloth_objective=\"99.9\",sloth_window=\"30d\"}} 1")), "{text}");
}
