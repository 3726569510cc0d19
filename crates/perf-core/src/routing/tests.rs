//! Routing scores on hand-computed cases, the balancer's safety rules, and properties:
//! weights stay in bounds, never rise when only a node's latency or errors rise, and the
//! capacity cap always holds.

use super::*;
use proptest::prelude::*;

fn node(name: &str, requests: u64, errors: u64, p95: f64, p99: f64) -> NodeInput {
    NodeInput {
        node: name.into(),
        requests,
        errors,
        recent_requests: requests / 6,
        recent_errors: errors / 6,
        p95_ms: Some(p95),
        p99_ms: Some(p99),
        rps: requests as f64 / 60.0,
        utilization: None,
        capacity_rps: None,
        anomalous: false,
        ..NodeInput::default()
    }
}

fn cfg() -> RoutingConfig {
    RoutingConfig::default()
}

#[test]
fn scores_hand_computed() {
    // Three equal nodes and one twice as slow at p95 and four times at p99.
    let inputs = vec![
        node("a", 1000, 0, 50.0, 100.0),
        node("b", 1000, 0, 50.0, 100.0),
        node("c", 1000, 0, 50.0, 100.0),
        node("d", 1000, 0, 100.0, 400.0),
    ];
    let s = score_nodes(&inputs, &cfg(), Some(200.0), 0.7);
    assert_eq!(s[0].latency_score, 1.0);
    assert_eq!(s[0].overall_score, 1.0);
    assert_eq!(s[0].recommendation, "healthy");
    // d: √(0.5 · 0.25) = 0.35355, × budget 200/400 = 0.17678.
    assert!(
        (s[3].latency_score - 0.176_777).abs() < 1e-5,
        "{}",
        s[3].latency_score
    );
    // Overall = latency^0.35 (the other scores are 1) = 0.5444.
    let want = 0.176_777f64.powf(0.35);
    assert!((s[3].overall_score - want).abs() < 1e-5);
    assert_eq!(s[3].recommendation, "degraded");
    // Target weight: overall² (the typical node scores 1).
    assert!((s[3].target_weight - want * want).abs() < 1e-5);
    assert_eq!(s[0].target_weight, 1.0);
}

#[test]
fn failures_count_however_fast() {
    // d fails 80 % of its requests in 1 ms: fastest node, lowest weight.
    let inputs = vec![
        node("a", 1000, 1, 50.0, 100.0),
        node("b", 1000, 1, 50.0, 100.0),
        node("c", 1000, 1, 50.0, 100.0),
        node("d", 1000, 800, 1.0, 2.0),
    ];
    let s = score_nodes(&inputs, &cfg(), Some(200.0), 0.7);
    assert_eq!(s[3].latency_score, 1.0);
    // Wilson lower bound of 800/1000 at 95 %: 0.77405; the best peer's upper bound, 1 in
    // 1,000: 0.00565; excess 0.7684.
    let lower = crate::compare::proportion::wilson(800, 1000, 1.96).0;
    assert!((lower - 0.774_05).abs() < 1e-4, "{lower}");
    let peer = crate::compare::proportion::wilson(1, 1000, 1.96).1;
    assert!((peer - 0.005_65).abs() < 1e-4, "{peer}");
    let want = 1.0 / (1.0 + (lower - peer) / 0.02);
    assert!((s[3].error_rate_score - want).abs() < 1e-9);
    assert_eq!(s[3].recommendation, "critical");
    assert_eq!(s[3].target_weight, 0.1, "the floor");
    // Three errors in 40 requests on a quiet node hardly count (lower bound 0.026 − 0.006).
    let quiet = vec![
        node("a", 1000, 1, 50.0, 100.0),
        node("b", 1000, 1, 50.0, 100.0),
        node("q", 40, 3, 50.0, 100.0),
    ];
    let s = score_nodes(&quiet, &cfg(), None, 0.7);
    assert!(s[2].error_rate_score > 0.4, "{}", s[2].error_rate_score);
}

