//! Auth scopes, exposure refusal, the WebSocket stream over a real socket, and a restart
//! that restores every acknowledged event from snapshot plus log.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use futures_util::StreamExt;
use perf_server::config::{Config, Scope, TokenConfig};

fn events(n: usize) -> String {
    let v: Vec<_> = (0..n).map(|i| serde_json::json!({"service": "qnet", "operation": format!("op{}", i % 3), "latencyMs": i as f64})).collect();
    serde_json::to_string(&v).unwrap()
}

#[tokio::test]
async fn tokens_and_scopes_are_enforced() {
    let mut config = Config::default();
    config.auth.tokens = vec![
        TokenConfig {
            name: "collector".into(),
            token: "ingest-token-0123456789".into(),
            scopes: vec![Scope::Ingest],
        },
        TokenConfig {
            name: "viewer".into(),
            token: "read-token-0123456789ab".into(),
            scopes: vec![Scope::Read],
        },
    ];
    let t = server_with(config);
    let post_with = |token: Option<&str>| {
        let mut req = Request::post("/v1/events").header("content-type", "application/json");
        if let Some(tok) = token {
            req = req.header("authorization", format!("Bearer {tok}"));
        }
        req.body(Body::from(events(2))).unwrap()
    };
    assert_eq!(
        send(&t.state, post_with(None)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&t.state, post_with(Some("wrong-token-000000000")))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&t.state, post_with(Some("read-token-0123456789ab")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&t.state, post_with(Some("ingest-token-0123456789")))
            .await
            .0,
        StatusCode::OK
    );
    let read = |tok: &str| {
        Request::get("/v1/overview")
            .header("authorization", format!("Bearer {tok}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&t.state, read("ingest-token-0123456789")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&t.state, read("read-token-0123456789ab")).await.0,
        StatusCode::OK
    );
    assert_eq!(get(&t.state, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&t.state, "/metrics").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(total_requests(&t.state), 2);
}

#[test]
fn without_tokens_only_loopback_is_allowed() {
    let mut config = Config::default();
    config.server.listen = "0.0.0.0:9470".into();
    let err = perf_server::check_exposure(&config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("auth.tokens"), "{err}");
    config.auth.tokens = vec![TokenConfig {
        name: "a".into(),
        token: "0123456789abcdefgh".into(),
        scopes: vec![Scope::Read],
    }];
    assert!(perf_server::check_exposure(&config).is_ok());
}

#[tokio::test]
async fn the_stream_sends_typed_overview_envelopes() {
    let t = server();
    post(&t.state, "/v1/events", "application/json", events(5)).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(perf_server::run(t.state.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream"))
        .await
        .unwrap();
    let msg = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(envelope["type"], "overview");
    assert!(envelope["ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(envelope["data"]["services"][0]["requests"], 5);
    drop(ws);
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_restart_restores_snapshot_and_log_tail_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().display().to_string();
    {
        let state = perf_server::AppState::open(config.clone()).unwrap();
        post(&state, "/v1/events", "application/json", events(10)).await;
        let s = state.clone();
        tokio::task::spawn_blocking(move || s.snapshot())
            .await
            .unwrap()
            .unwrap();
        post(&state, "/v1/events", "application/json", events(7)).await;
        assert_eq!(total_requests(&state), 17);
    }
    let state = perf_server::AppState::open(config.clone()).unwrap();
    assert_eq!(total_requests(&state), 17);
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.snapshot())
        .await
        .unwrap()
        .unwrap();
    drop(state);
    let state = perf_server::AppState::open(config).unwrap();
    assert_eq!(total_requests(&state), 17);
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_and_never_stalls_ingest() {
    let t = server();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(perf_server::run(t.state.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    let (_silent, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream"))
        .await
        .unwrap();
    while t.state.bus.receiver_count() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let payload = "x".repeat(64 * 1024);
    for i in 0..5_000 {
        perf_server::stream::publish(&t.state, "test", i, &payload);
    }
    let (status, _) = post(&t.state, "/v1/events", "application/json", events(3)).await;
    assert_eq!(status, StatusCode::OK, "ingest goes on while a client lags");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t
        .state
        .metrics
        .stream_dropped
        .load(std::sync::atomic::Ordering::Relaxed)
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow client was never dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_growing_log_triggers_a_snapshot_before_the_interval() {
    let mut config = Config::default();
    config.server.snapshot_interval = 3_600_000;
    config.server.limits.max_log_bytes = 2_000;
    let t = server_with(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(perf_server::run(t.state.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    let snapshots = || {
        t.state
            .metrics
            .snapshots
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    post(&t.state, "/v1/events", "application/json", events(100)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while snapshots() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no snapshot although the log passed maxLogBytes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(t.state.log_bytes() < 2_000, "covered segments were removed");
    stop_tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}
