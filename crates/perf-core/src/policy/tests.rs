//! The ladder under steps and flapping input, the decision table, priorities shed in order,
//! and the concurrency limit's response to latency and load.

use super::*;
use proptest::prelude::*;

fn signals(burn: f64) -> LadderSignals {
    LadderSignals {
        burn_rate: Some(burn),
        slow_ratio: Some(0.5),
        utilization: Some(0.3),
    }
}

#[test]
fn the_ladder_climbs_at_once_and_recovers_one_step_per_dwell() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    assert_eq!(l.update(signals(0.5), 10_000, &c), None);
    // A 25 % error burst on a 99.9 % SLO burns at 250: straight to L4.
    let t = l.update(signals(250.0), 20_000, &c).unwrap();
    assert_eq!((t.from, t.to), (0, 4));
    assert!(
        t.reason.starts_with("burnRate 250.00 ≥ 100.00"),
        "{}",
        t.reason
    );
    assert_eq!(l.name(), "essential_only");
    // Calm from 30 s on: one step down per dwell (15 s) of calm, never faster.
    let mut levels = Vec::new();
    for s in 3..=60 {
        let now = s * 10_000;
        l.update(signals(0.5), now, &c);
        levels.push((now, l.level));
    }
    let changes: Vec<(i64, u8)> = levels
        .windows(2)
        .filter(|w| w[1].1 != w[0].1)
        .map(|w| w[1])
        .collect();
    assert_eq!(
        changes.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![3, 2, 1, 0],
        "{levels:?}"
    );
    assert!(
        changes.windows(2).all(|w| w[1].0 - w[0].0 >= 15_000),
        "{changes:?}"
    );
    assert_eq!(
        changes[0].0, 50_000,
        "the first evaluation 15 s after the calm began (30 s)"
    );
    assert_eq!(changes[3].0, 110_000, "{changes:?}");
}

#[test]
fn a_signal_hovering_at_a_threshold_does_not_flap() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let mut transitions = 0;
    // Utilisation alternating 0.81 / 0.75 every 10 s: L1 is entered once and held, since
    // 0.75 is over 0.8 × 0.8 = 0.64.
    for s in 0..100 {
        let u = if s % 2 == 0 { 0.81 } else { 0.75 };
        let sig = LadderSignals {
            burn_rate: None,
            slow_ratio: None,
            utilization: Some(u),
        };
        transitions += usize::from(l.update(sig, s * 10_000, &c).is_some());
    }
    assert_eq!((transitions, l.level), (1, 1));
}

proptest! {
    #[test]
    fn no_step_down_comes_sooner_than_the_dwell(burns in prop::collection::vec(0.0f64..300.0, 1..200)) {
        let c = LadderConfig::default();
        let mut l = Ladder::new(0);
        let mut last_change = i64::MIN / 2;
        for (i, b) in burns.iter().enumerate() {
            let now = i as i64 * 5_000;
            if let Some(t) = l.update(signals(*b), now, &c) {
                if t.to < t.from {
                    prop_assert_eq!(t.from - t.to, 1, "one step at a time");
                    prop_assert!(now - last_change >= c.dwell);
                }
                last_change = now;
            }
        }
    }

    #[test]
    fn lower_priorities_are_shed_first(level in 0u8..=4, load in 0.0f64..2.0, cacheable: bool, write: bool, throttled: bool) {
        let ctx = ServiceContext { level, load, concurrency_limit: 100.0, burn_rate: 0.0, slow_ratio: 0.5 };
        let severity = |d: &str| match d { "proceed" => 0, "cache_fallback" => 1, "queue_deferral" => 2, _ => 3 };
        let req = |p| PolicyRequest {
            service: "s".into(),
            operation: if write { "POST /x".into() } else { "GET /x".into() },
            tenant: None,
            priority: p,
            cacheable,
            class: None,
        };
        let c = severity(decide(&req(Priority::Critical), &ctx, throttled).decision);
        let d = severity(decide(&req(Priority::Default), &ctx, throttled).decision);
        let b = severity(decide(&req(Priority::Batch), &ctx, throttled).decision);
        prop_assert_eq!(c, 0, "critical always proceeds");
        prop_assert!(d <= b && c <= d, "{} {} {}", c, d, b);
    }
}

