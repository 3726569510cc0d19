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

const INGEST: &str = "ingest-token-0123456789";
const READ: &str = "read-token-0123456789ab";
const ADMIN: &str = "admin-token-0123456789";
const DAO: &str = "dao-gamma-token-0123456789";

fn scoped_server() -> TestServer {
    let mut config = Config::default();
    let mut admin = TokenConfig::plain("ops", "unused", &[Scope::Admin]);
    // The admin token is configured by digest only, as `token hash` prints it.
    admin.token = None;
    admin.sha256 = Some(perf_server::config::tokens::hex(
        &perf_server::config::tokens::digest(ADMIN),
    ));
    let mut dao = TokenConfig::plain("dao-gamma", DAO, &[Scope::Ingest, Scope::Read]);
    dao.tenant = Some("dao-gamma".into());
    config.auth.tokens = vec![
        TokenConfig::plain("collector", INGEST, &[Scope::Ingest]),
        TokenConfig::plain("viewer", READ, &[Scope::Read]),
        admin,
        dao,
    ];
    config.validate().unwrap();
    server_with(config)
}

async fn call(
    t: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> StatusCode {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(tok) = token {
        req = req.header("authorization", format!("Bearer {tok}"));
    }
    send(&t.state, req.body(Body::from(body.to_string())).unwrap())
        .await
        .0
}

#[tokio::test]
async fn tokens_and_scopes_are_enforced() {
    let t = scoped_server();
    let batch = events(2);
    assert_eq!(
        call(&t, "POST", "/v1/events", None, &batch).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(
            &t,
            "POST",
            "/v1/events",
            Some("wrong-token-000000000"),
            &batch
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&t, "POST", "/v1/events", Some(READ), &batch).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&t, "POST", "/v1/events", Some(INGEST), &batch).await,
        StatusCode::OK
    );
    assert_eq!(
        call(&t, "GET", "/v1/overview", Some(INGEST), "").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        call(&t, "GET", "/v1/overview", Some(READ), "").await,
        StatusCode::OK
    );
    // `Bearer` is case-insensitive (RFC 7235).
    let lower = Request::get("/v1/overview")
        .header("authorization", format!("bearer {READ}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&t.state, lower).await.0, StatusCode::OK);
    assert_eq!(get(&t.state, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&t.state, "/metrics").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(total_requests(&t.state), 2);
}

/// Issue 14 (3): a read token used to define SLOs, freeze baselines and start rollouts.
#[tokio::test]
async fn a_read_token_changes_nothing_and_definitions_need_admin() {
    let t = scoped_server();
    call(&t, "POST", "/v1/events", Some(INGEST), &events(50)).await;
    let slo = r#"{"service":"qnet","sli":"availability","objective":99.0}"#;
    let baseline = r#"{"service":"qnet","window":"1h"}"#;
    let rollout = r#"{"service":"qnet","baselineVersion":"v1","canaryVersion":"v2"}"#;
    let mutations = [
        ("PUT", "/v1/slos/x", slo),
        ("DELETE", "/v1/slos/x", ""),
        ("POST", "/v1/baselines", baseline),
        ("POST", "/v1/rollouts", rollout),
        ("POST", "/v1/rollouts/r1/evaluate", "{}"),
    ];
    for token in [READ, INGEST] {
        for (method, path, body) in mutations {
            assert_eq!(
                call(&t, method, path, Some(token), body).await,
                StatusCode::FORBIDDEN,
                "{method} {path}"
            );
        }
    }
    assert_eq!(
        get_json(&t, "/v1/slos", READ).await["slos"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The admin token (stored as a digest) may.
    assert_eq!(
        call(&t, "PUT", "/v1/slos/x", Some(ADMIN), slo).await,
        StatusCode::CREATED
    );
    assert_eq!(
        get_json(&t, "/v1/slos", READ).await["slos"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        call(&t, "DELETE", "/v1/slos/x", Some(ADMIN), "").await,
        StatusCode::NO_CONTENT
    );
}

async fn get_json(t: &TestServer, path: &str, token: &str) -> serde_json::Value {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&t.state, req).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    serde_json::from_slice(&body).unwrap()
}

/// A DAO's token sends and reads only its tenant.
#[tokio::test]
async fn a_tenant_token_is_confined_to_its_tenant() {
    let t = scoped_server();
    let own = r#"[{"service":"qflow","operation":"run","latencyMs":5},{"service":"qflow","operation":"run","latencyMs":6,"tenant":"dao-gamma"}]"#;
    assert_eq!(
        call(&t, "POST", "/v1/events", Some(DAO), own).await,
        StatusCode::OK
    );
    let other = r#"[{"service":"qflow","operation":"run","latencyMs":5,"tenant":"dao-beta"}]"#;
    assert_eq!(
        call(&t, "POST", "/v1/events", Some(DAO), other).await,
        StatusCode::FORBIDDEN
    );
    call(&t, "POST", "/v1/events", Some(INGEST), other).await;
    assert_eq!(total_requests(&t.state), 3);
    // Its own evaluation, and only its own entry in the list.
    let mine = get_json(&t, "/v1/tenants/dao-gamma/evaluation", DAO).await;
    let share = mine["loadShare"].as_f64().unwrap();
    assert!(
        (share - 2.0 / 3.0).abs() < 1e-9,
        "the event without a tenant was given dao-gamma: {mine}"
    );
    let list = get_json(&t, "/v1/tenants", DAO).await;
    let names: Vec<_> = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["daoId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["dao-gamma"]);
    assert_eq!(
        get_json(&t, "/v1/tenants", READ).await["tenants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for path in [
        "/v1/tenants/dao-beta/evaluation",
        "/v1/overview",
        "/v1/slos",
        "/metrics",
    ] {
        assert_eq!(
            call(&t, "GET", path, Some(DAO), "").await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        call(&t, "POST", "/v1/resources", Some(DAO), "[]").await,
        StatusCode::FORBIDDEN
    );
}

#[test]
fn without_tokens_only_loopback_is_allowed() {
    let mut config = Config::default();
    config.server.listen = "0.0.0.0:9470".into();
    let err = perf_server::check_exposure(&config)
        .unwrap_err()
        .to_string();
    assert!(err.contains("auth.tokens"), "{err}");
    config.auth.tokens = vec![TokenConfig::plain(
        "a",
        "0123456789abcdefgh",
        &[Scope::Read],
    )];
    assert_eq!(
        perf_server::check_exposure(&config).unwrap(),
        "0.0.0.0:9470".parse::<std::net::SocketAddr>().unwrap()
    );
}

#[tokio::test]
async fn the_stream_sends_typed_overview_envelopes() {
    let t = server();
    ingest(&t.state, "/v1/events", "application/json", events(5)).await;
    let server = serve_real(&t.state).await;
    let addr = server.addr;
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
    server.stop().await;
}

#[tokio::test]
async fn a_restart_restores_snapshot_and_log_tail_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().display().to_string();
    {
        let state = perf_server::AppState::open(config.clone()).unwrap();
        ingest(&state, "/v1/events", "application/json", events(10)).await;
        let s = state.clone();
        tokio::task::spawn_blocking(move || s.durable.snapshot())
            .await
            .unwrap()
            .unwrap();
        ingest(&state, "/v1/events", "application/json", events(7)).await;
        assert_eq!(total_requests(&state), 17);
    }
    let state = perf_server::AppState::open(config.clone()).unwrap();
    assert_eq!(total_requests(&state), 17);
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.durable.snapshot())
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
    let server = serve_real(&t.state).await;
    let addr = server.addr;
    let (_silent, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream"))
        .await
        .unwrap();
    while !t.state.effects.bus.has_subscribers() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let payload = perf_server::effects::StreamEvent::Alert("x".repeat(64 * 1024).into());
    for i in 0..5_000 {
        t.state.effects.bus.publish(i, &payload);
    }
    let (status, _) = post(&t.state, "/v1/events", "application/json", events(3)).await;
    assert_eq!(status, StatusCode::OK, "ingest goes on while a client lags");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t
        .state
        .durable
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
    server.stop().await;
}

#[tokio::test]
async fn a_growing_log_triggers_a_snapshot_before_the_interval() {
    let mut config = Config::default();
    config.server.snapshot_interval = 3_600_000;
    config.server.limits.max_log_bytes = 2_000;
    let t = server_with(config);
    let server = serve_real(&t.state).await;
    let snapshots = || {
        t.state
            .durable
            .metrics
            .snapshots
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    ingest(&t.state, "/v1/events", "application/json", events(100)).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while snapshots() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no snapshot although the log passed maxLogBytes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        t.state.durable.log_bytes() < 2_000,
        "covered segments were removed"
    );
    server.stop().await;
}

#[tokio::test]
async fn path_segments_that_do_not_decode_get_the_error_envelope() {
    let t = server();
    for path in [
        "/v1/slos/%FF",
        "/v1/services/%C3%28/profile",
        "/v1/capacity/%FF",
        "/v1/risk/entities/%FF%FE",
        "/v1/tenants/%FF/evaluation",
        "/v1/baselines/%FF",
        "/v1/rollouts/%FF",
    ] {
        let (status, body) = get(&t.state, path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("bad path")),
            "{path}: {body}"
        );
    }
}
