//! `GET /v1/cache` and `/v1/cache/{space}` (issue 20): a space whose keys follow a Zipf
//! popularity behind an undersized LRU is told the size it needs, a space without keys says
//! so, the hot set is the go-live gate's; bad `cacheKey` values are refused field by field;
//! the key itself is never stored nor answered (the data directory and every answer are
//! scanned for it), and the samplers survive a restart from the snapshot.

mod common;

use axum::http::StatusCode;
use common::*;
use perf_server::config::{CacheSpaceConfig, ClockMode, Config};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};
use serde_json::json;

const T0: i64 = 1_764_028_800_000;
const SECRET: &str = "user-secret-";

fn config(dir: Option<&std::path::Path>) -> Config {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    if let Some(d) = dir {
        c.server.data_dir = d.display().to_string();
    }
    c.cache.spaces = vec![CacheSpaceConfig {
        space: "qindex:search".into(),
        size: Some(1_000),
        ttl: Some(600_000),
    }];
    c
}

/// 60,000 searches over an hour, keys Zipf(1.0) over 20,000 ids, hit or miss as an LRU of
/// 1,000 entries decides; and 10,000 feed reads with a cache outcome but no key (the
/// searches carry 86 % of cacheable requests: the hot set alone).
fn events() -> String {
    let mut rng = StdRng::seed_from_u64(20);
    let zipf = Zipf::new(20_000.0, 1.0).unwrap();
    let mut lru: std::collections::VecDeque<u64> = std::collections::VecDeque::new();
    let mut out = String::new();
    for i in 0..60_000i64 {
        let id = zipf.sample(&mut rng) as u64;
        let hit = match lru.iter().position(|x| *x == id) {
            Some(p) => {
                lru.remove(p);
                true
            }
            None => {
                if lru.len() == 1_000 {
                    lru.pop_front();
                }
                false
            }
        };
        lru.push_back(id);
        out.push_str(
            &json!({"ts": T0 + i * 60, "service": "qindex", "operation": "search",
                    "latencyMs": 5.0, "cache": if hit {"hit"} else {"miss"},
                    "cacheSpace": "qindex:search", "cacheKey": format!("{SECRET}{id}")})
            .to_string(),
        );
        out.push('\n');
        if i % 6 == 0 {
            out.push_str(
                &json!({"ts": T0 + i * 60, "service": "qnet", "operation": "GET /feed",
                        "latencyMs": 8.0, "cache": if i % 12 == 0 {"hit"} else {"miss"},
                        "cacheSpace": "qnet:feed"})
                .to_string(),
            );
            out.push('\n');
        }
    }
    out
}

fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        if bytes.windows(needle.len()).any(|w| w == needle) {
            found.push(entry.display().to_string());
        }
    }
    found
}

