//! Every gate passes, fails and lacks data on scripted data (event time), and the verdict
//! follows the gates.

use super::steady::Disturbance;
use super::*;
use crate::forecast::capacity::capacity_report;
use crate::forecast::cost::cost_report;
use crate::model::{CacheOutcome, Event, RequestClass, ResourceSample};
use crate::slo::{default_tiers, Budgeting, Selector, Sli, SloDef, SloWindow};
use crate::{Engine, EngineConfig};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// A whole hour, so minutes in the scripts are whole minutes.
const T0: i64 = 1_700_000_000_000 / HOUR * HOUR;

fn event(ts: i64, class: RequestClass, latency: f64, ok: bool) -> Event {
    let mut e = Event::new(ts, "qwallet", "GET /balance", latency);
    e.class = class;
    e.ok = ok;
    e.node = "n1".into();
    e
}

/// `minutes` of traffic from `T0`: 20 reads (latency from `read_ms(minute)`) and 5 writes of
/// 80 ms per minute, evaluated at the end.
fn engine_with(minutes: i64, read_ms: impl Fn(i64) -> f64) -> Engine {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for m in 0..minutes {
        let t = T0 + m * MINUTE;
        let mut batch = Vec::new();
        for k in 0..20 {
            batch.push(event(t + k * 2_000, RequestClass::Read, read_ms(m), true));
        }
        for k in 0..5 {
            batch.push(event(t + k * 9_000, RequestClass::Write, 80.0, true));
        }
        engine.ingest(&batch, t + 59_000);
    }
    engine
}

fn step(minute: i64) -> Disturbance {
    Disturbance {
        kind: "degradation_step".into(),
        subject: "qwallet".into(),
        from: T0 + minute * MINUTE,
        to: T0 + minute * MINUTE,
    }
}

fn latency_at(engine: &Engine, now_minute: i64, disturbances: &[Disturbance]) -> Gate {
    let g = Guardrails::default();
    let cost = cost_report(engine, T0 + now_minute * MINUTE, None, 0.8).unwrap();
    let report = evaluate(
        engine,
        &Inputs {
            now: T0 + now_minute * MINUTE,
            slos: &[],
            cost: &cost,
            capacity: &[],
            disturbances,
        },
        &g,
    );
    report
        .gates
        .into_iter()
        .find(|g| g.name == "latency")
        .unwrap()
}

#[test]
fn latency_passes_fails_and_finds_its_steady_state_around_a_ladder_step() {
    // Reads at 50 ms, except 400 ms in minutes 60..75.
    let engine = engine_with(120, |m| if (60..75).contains(&m) { 400.0 } else { 50.0 });
    // At minute 80 with no disturbance recorded: the last 30 minutes hold the slow reads.
    let g = latency_at(&engine, 80, &[]);
    assert_eq!(g.status, GateStatus::Fail, "{}", g.reason);
    assert_eq!(g.evidence[0].subject, "read");
    assert!(g.evidence[0].actual.unwrap() > 200.0);
    assert!(g.reason.contains("read p99"), "{}", g.reason);
    // The ladder stepped at 60 and back at 75: the steady state is 30..60, and passes.
    let steps = [step(60), step(75)];
    let g = latency_at(&engine, 80, &steps);
    assert_eq!(g.status, GateStatus::Pass, "{}", g.reason);
    let w = g.window.as_ref().unwrap();
    assert_eq!((w.from, w.to), (T0 + 30 * MINUTE, T0 + 60 * MINUTE));
    // Found again after the step: at 110 the window is 80..110.
    let g = latency_at(&engine, 110, &steps);
    assert_eq!(g.status, GateStatus::Pass);
    let w = g.window.as_ref().unwrap();
    assert_eq!((w.from, w.to), (T0 + 80 * MINUTE, T0 + 110 * MINUTE));
    // Both classes judged, each against its own budget.
    let subjects: Vec<&str> = g.evidence.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects.len(), 2);
    let write = g.evidence.iter().find(|e| e.subject == "write").unwrap();
    assert_eq!(write.threshold, Some(300.0));
    assert!((write.actual.unwrap() - 80.0).abs() < 2.0);
}

