//! The evaluation cycle as a reader sees it: with a dashboard open (the stream subscribed,
//! the overview, SLOs and alerts polled) the SLOs are evaluated once per
//! `evaluationInterval`, not once per read or per second; a stage that fails (its alert
//! history cannot be written) does not stop the stages after it.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config};
use perf_server::control::Stage;
use std::time::{Duration, Instant};

fn slo(yaml: &str) -> SloConfig {
    serde_yaml_ng::from_str(yaml).unwrap()
}

fn events(n: usize, failing_every: usize, ts: i64) -> String {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"ts":{ts},"service":"qnet","operation":"GET /feed","node":"n{}","latencyMs":{},"ok":{}}}"#,
                i % 3,
                10 + i % 40,
                failing_every == 0 || i % failing_every != 0
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of a counter of `/metrics` with the given labels.
fn counter(metrics: &str, name: &str, labels: &str) -> u64 {
    let key = format!("{name}{{{labels}}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&key))
        .unwrap_or_else(|| panic!("{key} not in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_dashboard_does_not_evaluate_more_often_than_the_interval() {
    const INTERVAL_S: u64 = 4;
    const OPEN_S: u64 = 20;
    let mut c = Config::default();
    c.server.evaluation_interval = (INTERVAL_S * 1000) as i64;
    c.slos = vec![slo(
        "{name: feed-availability, service: qnet, sli: availability, objective: 99.9, window: 30d}",
    )];
    let t = server_with(c);
    let now = perf_server::durable::system_now();
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        events(300, 50, now),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let server = serve_real(&t.state).await;
    let addr = server.addr;
    // The dashboard: the stream (an overview every second) and the reads it polls.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream"))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut overviews = 0;
    let mut reads = 0;
    while started.elapsed() < Duration::from_secs(OPEN_S) {
        for path in ["/v1/overview", "/v1/slos", "/v1/alerts", "/v1/tenants"] {
            let r = client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            reads += 1;
        }
        // Drain what the stream sent meanwhile.
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(
            Duration::from_millis(250),
            futures_util::StreamExt::next(&mut ws),
        )
        .await
        {
            if msg.to_text().unwrap_or("").contains(r#""type":"overview""#) {
                overviews += 1;
            }
        }
    }
    let metrics = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let evaluations = counter(
        &metrics,
        "ecosystem_perf_evaluation_stage_runs_total",
        r#"stage="slos""#,
    );
    assert_eq!(evaluations, t.state.control.counters.of(Stage::Slos).0);
    eprintln!("{OPEN_S} s open, {INTERVAL_S} s interval: {evaluations} SLO evaluations, {reads} reads, {overviews} overviews");
    // Every second an overview went out and every 250 ms four reads were answered, yet the
    // SLOs were evaluated once per interval (one at start, then one per interval).
    assert!(overviews >= OPEN_S as usize / 2, "{overviews} overviews");
    assert!(reads >= 4 * OPEN_S as usize, "{reads} reads");
    let most = OPEN_S / INTERVAL_S + 2;
    assert!(
        (2..=most).contains(&evaluations),
        "{evaluations} SLO evaluations in {OPEN_S} s with a {INTERVAL_S} s interval \
         ({reads} reads, {overviews} overviews)"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_failing_stage_does_not_stop_the_others() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.slos = vec![slo(
        "{name: feed-availability, service: qnet, sli: availability, objective: 99.9, window: 30d}",
    )];
    let t = server_with(c);
    let ts = 1_767_225_600_000; // 2026-01-01
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        events(600, 4, ts),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The SLO's first burn-rate transition goes to the alert history; take the table away.
    let db = rusqlite::Connection::open(t.dir.path().join("perf.db")).unwrap();
    db.execute_batch("DROP TABLE alert_history").unwrap();

    // The SLO stage fails first; the ladder's step to L1 cannot be written either; the
    // stages after them run all the same.
    let err = perf_server::evaluate_cycle(&t.state)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("slos:") && err.contains("alert_history"),
        "{err}"
    );
    let counters = &t.state.control.counters;
    assert_eq!(
        counters.of(Stage::Slos),
        (1, 1),
        "the SLO stage ran and failed"
    );
    for stage in [Stage::Anomalies, Stage::Policy] {
        assert_eq!(counters.of(stage).0, 1, "{stage:?} ran");
    }
    for stage in [Stage::Routing, Stage::Risk, Stage::Tenants] {
        assert_eq!(counters.of(stage), (1, 0), "{stage:?} ran and succeeded");
    }
    // Their decisions are there.
    let (status, d) = get(&t.state, "/v1/degradation").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(d["services"][0]["service"], "qnet", "{d}");
    let (status, w) = get(&t.state, "/v1/routing/weights?service=qnet").await;
    assert_eq!(status, StatusCode::OK, "{w}");
    assert_eq!(w["nodes"].as_array().map(Vec::len), Some(3), "{w}");
    // The failure is on /metrics under the stage's name.
    let (status, bytes) = send(
        &t.state,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let metrics = String::from_utf8(bytes).unwrap();
    assert_eq!(
        counter(
            &metrics,
            "ecosystem_perf_evaluation_stage_failures_total",
            r#"stage="slos""#
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            "ecosystem_perf_evaluation_stage_failures_total",
            r#"stage="routing""#
        ),
        0
    );
}

#[tokio::test]
async fn an_alert_whose_notification_was_not_written_is_raised_again() {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.drills.failover =
        vec![serde_yaml_ng::from_str("{service: qnet, errorRate: 0.2, for: 10s}").unwrap()];
    let t = server_with(c);
    let ts = 1_767_225_600_000; // 2026-01-01
                                // Healthy for 40 s, then half the requests fail from second 40 on.
    let feed = |k: i64| {
        let state = t.state.clone();
        async move {
            let failing = if k >= 4 { 2 } else { 0 };
            let (status, _) = post(
                &state,
                "/v1/events",
                "application/x-ndjson",
                events(200, failing, ts + k * 10_000),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            perf_server::evaluate_cycle(&state)
        }
    };
    for k in 0..5 {
        feed(k).await.unwrap();
    }
    let history = |state: &perf_server::AppState| {
        state
            .durable
            .store()
            .recent_alerts(100)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == "failover")
            .count()
    };
    assert_eq!(history(&t.state), 0, "the breach has not lasted 10 s yet");
    // It has now, but its notification cannot be written.
    let db = rusqlite::Connection::open(t.dir.path().join("perf.db")).unwrap();
    db.execute_batch("DROP TABLE alert_history").unwrap();
    let err = feed(5).await.unwrap_err().to_string();
    assert!(err.contains("drills:"), "{err}");
    // The table is back: the next cycle raises it.
    db.execute_batch(
        "CREATE TABLE alert_history (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, \
         kind TEXT NOT NULL, subject TEXT NOT NULL, state TEXT NOT NULL, payload TEXT NOT NULL)",
    )
    .unwrap();
    feed(6).await.unwrap();
    assert_eq!(
        history(&t.state),
        1,
        "the failover notification was not lost"
    );
}

#[test]
fn reads_run_the_cycle_only_when_the_decisions_are_an_interval_old() {
    use perf_server::durable::ManualClock;
    let dir = tempfile::tempdir().unwrap();
    let mut c = Config::default();
    c.server.data_dir = dir.path().display().to_string();
    c.server.evaluation_interval = 10_000;
    let clock = std::sync::Arc::new(ManualClock::new(1_767_225_600_000));
    let state = perf_server::AppState::open_with_clock(c, clock.clone()).unwrap();
    let runs = || state.control.counters.of(Stage::Slos).0;
    state.refresh();
    assert_eq!(runs(), 1, "the first read finds no decisions");
    state.refresh();
    clock.advance(9_999);
    state.refresh();
    assert_eq!(runs(), 1, "younger than the interval: read as they are");
    clock.advance(1);
    state.refresh();
    assert_eq!(runs(), 2, "an interval old: evaluated again");
    clock.advance(-3_600_000);
    state.refresh();
    assert_eq!(runs(), 3, "a clock stepped back does not stall the cycle");
    // An explicit cycle always runs.
    perf_server::evaluate_cycle(&state).unwrap();
    assert_eq!(runs(), 4);
}
