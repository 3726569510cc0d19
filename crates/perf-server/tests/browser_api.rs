//! Issue 14 (9): what a web page in the user's browser could do to a loopback server without
//! tokens, and the error envelope on every refusal. Each case was accepted before the fix:
//! a cross-origin `text/plain` POST (CSRF), a WebSocket from any Origin, a rebound `Host`;
//! 405 answered an empty body and some query rejections were `text/plain`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const EVENT: &str = r#"[{"service":"qnet","operation":"GET /x","latencyMs":12}]"#;

fn error_code(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not a JSON error: {}", String::from_utf8_lossy(body)));
    v["error"]["code"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_cross_origin_text_post_is_refused_and_changes_nothing() {
    let t = server();
    // What a form or `fetch(..., {mode: "no-cors"})` on another site sends.
    let csrf = Request::post("/v1/events")
        .header("host", "127.0.0.1:9470")
        .header("origin", "https://evil.example")
        .header("content-type", "text/plain")
        .body(Body::from(EVENT))
        .unwrap();
    let (status, body) = send(&t.state, csrf).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "forbidden");
    // Same origin but not JSON: 415, still nothing stored.
    let text = Request::post("/v1/baselines")
        .header("host", "127.0.0.1:9470")
        .header("content-type", "text/plain")
        .header("content-length", "2")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = send(&t.state, text).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&body), "unsupported_media_type");
    assert_eq!(total_requests(&t.state), 0);
    // The page's own origin (the dashboard) passes.
    let same = Request::post("/v1/events")
        .header("host", "localhost:9470")
        .header("origin", "http://localhost:9470")
        .header("content-type", "application/json")
        .body(Body::from(EVENT))
        .unwrap();
    assert_eq!(send(&t.state, same).await.0, StatusCode::OK);
    assert_eq!(total_requests(&t.state), 1);
}

#[tokio::test]
async fn a_rebound_host_is_refused() {
    let t = server();
    let rebound = Request::get("/v1/overview")
        .header("host", "attacker.example:9470")
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&t.state, rebound).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&body).contains("not a loopback name"));
}

#[tokio::test]
async fn refusals_are_json_405_and_bad_queries_included() {
    let t = server();
    let (status, body) = send(
        &t.state,
        Request::delete("/v1/overview").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(error_code(&body), "method_not_allowed");
    // Query strings that do not parse (a number that is not one, a repeated field).
    for path in [
        "/v1/routing/weights?port=notanumber",
        "/v1/regressions?days=-3",
        "/v1/risk/signals?minLevel=a&minLevel=b",
        "/v1/capacity/qnet/hpa?format=a&format=b",
        "/v1/anomalies?window=a&window=b",
    ] {
        let (status, body) = send(&t.state, Request::get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(error_code(&body), "bad_request", "{path}");
    }
}

#[tokio::test]
async fn a_websocket_from_another_origin_is_refused() {
    let t = server();
    let server = serve_real(&t.state).await;
    let addr = server.addr;
    let mut foreign = format!("ws://{addr}/v1/stream")
        .into_client_request()
        .unwrap();
    foreign
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(foreign).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let mut own = format!("ws://{addr}/v1/stream")
        .into_client_request()
        .unwrap();
    own.headers_mut()
        .insert("origin", format!("http://{addr}").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(own).await.is_ok());
    server.stop().await;
}

/// Names with control characters would reach terminals (escape sequences) and logs.
#[tokio::test]
async fn names_with_control_characters_are_rejected_per_element() {
    let t = server();
    let body = "[{\"service\":\"q\\u001b[2Jnet\",\"operation\":\"GET /x\",\"latencyMs\":1},{\"service\":\"qnet\",\"operation\":\"GET /x\",\"latencyMs\":1}]";
    let (status, answer) = post(&t.state, "/v1/events", "application/json", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["accepted"], 1);
    assert_eq!(answer["errors"][0]["field"], "service", "{answer}");
}
