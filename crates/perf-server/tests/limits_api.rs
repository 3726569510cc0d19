//! Issue 14 (5): slow and greedy clients against a real socket. Before: 1,000 slowloris
//! connections and 300 slow bodies stayed open forever, idle keep-alive connections were
//! never closed, nothing capped connections or concurrent requests, and no token had a rate.

mod common;

use common::*;
use futures_util::StreamExt;
use perf_server::config::{Config, RateLimit, Scope, TokenConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _t: TestServer,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn run_with(config: Config) -> Running {
    let t = server_with(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(perf_server::run(t.state.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    Running {
        addr,
        stop: Some(stop_tx),
        task,
        _t: t,
    }
}

/// Sends `request` on a fresh connection and reads until the server closes it or
/// `wait` passes: (what came back, whether the server closed the connection).
fn exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> (String, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(request).unwrap();
    read_until_closed(&mut s)
}

fn read_until_closed(s: &mut TcpStream) -> (String, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_blocking(f)
}

fn healthz(addr: SocketAddr) -> String {
    exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_idle_connections_are_closed_after_the_header_timeout() {
    let mut c = Config::default();
    c.server.limits.header_timeout = 300;
    let r = run_with(c).await;
    let addr = r.addr;
    let outcome = blocking(move || {
        // 200 clients that send half a request line and then nothing.
        let mut slow: Vec<TcpStream> = (0..200)
            .map(|_| {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"GET /v1/overview HT").unwrap();
                s
            })
            .collect();
        // An idle keep-alive connection after one answered request.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            .unwrap();
        let mut first = [0u8; 512];
        let n = idle.read(&mut first).unwrap();
        assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
        let health = healthz(addr);
        let start = Instant::now();
        let closed = slow
            .iter_mut()
            .map(|s| {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                read_until_closed(s).1
            })
            .filter(|c| *c)
            .count();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let idle_closed = read_until_closed(&mut idle).1;
        (health, closed, idle_closed, start.elapsed())
    })
    .await
    .unwrap();
    assert!(outcome.0.starts_with("HTTP/1.1 200"), "{}", outcome.0);
    assert_eq!(outcome.1, 200, "every slowloris connection was closed");
    assert!(outcome.2, "the idle keep-alive connection was closed");
    assert!(outcome.3 < Duration::from_secs(5));
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_gets_408_and_stores_nothing() {
    let mut c = Config::default();
    c.server.limits.body_timeout = 300;
    let r = run_with(c).await;
    let addr = r.addr;
    let (answer, _) = blocking(move || {
        exchange(
            addr,
            b"POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[{\"service\":",
            Duration::from_secs(5),
        )
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("bodyTimeout"), "{answer}");
    assert_eq!(total_requests(&r._t.state), 0);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_get_503_and_requests_over_the_limit_too() {
    let mut c = Config::default();
    c.server.limits.max_connections = 3;
    c.server.limits.max_concurrent_requests = 1;
    c.server.limits.request_timeout = 1_500;
    let r = run_with(c).await;
    let addr = r.addr;
    let outcome = blocking(move || {
        // One request holding the only request slot: its body never completes.
        let mut holder = TcpStream::connect(addr).unwrap();
        holder
            .write_all(b"POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n[")
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let shed = exchange(
            addr,
            b"GET /v1/overview HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
            Duration::from_secs(5),
        )
        .0;
        let health = healthz(addr);
        // Connections: the holder plus two idle ones fill the cap of three.
        let _idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
        std::thread::sleep(Duration::from_millis(100));
        let over = exchange(addr, b"", Duration::from_secs(5)).0;
        // The holder's request runs past requestTimeout: 503 too.
        holder.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let timed_out = read_until_closed(&mut holder).0;
        (shed, health, over, timed_out)
    })
    .await
    .unwrap();
    assert!(outcome.0.starts_with("HTTP/1.1 503"), "{}", outcome.0);
    assert!(
        outcome.0.to_ascii_lowercase().contains("retry-after: 1"),
        "{}",
        outcome.0
    );
    assert!(
        outcome.1.starts_with("HTTP/1.1 200"),
        "health is exempt: {}",
        outcome.1
    );
    assert!(outcome.2.starts_with("HTTP/1.1 503"), "{}", outcome.2);
    assert!(
        outcome.2.contains("too many open connections"),
        "{}",
        outcome.2
    );
    assert!(outcome.3.starts_with("HTTP/1.1 503"), "{}", outcome.3);
    assert!(outcome.3.contains("requestTimeout"), "{}", outcome.3);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_rate_gets_429_with_retry_after() {
    let mut c = Config::default();
    let mut limited = TokenConfig::plain("ci", "ci-token-0123456789abc", &[Scope::Read]);
    limited.rate_limit = Some(RateLimit {
        per_second: 1,
        burst: 2,
    });
    c.auth.tokens = vec![
        limited,
        TokenConfig::plain("ops", "ops-token-0123456789abc", &[Scope::Read]),
    ];
    let r = run_with(c).await;
    let addr = r.addr;
    let answers = blocking(move || {
        let get = |token: &str| {
            exchange(
                addr,
                format!("GET /v1/overview HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n").as_bytes(),
                Duration::from_secs(5),
            )
            .0
        };
        let ci: Vec<String> = (0..3).map(|_| get("ci-token-0123456789abc")).collect();
        (ci, get("ops-token-0123456789abc"))
    })
    .await
    .unwrap();
    assert!(answers.0[0].starts_with("HTTP/1.1 200"));
    assert!(answers.0[1].starts_with("HTTP/1.1 200"));
    assert!(answers.0[2].starts_with("HTTP/1.1 429"), "{}", answers.0[2]);
    assert!(answers.0[2].to_ascii_lowercase().contains("retry-after: 1"));
    assert!(
        answers.1.starts_with("HTTP/1.1 200"),
        "other tokens are not limited"
    );
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_subscribers_are_capped() {
    let mut c = Config::default();
    c.server.limits.max_stream_clients = 1;
    let r = run_with(c).await;
    let url = format!("ws://{}/v1/stream", r.addr);
    let (mut first, _) =
        tokio_tungstenite::connect_async(url.clone().into_client_request().unwrap())
            .await
            .unwrap();
    let err = tokio_tungstenite::connect_async(url.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    // The first still receives, and once it leaves the slot is free again.
    let msg = tokio::time::timeout(Duration::from_secs(5), first.next())
        .await
        .unwrap();
    assert!(msg.is_some());
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio_tungstenite::connect_async(url.clone()).await {
            Ok(_) => break,
            Err(e) if Instant::now() > deadline => panic!("the slot was never freed: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    r.stop().await;
}

/// Issue 14 (6): `quantiles=0.5` repeated 10,000 times used to run 10.5 s under the engine
/// lock; 1,000 distinct quantiles built a 121 MB answer.
#[tokio::test]
async fn queries_are_bounded_by_distinct_quantiles_and_series() {
    let mut c = Config::default();
    c.server.limits.max_query_series = 50;
    let t = server_with(c);
    let events: Vec<_> = (0..80)
        .map(|i| serde_json::json!({"service": format!("s{i}"), "operation": "op", "latencyMs": 5.0}))
        .collect();
    let (status, _) = post(
        &t.state,
        "/v1/events",
        "application/json",
        serde_json::to_string(&events).unwrap(),
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::OK);
    let repeated = vec!["0.5"; 10_000].join(",");
    let (status, body) = get(
        &t.state,
        &format!("/v1/query?view=service_operation&service=s1&quantiles={repeated}"),
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::OK, "{body}");
    assert_eq!(body["groups"][0]["quantiles"].as_object().unwrap().len(), 1);
    let distinct = (1..1000)
        .map(|i| format!("{}", i as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(",");
    let (status, body) = get(
        &t.state,
        &format!("/v1/query?view=service_operation&service=s1&quantiles={distinct}"),
    )
    .await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("999 distinct quantiles"),
        "{body}"
    );
    let (status, body) = get(&t.state, "/v1/query?view=service_operation").await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("would scan 80 series"),
        "{body}"
    );
}

/// Issue 14 (6): concurrent gzip bombs are decompressed a few at a time, each refused at
/// `maxDecompressedBytes`, and the server keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_gzip_bombs_are_refused_a_few_at_a_time() {
    use std::io::Write as _;
    let mut c = Config::default();
    c.server.limits.max_decompressed_bytes = 16 << 20;
    c.server.limits.max_body_bytes = 1 << 20;
    c.server.limits.max_concurrent_decompressions = 2;
    let t = server_with(c);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = axum::body::Bytes::from(gz.finish().unwrap());
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let answers = futures_util::future::join_all((0..16).map(|_| {
        let state = t.state.clone();
        let bomb = bomb.clone();
        async move {
            let req = axum::http::Request::post("/v1/events")
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(axum::body::Body::from(bomb))
                .unwrap();
            send(&state, req).await.0
        }
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|s| *s == axum::http::StatusCode::PAYLOAD_TOO_LARGE),
        "{answers:?}"
    );
    assert_eq!(t.state.decompressions.available_permits(), 2);
    assert_eq!(
        get(&t.state, "/healthz").await.0,
        axum::http::StatusCode::OK
    );
}
