//! The demo with the real binary, accelerated: its scripted incidents show as decisions —
//! the DAO surge throttles that tenant only, the qwallet error burst fires a page that
//! then resolves; the clean qerberos canary completes step by step and the qnet canary
//! with a slow mode is rolled back; the anomaly detectors cluster the tenant surge and the
//! error burst into incidents with the right probable cause (the burst spread across
//! qwallet, not its busiest operation), and the node slowdown's names node qnet-2 (not the
//! version that carries nearly all of qnet's traffic, nor another service's rollout that
//! happens at the same time); the hourly failover drill of qerberos reports an RTO of
//! about the two minutes it was failing; the cache advice finds the undersized qindex:search
//! and qwallet:balance's short TTL.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The demo at `speed`× with 150 requests/s on a free port, with `extra` arguments; its URL.
fn spawn_demo(speed: &str, extra: &[&str]) -> (std::process::Child, String) {
    let port = free_port();
    let demo = Command::new(bin())
        .args(["demo", "--speed", speed, "--rps", "150", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (demo, format!("http://127.0.0.1:{port}"))
}

/// Ends the demo as Ctrl-C would (SIGTERM), so it removes its temporary data directory;
/// SIGKILL only if it has not ended 30 s later.
fn stop(demo: &mut std::process::Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &demo.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = demo.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = demo.kill();
    let _ = demo.wait();
}

fn get(url: &str) -> Option<serde_json::Value> {
    reqwest::blocking::get(url).ok()?.json().ok()
}

#[test]
fn the_demo_plays_its_incidents_into_decisions() {
    let (mut demo, url) = spawn_demo("120", &["--duration", "150"]);
    // Typically all reached within 50 s; the margin is for a slow, shared machine (the
    // demo runs in real time, so a starved machine plays fewer simulated minutes).
    let deadline = Instant::now() + Duration::from_secs(145);
    let (mut throttled_alone, mut paged, mut resolved) = (false, false, false);
    let (mut completed, mut rolled_back, mut promoted) = (false, false, false);
    // The clean canary's last answer, printed if it never completes (a rare miss on CI).
    let mut clean_canary = serde_json::Value::Null;
    let (mut slow_node, mut surge, mut burst) = (false, false, false);
    let (mut scaled_out_early, mut plans) = (false, 0);
    let (mut node_weighted_down, mut node_weight_recovered) = (false, false);
    let (mut ladder_down, mut ladder_back) = (false, false);
    let mut drill_rto: Option<i64> = None;
    let (mut scraper_flagged, mut ordinary_high) = (false, Vec::new());
    let (mut undersized, mut short_ttl, mut own_cache) = (false, false, false);
    let started = Instant::now();
    let mut reached_at = std::collections::BTreeMap::new();
    while Instant::now() < deadline
        && !(throttled_alone
            && paged
            && resolved
            && completed
            && rolled_back
            && slow_node
            && surge
            && burst
            && scaled_out_early
            && node_weight_recovered
            && ladder_back
            && scraper_flagged
            && undersized
            && short_ttl
            && own_cache
            && drill_rto.is_some())
    {
        if drill_rto.is_none() {
            if let Some(d) = get(&format!("{url}/v1/drills/demo-qerberos-failover-h0")) {
                if d["status"] == "recovered" {
                    drill_rto = d["rtoMs"].as_i64();
                }
            }
        }
        if let Some(r) = get(&format!("{url}/v1/risk/signals?minLevel=high")) {
            for e in r["entities"].as_array().into_iter().flatten() {
                match e["entityId"].as_str() {
                    Some("caller-scraper") => scraper_flagged = true,
                    Some(other) => ordinary_high.push(other.to_string()),
                    None => {}
                }
            }
        }
        if let Some(d) = get(&format!("{url}/v1/degradation")) {
            let level = d["services"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["service"] == "qwallet")
                .and_then(|s| s["level"].as_u64());
            if let Some(level) = level {
                ladder_down |= level >= 1;
                ladder_back |= ladder_down && level == 0;
            }
        }
        if let Some(w) = get(&format!("{url}/v1/routing/weights?service=qnet")) {
            let weight = w["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|n| n["node"] == "qnet-2")
                .and_then(|n| n["weight"].as_f64());
            if let Some(weight) = weight {
                node_weighted_down |= weight < 0.6;
                node_weight_recovered |= node_weighted_down && weight >= 0.9;
            }
        }
        if let (Some(plan), Some(report)) = (
            get(&format!("{url}/v1/capacity/qindex/plan")),
            get(&format!("{url}/v1/capacity/qindex")),
        ) {
            plans += 1;
            scaled_out_early |= plan["scaleOut"] == true
                && report["currentHeadroom"].as_f64().unwrap_or(0.0) >= 0.3;
        }
        if let Some(a) = get(&format!("{url}/v1/anomalies?window=3h")) {
            for i in a["incidents"].as_array().into_iter().flatten() {
                let cause = i["probableCause"].as_str().unwrap_or("");
                slow_node |= cause.contains("node qnet-2");
                surge |= cause.contains("tenant dao-gamma carries");
                burst |= cause.contains("errors rose across service qwallet");
            }
        }
        std::thread::sleep(Duration::from_millis(400));
        if let Some(t) = get(&format!("{url}/v1/tenants")) {
            let recs: Vec<(String, String)> = t["tenants"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    (
                        x["daoId"].as_str().unwrap_or("").to_string(),
                        x["isolationRecommendation"]
                            .as_str()
                            .unwrap_or("")
                            .to_string(),
                    )
                })
                .collect();
            let gamma = recs
                .iter()
                .any(|(id, r)| id == "dao-gamma" && r == "traffic_throttling");
            let others_calm = recs
                .iter()
                .filter(|(id, _)| id != "dao-gamma")
                .all(|(_, r)| r == "none");
            throttled_alone |= gamma && others_calm && recs.len() == 4;
        }
        if let Some(r) = get(&format!("{url}/v1/rollouts/demo-qerberos-v3.2.0-h0")) {
            clean_canary = r.clone();
            completed |= r["state"] == "completed";
            promoted |= r["history"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|h| h["decision"] == "promote");
        }
        if let Some(r) = get(&format!("{url}/v1/rollouts/demo-qnet-v2.1.0-h0")) {
            rolled_back |= r["state"] == "rolled_back"
                && r["history"].to_string().contains("latency_degradation");
        }
        if !(undersized && short_ttl && own_cache) {
            if let Some(c) = get(&format!("{url}/v1/cache")) {
                for space in c["spaces"].as_array().into_iter().flatten() {
                    let advice = space["recommendations"].to_string();
                    match space["space"].as_str() {
                        Some("qindex:search") => {
                            undersized |= advice.contains("entries (now 5000) would reach 85 %")
                        }
                        Some("qwallet:balance") => {
                            short_ttl |=
                                advice.contains("its TTL is 20s") && advice.contains("raise it to")
                        }
                        // The server's own answer cache, read by the demo's live summary.
                        Some("ecosystem-perf:answers") => {
                            own_cache |= space["service"] == "ecosystem-perf"
                                && space["requests"].as_u64().unwrap_or(0) > 0
                        }
                        _ => {}
                    }
                }
            }
        }
        if let Some(a) = get(&format!("{url}/v1/alerts")) {
            for h in a["history"].as_array().into_iter().flatten() {
                if h["subject"] == "qwallet-availability"
                    && h["detail"]["alert"]["severity"] == "page"
                {
                    paged |= h["state"] == "firing";
                    resolved |= h["state"] == "resolved";
                }
            }
        }
        for (name, done) in [
            ("throttled_alone", throttled_alone),
            ("paged", paged),
            ("resolved", resolved),
            ("completed", completed),
            ("rolled_back", rolled_back),
            ("slow_node", slow_node),
            ("surge", surge),
            ("burst", burst),
            ("scaled_out_early", scaled_out_early),
            ("node_weight_recovered", node_weight_recovered),
            ("ladder_back", ladder_back),
            ("scraper_flagged", scraper_flagged),
            ("cache_advice", undersized && short_ttl),
            ("own_cache", own_cache),
            ("drill_recovered", drill_rto.is_some()),
        ] {
            if done {
                reached_at
                    .entry(name)
                    .or_insert_with(|| started.elapsed().as_secs());
            }
        }
    }
    // Shown when an assertion below fails: how long each expectation took (real seconds).
    eprintln!("reached after (s): {reached_at:?}");
    let temp_dir = std::env::temp_dir().join(format!("ecosystem-perf-demo-{}", demo.id()));
    assert!(temp_dir.exists(), "the demo plays into {temp_dir:?}");
    stop(&mut demo);
    assert!(
        !temp_dir.exists(),
        "the demo removes its temporary data directory when it ends"
    );
    assert!(
        throttled_alone,
        "dao-gamma's surge throttles dao-gamma and nobody else"
    );
    assert!(
        slow_node,
        "an anomaly incident names node qnet-2 as the probable cause of its slowdown"
    );
    assert!(
        surge,
        "an anomaly incident finds tenant dao-gamma carrying the qflow surge"
    );
    assert!(
        burst,
        "an anomaly incident puts the error burst in service qwallet"
    );
    assert!(paged, "the qwallet error burst pages");
    assert!(
        undersized,
        "the cache advice gives qindex:search the size it needs"
    );
    assert!(
        short_ttl,
        "the cache advice raises qwallet:balance's 20 s TTL"
    );
    assert!(
        own_cache,
        "the server's own answer cache shows in /v1/cache beside the simulated ones"
    );
    assert!(resolved, "and the page resolves after it");
    assert!(
        completed && promoted,
        "the clean canary is promoted step by step to the end; its last answer: {clean_canary}"
    );
    assert!(
        rolled_back,
        "the canary with a p99 regression is rolled back"
    );
    assert!(
        scraper_flagged,
        "the scripted scraper's slow, costly requests make it a high-risk caller"
    );
    assert!(
        ordinary_high.is_empty(),
        "ordinary callers stay under high: {ordinary_high:?}"
    );
    assert!(
        ladder_down && ladder_back,
        "the qwallet error burst moves its degradation ladder down and back up"
    );
    // The scripted failover drill fails qerberos for two minutes: its measured RTO is about
    // that (the accelerated demo's cycle runs about every 15 simulated seconds).
    let rto = drill_rto.expect("the hourly failover drill of qerberos recovers");
    assert!(
        (90_000..=160_000).contains(&rto),
        "the drill's RTO is about two minutes: {rto} ms"
    );
    assert!(
        node_weighted_down && node_weight_recovered,
        "qnet-2's slowdown takes its routing weight down, and it comes back after"
    );
    assert!(
        scaled_out_early,
        "qindex's growth makes its plan scale out while its headroom is still ≥ 30 % ({plans} plans read)"
    );
}

/// `demo --scenario golive`: the quiet ecosystem reaches a `go` once 30 minutes of steady
/// state are in, its scripted qwallet error burst (minutes 40-48 of each hour) turns the
/// verdict `no_go` on the error-budget gate, and the failover drill at minute 50 recovers
/// and reports its RTO.
#[test]
fn the_golive_demo_goes_then_its_error_burst_makes_it_no_go() {
    // At 80× (not the other test's 120×) the `go` lasts 6-8 s of wall time before the burst
    // ends it: at 120× its 4-5 s were missed once in five CI runs on a loaded machine.
    let (mut demo, url) = spawn_demo("80", &["--scenario", "golive", "--duration", "140"]);
    // Typically go after ~24 s, no_go after ~38 s and the drill recovered after ~45 s; the
    // margin is for a starved machine.
    let deadline = Instant::now() + Duration::from_secs(135);
    let (mut go, mut no_go_after_go) = (None::<serde_json::Value>, None::<serde_json::Value>);
    let (mut drill_rto, mut drill) = (None, serde_json::Value::Null);
    let mut seen = Vec::new();
    while Instant::now() < deadline && (no_go_after_go.is_none() || drill_rto.is_none()) {
        if let Some(d) = get(&format!("{url}/v1/drills/demo-qerberos-failover-h0")) {
            if d["status"] == "recovered" {
                drill_rto = d["rtoMs"].as_i64();
                drill = d;
            }
        }
        if let Some(r) = get(&format!("{url}/v1/golive")) {
            let verdict = r["verdict"].as_str().unwrap_or("").to_string();
            if seen.last() != Some(&verdict) {
                seen.push(verdict.clone());
            }
            match verdict.as_str() {
                "go" if go.is_none() => go = Some(r),
                "no_go" if go.is_some() && no_go_after_go.is_none() => no_go_after_go = Some(r),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    stop(&mut demo);
    let go =
        go.unwrap_or_else(|| panic!("the quiet ecosystem reaches go; verdicts seen: {seen:?}"));
    for gate in go["gates"].as_array().unwrap() {
        assert_eq!(gate["status"], "pass", "every gate passes at go: {gate}");
    }
    let no_go = no_go_after_go.unwrap_or_else(|| {
        panic!("the error burst turns the verdict no_go; verdicts seen: {seen:?}")
    });
    let failed: Vec<&str> = no_go["gates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["status"] == "fail")
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert!(
        failed.contains(&"error_budget"),
        "the burst fails the error-budget gate: {failed:?}"
    );
    let evidence = no_go["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "error_budget")
        .map(|g| g["evidence"].to_string())
        .unwrap();
    assert!(
        evidence.contains("qwallet"),
        "the evidence names the burning SLO: {evidence}"
    );
    // The RTO's accuracy is the default scenario's test (and tests/cli/drill.rs); here the
    // drill must run and recover. Two demos share the test machine's cores: on a starved
    // machine this one measured 318 s once (noted in the issue-17 closing note).
    let rto = drill_rto.expect("the failover drill at minute 50 recovers");
    assert!(
        (90_000..=600_000).contains(&rto),
        "the drill recovers after its two failing minutes: {rto} ms; {drill:#}"
    );
}

/// Held by the tests that fast-forward a demo: each plays its history as fast as two cores
/// allow, and two at once (beside the other tests' demos) would each get half and miss their
/// deadlines on a loaded machine.
static FAST_FORWARD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The demo starts from a plausible history: the SLOs' budgets are spent by the scripted
/// incidents, not by the ecosystem's ordinary errors. Fast-forwarded to minute 31 (after
/// qnet-2's slowdown and dao-gamma's surge, before qwallet's error burst at minute 33),
/// every SLO meets its objective with budget left and no service is on the degradation
/// ladder, so a newcomer's first screen is not red for a reason they cannot see.
#[test]
fn every_slo_is_within_budget_before_the_first_error_burst() {
    let _alone = FAST_FORWARD.lock().unwrap_or_else(|p| p.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let err_path = dir.path().join("demo.stderr");
    let mut demo = Command::new(bin())
        .args([
            "demo",
            "--rps",
            "150",
            "--fast-forward",
            "31m",
            "--duration",
            "120",
        ])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(110);
    while !std::fs::read_to_string(&err_path)
        .unwrap_or_default()
        .contains("caught up")
    {
        assert!(Instant::now() < deadline, "the demo never caught up");
        std::thread::sleep(Duration::from_millis(300));
    }
    let slos = get(&format!("{url}/v1/slos")).unwrap();
    let ladder = get(&format!("{url}/v1/degradation")).unwrap();
    stop(&mut demo);
    assert_eq!(
        slos["slos"].as_array().unwrap().len(),
        4,
        "three SLOs and a journey: {slos}"
    );
    for slo in slos["slos"].as_array().unwrap() {
        let instances = std::iter::once(slo).chain(slo["tenants"].as_array().into_iter().flatten());
        for s in instances {
            let remaining = s["errorBudget"]["remaining"].as_f64().unwrap();
            assert!(
                remaining > 0.2 && s["status"] != "violation",
                "{} {} at minute 31: {remaining} of its budget left: {s}",
                slo["name"],
                s["tenant"]
            );
        }
    }
    for svc in ladder["services"].as_array().unwrap() {
        assert_eq!(svc["level"], 0, "{svc}");
    }
}

/// `demo --fast-forward 3h`: three simulated hours are played unpaced before the live part,
/// with a progress line; the history is then queryable, the simulator's events count on
/// `/metrics` like an HTTP client's, and `GET /v1/memory` accounts for where the memory
/// went.
#[test]
fn a_fast_forwarded_demo_has_its_history_counted_and_its_memory_accounted() {
    let _alone = FAST_FORWARD.lock().unwrap_or_else(|p| p.into_inner());
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let mut demo = Command::new(bin())
        .args([
            "demo",
            "--rps",
            "20",
            "--fast-forward",
            "3h",
            "--duration",
            "30",
        ])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut progress = String::new();
    while Instant::now() < deadline && !progress.contains("caught up") {
        std::thread::sleep(Duration::from_millis(300));
        progress = std::fs::read_to_string(&err_path).unwrap_or_default();
    }
    let metrics = reqwest::blocking::get(format!("{url}/metrics"))
        .and_then(|r| r.text())
        .unwrap_or_default();
    let memory = get(&format!("{url}/v1/memory")).unwrap_or_default();
    let overview = get(&format!("{url}/v1/overview?window=3h")).unwrap_or_default();
    let table = Command::new(bin())
        .args(["status", "--memory", "--server", &url])
        .output()
        .unwrap();
    stop(&mut demo);
    assert!(
        progress.contains("fast-forward: caught up after 3.0 simulated hours"),
        "{progress}"
    );
    let accepted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ecosystem_perf_events_accepted_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let requests: f64 = overview["services"]
        .as_array()
        .map(|s| s.iter().filter_map(|s| s["requests"].as_f64()).sum())
        .unwrap_or(0.0);
    // 20 requests/s for three hours, with the daily shape and the scripted surges.
    assert!(
        requests > 100_000.0,
        "three hours are in the views: {requests}"
    );
    assert!(
        accepted >= requests,
        "the simulator's events count on /metrics: {accepted} accepted, {requests} in the views"
    );
    let parts = memory["components"].as_array().cloned().unwrap_or_default();
    let bytes = |name: &str| {
        parts
            .iter()
            .find(|p| p["component"] == name)
            .and_then(|p| p["bytes"].as_u64())
            .unwrap_or(0)
    };
    assert!(
        bytes("views_1m") > 0 && bytes("anomaly_detectors") > 0,
        "{memory}"
    );
    // The simulator's caches (thousands of entries after three hours) are accounted too.
    assert!(bytes("simulator") > 100_000, "{memory}");
    let total: u64 = parts.iter().filter_map(|p| p["bytes"].as_u64()).sum();
    assert_eq!(memory["totalBytes"].as_u64(), Some(total), "{memory}");
    assert!(
        metrics.contains("ecosystem_perf_memory_bytes{component=\"views_1m\"}"),
        "the components are on /metrics"
    );
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("views_1m")
            && table.contains("accounted ")
            && table.contains("resident set"),
        "status --memory prints the components: {table}"
    );
}

/// A fast-forward that is not a duration, or longer than the 400 days the demo plays, is
/// refused before anything starts (no server, no data directory); so is a fast-forward cycle
/// outside 1 s – 1 h.
#[test]
fn a_bad_fast_forward_is_refused_before_the_demo_starts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for bad in ["soon", "500d", "-1h"] {
        let out = Command::new(bin())
            .args([
                "demo",
                &format!("--fast-forward={bad}"),
                "--listen",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("--fast-forward") && err.contains("at most 400d"),
            "{bad}: {err}"
        );
        assert!(!data.exists(), "{bad}: nothing was created");
    }
    for bad in ["soon", "0s", "2h"] {
        let out = Command::new(bin())
            .args([
                "demo",
                "--fast-forward=1h",
                &format!("--fast-forward-cycle={bad}"),
                "--listen",
                "127.0.0.1:0",
            ])
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(
            err.contains("--fast-forward-cycle") && err.contains("from 1s to 1h"),
            "{bad}: {err}"
        );
        assert!(!data.exists(), "{bad}: nothing was created");
    }
}