#[test]
fn capacity_and_anomaly_scores() {
    let mut inputs = vec![
        node("a", 1000, 0, 50.0, 100.0),
        node("b", 1000, 0, 50.0, 100.0),
    ];
    inputs[0].utilization = Some(0.85); // halfway from 0.7 to 1: 1 − 0.5 · 0.9 = 0.55
    inputs[1].anomalous = true;
    let s = score_nodes(&inputs, &cfg(), None, 0.7);
    assert!((s[0].capacity_score - 0.55).abs() < 1e-9);
    assert_eq!(s[1].regression_score, 0.5);
    inputs[0].utilization = Some(0.6);
    assert_eq!(
        score_nodes(&inputs, &cfg(), None, 0.7)[0].capacity_score,
        1.0
    );
}

#[test]
fn low_traffic_nodes_are_neutral() {
    let inputs = vec![
        node("a", 1000, 0, 50.0, 100.0),
        node("b", 5, 5, 900.0, 900.0),
    ];
    let s = score_nodes(&inputs, &cfg(), Some(200.0), 0.7);
    assert!(s[1].low_traffic);
    assert_eq!(s[1].target_weight, 1.0);
}

#[test]
fn falls_at_once_recovers_slowly_with_slow_start() {
    let c = cfg();
    let mut b = Balancer::new();
    let healthy = vec![
        node("a", 1000, 0, 50.0, 100.0),
        node("b", 1000, 0, 50.0, 100.0),
        node("c", 1000, 0, 50.0, 100.0),
    ];
    let mut sick = healthy.clone();
    sick[2].errors = 800;
    sick[2].recent_errors = 800 / 6;
    let step = |b: &mut Balancer, inputs: &[NodeInput], t: i64| {
        let scores = score_nodes(inputs, &c, None, 0.7);
        b.update("svc", inputs, scores, t, &c)
    };
    let (r, _) = step(&mut b, &healthy, 0);
    assert!(r.nodes.iter().all(|n| n.weight == 1.0 && !n.slow_start));
    let (r, changes) = step(&mut b, &sick, 5_000);
    assert!(
        r.nodes[2].weight <= 0.15,
        "a fall applies at once: {}",
        r.nodes[2].weight
    );
    assert_eq!(r.nodes[2].score.recommendation, "critical");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].node, "c");
    // Healthy again: it leaves critical, slow-starts from 0.1 and reaches 1 after 20 s.
    let mut weights = Vec::new();
    for k in 1..=20 {
        let (r, _) = step(&mut b, &healthy, 5_000 + k * 5_000);
        weights.push(r.nodes[2].weight);
    }
    assert!(weights.windows(2).all(|w| w[1] >= w[0]), "{weights:?}");
    assert!(weights[0] < 0.4, "{weights:?}");
    assert!(weights[19] > 0.95, "{weights:?}");
    // A node that appears later slow-starts too.
    let mut more = healthy.clone();
    more.push(node("d", 1000, 0, 50.0, 100.0));
    let (r, _) = step(&mut b, &more, 200_000);
    let d = r.nodes.iter().find(|n| n.score.node == "d").unwrap();
    assert!(d.slow_start && d.weight < 0.2, "{d:?}");
}

#[test]
fn hysteresis_ignores_small_moves() {
    let c = cfg();
    let mut b = Balancer::new();
    let mut inputs = vec![
        node("a", 1000, 0, 50.0, 100.0),
        node("b", 1000, 0, 50.0, 100.0),
        node("c", 1000, 0, 50.0, 100.0),
    ];
    let scores = score_nodes(&inputs, &c, None, 0.7);
    b.update("svc", &inputs, scores, 0, &c);
    // c 3 % slower at p95 and p99: target 0.99^… ≈ 0.99, inside the 0.05 band.
    inputs[2].p95_ms = Some(51.5);
    inputs[2].p99_ms = Some(103.0);
    let scores = score_nodes(&inputs, &c, None, 0.7);
    assert!(scores[2].target_weight < 1.0);
    let (r, changes) = b.update("svc", &inputs, scores, 5_000, &c);
    assert_eq!(r.nodes[2].weight, 1.0);
    assert!(changes.is_empty());
}