#[tokio::test]
async fn spaces_get_their_curve_size_and_advice_and_keys_stay_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let state = perf_server::AppState::open(config(Some(dir.path()))).unwrap();
    for chunk in events().lines().collect::<Vec<_>>().chunks(10_000) {
        let (status, a) = post(
            &state,
            "/v1/events",
            "application/x-ndjson",
            chunk.join("\n"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{a}");
    }
    let (status, v) = get(&state, "/v1/cache").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let spaces = v["spaces"].as_array().unwrap();
    assert_eq!(spaces.len(), 2, "{v:#}");
    assert_eq!(v["hotSpaces"], json!(["qindex:search"]), "{v:#}");
    let search = &spaces[0];
    assert_eq!(search["space"], "qindex:search");
    assert_eq!(search["requests"], 60_000);
    let hit = search["hitRate"].as_f64().unwrap();
    assert!((0.3..0.85).contains(&hit), "{hit}");
    // The curve at the configured size agrees with the hit rate the LRU really had.
    let at_size = search["hitRatioAtCurrentSize"].as_f64().unwrap();
    assert!((at_size - hit).abs() < 0.03, "{at_size} vs {hit}");
    let unique = search["uniqueKeys"].as_u64().unwrap();
    assert!((8_000..20_000).contains(&unique), "{unique}");
    let mrc = search["mrc"].as_array().unwrap();
    assert_eq!(mrc.last().unwrap()["size"], unique);
    let needed = search["sizeFor"]["0.85"].as_u64();
    let words = search["recommendations"].to_string();
    match needed {
        Some(n) => assert!(
            n > 1_000 && words.contains(&format!("{n} entries (now 1000) would reach 85 %")),
            "{words}"
        ),
        None => assert!(words.contains("no cache size reaches 85 %"), "{words}"),
    }
    assert!(search["ttl"]["p95Ms"].as_f64().unwrap() > 0.0);
    assert_eq!(search["ttl"]["currentMs"], 600_000);
    let feed = &spaces[1];
    assert_eq!(feed["space"], "qnet:feed");
    assert!((feed["hitRate"].as_f64().unwrap() - 0.5).abs() < 0.01);
    assert!(
        feed["recommendations"].to_string().contains("no cacheKey"),
        "{feed}"
    );
    assert_eq!(feed["mrc"], json!([]));

    // The deployment cycle puts the advice on the stream once, and not again unchanged.
    let mut rx = state.effects.bus.subscribe();
    let cycle = |state: &std::sync::Arc<perf_server::AppState>| {
        let s = state.clone();
        async move {
            tokio::task::spawn_blocking(move || perf_server::run_deployment_cycle(&s))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let advice_events = |rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<str>>| {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            let v: serde_json::Value = serde_json::from_str(&m).unwrap();
            if v["type"] == "cache_advice" {
                out.push(v["data"].clone());
            }
        }
        out
    };
    cycle(&state).await;
    let first = advice_events(&mut rx);
    assert_eq!(first.len(), 2, "{first:#?}");
    assert!(
        first
            .iter()
            .any(|e| e["space"] == "qindex:search"
                && e["recommendations"] == search["recommendations"]),
        "{first:#?}"
    );
    cycle(&state).await;
    assert_eq!(advice_events(&mut rx), Vec::<serde_json::Value>::new());

    // The go-live cache gate fails on the space and says what would fix it.
    let (status, golive) = get(&state, "/v1/golive").await;
    assert_eq!(status, StatusCode::OK, "{golive}");
    let gate = golive["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "cache")
        .unwrap();
    assert_eq!(gate["status"], "fail", "{gate:#}");
    let evidence = gate["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == "qindex/qindex:search")
        .unwrap();
    let detail = evidence["detail"].as_str().unwrap();
    assert!(
        detail.contains("; advice: qindex:search hits") && detail.contains("85 %"),
        "{detail}"
    );

    let (status, one) = get(&state, "/v1/cache/qindex%3Asearch").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["sizeFor"], search["sizeFor"]);
    let (status, only) = get(&state, "/v1/cache?service=qnet").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(only["spaces"].as_array().unwrap().len(), 1);
    let (status, e) = get(&state, "/v1/cache/nosuch").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{e}");
    let (status, _) = get(&state, "/v1/cache?servce=qnet").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Never in clear: not in any answer, not in any file of the data directory.
    for path in [
        "/v1/cache",
        "/v1/overview?window=24h",
        "/v1/services/qindex/profile?window=24h",
    ] {
        let (_, body) = get(&state, path).await;
        assert!(!body.to_string().contains(SECRET), "{path}");
    }
    let (_, metrics) = send(
        &state,
        axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(!String::from_utf8_lossy(&metrics).contains(SECRET));
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.durable.snapshot())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        files_containing(dir.path(), SECRET.as_bytes()),
        Vec::<String>::new()
    );

    // A restart restores the samplers from the snapshot: the same advice.
    drop(state);
    let state = perf_server::AppState::open(config(Some(dir.path()))).unwrap();
    let (_, again) = get(&state, "/v1/cache/qindex%3Asearch").await;
    assert_eq!(again["sizeFor"], search["sizeFor"]);
    assert_eq!(again["uniqueKeys"], search["uniqueKeys"]);
}

#[tokio::test]
async fn bad_cache_keys_are_refused_field_by_field() {
    let t = server_with(config(None));
    let long = "k".repeat(1_025);
    let body = [
        json!({"service": "s", "operation": "o", "latencyMs": 1, "cacheKey": ""}),
        json!({"service": "s", "operation": "o", "latencyMs": 1, "cacheKey": long}),
        json!({"service": "s", "operation": "o", "latencyMs": 1, "cacheKey": 5}),
        json!({"service": "s", "operation": "o", "latencyMs": 1, "cacheKey": "fine"}),
    ]
    .iter()
    .map(|e| e.to_string())
    .collect::<Vec<_>>()
    .join("\n");
    let (status, a) = post(&t.state, "/v1/events", "application/x-ndjson", body).await;
    assert_eq!(status, StatusCode::OK, "{a}");
    assert_eq!(a["accepted"], 1, "{a}");
    assert_eq!(a["rejected"], 3, "{a}");
    for e in a["errors"].as_array().unwrap() {
        assert_eq!(e["field"], "cacheKey", "{a}");
    }
}

/// `cacheSizes` on a resource sample (issue 20): a space with no configured size gets the
/// size its client reports, and the advice compares the curve with it; a newer report wins;
/// bad sizes are refused by field and change nothing; after a restart the log replays the
/// report.
#[tokio::test]
async fn a_reported_cache_size_is_what_the_advice_compares_with() {
    let dir = tempfile::tempdir().unwrap();
    let unsized_config = || {
        let mut c = config(Some(dir.path()));
        c.cache.spaces[0].size = None;
        c
    };
    let state = perf_server::AppState::open(unsized_config()).unwrap();
    for chunk in events().lines().collect::<Vec<_>>().chunks(10_000) {
        let (status, a) = post(
            &state,
            "/v1/events",
            "application/x-ndjson",
            chunk.join("\n"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{a}");
    }
    let space = "/v1/cache/qindex%3Asearch";
    let (_, before) = get(&state, space).await;
    assert_eq!(before["currentSize"], serde_json::Value::Null, "{before:#}");
    assert_eq!(before["hitRatioAtCurrentSize"], serde_json::Value::Null);

    let sample = |ts: i64, sizes: serde_json::Value| {
        json!([{"ts": ts, "service": "qindex", "node": "n1", "cpu": 0.4, "cacheSizes": sizes}])
            .to_string()
    };
    // The newer report wins, also when an older one arrives after it.
    for (ts, entries) in [(T0 + 3_500_000, 1000), (T0 + 3_000_000, 500)] {
        let body = sample(ts, json!({ "qindex:search": entries }));
        let (status, a) = post(&state, "/v1/resources", "application/json", body).await;
        assert_eq!(
            (status, a["accepted"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{a}"
        );
    }
    let (_, sized) = get(&state, space).await;
    assert_eq!(sized["currentSize"], 1000, "{sized:#}");
    // The curve at the reported size agrees with the hit rate the 1,000-entry LRU had.
    let (hit, at) = (
        sized["hitRate"].as_f64().unwrap(),
        sized["hitRatioAtCurrentSize"].as_f64().unwrap(),
    );
    assert!((at - hit).abs() < 0.03, "{at} vs {hit}");
    // LRU and W-TinyLFU are compared at that size.
    assert_eq!(sized["policy"]["size"], 1000, "{sized:#}");

    // Bad sizes: refused by field; the size stays.
    let many: serde_json::Map<String, serde_json::Value> =
        (0..65).map(|i| (format!("s{i}"), json!(1))).collect();
    for bad in [
        json!({"qindex:search": -1}),
        json!({"qindex:search": 2.5}),
        json!({"qindex:search": f64::MAX}),
        json!({"": 10}),
        serde_json::Value::Object(many),
    ] {
        let (status, a) = post(
            &state,
            "/v1/resources",
            "application/json",
            sample(T0 + 3_590_000, bad.clone()),
        )
        .await;
        // The only sample refused: the request is.
        assert_eq!(status, StatusCode::BAD_REQUEST, "{a}");
        assert_eq!(a["accepted"], 0, "{bad}: {a}");
        assert_eq!(a["errors"][0]["field"], "cacheSizes", "{bad}: {a}");
    }
    let (status, _) = post(
        &state,
        "/v1/resources",
        "application/json",
        sample(T0 + 3_590_000, json!({"qindex:search": "big"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, after) = get(&state, space).await;
    assert_eq!(after["currentSize"], 1000);

    // The report is in the log: a restart (no snapshot taken) replays it.
    drop(state);
    let state = perf_server::AppState::open(unsized_config()).unwrap();
    let (_, again) = get(&state, space).await;
    assert_eq!(again["currentSize"], 1000, "{again:#}");
}
