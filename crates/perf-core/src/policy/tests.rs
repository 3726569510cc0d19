//! The ladder under steps and flapping input, the decision table, priorities shed in order,
//! and the concurrency limit's response to latency and load.

use super::*;
use proptest::prelude::*;

fn signals(burn: f64) -> LadderSignals {
    LadderSignals {
        burn_rate: Some(burn),
        slow_ratio: Some(0.5),
        utilization: Some(0.3),
        ..Default::default()
    }
}

/// A 25 % error burst on a 99.9 % SLO, read through a 10-s window evaluated every 10 s: the
/// first reading holds part of the burst (75), the next ones all of it (250); after it, one
/// reading holds its tail (50). One move up, once the signals have asked for `confirm`
/// (20 s), to the level they ask for then; one move down, to L0.
#[test]
fn a_step_onset_is_one_move_up_and_its_end_one_move_down() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let burns = [
        0.5, 75.0, 250.0, 250.0, 250.0, 250.0, 50.0, 0.5, 0.5, 0.5, 0.5, 0.5,
    ];
    let mut changes = Vec::new();
    for (i, b) in burns.iter().enumerate() {
        let now = i as i64 * 10_000;
        if let Some(t) = l.update(signals(*b), now, &c) {
            changes.push((now, t.from, t.to, t.reason));
        }
    }
    assert_eq!(changes.len(), 2, "{changes:?}");
    let (at, from, to, reason) = &changes[0];
    assert_eq!((*at, *from, *to), (30_000, 0, 4), "{changes:?}");
    assert!(reason.starts_with("burnRate 250.00 ≥ 100.00"), "{reason}");
    // Calm from 60 s (the tail, 50, is under 80 % of L4's 100); from 80 s the windows no
    // longer hold the burst, and they reach no level: down to L0.
    let (at, from, to, reason) = &changes[1];
    assert_eq!((*at, *from, *to), (80_000, 4, 0), "{changes:?}");
    assert!(reason.contains("80 % of L1's thresholds"), "{reason}");
    assert_eq!(l.history.len(), 2);
    assert_eq!((l.history[0].at, l.history[1].to), (30_000, 0));
}

/// A single evaluation asking for more moves nothing; with `confirm: 0` it does.
#[test]
fn a_one_evaluation_blip_is_not_a_climb() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    for (i, b) in [0.5, 250.0, 0.5, 0.5, 250.0, 0.5].iter().enumerate() {
        assert_eq!(l.update(signals(*b), i as i64 * 10_000, &c), None);
    }
    let eager = LadderConfig {
        confirm: 0,
        ..LadderConfig::default()
    };
    let mut l = Ladder::new(0);
    assert_eq!(l.update(signals(250.0), 0, &eager).map(|t| t.to), Some(4));
}

/// Coming down stops at the level the load still asks for: utilisation that falls from 1.3
/// to 0.85 leaves L4 for L3 (0.85 ≥ 0.8 × L3's 0.95 but < 0.8 × L4's 1.2), not L0.
#[test]
fn coming_down_stops_where_the_signals_still_are() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let load = |u: f64| LadderSignals {
        burn_rate: None,
        slow_ratio: None,
        utilization: Some(u),
        ..Default::default()
    };
    let mut seen = Vec::new();
    for s in 0..20 {
        let u = if s < 6 { 1.3 } else { 0.85 };
        if let Some(t) = l.update(load(u), s * 10_000, &c) {
            seen.push((t.from, t.to));
        }
    }
    assert_eq!(seen, vec![(0, 4), (4, 3)]);
}

#[test]
fn a_signal_hovering_at_a_threshold_does_not_flap() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let mut transitions = 0;
    // Utilisation 0.81 for three evaluations, 0.75 for one, over and over: L1 is entered once
    // and held, since 0.75 is over 0.8 × 0.8 = 0.64.
    for s in 0..100 {
        let u = if s % 4 < 3 { 0.81 } else { 0.75 };
        let sig = LadderSignals {
            burn_rate: None,
            slow_ratio: None,
            utilization: Some(u),
            ..Default::default()
        };
        transitions += usize::from(l.update(sig, s * 10_000, &c).is_some());
    }
    assert_eq!((transitions, l.level), (1, 1));
}

/// A slow share measured at 0.9-1.4 % whose lower bound wavers between 0.5 and 1.1 (a busy
/// service at its p99 budget): entered once on evidence, then held, since the share itself
/// never falls under 0.8 × 1 %. Judged on the lower bound alone it would leave L1 and come
/// back again and again.
#[test]
fn a_measured_share_at_the_threshold_holds_the_level_its_lower_bound_dips_under() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let mut seen = Vec::new();
    for s in 0..400 {
        let (lower, estimate) = match s % 12 {
            0..=3 => (1.1, 1.4),
            4..=8 => (0.5, 0.9),
            _ => (0.7, 1.0),
        };
        let sig = LadderSignals {
            slow_ratio: Some(lower),
            slow_ratio_estimate: Some(estimate),
            ..Default::default()
        };
        if let Some(t) = l.update(sig, s * 10_000, &c) {
            seen.push((t.from, t.to));
        }
    }
    assert_eq!(seen, vec![(0, 1)], "entered once, held");
    // The same lower bounds without their estimates: the level is left and entered again.
    let mut l = Ladder::new(0);
    let mut moves = 0;
    for s in 0..400 {
        let lower = match s % 12 {
            0..=3 => 1.1,
            4..=8 => 0.5,
            _ => 0.7,
        };
        let sig = LadderSignals {
            slow_ratio: Some(lower),
            ..Default::default()
        };
        moves += usize::from(l.update(sig, s * 10_000, &c).is_some());
    }
    assert!(
        moves > 2,
        "judged on lower bounds alone it flaps: {moves} moves"
    );
}

