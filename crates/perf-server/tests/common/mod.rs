//! Helpers shared by the API tests: a state on a temporary data directory, and requests
//! driven through `app()` without a socket.

#![allow(dead_code)]

pub mod ecosystem;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use perf_server::config::Config;
use perf_server::{app, AppState};
use std::sync::Arc;
use tower::ServiceExt;

pub struct TestServer {
    pub state: Arc<AppState>,
    pub dir: tempfile::TempDir,
}

pub fn server_with(mut config: Config) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    config.server.data_dir = dir.path().display().to_string();
    TestServer {
        state: AppState::open(config).unwrap(),
        dir,
    }
}

pub fn server() -> TestServer {
    server_with(Config::default())
}

pub async fn send(state: &Arc<AppState>, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

pub async fn post(
    state: &Arc<AppState>,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> (StatusCode, serde_json::Value) {
    let req = Request::post(path)
        .header("content-type", content_type)
        .body(body.into())
        .unwrap();
    let (status, bytes) = send(state, req).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

pub async fn get(state: &Arc<AppState>, path: &str) -> (StatusCode, serde_json::Value) {
    let (status, bytes) = send(state, Request::get(path).body(Body::empty()).unwrap()).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// Requests counted by the engine over its whole retention.
pub fn total_requests(state: &AppState) -> u64 {
    state
        .durable
        .engine()
        .query("service_operation", &[], i64::MIN / 2, i64::MAX / 2)
        .unwrap()
        .requests
}

/// Sends a batch that must be accepted (a test's set-up), and returns the ingest answer.
pub async fn ingest(
    state: &Arc<AppState>,
    path: &str,
    content_type: &str,
    body: impl Into<Body>,
) -> serde_json::Value {
    let (status, answer) = post(state, path, content_type, body).await;
    assert_eq!(status, StatusCode::OK, "set-up ingest to {path}: {answer}");
    answer
}

/// `perf_server::run` on a free loopback port, with its background loops, until `stop`.
pub struct RealServer {
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Starts `state` as a real server.
pub async fn serve_real(state: &Arc<AppState>) -> RealServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(perf_server::run(state.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    RealServer { addr, stop, task }
}

impl RealServer {
    /// Shuts down gracefully and waits for the final snapshot.
    pub async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// Every file under `dir`, recursively (tests that scan a data directory).
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