#[test]
fn latency_lacks_data_without_a_full_steady_state() {
    // Ten minutes of traffic: the window reaches back before it.
    let engine = engine_with(10, |_| 50.0);
    let g = latency_at(&engine, 10, &[]);
    assert_eq!(g.status, GateStatus::InsufficientData, "{}", g.reason);
    assert!(g.reason.contains("5-minute stretches"), "{}", g.reason);
    // Steps every 20 minutes over the whole 6 hours of minute data: no steady state at all.
    let engine = engine_with(120, |_| 50.0);
    let steps: Vec<_> = (-12..7).map(|k| step(k * 20)).collect();
    let g = latency_at(&engine, 120, &steps);
    assert_eq!(g.status, GateStatus::InsufficientData);
    assert!(g.reason.contains("no 30 minutes"), "{}", g.reason);
    // An open incident over the last hour and the steady state before it.
    let open = Disturbance {
        kind: "anomaly_incident".into(),
        subject: "incident-3".into(),
        from: T0 + 60 * MINUTE,
        to: T0 + 120 * MINUTE,
    };
    let g = latency_at(&engine, 120, &[open]);
    assert_eq!(g.status, GateStatus::Pass);
    assert_eq!(g.window.unwrap().to, T0 + 60 * MINUTE);
}

fn availability_slo(objective: f64) -> SloDef {
    SloDef {
        name: "wallet-availability".into(),
        description: None,
        selector: Selector {
            service: "qwallet".into(),
            ..Default::default()
        },
        sli: Sli::Availability,
        objective,
        window: SloWindow::Rolling {
            length_ms: 28 * 24 * HOUR,
        },
        budgeting: Budgeting::Occurrences,
        per_tenant: false,
        tiers: default_tiers(),
        min_events: 10,
        from_config: false,
    }
}

fn budget_gate(error_every: Option<usize>, objective: f64) -> Gate {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    engine
        .slos_mut()
        .upsert(availability_slo(objective))
        .unwrap();
    let mut n = 0usize;
    for m in 0..120 {
        let t = T0 + m * MINUTE;
        let batch: Vec<Event> = (0..50)
            .map(|k| {
                n += 1;
                let ok = error_every.is_none_or(|every| !n.is_multiple_of(every));
                event(t + k * 1_000, RequestClass::Read, 40.0, ok)
            })
            .collect();
        engine.ingest(&batch, t + 59_000);
    }
    let now = T0 + 120 * MINUTE;
    let statuses: Vec<_> = engine
        .slos_mut()
        .evaluate(now)
        .into_iter()
        .map(|e| e.status)
        .collect();
    error_budget::gate(&statuses, now, &Guardrails::default())
}

#[test]
fn error_budget_passes_fails_and_lacks_data() {
    // 99.9 % over 28 days; one error in 100,000 burns 1 % of the budget per week at most.
    let g = budget_gate(None, 0.999);
    assert_eq!(g.status, GateStatus::Pass, "{}", g.reason);
    assert_eq!(g.actual, Some(0.0));
    // One error in 1,000 is the whole budget's rate: a week burns 7/28 = 25 %.
    let g = budget_gate(Some(1_000), 0.999);
    assert_eq!(g.status, GateStatus::Fail, "{}", g.reason);
    assert!((g.actual.unwrap() - 0.25).abs() < 0.02, "{:?}", g.actual);
    assert_eq!(g.evidence[0].subject, "wallet-availability");
    // One error in 1,000 against 99 %: a week burns 2.5 %.
    let g = budget_gate(Some(1_000), 0.99);
    assert_eq!(g.status, GateStatus::Pass);
    assert!((g.actual.unwrap() - 0.025).abs() < 0.003);
    // No SLO.
    let g = error_budget::gate(&[], T0, &Guardrails::default());
    assert_eq!(g.status, GateStatus::InsufficientData);
    assert!(g.reason.contains("slos"), "{}", g.reason);
    // An SLO without events.
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    engine.slos_mut().upsert(availability_slo(0.999)).unwrap();
    let statuses: Vec<_> = engine
        .slos_mut()
        .evaluate(T0)
        .into_iter()
        .map(|e| e.status)
        .collect();
    let g = error_budget::gate(&statuses, T0, &Guardrails::default());
    assert_eq!(g.status, GateStatus::InsufficientData, "{}", g.reason);
}