/// Coming down, where to land is judged on evidence: after a burst at L3, a 10-s estimate that
/// one bad request lifts to L1's band (lower bound near 0) does not stop the descent at L1.
#[test]
fn a_noisy_estimate_does_not_stop_the_descent_a_level_short() {
    let c = LadderConfig::default();
    let mut l = Ladder::new(0);
    let mut seen = Vec::new();
    for s in 0..30 {
        let sig = if s < 8 {
            LadderSignals {
                burn_rate: Some(40.0),
                burn_rate_estimate: Some(60.0),
                ..Default::default()
            }
        } else {
            // Calm, but every other evaluation's estimate is at 0.8 × L1's 6.
            LadderSignals {
                burn_rate: Some(0.3),
                burn_rate_estimate: Some(if s % 2 == 0 { 5.0 } else { 0.0 }),
                ..Default::default()
            }
        };
        if let Some(t) = l.update(sig, s * 10_000, &c) {
            seen.push((t.from, t.to));
        }
    }
    assert_eq!(seen, vec![(0, 3), (3, 0)]);
}

proptest! {
    /// Whatever the burns: a move down comes at least a dwell after the level was entered, and
    /// a move up only after every evaluation of the last `confirm` asked for more than the
    /// level it leaves.
    #[test]
    fn moves_respect_the_dwell_and_the_confirmation(burns in prop::collection::vec(0.0f64..300.0, 1..200)) {
        let c = LadderConfig::default();
        let mut l = Ladder::new(0);
        let mut last_change = i64::MIN / 2;
        for (i, b) in burns.iter().enumerate() {
            let now = i as i64 * 5_000;
            if let Some(t) = l.update(signals(*b), now, &c) {
                if t.to < t.from {
                    prop_assert!(now - last_change >= c.dwell);
                } else {
                    let above = c.levels[t.from as usize].burn_rate;
                    let first = (now - c.confirm) / 5_000;
                    prop_assert!(first >= 0);
                    for j in first..=i as i64 {
                        prop_assert!(burns[j as usize] >= above, "{} at {}", burns[j as usize], j);
                    }
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
    let c = LadderConfig {
        confirm: 0,
        ..LadderConfig::default()
    };
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
    // Up to L3 (past its band, 36 ÷ 0.8 = 45): the same alert, updated.
    at += 10_000;
    assert_eq!(step(50.0, at), (Some(3), AlertChange::Update));
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
        (&|l: &mut LadderConfig| l.confirm = -1, "confirm"),
        (&|l: &mut LadderConfig| l.confirm = 7_200_000, "confirm"),
    ] {
        let err = with(f).expect("refused");
        assert!(err.contains(name), "{err}");
    }
}

/// From L0 a level is entered at its thresholds; a degraded ladder escalates only past the
/// band (threshold ÷ recoverFactor). A slow share hovering just over L2's threshold while the
/// ladder is at L1 — its lower bound over and under 2.0 from one evaluation to the next, as the
/// demo's qflow surge read — holds L1 for ten minutes instead of adding a move; a share past
/// 2.5 escalates after `confirm`, and the same hovering share from L0 enters L2 at once.
#[test]
fn an_escalation_takes_the_band() {
    let c = LadderConfig::default();
    let slow = |ratio: f64| LadderSignals {
        burn_rate: Some(0.5),
        slow_ratio: Some(ratio),
        utilization: Some(0.3),
        ..Default::default()
    };
    let mut l = Ladder::new(0);
    let mut moves = Vec::new();
    let mut now = 0;
    for k in 0..3 {
        now = k * 10_000;
        moves.extend(l.update(slow(1.5), now, &c).map(|t| t.to));
    }
    assert_eq!(moves, vec![1], "L1 entered at its threshold");
    for k in 0..60 {
        now += 10_000;
        let hovering = [1.9, 2.1, 2.4, 2.2, 2.3, 1.8][k % 6];
        moves.extend(l.update(slow(hovering), now, &c).map(|t| t.to));
    }
    assert_eq!(
        moves,
        vec![1],
        "a share hovering at L2's threshold adds no move"
    );
    for _ in 0..3 {
        now += 10_000;
        moves.extend(l.update(slow(2.6), now, &c).map(|t| t.to));
    }
    assert_eq!(moves, vec![1, 2], "past the band: escalated once confirmed");

    let mut fresh = Ladder::new(0);
    let entered: Vec<u8> = (0..3)
        .filter_map(|k| fresh.update(slow(2.2), k * 10_000, &c).map(|t| t.to))
        .collect();
    assert_eq!(entered, vec![2], "from L0 the thresholds themselves");
}