#[test]
fn the_ejection_limit_and_capacity_cap_hold() {
    let c = cfg();
    // Four nodes of 100 rps capacity each serving 60 rps; three fail: only two may be cut
    // below 0.5, and the healthy ones must stay under 90 % of their capacity.
    let mut inputs: Vec<NodeInput> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| {
            let mut x = node(n, 3600, 0, 50.0, 100.0);
            x.capacity_rps = Some(100.0);
            x
        })
        .collect();
    for x in inputs.iter_mut().skip(1) {
        x.errors = 3000;
        x.recent_errors = 500;
    }
    inputs[1].errors = 3300; // the worst
    inputs[1].recent_errors = 550;
    let mut b = Balancer::new();
    let scores = score_nodes(&inputs, &c, None, 0.7);
    let (r, _) = b.update("svc", &inputs, scores, 0, &c);
    let below: Vec<&NodeWeight> = r.nodes.iter().filter(|n| n.weight < 0.5).collect();
    assert!(below.len() <= 2, "{r:?}");
    assert!(r.nodes.iter().any(|n| n.capped));
    // 240 rps in all; node a may take at most 90.
    let sum: f64 = r.nodes.iter().map(|n| n.weight).sum();
    for n in r.nodes.iter().filter(|n| n.weight >= 1.0) {
        assert!(240.0 * n.weight / sum <= 90.0 + 1e-6, "{r:?}");
    }
}

#[test]
fn exports_for_envoy_and_nginx() {
    let c = cfg();
    let inputs = vec![
        node("a", 1000, 0, 50.0, 100.0),
        node("b", 1000, 0, 100.0, 400.0),
        node("c", 1000, 0, 50.0, 100.0),
    ];
    let scores = score_nodes(&inputs, &c, Some(200.0), 0.7);
    let (r, _) = Balancer::new().update("qnet", &inputs, scores, 0, &c);
    let eds = export::envoy_eds(&r, 8080);
    assert_eq!(eds["cluster_name"], "qnet");
    let eps = eds["endpoints"][0]["lb_endpoints"].as_array().unwrap();
    assert_eq!(
        eps[0]["endpoint"]["address"]["socket_address"]["port_value"],
        8080
    );
    assert_eq!(eps[0]["load_balancing_weight"], 100);
    let wb = (r.nodes[1].weight * 100.0).round() as u64;
    assert_eq!(eps[1]["load_balancing_weight"], wb);
    let nginx = export::nginx_upstream(&r, 80);
    assert!(
        nginx.starts_with("upstream qnet {\n    server a:80 weight=10;\n"),
        "{nginx}"
    );
}