#[test]
fn the_decision_table() {
    let req = |p: Priority, op: &str, cacheable: bool| PolicyRequest {
        service: "qflow".into(),
        operation: op.into(),
        tenant: None,
        priority: p,
        cacheable,
        class: None,
    };
    let ctx = |level: u8, load: f64| ServiceContext {
        level,
        load,
        concurrency_limit: 50.0,
        burn_rate: 0.0,
        slow_ratio: 0.5,
    };
    use Priority::*;
    let cases = [
        (
            req(Default, "GET /x", false),
            ctx(0, 0.3),
            false,
            "proceed",
            "normal",
            "low",
        ),
        (
            req(Batch, "POST /x", false),
            ctx(1, 0.3),
            false,
            "reject",
            "degradation_level_1",
            "moderate",
        ),
        (
            req(Default, "GET /x", true),
            ctx(2, 0.3),
            false,
            "cache_fallback",
            "degradation_level_2",
            "high",
        ),
        (
            req(Default, "GET /x", false),
            ctx(2, 0.3),
            false,
            "proceed",
            "normal",
            "high",
        ),
        (
            req(Default, "POST /x", false),
            ctx(3, 0.3),
            false,
            "queue_deferral",
            "degradation_level_3",
            "high",
        ),
        (
            req(Default, "GET /x", false),
            ctx(4, 0.3),
            false,
            "reject",
            "degradation_level_4",
            "critical",
        ),
        (
            req(Critical, "POST /x", false),
            ctx(4, 1.5),
            false,
            "proceed",
            "critical_priority",
            "critical",
        ),
        (
            req(Default, "GET /x", false),
            ctx(0, 1.05),
            false,
            "queue_deferral",
            "concurrency_limit",
            "high",
        ),
        (
            req(Default, "GET /x", true),
            ctx(0, 1.05),
            false,
            "cache_fallback",
            "concurrency_limit",
            "high",
        ),
        (
            req(Batch, "GET /x", false),
            ctx(0, 0.85),
            false,
            "queue_deferral",
            "high_load",
            "moderate",
        ),
        (
            req(Default, "GET /x", false),
            ctx(0, 0.3),
            true,
            "queue_deferral",
            "tenant_throttled",
            "low",
        ),
    ];
    for (r, c, throttled, decision, reason, risk) in cases {
        let d = decide(&r, &c, throttled);
        assert_eq!(
            (d.decision, d.reason, d.risk_level),
            (decision, reason, risk),
            "{r:?} {c:?}"
        );
        assert_eq!(d.alternatives.is_empty(), decision == "proceed");
    }
    // The class wins over the method: a GET declared a write is deferred at L3.
    let mut r = req(Default, "GET /x", false);
    r.class = Some(crate::model::RequestClass::Write);
    assert_eq!(decide(&r, &ctx(3, 0.3), false).decision, "queue_deferral");
}

#[test]
fn the_concurrency_limit_follows_latency_and_load() {
    let c = PolicyConfig::default();
    let mut l = ConcurrencyLimit::new(20.0);
    // Loaded at steady latency: the limit grows by about √limit · 0.2 per update.
    for _ in 0..20 {
        l.update(20.0, l.limit, 10_000.0, &c);
    }
    assert!(l.limit > 30.0, "{}", l.limit);
    let grown = l.limit;
    // Idle: no growth.
    for _ in 0..20 {
        l.update(20.0, 1.0, 10_000.0, &c);
    }
    assert_eq!(l.limit, grown);
    // Latency triples. First update by hand: long 20 → 20 + 40 (1 − e^(−10/600)); gradient
    // 1.5 · long / 60; proposed = limit · gradient + √limit; limit = 0.8 limit + 0.2 proposed.
    let long = l.long_rtt_ms + (60.0 - l.long_rtt_ms) * (1.0 - (-10_000.0f64 / 600_000.0).exp());
    let gradient = (1.5 * long / 60.0).clamp(0.5, 1.0);
    let want = 0.8 * grown + 0.2 * (grown * gradient + grown.sqrt());
    l.update(60.0, l.limit, 10_000.0, &c);
    assert!((l.limit - want).abs() < 1e-9, "{} vs {want}", l.limit);
    for _ in 0..9 {
        l.update(60.0, l.limit, 10_000.0, &c);
    }
    assert!(l.limit < grown * 0.7, "{} vs {grown}", l.limit);
    assert!(l.limit >= c.min_concurrency);
    // A faster answer lowers the no-load latency at once.
    l.update(10.0, l.limit, 10_000.0, &c);
    assert_eq!(l.long_rtt_ms, 10.0);
    assert!((l.load() - l.inflight / l.limit).abs() < 1e-12);
}