/// Cacheable reads per minute for an hour: `hot` lookups in space `profiles` hitting
/// `hot_rate`, 1 in `cold` space `avatars` always missing.
fn cache_gate(hot_rate: f64, with_space: bool) -> Gate {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for m in 0..60 {
        let t = T0 + m * MINUTE;
        let mut batch = Vec::new();
        for k in 0..100 {
            let mut e = event(t + k * 500, RequestClass::Read, 5.0, true);
            let hot = k < 90;
            e.cache = Some(if hot && (k as f64) < 90.0 * hot_rate {
                CacheOutcome::Hit
            } else {
                CacheOutcome::Miss
            });
            if with_space {
                e.cache_space = Some(if hot { "profiles" } else { "avatars" }.into());
            } else {
                e.operation = if hot { "GET /profile" } else { "GET /avatar" }.into();
            }
            batch.push(e);
        }
        engine.ingest(&batch, t + 59_000);
    }
    cache::gate(&engine, T0 + 60 * MINUTE, &Guardrails::default())
}

#[test]
fn cache_judges_the_hot_set_only_and_lacks_data_without_cacheable_requests() {
    // The hot space (90 % of lookups) hits 90 %; the cold one never hits and is not judged.
    let g = cache_gate(0.9, true);
    assert_eq!(g.status, GateStatus::Pass, "{}", g.reason);
    assert_eq!(g.evidence[0].subject, "qwallet/profiles");
    assert!((g.actual.unwrap() - 0.9).abs() < 0.02);
    assert!(g
        .evidence
        .iter()
        .any(|e| e.subject == "qwallet/avatars" && e.detail.contains("not judged")));
    // 80 % on the hot space fails.
    let g = cache_gate(0.8, true);
    assert_eq!(g.status, GateStatus::Fail, "{}", g.reason);
    assert!(g.reason.contains("qwallet/profiles"), "{}", g.reason);
    // Without cache spaces: per cacheable operation.
    let g = cache_gate(0.9, false);
    assert_eq!(g.status, GateStatus::Pass, "{}", g.reason);
    assert_eq!(g.evidence[0].subject, "qwallet/GET /profile");
    assert!(g.reason.contains("cacheable operation"), "{}", g.reason);
    // No cacheable request at all.
    let engine = engine_with(30, |_| 50.0);
    let g = cache::gate(&engine, T0 + 30 * MINUTE, &Guardrails::default());
    assert_eq!(g.status, GateStatus::InsufficientData);
    assert!(g.reason.contains("cacheSpace"), "{}", g.reason);
}

/// Two days of requests costing 0.01 each, 100 per hour: 720 per 30 days.
fn costly_engine() -> Engine {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for h in 0..48 {
        let t = T0 + h * HOUR;
        let batch: Vec<Event> = (0..100)
            .map(|k| {
                let mut e = event(t + k * 30_000, RequestClass::Read, 20.0, true);
                e.cost = Some(0.01);
                e
            })
            .collect();
        engine.ingest(&batch, t + HOUR - 1);
    }
    engine
}

#[test]
fn cost_passes_under_the_ceiling_fails_over_it_and_lacks_a_budget() {
    let engine = costly_engine();
    let now = T0 + 48 * HOUR;
    let g = Guardrails::default();
    let gate =
        |budget: Option<f64>| cost::gate(&cost_report(&engine, now, budget, 0.8).unwrap(), now, &g);
    let pass = gate(Some(1_000.0));
    assert_eq!(pass.status, GateStatus::Pass, "{}", pass.reason);
    assert!(
        (pass.actual.unwrap() - 0.72).abs() < 0.01,
        "{:?}",
        pass.actual
    );
    assert_eq!(pass.evidence[0].subject, "qwallet");
    let fail = gate(Some(800.0));
    assert_eq!(fail.status, GateStatus::Fail, "{}", fail.reason);
    let none = gate(None);
    assert_eq!(none.status, GateStatus::InsufficientData);
    assert!(none.reason.contains("monthlyCostBudget"), "{}", none.reason);
}

