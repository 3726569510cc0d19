//! Webhook delivery against a real local HTTP receiver that is down at first, across a
//! restart of ecosystem-perf, and then back: every alert arrives, none twice; an SLO's tiers
//! reach it as one incident (one notification when it opens, one when it resolves).

mod common;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post as route_post;
use axum::Json;
use common::*;
use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config, WebhookConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Receiver {
    up: AtomicBool,
    received: Mutex<Vec<serde_json::Value>>,
}

async fn hook(State(r): State<Arc<Receiver>>, Json(body): Json<serde_json::Value>) -> StatusCode {
    if !r.up.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.received.lock().unwrap().push(body);
    StatusCode::OK
}

async fn start_receiver() -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new()
        .route("/hook", route_post(hook))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

fn config(dir: &std::path::Path, url: &str) -> Config {
    let mut c = Config::default();
    c.server.data_dir = dir.display().to_string();
    c.server.clock = ClockMode::Event;
    c.server.evaluation_interval = 3_600_000;
    // Only the SLO's notifications here: the degradation ladder (tested on its own) must not
    // add its alerts to the outbox.
    for level in &mut c.policy.ladder.levels {
        level.burn_rate = 1e12;
        level.slow_ratio = 1e12;
        level.utilization = 1e12;
    }
    c.slos = vec![serde_yaml_ng::from_str::<SloConfig>(
        "{name: feed, service: qnet, sli: availability, objective: 99.9, window: 30d}",
    )
    .unwrap()];
    c.alerting.webhooks = vec![WebhookConfig {
        name: "oncall".into(),
        url: url.into(),
        headers: Default::default(),
        timeout: 2_000,
    }];
    c.alerting.retry_initial = 50;
    c.alerting.retry_max = 200;
    c
}

fn traffic(t0: i64, minutes: std::ops::Range<i64>, errors: bool) -> String {
    let mut body = String::new();
    for m in minutes {
        for k in 0..20 {
            let ok = !errors || k % 2 == 0;
            body.push_str(&format!("{{\"ts\":{},\"service\":\"qnet\",\"operation\":\"o\",\"latencyMs\":5,\"ok\":{ok}}}\n", t0 + m * 60_000 + k * 1000));
        }
    }
    body
}