/// A burn that comes and goes every 6 minutes (3 min at 8×, 3 min at 1×) for an hour: with a
/// fixed dwell the ladder steps L0 ↔ L1 every cycle; with the dwell doubling per recent
/// entry (up to 16 × 15 s = 4 min) it stays at L1 from the fifth entry on (the 3 calm
/// minutes no longer outlast the dwell).
#[test]
fn a_flapping_signal_makes_the_ladder_wait_longer() {
    let run = |c: &LadderConfig| {
        let mut l = Ladder::new(0);
        let mut transitions = (0, 0);
        for s in 0..360 {
            let now = s * 10_000;
            let burn = if (s / 18) % 2 == 0 { 8.0 } else { 1.0 };
            if l.update(signals(burn), now, c).is_some() {
                if s < 180 {
                    transitions.0 += 1;
                } else {
                    transitions.1 += 1;
                }
            }
        }
        (transitions, l.dwell_ms)
    };
    let fixed = LadderConfig {
        max_dwell_factor: 1.0,
        ..LadderConfig::default()
    };
    let (before, dwell_fixed) = run(&fixed);
    let (after, dwell) = run(&LadderConfig::default());
    assert_eq!(before, (10, 10), "L0 → L1 → L0 every 6 minutes");
    assert_eq!(dwell_fixed, 15_000);
    assert_eq!(after, (9, 0), "four round trips, then it stays");
    assert_eq!(dwell, 240_000, "16 × 15 s once it has flapped");
}

/// Alerts from L2 up: L1 is stream-only; a level dipping under L2 and back within the dwell
/// sends nothing, a move to L3 updates the open alert; under L2 for the dwell resolves it.
#[test]
fn the_ladder_alert_is_one_per_episode_from_l2() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let mut step = |burn: f64, now: i64| {
        let t = l.update(signals(burn), now, &c);
        let alert = l.alert_change(now, &c);
        (t.map(|t| t.to), alert)
    };
    assert_eq!(
        step(8.0, 0),
        (Some(1), AlertChange::Nothing),
        "L1: stream only"
    );
    assert_eq!(step(20.0, 10_000), (Some(2), AlertChange::Fire));
    assert_eq!(step(20.0, 20_000), (None, AlertChange::Nothing));
    // Calm enough for L1 after its dwell: down to L1, the alert stays open.
    let mut at = 20_000;
    let mut seen = Vec::new();
    while seen
        .last()
        .is_none_or(|s: &(Option<u8>, AlertChange)| s.0.is_none())
    {
        at += 10_000;
        seen.push(step(8.0, at));
        assert!(at < 200_000, "{seen:?}");
    }
    assert_eq!(
        seen.last(),
        Some(&(Some(1), AlertChange::Nothing)),
        "{seen:?}"
    );
    // Back to L2 within the dwell: the alert announced L2 already, nothing is sent.
    at += 5_000;
    assert_eq!(step(20.0, at), (Some(2), AlertChange::Nothing));
    // Up to L3: the same alert, updated.
    at += 10_000;
    assert_eq!(step(40.0, at), (Some(3), AlertChange::Update));
    // Under L2 for longer than the (now doubled) dwell: resolved, once.
    let mut resolved = 0;
    for _ in 0..40 {
        at += 10_000;
        if step(0.5, at).1 == AlertChange::Resolve {
            resolved += 1;
        }
    }
    assert_eq!(resolved, 1);
}

#[test]
fn a_burn_needs_evidence() {
    // One failure in 20 requests against 99 %: a point burn of 5 (L1 is 6), and a lower
    // bound of 1.1.
    let b = burn_rate_signal(1, 20, 0.99, 20).unwrap();
    assert!(b < 2.0, "{b}");
    // Two in 40: a point burn of 5 still, the bound a little higher — never L1 on its own.
    let b = burn_rate_signal(2, 40, 0.99, 20).unwrap();
    assert!(b < 6.0, "{b}");
    // 50 in 1,000 against 99.9 %: clearly a fast burn.
    let b = burn_rate_signal(50, 1_000, 0.999, 20).unwrap();
    assert!(b > 36.0, "{b}");
    assert_eq!(burn_rate_signal(5, 10, 0.999, 20), None, "too few requests");
    assert_eq!(
        burn_rate_signal(5, 100, 1.0, 20),
        None,
        "a 100 % objective allows nothing"
    );
}

/// The ladder's new settings are checked, each refusal naming its setting.
#[test]
fn bad_flapping_and_alert_settings_are_refused() {
    let with = |f: &dyn Fn(&mut LadderConfig)| {
        let mut c = PolicyConfig::default();
        f(&mut c.ladder);
        c.validate().err().map(|e| e.to_string())
    };
    assert_eq!(with(&|_| {}), None);
    for (f, name) in [
        (
            &(|l: &mut LadderConfig| l.alert_from = 0) as &dyn Fn(&mut LadderConfig),
            "alertFrom",
        ),
        (&|l: &mut LadderConfig| l.alert_from = 6, "alertFrom"),
        (
            &|l: &mut LadderConfig| l.max_dwell_factor = 0.5,
            "maxDwellFactor",
        ),
        (
            &|l: &mut LadderConfig| l.max_dwell_factor = f64::NAN,
            "maxDwellFactor",
        ),
        (&|l: &mut LadderConfig| l.flap_window = -1, "flapWindow"),
    ] {
        let err = with(f).expect("refused");
        assert!(err.contains(name), "{err}");
    }
}
