//! Composite SLOs over the API (issue 23): a journey over member SLOs, weighted and key,
//! from the configuration file and made with PUT; its budget is the journey formula over
//! a brute-force count of the members' events; members cannot be deleted from under it;
//! it survives a restart and is on `/metrics` like any SLO.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config};

const T0: i64 = 1_767_225_600_000;

fn config() -> Config {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.slos = [
        "{name: feed, service: qnet, sli: availability, objective: 99, window: 7d}",
        "{name: pay, service: qwallet, sli: availability, objective: 99.5, window: 7d}",
        "{name: auth, service: qauth, sli: availability, objective: 99.9, window: 7d}",
        "{name: browse, kind: composite, objective: 99, window: 7d, members: [{slo: feed}, {slo: pay}]}",
    ]
    .iter()
    .map(|y| serde_yaml_ng::from_str::<SloConfig>(y).unwrap())
    .collect();
    c
}

async fn put(
    state: &std::sync::Arc<perf_server::AppState>,
    name: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let req = Request::put(format!("/v1/slos/{name}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, bytes) = send(state, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Error ratios of the members (by service), and the journey formula.
fn journey_ratio(counts: &[(u64, u64)], weights: &[f64], key: &[bool]) -> f64 {
    let (mut mix, mut w, mut pass) = (0.0, 0.0, 1.0);
    for ((&(good, total), &weight), &is_key) in counts.iter().zip(weights).zip(key) {
        let r = (total - good) as f64 / total as f64;
        if is_key {
            pass *= 1.0 - r;
        } else {
            mix += weight * r;
            w += weight;
        }
    }
    1.0 - (1.0 - mix / w) * pass
}

#[tokio::test]
async fn a_journey_is_budgeted_on_its_members_exact_counts() {
    let t = server_with(config());
    // Two hours: qnet fails 1 in 50, qwallet 1 in 20, qauth 1 in 200.
    let mut body = String::new();
    let mut counts = std::collections::BTreeMap::<&str, (u64, u64)>::new();
    for s in 0..7200i64 {
        for (svc, every) in [("qnet", 50), ("qwallet", 20), ("qauth", 200)] {
            let ok = s % every != 0;
            let c = counts.entry(svc).or_default();
            c.0 += u64::from(ok);
            c.1 += 1;
            body.push_str(&format!(
                r#"{{"ts":{},"service":"{svc}","operation":"op","latencyMs":10,"ok":{ok}}}"#,
                T0 + s * 1000
            ));
            body.push('\n');
        }
    }
    ingest(&t.state, "/v1/events", "application/x-ndjson", body).await;
    // A journey made over the API: auth is a key step, feed weighs 3.
    let (status, made) = put(&t.state, "checkout", r#"{"kind":"composite","objective":98,"window":"7d","members":[{"slo":"feed","weight":3},{"slo":"pay"},{"slo":"auth","key":true}]}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["definition"]["kind"], "composite");
    perf_server::evaluate_slos(&t.state).unwrap();

    let (_, checkout) = get(&t.state, "/v1/slos/checkout").await;
    let c = |svc: &str| counts[svc];
    let expected = journey_ratio(
        &[c("qnet"), c("qwallet"), c("qauth")],
        &[3.0, 1.0, 1.0],
        &[false, false, true],
    );
    let compliance = checkout["compliance"].as_f64().unwrap();
    assert!(
        (compliance - (1.0 - expected)).abs() < 1e-12,
        "{compliance} vs {}",
        1.0 - expected
    );
    let consumed = checkout["errorBudget"]["consumed"].as_f64().unwrap();
    assert!((consumed - expected / 0.02).abs() < 1e-9, "{checkout}");
    assert_eq!(checkout["total"], 3 * 7200);
    assert_eq!(checkout["sli"], "composite");
    assert_eq!(checkout["readOnly"], false);
    let (_, browse) = get(&t.state, "/v1/slos/browse").await;
    let expected = journey_ratio(&[c("qnet"), c("qwallet")], &[1.0, 1.0], &[false, false]);
    assert!(
        (browse["compliance"].as_f64().unwrap() - (1.0 - expected)).abs() < 1e-12,
        "{browse}"
    );
    assert_eq!(browse["readOnly"], true);

    // Mistakes change nothing.
    let (status, e) = put(
        &t.state,
        "bad",
        r#"{"kind":"composite","objective":99,"members":[{"slo":"nosuch"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no SLO named"),
        "{e}"
    );
    let (status, e) = put(
        &t.state,
        "bad",
        r#"{"kind":"composite","objective":99,"operation":"x","members":[{"slo":"feed"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, e) = put(
        &t.state,
        "bad",
        r#"{"kind":"composite","objective":99,"members":[{"slo":"feed","weight":0}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, e) = put(
        &t.state,
        "feed",
        r#"{"kind":"composite","objective":99,"members":[{"slo":"pay"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    let (status, _) = get(&t.state, "/v1/slos/bad").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, e) = put(
        &t.state,
        "wallet",
        r#"{"service":"qwallet","sli":"availability","objective":99}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let (status, e) = put(
        &t.state,
        "outer",
        r#"{"kind":"composite","objective":99,"members":[{"slo":"wallet"},{"slo":"checkout"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    // A member cannot go while a journey needs it.
    let (status, _) = put(
        &t.state,
        "inner",
        r#"{"kind":"composite","objective":99,"members":[{"slo":"wallet"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let del = |p: &str| Request::delete(p.to_string()).body(Body::empty()).unwrap();
    assert_eq!(
        send(&t.state, del("/v1/slos/wallet")).await.0,
        StatusCode::CONFLICT
    );
    assert_eq!(
        send(&t.state, del("/v1/slos/inner")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&t.state, del("/v1/slos/wallet")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&t.state, del("/v1/slos/browse")).await.0,
        StatusCode::CONFLICT
    );

    // On /metrics like any SLO.
    let (_, bytes) = send(
        &t.state,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(r#"slo:period_error_budget_remaining:ratio{sloth_id="checkout-checkout",sloth_service="checkout",sloth_slo="checkout"}"#), "{text}");

    // A restart keeps the journey made over the API.
    let mut cfg = config();
    cfg.server.data_dir = t.dir.path().display().to_string();
    let dir = t.dir;
    drop(t.state);
    let state = perf_server::AppState::open(cfg).unwrap();
    perf_server::evaluate_slos(&state).unwrap();
    let (status, again) = get(&state, "/v1/slos/checkout").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["compliance"], checkout["compliance"]);
    assert_eq!(again["definition"]["members"][2]["key"], true);
    drop(state);
    drop(dir);
}

/// A burst on a key member pages the journey: every journey passes through it.
#[tokio::test]
async fn a_failing_key_member_pages_the_journey() {
    let t = server_with(config());
    let (status, _) = put(&t.state, "checkout", r#"{"kind":"composite","objective":99,"window":"7d","members":[{"slo":"feed"},{"slo":"auth","key":true}]}"#).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut body = String::new();
    for s in 0..3900i64 {
        for svc in ["qnet", "qauth"] {
            // qauth fails every other request in the last five minutes.
            let ok = svc == "qnet" || s < 3600 || s % 2 == 0;
            body.push_str(&format!(
                r#"{{"ts":{},"service":"{svc}","operation":"op","latencyMs":10,"ok":{ok}}}"#,
                T0 + s * 1000
            ));
            body.push('\n');
        }
    }
    ingest(&t.state, "/v1/events", "application/x-ndjson", body).await;
    perf_server::evaluate_slos(&t.state).unwrap();
    let (_, checkout) = get(&t.state, "/v1/slos/checkout").await;
    let page = checkout["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["longWindow"] == "1h")
        .unwrap_or_else(|| panic!("{checkout}"));
    assert_eq!(page["state"], "firing", "{checkout}");
    assert_eq!(page["severity"], "page");

    // Across a restart the journey's page stays the one that fired: no second firing.
    let firings = |alerts: &serde_json::Value| {
        alerts["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["subject"] == "checkout" && h["state"] == "firing")
            .count()
    };
    let (_, before) = get(&t.state, "/v1/alerts").await;
    assert!(firings(&before) >= 1, "{before}");
    t.state.durable.snapshot().unwrap();
    let mut cfg = config();
    cfg.server.data_dir = t.dir.path().display().to_string();
    let dir = t.dir;
    drop(t.state);
    let state = perf_server::AppState::open(cfg).unwrap();
    perf_server::evaluate_slos(&state).unwrap();
    let (_, again) = get(&state, "/v1/slos/checkout").await;
    let page_again = again["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["longWindow"] == "1h")
        .unwrap_or_else(|| panic!("{again}"));
    assert_eq!(page_again["state"], "firing");
    assert_eq!(
        page_again["since"], page["since"],
        "the same firing, not a new one"
    );
    let (_, after) = get(&state, "/v1/alerts").await;
    assert_eq!(firings(&after), firings(&before), "{after}");
    drop(state);
    drop(dir);
}
