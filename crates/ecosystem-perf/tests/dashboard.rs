//! The dashboard in a real headless Chromium: the page loads from the real binary, opens the
//! WebSocket stream and renders the services it receives. Driven over the DevTools protocol;
//! a screenshot is left in the target directory for people to look at.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/events.ndjson");

fn chromium() -> String {
    let path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&path).exists(),
        "the dashboard test needs Chromium at {path} (apt-get install chromium; .ci/run installs it)"
    );
    path
}

struct Browser(std::process::Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn cdp(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    id: u64,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let msg = serde_json::json!({"id": id, "method": method, "params": params});
    ws.send(Message::Text(msg.to_string().into()))
        .await
        .unwrap();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        if v["id"] == id {
            return v["result"].clone();
        }
    }
}

type PageSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Chromium showing `url`, and the DevTools socket of its page.
async fn open_page(url: &str, dir: &std::path::Path) -> (Browser, PageSocket) {
    let port = free_port();
    let profile = dir.join("chromium-profile");
    let browser = Browser(
        Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
            ])
            .args([
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--remote-debugging-port={port}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--window-size=1200,700")
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let page_ws = loop {
        assert!(
            Instant::now() < deadline,
            "Chromium did not open its DevTools port"
        );
        let list = reqwest::get(format!("http://127.0.0.1:{port}/json/list")).await;
        if let Ok(resp) = list {
            let pages: serde_json::Value = resp.json().await.unwrap_or_default();
            if let Some(url) = pages
                .as_array()
                .and_then(|p| p.iter().find(|p| p["type"] == "page"))
                .and_then(|p| p["webSocketDebuggerUrl"].as_str())
            {
                break url.to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (ws, _) = tokio_tungstenite::connect_async(&page_ws).await.unwrap();
    (browser, ws)
}

/// Evaluates `expression` in the page until its text satisfies `done` (30 s at most).
async fn wait_for_text(
    ws: &mut PageSocket,
    id: &mut u64,
    expression: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        *id += 1;
        let r = cdp(
            ws,
            *id,
            "Runtime.evaluate",
            serde_json::json!({"expression": expression, "returnByValue": true}),
        )
        .await;
        let text = r["result"]["value"].as_str().unwrap_or("").to_string();
        if done(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "the dashboard never showed it: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Leaves a screenshot of the page in the target directory as `name`.
async fn screenshot(ws: &mut PageSocket, id: &mut u64, name: &str) {
    *id += 1;
    let shot = cdp(
        ws,
        *id,
        "Page.captureScreenshot",
        serde_json::json!({"format": "png"}),
    )
    .await;
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, png).unwrap();
}

async fn start_server(dir: &std::path::Path) -> Server {
    let data = dir.join("data");
    tokio::task::spawn_blocking(move || Server::start(&data, &["--clock", "event"]))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_renders_live_services_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let out = server.cli(&["ingest", FIXTURE]);
    assert_eq!(out.status.code(), Some(3));
    let (_browser, mut ws) = open_page(&format!("{}/", server.url), dir.path()).await;
    let mut id = 0;
    let text = wait_for_text(
        &mut ws,
        &mut id,
        "document.getElementById('rows') ? document.getElementById('rows').innerText + '|' + document.getElementById('status').innerText : ''",
        |t| t.contains("qnet") && t.contains("live"),
    )
    .await;
    assert!(text.contains("qflow"), "{text}");
    assert!(text.contains("2 services"), "{text}");
    // The go-live panel: a verdict and the five gates; the fixture has no SLO, no cost
    // budget and no capacity, so the verdict lacks data and says why.
    let golive = wait_for_text(
        &mut ws,
        &mut id,
        "document.getElementById('golive-gates') ? document.getElementById('golive-verdict').innerText + '|' + document.getElementById('golive-gates').innerText + '|' + document.getElementById('golive-evidence').innerText : ''",
        |t| t.contains("headroom"),
    )
    .await;
    for name in ["latency", "error_budget", "cache", "cost", "headroom"] {
        assert!(golive.contains(name), "{golive}");
    }
    assert!(golive.contains("monthlyCostBudget"), "{golive}");
    assert!(
        golive.starts_with("NO-GO") || golive.starts_with("INSUFFICIENT DATA"),
        "{golive}"
    );
    screenshot(&mut ws, &mut id, "dashboard.png").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_lists_anomaly_incidents_with_their_cause() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path()).await;
    let server = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            server.play_slow_node(&dir, "qslow");
            server
        }
    })
    .await
    .unwrap();
    let (_browser, mut ws) = open_page(&format!("{}/", server.url), dir.path()).await;
    let mut id = 0;
    let text = wait_for_text(
        &mut ws,
        &mut id,
        "document.getElementById('incidents') ? document.getElementById('incidents').innerText + '|' + document.getElementById('incident-status').innerText : ''",
        |t| t.contains("node n2"),
    )
    .await;
    assert!(text.contains("qslow"), "{text}");
    assert!(text.contains("incident(s)"), "{text}");
    screenshot(&mut ws, &mut id, "dashboard-incidents.png").await;
}
