//! Tenant evaluation on generated traffic: a surging tenant that slows the others is
//! throttled and the others are left alone; a failing tenant with most of the load is
//! isolated; no traffic means `none`; the score is monotone; hysteresis does not flap.

use super::*;
use crate::{EngineConfig, Event};
use proptest::prelude::*;

const T0: i64 = 1_699_999_200_000;
const TARGETS: TenantTargets = TenantTargets {
    p99_ms: 200.0,
    availability: 0.999,
    dwell_ms: 5 * MINUTE,
};

/// An hour of steady traffic for three tenants; then, in the last 5 minutes, `surge`
/// multiplies dao-a's traffic and adds `slowdown` ms to everyone else's latency.
fn engine(surge: usize, slowdown: f64, a_error_every: usize) -> (Engine, i64) {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let now = T0 + 60 * MINUTE;
    for s in 0..3600 {
        let ts = T0 + s * 1000;
        let last5 = ts >= now - 5 * MINUTE;
        let mut batch = Vec::new();
        for (t, n) in [
            ("dao-a", if last5 { surge } else { 1 }),
            ("dao-b", 1),
            ("dao-c", 1),
        ] {
            for k in 0..n {
                let mut e = Event::new(ts, "qnet", "op", 20.0 + (k % 10) as f64);
                e.tenant = Some(t.into());
                if t != "dao-a" && last5 {
                    e.latency_ms += slowdown;
                }
                if t == "dao-a"
                    && a_error_every > 0
                    && (s as usize + k).is_multiple_of(a_error_every)
                {
                    e.ok = false;
                }
                batch.push(e);
            }
        }
        engine.ingest(&batch, ts);
    }
    (engine, now)
}

#[test]
fn a_surging_tenant_that_slows_the_others_is_throttled() {
    let (engine, now) = engine(6, 300.0, 0);
    let a = evaluate(&engine, "dao-a", now, TARGETS);
    assert!(
        a.noisy_neighbour.surging && a.noisy_neighbour.degrading_others,
        "{a:?}"
    );
    assert!(a.load_share > 0.7);
    assert_eq!(
        a.raw_recommendation,
        Isolation::TrafficThrottling,
        "{:?}",
        a.reasons
    );
    for other in ["dao-b", "dao-c"] {
        let o = evaluate(&engine, other, now, TARGETS);
        assert!(
            o.isolation_recommendation <= Isolation::Monitor,
            "{other}: {:?}",
            o.reasons
        );
        assert_ne!(o.isolation_recommendation, Isolation::TrafficThrottling);
    }
    assert_eq!(
        tenants(&engine, now, 60 * MINUTE),
        vec!["dao-a", "dao-b", "dao-c"]
    );
}

#[test]
fn a_failing_tenant_with_most_of_the_load_is_isolated() {
    let (engine, now) = engine(8, 0.0, 20);
    let a = evaluate(&engine, "dao-a", now, TARGETS);
    assert!(a.error_budget_burn >= 14.4, "{}", a.error_budget_burn);
    assert_eq!(a.raw_recommendation, Isolation::Isolate);
    assert_eq!(a.slo_compliance["availability"].status, "violation");
    assert!(a.performance_score.unwrap() < 60);
}

#[test]
fn a_tenant_without_traffic_is_none() {
    let (engine, now) = engine(1, 0.0, 0);
    let e = evaluate(&engine, "dao-unknown", now, TARGETS);
    assert_eq!(e.isolation_recommendation, Isolation::None);
    assert_eq!(e.performance_score, None);
    assert_eq!(e.slo_compliance["latency"].status, "no_data");
}

#[test]
fn hysteresis_steps_down_one_level_per_dwell() {
    let mut s = IsolationState::default();
    let d = 5 * MINUTE;
    assert_eq!(s.apply(Isolation::Isolate, 0, d), Isolation::Isolate);
    // Flapping raw verdicts inside the dwell change nothing.
    for (i, raw) in [Isolation::None, Isolation::Monitor, Isolation::None]
        .into_iter()
        .enumerate()
    {
        assert_eq!(s.apply(raw, (i as i64 + 1) * MINUTE, d), Isolation::Isolate);
    }
    // Milder verdicts began at 1 minute: one level down once they held for the dwell.
    assert_eq!(
        s.apply(Isolation::None, MINUTE + d - 1, d),
        Isolation::Isolate
    );
    assert_eq!(
        s.apply(Isolation::None, MINUTE + d, d),
        Isolation::TrafficThrottling
    );
    assert_eq!(
        s.apply(Isolation::None, MINUTE + d + 2 * MINUTE, d),
        Isolation::TrafficThrottling
    );
    assert_eq!(
        s.apply(Isolation::None, MINUTE + 2 * d, d),
        Isolation::Monitor
    );
    assert_eq!(
        s.apply(Isolation::Isolate, MINUTE + 2 * d + 1, d),
        Isolation::Isolate,
        "escalation is immediate"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// More failures never raise the score.
    #[test]
    fn score_is_monotone_in_errors(errors in 0u64..50, more in 1u64..50) {
        let now = T0 + 10 * MINUTE;
        let score = |bad: u64| {
            let mut engine = Engine::new(EngineConfig::default()).unwrap();
            let events: Vec<Event> = (0..500u64).map(|i| {
                let mut e = Event::new(now - 60_000 + i as i64 * 100, "qnet", "op", 50.0);
                e.tenant = Some("dao-x".into());
                e.ok = i >= bad;
                e
            }).collect();
            engine.ingest(&events, now);
            evaluate(&engine, "dao-x", now, TARGETS).performance_score.unwrap()
        };
        prop_assert!(score(errors + more) <= score(errors));
    }
}
