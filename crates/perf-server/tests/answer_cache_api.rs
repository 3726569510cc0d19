//! The server's answer cache and the instrumented cache crate (issue 20): profile and
//! overview answers are reused only while the data is unchanged, never stale, their rates
//! re-divided at the moment of reuse; the server reports its own cache to itself when asked;
//! and a service's `perf-cache` cache reports over HTTP into `/v1/cache` with the counts it
//! made, its keys never in clear.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_cache::{Builder, HttpSink, Identity, InstrumentedCache, Recorder, Reporter};
use perf_server::config::{ClockMode, Config};
use perf_server::durable::ManualClock;
use perf_server::AppState;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const T0: i64 = 1_764_028_800_000;

fn batch(service: &str, at: i64, n: i64) -> String {
    let events: Vec<_> = (0..n)
        .map(|i| {
            json!({"ts": at + i, "service": service, "operation": format!("op{}", i % 3),
                   "latencyMs": 10.0 + i as f64})
        })
        .collect();
    serde_json::to_string(&events).unwrap()
}

fn lookups(state: &AppState) -> (u64, u64) {
    let s = state.answers.stats();
    (s.hits, s.misses)
}

#[tokio::test]
async fn answers_are_reused_while_the_data_is_unchanged_and_never_stale() {
    let mut config = Config::default();
    config.server.clock = ClockMode::Event;
    let srv = server_with(config);
    let state = &srv.state;
    let (status, _) = post(state, "/v1/events", "application/json", batch("a", T0, 30)).await;
    assert_eq!(status, StatusCode::OK);

    let (status, first) = get(state, "/v1/services/a/profile").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(lookups(state), (0, 1));
    let (_, again) = get(state, "/v1/services/a/profile").await;
    assert_eq!(lookups(state), (1, 1), "the same data: reused");
    assert_eq!(first, again);
    let (_, other_window) = get(state, "/v1/services/a/profile?window=1h").await;
    assert_eq!(lookups(state), (1, 2), "another window is another answer");
    assert_eq!(other_window["window"], "1h");

    // One more event: the next answer is computed again and holds it.
    let (status, _) = post(
        state,
        "/v1/events",
        "application/json",
        batch("a", T0 + 100, 1),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, fresh) = get(state, "/v1/services/a/profile").await;
    assert_eq!(lookups(state), (1, 3), "changed data: a miss");
    let count = |p: &serde_json::Value| {
        p["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((count(&first), count(&fresh)), (30, 31));

    let (_, ov1) = get(state, "/v1/overview").await;
    let (_, ov2) = get(state, "/v1/overview").await;
    assert_eq!(lookups(state), (2, 4));
    assert_eq!(ov1, ov2);
    assert_eq!(ov1["services"][0]["requests"], 31);

    // An unknown service is a 404 every time, cached or not.
    for _ in 0..2 {
        let (status, _) = get(state, "/v1/services/nobody/profile").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (_, metrics) = send(
        state,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("ecosystem_perf_answer_cache_lookups_total{result=\"hit\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("ecosystem_perf_answer_cache_lookups_total{result=\"miss\"} 5"));
}

#[tokio::test]
async fn a_reused_answer_has_the_rates_of_the_moment_it_is_read() {
    let clock = Arc::new(ManualClock::new(T0 + 1_000));
    let mut config = Config::default();
    let dir = tempfile::tempdir().unwrap();
    config.server.data_dir = dir.path().display().to_string();
    let state = AppState::open_with_clock(config, clock.clone()).unwrap();
    let (status, _) = post(&state, "/v1/events", "application/json", batch("a", T0, 30)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, first) = get(&state, "/v1/services/a/profile").await;
    // Later within the same finest bucket: the same data and bucket bounds, another "now".
    clock.advance(2_000);
    let (_, later) = get(&state, "/v1/services/a/profile").await;
    assert_eq!(lookups(&state), (1, 1));
    let direct = {
        let engine = state.durable.engine();
        perf_core::report::profile(&engine, "a", state.durable.now(), 5 * 60_000)
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        later,
        serde_json::to_value(&direct).unwrap(),
        "as if computed now"
    );
    assert_ne!(first["operations"][0]["rps"], later["operations"][0]["rps"]);
}

#[tokio::test]
async fn with_no_entries_every_answer_is_computed() {
    let mut config = Config::default();
    config.server.clock = ClockMode::Event;
    config.cache.answers.entries = 0;
    let srv = server_with(config);
    let (status, _) = post(
        &srv.state,
        "/v1/events",
        "application/json",
        batch("a", T0, 5),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, a) = get(&srv.state, "/v1/services/a/profile").await;
    let (_, b) = get(&srv.state, "/v1/services/a/profile").await;
    assert_eq!(a, b);
    assert_eq!(lookups(&srv.state), (0, 0));
    assert_eq!(srv.state.answers.entries(), (0, 0));
}

#[tokio::test]
async fn the_server_reports_its_own_cache_to_itself() {
    let mut config = Config::default();
    config.server.clock = ClockMode::Event;
    config.cache.answers.report = true;
    let srv = server_with(config);
    let state = &srv.state;
    let (status, _) = post(state, "/v1/events", "application/json", batch("a", T0, 30)).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/services/a/profile",
        "/v1/services/a/profile",
        "/v1/overview",
        "/v1/services/a/profile?window=1h",
        "/v1/overview",
        "/v1/services/a/profile",
    ] {
        let (status, _) = get(state, path).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (hits, misses) = lookups(state);
    assert_eq!((hits, misses), (3, 3));
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.answers.flush())
        .await
        .unwrap();
    assert_eq!(state.answers.stats().reported, 6);
    let (status, v) = get(state, "/v1/cache/ecosystem-perf:answers").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["service"], "ecosystem-perf", "{v:#}");
    assert_eq!(v["requests"], 6, "{v:#}");
    assert_eq!(v["hitRate"].as_f64().unwrap(), 0.5, "{v:#}");
    assert_eq!(v["uniqueKeys"], 3, "{v:#}");
}

/// 20,000 lookups of a 500-entry cache over 5,000 ids of Zipf(0.9) popularity.
fn run_service_cache(cache: &InstrumentedCache<String, u64>) {
    let mut rng = StdRng::seed_from_u64(7);
    let zipf = Zipf::new(5_000.0, 0.9).unwrap();
    for _ in 0..20_000 {
        let id = zipf.sample(&mut rng) as u64;
        cache.get_with(format!("customer-secret-{id}"), || id);
    }
}

#[tokio::test]
async fn an_instrumented_cache_reports_over_http_into_the_caching_service() {
    let srv = server();
    let real = serve_real(&srv.state).await;
    let base = format!("http://{}", real.addr);
    let recorder = Recorder::new(Identity::new("qbilling", "invoice", "n1"), 100_000);
    let stats = tokio::task::spawn_blocking({
        let recorder = recorder.clone();
        move || {
            let cache: InstrumentedCache<String, u64> = Builder::new("qbilling:customers")
                .max_capacity(500)
                .build(&recorder);
            let reporter = Reporter::spawn(
                recorder.clone(),
                HttpSink::new(&base, None),
                Duration::from_secs(60),
            );
            run_service_cache(&cache);
            reporter.flush();
            recorder.stats()
        }
    })
    .await
    .unwrap();
    assert_eq!(stats.hits + stats.misses, 20_000);
    assert_eq!(
        (stats.reported, stats.dropped, stats.failed_sends),
        (20_000, 0, 0)
    );
    let (status, v) = get(&srv.state, "/v1/cache/qbilling:customers").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["requests"], 20_000, "{v:#}");
    let hit_rate = v["hitRate"].as_f64().unwrap();
    let made = stats.hits as f64 / 20_000.0;
    assert!((hit_rate - made).abs() < 1e-9, "{hit_rate} vs {made}");
    // W-TinyLFU at 500 of 5,000 ids beats what an LRU of 500 would hit by the sampled
    // curve: the advice's policy note, seen from a real moka cache.
    let mrc = v["mrc"].as_array().unwrap();
    let lru_at_500 = mrc
        .iter()
        .rfind(|p| p["size"].as_u64().unwrap() <= 500)
        .map(|p| 1.0 - p["missRatio"].as_f64().unwrap())
        .unwrap();
    // Measured: 59.9 % against 48.3 % (moka's maintenance timing varies a little).
    assert!(
        made > lru_at_500 + 0.03,
        "moka {made} vs LRU curve {lru_at_500}"
    );
    let answers = serde_json::to_string(&v).unwrap();
    assert!(!answers.contains("customer-secret-"));
    real.stop().await;
    let leaked: Vec<_> = walk(srv.dir.path())
        .into_iter()
        .filter(|p| {
            std::fs::read(p)
                .unwrap_or_default()
                .windows(16)
                .any(|w| w == b"customer-secret-")
        })
        .collect();
    assert!(leaked.is_empty(), "{leaked:?}");
}

#[tokio::test]
async fn a_server_that_is_down_loses_nothing_that_fits() {
    // A port nothing listens on: every send fails, the lookups wait in the recorder.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap();
    drop(free);
    let recorder = Recorder::new(Identity::new("qbilling", "invoice", "n1"), 100_000);
    let srv = server();
    let stats = tokio::task::spawn_blocking({
        let recorder = recorder.clone();
        move || {
            let cache: InstrumentedCache<String, u64> = Builder::new("qbilling:customers")
                .max_capacity(500)
                .build(&recorder);
            let reporter = Reporter::spawn(
                recorder.clone(),
                HttpSink::new(&format!("http://{addr}"), None),
                Duration::from_secs(60),
            );
            run_service_cache(&cache);
            reporter.flush();
            (recorder.stats(), recorder.pending())
        }
    })
    .await
    .unwrap();
    assert_eq!(stats.0.reported, 0);
    assert_eq!(stats.0.failed_sends, 1);
    assert_eq!(stats.1, 20_000, "every lookup kept");
    // The server comes up on that port: the next send delivers them all.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(perf_server::run(srv.state.clone(), listener, async move {
        let _ = stop_rx.await;
    }));
    let stats = tokio::task::spawn_blocking({
        let recorder = recorder.clone();
        move || {
            let reporter = Reporter::spawn(
                recorder.clone(),
                HttpSink::new(&format!("http://{addr}"), None),
                Duration::from_secs(60),
            );
            reporter.flush();
            recorder.stats()
        }
    })
    .await
    .unwrap();
    assert_eq!(stats.reported, 20_000);
    let (_, v) = get(&srv.state, "/v1/cache/qbilling:customers").await;
    assert_eq!(v["requests"], 20_000, "{v:#}");
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