fn arb_inputs() -> impl Strategy<Value = Vec<NodeInput>> {
    prop::collection::vec(
        (
            0u64..5000,
            0.0f64..1.0,
            1.0f64..500.0,
            1.0f64..4.0,
            prop::option::of(0.0f64..1.0),
            any::<bool>(),
        ),
        1..8,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (req, err, p95, tail, util, anomalous))| NodeInput {
                node: format!("n{i}"),
                requests: req,
                errors: (req as f64 * err * err) as u64,
                recent_requests: req / 6,
                recent_errors: (req as f64 * err * err) as u64 / 6,
                p95_ms: Some(p95),
                p99_ms: Some(p95 * tail),
                rps: req as f64 / 60.0,
                utilization: util,
                capacity_rps: Some(200.0),
                anomalous,
                ..NodeInput::default()
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn weights_stay_in_bounds_and_the_cap_holds(inputs in arb_inputs()) {
        let c = cfg();
        let scores = score_nodes(&inputs, &c, Some(200.0), 0.7);
        for s in &scores {
            for v in [s.latency_score, s.error_rate_score, s.capacity_score, s.regression_score, s.overall_score] {
                prop_assert!((0.0..=1.0).contains(&v));
            }
        }
        let (r, _) = Balancer::new().update("svc", &inputs, scores, 0, &c);
        for n in &r.nodes {
            prop_assert!(n.weight >= c.min_weight - 1e-12 && n.weight <= c.max_weight + 1e-12);
        }
        let below = r.nodes.iter().filter(|n| n.weight < 0.5).count();
        prop_assert!(below <= (c.max_ejected_share * r.nodes.len() as f64).floor() as usize);
        // No node is sent more than 90 % of its capacity (200 rps), or more than an even
        // split when that is already more.
        let total: f64 = inputs.iter().map(|n| n.rps).sum();
        let sum: f64 = r.nodes.iter().map(|n| n.weight).sum();
        let even = total / inputs.len() as f64;
        for n in &r.nodes {
            prop_assert!(total * n.weight / sum <= (0.9 * 200.0f64).max(even) + 1e-6, "{r:?}");
        }
    }

    #[test]
    fn a_weight_never_rises_when_only_its_latency_or_errors_rise(
        inputs in arb_inputs(),
        which in 0usize..8,
        factor in 1.0f64..5.0,
        extra in 0u64..1000,
    ) {
        let c = cfg();
        let i = which % inputs.len();
        let before = score_nodes(&inputs, &c, Some(200.0), 0.7)[i].target_weight;
        let mut worse = inputs.clone();
        worse[i].p95_ms = worse[i].p95_ms.map(|p| p * factor);
        worse[i].p99_ms = worse[i].p99_ms.map(|p| p * factor);
        // Errors rise in both windows alike: more failures in the past with a clean present
        // is evidence of recovery, not more of the same (`recovered`).
        worse[i].errors = (worse[i].errors + extra).min(worse[i].requests);
        worse[i].recent_errors =
            (worse[i].recent_errors + extra / 6).min(worse[i].recent_requests);
        let after = score_nodes(&worse, &c, Some(200.0), 0.7)[i].target_weight;
        prop_assert!(after <= before + 1e-9, "{before} → {after}");
    }
}

#[test]
fn a_burst_counts_in_the_fast_window_before_the_minute_notices() {
    let mut inputs = vec![
        node("a", 6000, 0, 50.0, 100.0),
        node("b", 6000, 0, 50.0, 100.0),
        node("c", 6000, 40, 50.0, 100.0),
    ];
    // c: 40 errors in a minute of 6,000 (0.7 %), all of them in the last 10 s of 1,000.
    inputs[2].recent_errors = 40;
    let s = score_nodes(&inputs, &cfg(), None, 0.7);
    let minute_only = 1.0 / (1.0 + crate::compare::proportion::wilson(40, 6000, 1.96).0 / 0.02);
    let peer = crate::compare::proportion::wilson(0, 1000, 1.96).1;
    let recent = 1.0 / (1.0 + (crate::compare::proportion::wilson(40, 1000, 1.96).0 - peer) / 0.02);
    assert!((s[2].error_rate_score - recent).abs() < 1e-12);
    assert!(s[2].error_rate_score < minute_only);
}

/// A node that failed 75 % of a minute and whose last 10 s are clean: the old failures stop
/// counting at once (`recovered`), it leaves critical and slow-starts over 20 s; a relapse
/// during the ramp drops it again at the next evaluation.
#[test]
fn a_healed_node_recovers_by_evidence_and_a_relapse_drops_it_again() {
    let c = cfg();
    let mut b = Balancer::new();
    let mut inputs: Vec<NodeInput> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| node(n, 1200, 0, 50.0, 100.0))
        .collect();
    // Failing: 75 % over the minute and over the last 10 s.
    inputs[3].errors = 900;
    inputs[3].recent_errors = 150;
    let step = |b: &mut Balancer, inputs: &[NodeInput], t: i64| {
        let scores = score_nodes(inputs, &c, None, 0.7);
        b.update("svc", inputs, scores, t, &c)
    };
    let (r, _) = step(&mut b, &inputs, 0);
    assert_eq!(r.nodes[3].score.recommendation, "critical");
    assert!(r.nodes[3].weight <= 0.15);
    // Healed: the minute still holds 600 failures, the fast window 40 requests, none failed.
    inputs[3].errors = 600;
    inputs[3].recent_requests = 40;
    inputs[3].recent_errors = 0;
    let scores = score_nodes(&inputs, &c, None, 0.7);
    assert!(scores[3].recovered, "{:?}", scores[3]);
    assert_eq!(scores[3].error_rate_score, 1.0);
    let (r, _) = step(&mut b, &inputs, 10_000);
    assert!(r.nodes[3].slow_start, "{:?}", r.nodes[3]);
    let ramping = r.nodes[3].weight;
    let (r, _) = step(&mut b, &inputs, 20_000);
    assert!(
        r.nodes[3].weight > ramping && r.nodes[3].weight >= 0.5,
        "{:?}",
        r.nodes[3]
    );
    // A relapse in the fast window: down at once, whatever the ramp.
    inputs[3].recent_errors = 20;
    let (r, _) = step(&mut b, &inputs, 25_000);
    assert!(r.nodes[3].weight <= 0.15, "{:?}", r.nodes[3]);
    // Too few requests in the fast window: no evidence either way, the minute counts.
    inputs[3].recent_requests = 5;
    inputs[3].recent_errors = 0;
    let scores = score_nodes(&inputs, &c, None, 0.7);
    assert!(!scores[3].recovered);
    assert!(scores[3].error_rate_score < 0.1);
    // A node whose clean fast window says nothing new (its minute is as clean) is not
    // "recovered": there is nothing to recover from.
    assert!(!scores[0].recovered);
}

