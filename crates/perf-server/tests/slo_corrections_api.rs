//! Budget corrections over the API (issue 23): a maintenance window declared after the fact
//! excludes exactly its events from the SLO's history, one declared ahead excludes what comes
//! in it, errors continuing past its end raise an overrun alert, a withdrawal counts the
//! events again, configured corrections are read-only, and everything holds across a restart.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use perf_server::config::slo::SloConfig;
use perf_server::config::{ClockMode, Config};

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const MINUTE: i64 = 60_000;

fn config() -> Config {
    let mut c = Config::default();
    c.server.clock = ClockMode::Event;
    c.slos = vec![serde_yaml_ng::from_str::<SloConfig>(
        "{name: feed, service: qnet, sli: availability, objective: 99, window: 7d, corrections: [{id: office, kind: business_hours, days: [mon, tue, wed, thu, fri], start: '09:00', end: '17:00', timeZone: Europe/Berlin, reason: internal tool}]}",
    )
    .unwrap()];
    c
}

/// One event a second from minute `from` to `to` (exclusive); those of `failing` minutes
/// fail every other second, the rest every 500th.
fn events(from: i64, to: i64, failing: impl Fn(i64) -> bool) -> Vec<(i64, bool)> {
    (from * 60..to * 60)
        .map(|s| {
            let ok = if failing(s / 60) {
                s % 2 == 0
            } else {
                s % 500 != 0
            };
            (T0 + s * 1000, ok)
        })
        .collect()
}