fn capacity_engine(capacity_rps: Option<f64>) -> Engine {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    // 1 request/s for two days, capacity declared by the node every hour.
    for h in 0..48 {
        let t = T0 + h * HOUR;
        for m in 0..60 {
            let tm = t + m * MINUTE;
            let batch: Vec<Event> = (0..60)
                .map(|k| event(tm + k * 1_000, RequestClass::Read, 20.0, true))
                .collect();
            engine.ingest(&batch, tm + MINUTE - 1);
        }
        if let Some(cap) = capacity_rps {
            engine.ingest_resources(
                &[ResourceSample {
                    ts_ms: t + HOUR - 1,
                    service: "qwallet".into(),
                    node: "n1".into(),
                    cpu: Some(0.3),
                    memory: None,
                    inflight: None,
                    capacity_rps: Some(cap),
                    replicas: None,
                    cache_sizes: Vec::new(),
                }],
                t + HOUR - 1,
            );
        }
    }
    engine
}

#[test]
fn headroom_passes_fails_and_lacks_a_capacity() {
    let now = T0 + 48 * HOUR;
    let g = Guardrails::default();
    let gate = |engine: &Engine| {
        let r = capacity_report(engine, "qwallet", now, 0.3, Some(200.0)).unwrap();
        headroom::gate(&[r], now, &g)
    };
    let pass = gate(&capacity_engine(Some(10.0)));
    assert_eq!(pass.status, GateStatus::Pass, "{}", pass.reason);
    assert!(pass.actual.unwrap() > 0.8, "{:?}", pass.actual);
    let fail = gate(&capacity_engine(Some(1.2)));
    assert_eq!(fail.status, GateStatus::Fail, "{}", fail.reason);
    assert!(fail.actual.unwrap() < 0.3);
    let unknown = gate(&capacity_engine(None));
    assert_eq!(
        unknown.status,
        GateStatus::InsufficientData,
        "{}",
        unknown.reason
    );
    assert!(unknown.reason.contains("qwallet"));
    assert_eq!(
        headroom::gate(&[], now, &g).status,
        GateStatus::InsufficientData
    );
}

#[test]
fn the_verdict_is_go_only_when_every_gate_passes() {
    let gate = |status| Gate {
        status,
        ..Gate::insufficient("x", 0.0, "ratio", String::new())
    };
    use GateStatus::*;
    assert_eq!(verdict(&[gate(Pass), gate(Pass)]), Verdict::Go);
    assert_eq!(
        verdict(&[gate(Pass), gate(InsufficientData)]),
        Verdict::InsufficientData
    );
    assert_eq!(
        verdict(&[gate(Fail), gate(InsufficientData)]),
        Verdict::NoGo
    );
    assert_eq!(verdict(&[]), Verdict::InsufficientData);
    // The wire names.
    assert_eq!(serde_json::to_value(Verdict::NoGo).unwrap(), "no_go");
    assert_eq!(
        serde_json::to_value(InsufficientData).unwrap(),
        "insufficient_data"
    );
}

#[test]
fn a_young_ecosystem_is_forecast_from_its_recent_rate() {
    // Two hours of requests costing 0.01 each, 100 per hour (one every 36 s): 1.0 an hour.
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    for k in 0..200 {
        let t = T0 + k * 36_000;
        let mut e = event(t, RequestClass::Read, 20.0, true);
        e.cost = Some(0.01);
        engine.ingest(&[e], t);
    }
    let now = T0 + 2 * HOUR;
    let report = cost_report(&engine, now, Some(1_000.0), 0.8).unwrap();
    assert_eq!(report.forecast_basis, Some("recent_rate"));
    let f = report.forecast_30d.unwrap();
    assert!((f - 720.0).abs() < 15.0, "{f}");
    assert!(report.forecast_30d_upper.unwrap() >= f);
    assert!(
        report.explanation.contains("recent rate"),
        "{}",
        report.explanation
    );
    let gate = cost::gate(&report, now, &Guardrails::default());
    assert_eq!(gate.status, GateStatus::Pass, "{}", gate.reason);
    // Twenty minutes of cost is too little for either.
    let mut young = Engine::new(EngineConfig::default()).unwrap();
    for k in 0..20 {
        let t = T0 + k * 60_000;
        let mut e = event(t, RequestClass::Read, 20.0, true);
        e.cost = Some(0.01);
        young.ingest(&[e], t);
    }
    let report = cost_report(&young, T0 + 20 * 60_000, Some(1_000.0), 0.8).unwrap();
    assert_eq!(report.forecast_30d, None);
}