async fn serve(
    state: Arc<perf_server::AppState>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(perf_server::run(state, listener, async move {
        let _ = rx.await;
    }));
    (tx, handle)
}

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_a_receiver_that_was_down_exactly_once() {
    let (receiver, url) = start_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_780_000_000_000i64 - 1_780_000_000_000i64 % 60_000;

    // Round 1: the receiver is down; alerts fire and wait in the outbox.
    let state = perf_server::AppState::open(config(dir.path(), &url)).unwrap();
    let (stop, server) = serve(state.clone()).await;
    let mut body = traffic(t0, 0..60, false);
    body.push_str(&traffic(t0, 60..66, true));
    assert_eq!(
        post(&state, "/v1/events", "application/x-ndjson", body)
            .await
            .0,
        StatusCode::OK
    );
    perf_server::evaluate_slos(&state).unwrap();
    // The server's own evaluation cycle (its first tick runs at start) may be evaluating the
    // same SLO concurrently and be the one that queues the page: wait for it.
    wait_until("the incident to be queued", || {
        state.durable.store().webhook_backlog().unwrap() >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let queued = state.durable.store().webhook_backlog().unwrap();
    // Both page tiers fire (1h/5m and 6h/30m): one incident, one notification.
    assert_eq!(queued, 1, "the SLO's tiers are one incident");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(receiver.received.lock().unwrap().is_empty());
    assert_eq!(
        state.durable.store().webhook_backlog().unwrap(),
        queued,
        "failed attempts keep notifications queued"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    drop(state);

    // Round 2: ecosystem-perf restarts and the receiver comes back.
    let state = perf_server::AppState::open(config(dir.path(), &url)).unwrap();
    let (stop, server) = serve(state.clone()).await;
    receiver.up.store(true, Ordering::SeqCst);
    wait_until("the backlog to drain", || {
        state.durable.store().webhook_backlog().unwrap() == 0
    })
    .await;
    // The SLO's notifications (the evaluation cycle at start may add others, e.g. the
    // degradation ladder's).
    let firing: Vec<serde_json::Value> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n["alerts"][0]["labels"]["slo"] == "feed")
        .cloned()
        .collect();
    assert_eq!(
        firing.len() as u64,
        queued,
        "every queued alert delivered once"
    );
    for n in &firing {
        assert_eq!(n["version"], "4");
        assert_eq!(n["status"], "firing");
        assert_eq!(n["receiver"], "oncall");
        assert_eq!(n["alerts"][0]["labels"]["slo"], "feed");
        assert!(n["alerts"][0]["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("burns its error budget"));
        let summary = n["alerts"][0]["annotations"]["summary"].as_str().unwrap();
        assert!(
            summary.contains("error budget is gone in")
                || summary.contains("error budget is spent"),
            "{summary}"
        );
    }
    assert_eq!(firing[0]["alerts"][0]["labels"]["severity"], "page");
    let incident = firing[0]["alerts"][0]["fingerprint"].clone();

    // The burst ends. Once both pages have resolved (the 6h/30m one when the burst leaves its
    // 30-minute window) the ticket tiers still fire: the incident de-escalates to a ticket,
    // under the same fingerprint.
    assert_eq!(
        post(
            &state,
            "/v1/events",
            "application/x-ndjson",
            traffic(t0, 66..100, false)
        )
        .await
        .0,
        StatusCode::OK
    );
    perf_server::evaluate_slos(&state).unwrap();
    wait_until("the de-escalation to a ticket", || {
        receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .any(|n| n["status"] == "firing" && n["alerts"][0]["labels"]["severity"] == "ticket")
    })
    .await;
    // When the burst has left the tickets' 6-hour short window, the incident resolves.
    assert_eq!(
        post(
            &state,
            "/v1/events",
            "application/x-ndjson",
            traffic(t0, 100..440, false)
        )
        .await
        .0,
        StatusCode::OK
    );
    perf_server::evaluate_slos(&state).unwrap();
    wait_until("the resolution", || {
        receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .any(|n| n["status"] == "resolved")
    })
    .await;
    wait_until("the backlog to drain", || {
        state.durable.store().webhook_backlog().unwrap() == 0
    })
    .await;
    let received = receiver.received.lock().unwrap().clone();
    let resolved: Vec<&serde_json::Value> = received
        .iter()
        .filter(|n| n["status"] == "resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{received:#?}");
    let feed: Vec<&serde_json::Value> = received
        .iter()
        .filter(|n| n["alerts"][0]["labels"]["slo"] == "feed")
        .collect();
    assert_eq!(
        feed.len(),
        3,
        "opened, de-escalated, resolved: {received:#?}"
    );
    for n in feed {
        assert_eq!(n["alerts"][0]["fingerprint"], incident, "one incident");
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// The outbox runs on the injected clock: a failed delivery is due again after
/// `retryInitial` of that clock, doubling, and not before.
#[tokio::test]
async fn retries_are_scheduled_on_the_injected_clock() {
    use perf_server::durable::ManualClock;
    use perf_server::effects::{AlertKind, Effect, Notice};
    let (receiver, url) = start_receiver().await; // down: answers 503
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), &url);
    c.alerting.retry_initial = 60_000;
    c.alerting.retry_max = 600_000;
    let t0 = 1_767_225_600_000;
    let clock = Arc::new(ManualClock::new(t0));
    let state = perf_server::AppState::open_with_clock(c, clock.clone()).unwrap();
    let notice = Notice {
        kind: AlertKind::Capacity,
        subject: "qnet".into(),
        labels: vec![("service", "qnet".into())],
        summary: "qnet: headroom 10 % against a 30 % budget".into(),
        description: String::new(),
        firing: true,
        since_ms: t0,
        path: "/v1/capacity/qnet".into(),
    };
    state.apply(vec![Effect::Alert(notice)], t0).unwrap();
    let store = || state.durable.store();
    assert_eq!(
        store().due_webhooks(t0, 10).unwrap().len(),
        1,
        "queued at t0"
    );

    let client = reqwest::Client::new();
    let delivered = perf_server::effects::webhooks::deliver_due(&state.durable, &client)
        .await
        .unwrap();
    assert_eq!(delivered, 0, "the receiver is down");
    // Rescheduled one retryInitial later on the injected clock (the system clock is years
    // past t0, so a delivery scheduled on it would be due at neither of these times).
    let early = store().due_webhooks(t0 + 59_999, 10).unwrap();
    assert!(early.is_empty(), "due before retryInitial passed");
    let due = store().due_webhooks(t0 + 60_000, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 1);
    // Not due yet: another round sends nothing.
    clock.advance(30_000);
    receiver.up.store(true, Ordering::SeqCst);
    let delivered = perf_server::effects::webhooks::deliver_due(&state.durable, &client)
        .await
        .unwrap();
    assert_eq!(delivered, 0);
    assert!(receiver.received.lock().unwrap().is_empty());
    // Due: delivered once, with the alert's name from its kind.
    clock.advance(30_000);
    let delivered = perf_server::effects::webhooks::deliver_due(&state.durable, &client)
        .await
        .unwrap();
    assert_eq!(delivered, 1);
    let got = receiver.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0]["alerts"][0]["labels"]["alertname"],
        "EcosystemPerfCapacityHeadroom"
    );
    assert_eq!(got[0]["alerts"][0]["startsAt"], "2026-01-01T00:00:00.000Z");
}

/// Alerts on one service are linked and grouped: an SLO incident opening while the service's
/// degradation alert fires names it (`related`), and both notifications carry the service's
/// group key, so a receiver grouping by it shows one problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_on_one_service_are_linked_and_grouped() {
    use perf_server::effects::{AlertKind, Effect, Notice};
    let (receiver, url) = start_receiver().await;
    receiver.up.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let t0 = 1_780_000_000_000i64 - 1_780_000_000_000i64 % 60_000;
    let state = perf_server::AppState::open(config(dir.path(), &url)).unwrap();
    let notice = Notice {
        kind: AlertKind::Degradation,
        subject: "qnet".into(),
        labels: vec![("service", "qnet".into()), ("level", "L2".into())],
        summary: "qnet at L2 (cache fallback)".into(),
        description: String::new(),
        firing: true,
        since_ms: t0,
        path: "/v1/degradation".into(),
    };
    state.apply(vec![Effect::Alert(notice)], t0).unwrap();
    let mut body = traffic(t0, 0..60, false);
    body.push_str(&traffic(t0, 60..66, true));
    assert_eq!(
        post(&state, "/v1/events", "application/x-ndjson", body)
            .await
            .0,
        StatusCode::OK
    );
    perf_server::evaluate_slos(&state).unwrap();
    let client = reqwest::Client::new();
    perf_server::effects::webhooks::deliver_due(&state.durable, &client)
        .await
        .unwrap();
    let received = receiver.received.lock().unwrap().clone();
    let slo = received
        .iter()
        .find(|n| n["alerts"][0]["labels"]["slo"] == "feed")
        .unwrap_or_else(|| panic!("no SLO notification: {received:#?}"));
    assert_eq!(
        slo["alerts"][0]["annotations"]["related"], "degradation/qnet",
        "{slo:#}"
    );
    for n in &received {
        assert_eq!(n["groupKey"], "{}:{service=\"qnet\"}", "{n:#}");
        assert_eq!(n["groupLabels"]["service"], "qnet");
    }
}