async fn send_events(state: &std::sync::Arc<perf_server::AppState>, evs: &[(i64, bool)]) {
    let body: Vec<String> = evs
        .iter()
        .map(|(ts, ok)| {
            format!(r#"{{"ts":{ts},"service":"qwallet","operation":"POST /transfer","latencyMs":20,"ok":{ok}}}"#)
        })
        .collect();
    for chunk in body.chunks(5_000) {
        ingest(
            state,
            "/v1/events",
            "application/x-ndjson",
            chunk.join("\n"),
        )
        .await;
    }
}

fn counted(evs: &[(i64, bool)], out: &[(i64, i64)]) -> (u64, u64) {
    let kept: Vec<&(i64, bool)> = evs
        .iter()
        .filter(|(ts, _)| !out.iter().any(|(f, t)| (*f..*t).contains(ts)))
        .collect();
    (
        kept.iter().filter(|(_, ok)| *ok).count() as u64,
        kept.len() as u64,
    )
}

async fn delete(state: &std::sync::Arc<perf_server::AppState>, path: &str) -> StatusCode {
    send(state, Request::delete(path).body(Body::empty()).unwrap())
        .await
        .0
}

fn maintenance(id: &str, from: i64, to: i64) -> String {
    serde_json::json!({"id": id, "kind": "maintenance",
        "from": perf_core::time::format_rfc3339(from), "to": perf_core::time::format_rfc3339(to),
        "reason": "database upgrade", "author": "ana"})
    .to_string()
}

#[tokio::test]
async fn maintenance_windows_exclude_their_events_past_and_future_and_an_overrun_alerts() {
    let t = server_with(config());
    let put = Request::put("/v1/slos/wallet")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"service":"qwallet","sli":"availability","objective":99.9,"window":"7d"}"#,
        ))
        .unwrap();
    assert_eq!(send(&t.state, put).await.0, StatusCode::CREATED);
    // Two hours, a failing stretch in minutes 60-70.
    let mut all = events(0, 120, |m| (60..70).contains(&m));
    send_events(&t.state, &all).await;
    let burst = (T0 + 60 * MINUTE, T0 + 70 * MINUTE);
    let (status, made) = post(
        &t.state,
        "/v1/slos/wallet/corrections",
        "application/json",
        maintenance("burst", burst.0, burst.1),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["correction"]["excludedEvents"], 600, "{made}");
    assert_eq!(made["correction"]["author"], "ana");
    assert_eq!(made["correction"]["readOnly"], false);
    assert_eq!(made["backfilled"]["excludedEvents"]["burst"], 600);
    let (_, slo) = get(&t.state, "/v1/slos/wallet").await;
    let (good, total) = counted(&all, &[burst]);
    assert_eq!(
        (slo["good"].as_u64(), slo["total"].as_u64()),
        (Some(good), Some(total)),
        "{slo}"
    );
    assert_eq!(slo["corrections"][0]["id"], "burst");

    // Mistakes change nothing.
    let (status, e) = post(
        &t.state,
        "/v1/slos/wallet/corrections",
        "application/json",
        maintenance("burst", burst.0, burst.1),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{e}");
    let (status, e) = post(
        &t.state,
        "/v1/slos/wallet/corrections",
        "application/json",
        maintenance("odd", burst.0 + 1_000, burst.1),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("from, to"),
        "{e}"
    );
    let (status, e) = post(
        &t.state,
        "/v1/slos/wallet/corrections",
        "application/json",
        r#"{"id":"x","kind":"maintenance","reason":"r","author":"a","frm":"2026-01-01T00:00:00Z"}"#
            .to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    let (status, _) = post(
        &t.state,
        "/v1/slos/nosuch/corrections",
        "application/json",
        maintenance("a", burst.0, burst.1),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, same) = get(&t.state, "/v1/slos/wallet").await;
    assert_eq!(same["total"], slo["total"]);
    assert_eq!(same["corrections"].as_array().unwrap().len(), 1);

    // Declared ahead: minutes 120-130 are maintenance; errors go on until minute 135.
    let upgrade = (T0 + 120 * MINUTE, T0 + 130 * MINUTE);
    let (status, made) = post(
        &t.state,
        "/v1/slos/wallet/corrections",
        "application/json",
        maintenance("upgrade", upgrade.0, upgrade.1),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let later = events(120, 136, |m| m < 135);
    send_events(&t.state, &later).await;
    all.extend(later);
    perf_server::evaluate_slos(&t.state).unwrap();
    let (_, slo) = get(&t.state, "/v1/slos/wallet").await;
    let (good, total) = counted(&all, &[burst, upgrade]);
    assert_eq!(
        (slo["good"].as_u64(), slo["total"].as_u64()),
        (Some(good), Some(total)),
        "{slo}"
    );
    let upgrade_row = slo["corrections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "upgrade")
        .unwrap();
    assert_eq!(upgrade_row["excludedEvents"], 600, "{slo}");
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    let overrun = alerts["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["subject"] == "wallet/upgrade")
        .unwrap_or_else(|| panic!("an overrun alert: {alerts}"));
    assert_eq!(overrun["state"], "firing", "{overrun}");
    assert_eq!(overrun["kind"], "slo_overrun", "{overrun}");

    // Withdrawn: its events count again.
    assert_eq!(
        delete(&t.state, "/v1/slos/wallet/corrections/upgrade").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&t.state, "/v1/slos/wallet/corrections/upgrade").await,
        StatusCode::NOT_FOUND
    );
    // Its overrun alert, firing when it was withdrawn, is closed with it.
    let (_, alerts) = get(&t.state, "/v1/alerts").await;
    let last = alerts["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["subject"] == "wallet/upgrade")
        .unwrap_or_else(|| panic!("{alerts}"));
    assert_eq!(last["state"], "resolved", "{last}");
    let (_, slo) = get(&t.state, "/v1/slos/wallet").await;
    let (good, total) = counted(&all, &[burst]);
    assert_eq!(
        (slo["good"].as_u64(), slo["total"].as_u64()),
        (Some(good), Some(total)),
        "{slo}"
    );

    // A configured correction is listed, read-only.
    let (status, feed) = get(&t.state, "/v1/slos/feed/corrections").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    assert_eq!(feed["corrections"][0]["kind"], "business_hours");
    assert_eq!(feed["corrections"][0]["readOnly"], true);
    assert_eq!(feed["corrections"][0]["author"], "configuration file");
    assert_eq!(
        delete(&t.state, "/v1/slos/feed/corrections/office").await,
        StatusCode::CONFLICT
    );

    // A restart keeps the correction and counts nothing twice.
    let mut c = config();
    c.server.data_dir = t.dir.path().display().to_string();
    let dir = t.dir;
    drop(t.state);
    for restart in 0..2 {
        let state = perf_server::AppState::open(c.clone()).unwrap();
        let (_, after) = get(&state, "/v1/slos/wallet").await;
        assert_eq!(
            (after["good"].as_u64(), after["total"].as_u64()),
            (Some(good), Some(total)),
            "restart {restart}: {after}"
        );
        assert_eq!(after["corrections"].as_array().unwrap().len(), 1, "{after}");
        assert_eq!(
            after["corrections"][0]["excludedEvents"], 600,
            "restart {restart}: {after}"
        );
        state.durable.snapshot().unwrap();
        drop(state);
    }
    drop(dir);
}

/// Business hours in the configuration: events of the weekend and the night are excluded.
#[tokio::test]
async fn business_hours_count_only_office_hours() {
    let t = server_with(config());
    // Friday 2026-01-02 and Saturday the 3rd: one event a minute, all days, on qnet.
    let start = T0 + 24 * 60 * MINUTE;
    let body: Vec<String> = (0..2 * 24 * 60)
        .map(|m| {
            format!(
                r#"{{"ts":{},"service":"qnet","operation":"GET /feed","latencyMs":5,"ok":true}}"#,
                start + m * MINUTE
            )
        })
        .collect();
    ingest(
        &t.state,
        "/v1/events",
        "application/x-ndjson",
        body.join("\n"),
    )
    .await;
    perf_server::evaluate_slos(&t.state).unwrap();
    let (_, feed) = get(&t.state, "/v1/slos/feed").await;
    // Friday 09:00-17:00 Berlin: 8 hours of minutes; Saturday none.
    assert_eq!(feed["total"], 8 * 60, "{feed}");
}
