//! A synthetic population of 100,000 callers with planted offenders, through a real engine;
//! monotonicity of the score; Spearman against a hand-computed case; the memory bound.

use super::*;
use crate::{Engine, EngineConfig, Event};
use proptest::prelude::*;

const T0: i64 = 1_767_225_600_000; // a bucket boundary
const MIN: i64 = 60_000;

fn event(ts: i64, caller: &str, latency: f64, ok: bool, cost: f64) -> Event {
    let mut e = Event::new(ts, "qsvc", "GET /x", latency);
    e.entity = Some(caller.to_string());
    e.ok = ok;
    e.cost = Some(cost);
    e
}

/// An hour of traffic: 100,000 ordinary callers (Zipf-like), and planted offenders in the
/// last 10 minutes (or during the two incident windows).
fn population() -> (Engine, Vec<(i64, i64)>) {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let incidents = vec![
        (T0 + 15 * MIN, T0 + 20 * MIN),
        (T0 + 35 * MIN, T0 + 40 * MIN),
    ];
    for minute in 0..60i64 {
        let start = T0 + minute * MIN;
        let mut batch = Vec::with_capacity(5_000);
        // 3,000 ordinary requests a minute over 100,000 callers, rank r with weight ~ 1/r.
        for i in 0..3_000i64 {
            let u = rnd();
            let rank = (100_000f64.powf(u)) as u64; // log-uniform ranks: Zipf(1)-like
            let caller = format!("user-{rank}");
            let ts = start + i * 20;
            batch.push(event(ts, &caller, 20.0 + 30.0 * rnd(), rnd() > 0.01, 0.001));
        }
        let recent = minute >= 50;
        let during = incidents.iter().any(|(f, t)| start >= *f && start < *t);
        for i in 0..60i64 {
            let ts = start + i * 1_000;
            // Steady traffic of every offender all hour (so each has a history).
            for who in ["errors", "slow", "cost", "anomaly", "all"] {
                if i % 6 == 0 {
                    batch.push(event(ts, &format!("offender-{who}"), 25.0, true, 0.001));
                }
            }
            if recent {
                batch.push(event(ts, "offender-errors", 25.0, i % 5 >= 2, 0.001));
                batch.push(event(ts, "offender-slow", 600.0, true, 0.001));
                batch.push(event(ts, "offender-cost", 25.0, true, 0.03));
            }
            if during {
                for k in 0..5 {
                    batch.push(event(ts + k, "offender-anomaly", 25.0, true, 0.001));
                    batch.push(event(ts + k + 5, "offender-all", 600.0, true, 0.01));
                }
            }
            if recent {
                batch.push(event(ts + 7, "offender-all", 600.0, i % 3 != 0, 0.05));
            }
        }
        batch.sort_by_key(|e| e.ts_ms);
        engine.ingest(&batch, start + MIN);
    }
    (engine, incidents)
}

#[test]
fn planted_offenders_are_found_and_ordinary_callers_stay_low() {
    let (engine, incidents) = population();
    let now = T0 + 60 * MIN;
    let (svc, callers) = service_evidence(&engine, "qsvc", now, 60 * MIN, &incidents, &[]).unwrap();
    assert_eq!(svc.starts.len(), 12, "twelve 5-minute buckets");
    assert_eq!(svc.incidents.len(), 2);
    let risks: Vec<EntityRisk> = callers.iter().map(|c| evaluate_caller(&svc, c)).collect();
    let find = |id: &str| {
        risks
            .iter()
            .find(|r| r.entity_id == id)
            .unwrap_or_else(|| panic!("{id} is tracked"))
    };
    let has = |r: &EntityRisk, kind: &str| r.signals.iter().any(|s| s.kind == kind);
    let e = find("offender-errors");
    assert!(has(e, "error_burst") && e.risk_level == "high", "{e:?}");
    let s = find("offender-slow");
    assert!(
        has(s, "slow_request_concentration") && s.risk_level == "high",
        "{s:?}"
    );
    let c = find("offender-cost");
    assert!(
        has(c, "cost_spike") && ["moderate", "high"].contains(&c.risk_level),
        "{c:?}"
    );
    let a = find("offender-anomaly");
    assert!(has(a, "anomaly_cluster") && a.risk_level == "high", "{a:?}");
    assert_eq!(a.signals[0].count, 2, "both incidents");
    let all = find("offender-all");
    assert_eq!(all.risk_level, "critical", "{all:?}");
    // Ordinary callers: tracked ones are evaluated, untracked ones have nothing against them.
    let ordinary: Vec<&EntityRisk> = risks
        .iter()
        .filter(|r| r.entity_id.starts_with("user-"))
        .collect();
    assert!(
        ordinary.len() > 50,
        "the heaviest ordinary callers are tracked too"
    );
    let above_low = ordinary.iter().filter(|r| r.risk_level != "low").count();
    assert!(
        (above_low as f64) < 0.001 * 100_000.0,
        "{above_low} ordinary callers above low: {:?}",
        ordinary
            .iter()
            .filter(|r| r.risk_level != "low")
            .take(3)
            .collect::<Vec<_>>()
    );
}

#[test]
fn spearman_hand_computed() {
    // Ranks x 1 2 3 4 5, y 2 1 4 3 5: ρ = 1 − 6 Σd² / (n(n²−1)) = 1 − 6·4/120 = 0.8.
    let rho = score::spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[20.0, 10.0, 40.0, 30.0, 50.0]).unwrap();
    assert!((rho - 0.8).abs() < 1e-12);
    assert_eq!(score::spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
}