/// Latency in the fast window: a node with 40 % of its last 10 s over the peers' p95 loses
/// weight before its minute's p95 moves; 5 % (what a node as fast as its peers shows) does
/// nothing, and neither does a handful of requests.
#[test]
fn a_node_slow_in_the_last_seconds_drops_and_noise_does_not_move_it() {
    let c = cfg();
    let fast = |slow: u64, recent: u64, p95: f64| {
        let mut inputs: Vec<NodeInput> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| {
                let mut x = node(n, 1200, 0, 50.0, 100.0);
                x.recent_requests = 200;
                x.recent_slow = 10;
                x.recent_p95_ms = Some(50.0);
                x.peer_recent_p95_ms = Some(50.0);
                x
            })
            .collect();
        inputs[3].recent_requests = recent;
        inputs[3].recent_slow = slow;
        inputs[3].recent_p95_ms = Some(p95);
        score_nodes(&inputs, &c, None, 0.7)
    };
    let s = fast(80, 200, 200.0);
    assert!(s[3].slow_now);
    assert!(s[3].latency_score <= 0.25 + 1e-9, "{:?}", s[3]);
    assert!(s[3].target_weight < 0.6, "{:?}", s[3]);
    assert_eq!(s[0].latency_score, 1.0);
    // Noise: the expected 5 % over the peers' p95, or a bit more by chance.
    for slow in [10, 15, 20] {
        let s = fast(slow, 200, 60.0);
        assert!(!s[3].slow_now, "{slow} of 200");
        assert_eq!(s[3].target_weight, 1.0, "{slow} of 200");
    }
    // Three slow requests of four: too few to judge.
    let s = fast(3, 4, 300.0);
    assert!(!s[3].slow_now);
}

/// Ten minutes of noise on a healthy cluster: binomial errors and slow requests at the
/// rates every node shares; every weight stays within 0.9–1.1.
#[test]
fn a_healthy_cluster_does_not_flap() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let c = cfg();
    let mut b = Balancer::new();
    let mut rng = StdRng::seed_from_u64(21);
    let mut binomial = |n: u64, p: f64| (0..n).filter(|_| rng.random::<f64>() < p).count() as u64;
    for step in 0..60 {
        let inputs: Vec<NodeInput> = (0..8)
            .map(|i| {
                let recent = 150;
                NodeInput {
                    node: format!("n{i}"),
                    requests: 900,
                    errors: binomial(900, 0.01),
                    recent_requests: recent,
                    recent_errors: binomial(recent, 0.01),
                    recent_slow: binomial(recent, 0.05),
                    recent_p95_ms: Some(50.0 + binomial(10, 0.5) as f64),
                    peer_recent_p95_ms: Some(55.0),
                    p95_ms: Some(50.0 + binomial(10, 0.5) as f64 / 2.0),
                    p99_ms: Some(100.0 + binomial(10, 0.5) as f64),
                    rps: 15.0,
                    ..NodeInput::default()
                }
            })
            .collect();
        let scores = score_nodes(&inputs, &c, None, 0.7);
        let (r, _) = b.update("svc", &inputs, scores, step * 10_000, &c);
        for n in &r.nodes {
            assert!(
                (0.9..=1.1).contains(&n.weight),
                "step {step}: {} at {}",
                n.score.node,
                n.weight
            );
        }
    }
}

