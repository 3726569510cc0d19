//! Behaviour of the gate and the rollout state machine on seeded synthetic samples.

use super::gate::{OperationStatus, Verdict};
use super::rollout::{Decision, Rollout, RolloutSpec, RolloutState};
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::collections::BTreeMap;

fn lognormal(
    n: usize,
    scale: f64,
    slow_share: f64,
    errors: f64,
    rng: &mut StdRng,
) -> OperationSample {
    let d = LogNormal::new(40f64.ln(), 0.5).unwrap();
    let mut s = OperationSample::default();
    for _ in 0..n {
        let mut x = d.sample(rng) * scale;
        if rng.random::<f64>() < slow_share {
            x *= 4.0;
        }
        s.requests += 1;
        s.errors += u64::from(rng.random::<f64>() < errors);
        s.latency.insert(x);
    }
    s
}

fn ops(pairs: Vec<(&str, OperationSample)>) -> BTreeMap<String, OperationSample> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn a_clean_candidate_proceeds_and_a_slow_tail_blocks_with_an_explanation() {
    let mut rng = StdRng::seed_from_u64(1);
    let base = ops(vec![(
        "GET /a",
        lognormal(20_000, 1.0, 0.0, 0.001, &mut rng),
    )]);
    let good = ops(vec![(
        "GET /a",
        lognormal(20_000, 1.01, 0.0, 0.001, &mut rng),
    )]);
    let bad = ops(vec![(
        "GET /a",
        lognormal(20_000, 1.0, 0.05, 0.001, &mut rng),
    )]);
    let cfg = GateConfig::default();
    let ok = evaluate(&base, &good, &cfg, None);
    assert_eq!(ok.recommendation, Recommendation::Proceed, "{}", ok.summary);
    assert!(ok.passed && ok.violations.is_empty());
    let blocked = evaluate(&base, &bad, &cfg, None);
    assert_eq!(blocked.recommendation, Recommendation::BlockDeployment);
    let v = blocked
        .violations
        .iter()
        .find(|v| v.kind == "p99_latency_degradation")
        .unwrap();
    assert!(v.current > v.threshold && v.threshold > v.baseline);
    let p99 = blocked.operations[0]
        .metrics
        .iter()
        .find(|m| m.metric == metric::Metric::P99)
        .unwrap();
    assert_eq!(p99.verdict, Verdict::Regressed);
    assert!(p99.explanation.contains("p99") && p99.explanation.contains('%'));
}

#[test]
fn no_data_is_never_a_pass() {
    let mut rng = StdRng::seed_from_u64(2);
    let base = ops(vec![("GET /a", lognormal(5_000, 1.0, 0.0, 0.0, &mut rng))]);
    let cfg = GateConfig::default();
    let empty = evaluate(&base, &BTreeMap::new(), &cfg, None);
    assert_eq!(empty.recommendation, Recommendation::InsufficientData);
    assert!(!empty.passed);
    let few = ops(vec![("GET /a", lognormal(300, 1.0, 0.0, 0.0, &mut rng))]);
    let out = evaluate(&base, &few, &cfg, None);
    assert_eq!(
        out.recommendation,
        Recommendation::InsufficientData,
        "{}",
        out.summary
    );
    let p99 = &out.operations[0].metrics[2];
    assert_eq!(p99.verdict, Verdict::InsufficientData);
    assert!(p99.explanation.contains("1000"), "{}", p99.explanation);
}

#[test]
fn operations_on_one_side_only_are_reported_and_rare_ones_do_not_block_a_decision() {
    let mut rng = StdRng::seed_from_u64(3);
    let base = ops(vec![
        ("GET /a", lognormal(20_000, 1.0, 0.0, 0.0, &mut rng)),
        ("GET /old", lognormal(50, 1.0, 0.0, 0.0, &mut rng)),
    ]);
    let cand = ops(vec![
        ("GET /a", lognormal(20_000, 1.0, 0.0, 0.0, &mut rng)),
        ("GET /new", lognormal(20, 1.0, 0.0, 0.0, &mut rng)),
    ]);
    let out = evaluate(&base, &cand, &GateConfig::default(), None);
    let status = |n: &str| {
        out.operations
            .iter()
            .find(|o| o.operation == n)
            .unwrap()
            .status
    };
    assert_eq!(status("GET /old"), OperationStatus::MissingInCandidate);
    assert_eq!(status("GET /new"), OperationStatus::NewInCandidate);
    assert_eq!(
        out.recommendation,
        Recommendation::Proceed,
        "{}",
        out.summary
    );
}