fn synthetic(
    errors_recent: f64,
    slow_recent: f64,
    cost_recent: f64,
) -> (ServiceSeries, CallerSeries) {
    let n = 12;
    let svc = ServiceSeries {
        service: "s".into(),
        starts: (0..n as i64).map(|i| i * 300_000).collect(),
        width: 300_000,
        totals: vec![
            BucketCounts {
                requests: 10_000.0,
                errors: 100.0,
                cost: 10.0,
                slow: 50.0
            };
            n
        ],
        p99: vec![Some(100.0); n],
        incidents: Vec::new(),
        regression: Vec::new(),
    };
    let mut buckets = vec![
        BucketCounts {
            requests: 200.0,
            errors: 2.0,
            cost: 0.2,
            slow: 1.0
        };
        n
    ];
    for b in buckets.iter_mut().skip(n - 2) {
        b.errors = errors_recent;
        b.slow = slow_recent;
        b.cost = cost_recent;
    }
    let upper = buckets.clone();
    (
        svc,
        CallerSeries {
            caller: "c".into(),
            buckets,
            upper,
            max_error: 0.0,
        },
    )
}

proptest! {
    #[test]
    fn the_score_is_monotone_in_each_signal(
        e in 0.0f64..200.0, s in 0.0f64..200.0, c in 0.0f64..10.0,
        de in 0.0f64..100.0, ds in 0.0f64..100.0, dc in 0.0f64..5.0,
    ) {
        let score = |e: f64, s: f64, c: f64| {
            let (svc, caller) = synthetic(e, s, c);
            evaluate_caller(&svc, &caller).risk_score
        };
        let base = score(e, s, c);
        prop_assert!((0.0..=100.0).contains(&base));
        prop_assert!(score((e + de).min(200.0), s, c) >= base - 1e-9);
        prop_assert!(score(e, (s + ds).min(200.0), c) >= base - 1e-9);
        prop_assert!(score(e, s, c + dc) >= base - 1e-9);
    }
}

/// Serialised size of a service's caller summaries after `n` distinct callers in one hour.
fn summary_bytes(n: u64) -> usize {
    let mut s = crate::heavy_hitters::CallerSummaries::default();
    for i in 0..n {
        let ts = T0 + (i as i64 * 3_600_000 / n as i64);
        s.record(
            64,
            300_000,
            ts,
            &format!("caller-{i}"),
            i % 7 == 0,
            0.001,
            i % 11 == 0,
        );
    }
    serde_json::to_string(&s).unwrap().len()
}

#[test]
fn memory_does_not_grow_with_the_number_of_callers() {
    // k = 64 counters × 4 measures × 12 buckets, whatever the callers: 10× the callers, the
    // same size within the length of the longer names (`ecosystem-perf` measures 10 million in
    // BENCHMARKS.md).
    let (small, large) = (summary_bytes(100_000), summary_bytes(1_000_000));
    assert!(
        large as f64 <= small as f64 * 1.1,
        "{small} → {large} bytes"
    );
    assert!(large < 12 * 4 * 64 * 120, "{large} bytes");
}

#[test]
fn space_saving_bounds_hold_per_bucket_on_a_zipf_stream() {
    use std::collections::HashMap;
    let mut s = crate::heavy_hitters::CallerSummaries::default();
    let mut truth: HashMap<(i64, String), [f64; 4]> = HashMap::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..200_000i64 {
        let rank = (5_000f64.powf(rnd())) as u64;
        let key = format!("caller-{rank}");
        let ts = T0 + i * 3; // 10 minutes: two buckets
        let (failed, slow) = (rnd() < 0.25, rnd() < 0.43);
        s.record(64, 300_000, ts, &key, failed, 0.001, slow);
        let b = ts.div_euclid(300_000) * 300_000;
        let t = truth.entry((b, key)).or_default();
        t[0] += 1.0;
        t[1] += f64::from(u8::from(failed));
        t[2] += 0.001;
        t[3] += f64::from(u8::from(slow));
    }
    for (start, sums) in s.buckets() {
        for (m, summary) in sums.iter().enumerate() {
            for c in summary.counters() {
                let t = truth.get(&(start, c.key.clone())).map_or(0.0, |t| t[m]);
                assert!(
                    c.count - c.error <= t + 1e-9 && t <= c.count + 1e-9,
                    "measure {m}, {}: count {} error {} truth {t}",
                    c.key,
                    c.count,
                    c.error
                );
            }
        }
    }
}

#[test]
fn evidence_takes_space_saving_counts_at_their_bounds() {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    // 100 callers with one slow request each fill the slow summary (k = 64); "late" comes
    // last with one slow request and replaces a counter of 1: count 2, error 1.
    let mut batch: Vec<Event> = (0..100)
        .map(|i| event(T0 + i * 100, &format!("user-{i}"), 900.0, true, 0.001))
        .collect();
    batch.push(event(T0 + 20_000, "late", 900.0, true, 0.001));
    engine.ingest(&batch, T0 + 30_000);
    let (_, callers) = service_evidence(&engine, "qsvc", T0 + 30_000, 60 * MIN, &[], &[]).unwrap();
    let late = callers.iter().find(|c| c.caller == "late").unwrap();
    assert_eq!(late.buckets[0].slow, 1.0, "count − error");
    assert_eq!(late.upper[0].slow, 2.0, "count");
    assert_eq!(late.max_error, 1.0);
}