/// Weights of `nodes` nodes scored through a real engine every 10 s over `minutes`: each
/// node serves 40 requests a second, as the demo's generator makes them — a mix of a slow
/// operation (70 %, lognormal median 100 ms, σ 0.5) and a fast one (median 30 ms), 0.5 % of
/// them times a Pareto(1, 1.6) tail capped at 50 — times its factor in `slow`, against a
/// 150 ms p99 budget every node misses (as the demo's qflow does). Each node's lowest and
/// highest weight after the first minute.
fn sampled_weights(nodes: usize, slow: &[f64], minutes: i64, seed: u64) -> Vec<(f64, f64)> {
    use crate::{Engine, EngineConfig, Event};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, LogNormal, Pareto};
    let c = cfg();
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let mut b = Balancer::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let slow_op = LogNormal::new(100f64.ln(), 0.5).unwrap();
    let fast_op = LogNormal::new(30f64.ln(), 0.5).unwrap();
    let tail: Pareto<f64> = Pareto::new(1.0, 1.6).unwrap();
    let t0 = 1_764_000_000_000i64;
    let mut range = vec![(f64::MAX, f64::MIN); nodes];
    for step in 1..=minutes * 6 {
        let now = t0 + step * 10_000;
        let mut events = Vec::new();
        for node in 0..nodes {
            for _ in 0..400 {
                let mut ms: f64 = if rng.random_bool(0.7) {
                    slow_op.sample(&mut rng)
                } else {
                    fast_op.sample(&mut rng)
                };
                if rng.random_bool(0.005) {
                    ms *= tail.sample(&mut rng).min(50.0);
                }
                let mut e = Event::new(
                    now - rng.random_range(0..10_000),
                    "svc",
                    "GET /x",
                    ms * slow.get(node).copied().unwrap_or(1.0),
                );
                e.node = format!("n{node}");
                events.push(e);
            }
        }
        events.sort_by_key(|e| e.ts_ms);
        engine.ingest(&events, now);
        let inputs =
            node_inputs(&engine, "service_node", "svc", now, c.window, c.fast_window).unwrap();
        let scores = score_nodes(&inputs, &c, Some(150.0), 0.7);
        let (r, _) = b.update("svc", &inputs, scores, now, &c);
        if step > 6 {
            for n in &r.nodes {
                let i: usize = n.score.node[1..].parse().unwrap();
                range[i] = (range[i].0.min(n.weight), range[i].1.max(n.weight));
            }
        }
    }
    range
}

/// A healthy cluster's p95 and p99 are noisy (a minute's p99 of 2,400 requests rests on 24,
/// and the generator's tail makes it jump): compared as point estimates they moved the demo's
/// healthy qflow nodes to 0.88. Only significant slowness counts now. Twelve clusters (three
/// or eight equal nodes, ten minutes each): at most one node of the 50 leaves 0.9–1.1 (over
/// seeds 10–39, 1 of 140 nodes did, against 44 of 140 when the ratios counted as measured);
/// and a node 1.5× slower than its peers still loses its traffic.
#[test]
fn a_healthy_cluster_with_sampled_latencies_does_not_flap() {
    let mut outside = Vec::new();
    for seed in 0..12u64 {
        let nodes = if seed % 3 == 0 { 8 } else { 3 };
        for (i, (lo, hi)) in sampled_weights(nodes, &[], 10, seed)
            .into_iter()
            .enumerate()
        {
            if !(lo >= 0.9 && hi <= 1.1) {
                outside.push(format!(
                    "{nodes} nodes, seed {seed}: n{i} between {lo} and {hi}"
                ));
            }
        }
    }
    assert!(outside.len() <= 1, "{outside:#?}");
    let slow = sampled_weights(3, &[1.0, 1.5, 1.0], 3, 4);
    assert!(slow[1].1 < 0.7, "the slow node: {:?}", slow[1]);
}