#[test]
fn an_error_rate_jump_is_a_violation_and_a_small_one_is_not() {
    let mut rng = StdRng::seed_from_u64(4);
    let base = ops(vec![(
        "POST /b",
        lognormal(20_000, 1.0, 0.0, 0.002, &mut rng),
    )]);
    let worse = ops(vec![(
        "POST /b",
        lognormal(20_000, 1.0, 0.0, 0.02, &mut rng),
    )]);
    let slightly = ops(vec![(
        "POST /b",
        lognormal(20_000, 1.0, 0.0, 0.003, &mut rng),
    )]);
    let cfg = GateConfig::default();
    let out = evaluate(&base, &worse, &cfg, None);
    assert!(out
        .violations
        .iter()
        .any(|v| v.kind == "error_rate_increase"));
    let out = evaluate(&base, &slightly, &cfg, None);
    assert!(out.violations.is_empty(), "{:?}", out.violations);
}

#[test]
fn holm_correction_counts_every_test() {
    let mut rng = StdRng::seed_from_u64(5);
    let many: Vec<(String, OperationSample)> = (0..20)
        .map(|i| (format!("op{i}"), lognormal(3_000, 1.0, 0.0, 0.0, &mut rng)))
        .collect();
    let base: BTreeMap<_, _> = many.into_iter().collect();
    let cand: BTreeMap<_, _> = base
        .keys()
        .map(|k| (k.clone(), lognormal(3_000, 1.0, 0.0, 0.0, &mut rng)))
        .collect();
    let out = evaluate(&base, &cand, &GateConfig::default(), None);
    assert_eq!(out.tests, 20 * 4);
    assert!(out.violations.is_empty());
}

fn spec() -> RolloutSpec {
    RolloutSpec {
        service: "qnet".into(),
        baseline_version: "v1".into(),
        canary_version: "v2".into(),
        steps: vec![10, 50, 100],
        min_step_duration: 60_000,
        max_burn_rate: 6.0,
        analysis: None,
    }
}

#[test]
fn a_clean_canary_is_promoted_step_by_step_after_the_dwell_time() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut r = Rollout::start("r1".into(), spec(), 0).unwrap();
    let cfg = GateConfig::default();
    let mut decisions = Vec::new();
    for look in 1..=8 {
        let n = 4_000 * look;
        let b = ops(vec![("GET /a", lognormal(n, 1.0, 0.0, 0.0, &mut rng))]);
        let c = ops(vec![("GET /a", lognormal(n / 2, 1.0, 0.0, 0.0, &mut rng))]);
        let e = r.evaluate(&b, &c, &[], &cfg, look as i64 * 40_000);
        decisions.push((e.decision, e.weight));
        if r.state != RolloutState::Running {
            break;
        }
    }
    assert_eq!(r.state, RolloutState::Completed, "{decisions:?}");
    assert!(decisions.contains(&(Decision::Hold, 10)));
    assert!(decisions.contains(&(Decision::Promote, 50)));
    assert_eq!(decisions.last(), Some(&(Decision::Complete, 100)));
    // Ended: further evaluations change nothing.
    let e = r.evaluate(&BTreeMap::new(), &BTreeMap::new(), &[], &cfg, 1_000_000);
    assert_eq!((e.decision, e.weight), (Decision::Complete, 100));
}

#[test]
fn a_canary_with_a_p99_regression_is_rolled_back_with_reasons() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut r = Rollout::start("r2".into(), spec(), 0).unwrap();
    let b = ops(vec![("GET /a", lognormal(30_000, 1.0, 0.0, 0.0, &mut rng))]);
    let c = ops(vec![("GET /a", lognormal(5_000, 1.0, 0.06, 0.0, &mut rng))]);
    let e = r.evaluate(&b, &c, &[], &GateConfig::default(), 10_000);
    assert_eq!(e.decision, Decision::Rollback, "{:?}", e.reasons);
    assert_eq!(e.weight, 0);
    assert!(e
        .reasons
        .iter()
        .any(|x| x.contains("p99_latency_degradation")));
    assert_eq!(r.history.len(), 1);
}

#[test]
fn rollout_specs_are_checked() {
    let mut s = spec();
    s.steps = vec![50, 10, 100];
    assert!(Rollout::start("x".into(), s, 0).is_err());
    let mut s = spec();
    s.canary_version = "v1".into();
    assert!(Rollout::start("x".into(), s, 0).is_err());
    let mut s = spec();
    s.steps = vec![5, 50];
    assert!(Rollout::start("x".into(), s, 0).is_err());
}
