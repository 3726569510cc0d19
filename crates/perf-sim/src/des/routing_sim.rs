//! Scenario A: ten nodes of four workers each (mean service times 10, 10, 10, 10, 15, 15,
//! 20, 10, 10, 10 ms, exponential), Poisson arrivals at 70 % of the total capacity for 240 s.
//! Node 3 becomes ten times slower from 60 to 120 s; node 7 fails 80 % of its requests
//! within 1 ms from 120 to 180 s. Each node queues what its workers cannot take (FIFO).
//!
//! The ecosystem-perf router's weights are recomputed every simulated second in a closed
//! loop: completed requests are ingested into a real [`perf_core::Engine`] (default
//! resolutions, a (service, node) view), and [`perf_core::routing::node_inputs`],
//! [`perf_core::routing::score_nodes`] and the [`perf_core::routing::Balancer`] turn them into
//! weights with the default `routing` settings — the server's code path.
//!
//! Reported per router: p50 / p99 / p99.9 of successful requests (arrival to completion),
//! the error rate per phase, the bad node's share of requests during its incident, the
//! time until its share first falls under half its fair share (5 %) for a whole second, and
//! after it heals the time until it is back: the first second from which its share over the
//! next 5 s is at least half, and at least 90 %, of its fair share (1/n, what round robin
//! gives it).

use super::routers::{LeastPending, PeakEwma, RoundRobin, Router, Weighted};
use super::stats::quantile;
use perf_core::routing::{node_inputs, score_nodes, Balancer, RoutingConfig};
use perf_core::{Engine, EngineConfig, Event};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const US: u64 = 1_000_000;
/// Wall-clock origin of the simulated events (any fixed instant).
const ORIGIN_MS: i64 = 1_767_225_600_000;

/// The scenario's settings.
#[derive(Debug, Clone)]
pub struct ScenarioA {
    /// Mean service time per node, ms.
    pub service_ms: Vec<f64>,
    /// Workers per node.
    pub workers: usize,
    /// Offered load as a share of total capacity.
    pub load: f64,
    /// Length, s.
    pub duration_s: u64,
    /// The node that slows down, and when (s).
    pub slow: (usize, u64, u64),
    /// Its slowdown factor.
    pub slow_factor: f64,
    /// The node that fails fast, and when (s).
    pub failing: (usize, u64, u64),
    /// Share of its requests that fail.
    pub fail_share: f64,
}

impl Default for ScenarioA {
    fn default() -> Self {
        ScenarioA {
            service_ms: vec![10.0, 10.0, 10.0, 10.0, 15.0, 15.0, 20.0, 10.0, 10.0, 10.0],
            workers: 4,
            load: 0.7,
            duration_s: 240,
            slow: (3, 60, 120),
            slow_factor: 10.0,
            failing: (7, 120, 180),
            fail_share: 0.8,
        }
    }
}

/// The routers compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterKind {
    /// Round robin.
    RoundRobin,
    /// P2C least pending.
    LeastPending,
    /// P2C Peak-EWMA.
    PeakEwma,
    /// ecosystem-perf weights.
    EcosystemPerf,
}

impl RouterKind {
    /// All, in table order.
    pub const ALL: [RouterKind; 4] = [
        RouterKind::RoundRobin,
        RouterKind::LeastPending,
        RouterKind::PeakEwma,
        RouterKind::EcosystemPerf,
    ];
}

/// One run's results.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Router name.
    pub router: &'static str,
    /// p50, p99, p99.9 of successful requests, ms.
    pub p50: f64,
    /// p99.
    pub p99: f64,
    /// p99.9.
    pub p999: f64,
    /// Error rate per phase (0–60, 60–120, 120–180, 180–240 s by arrival).
    pub error_rate: [f64; 4],
    /// Share of requests sent to the slow node during its incident.
    pub slow_share: f64,
    /// Share sent to the failing node during its incident.
    pub failing_share: f64,
    /// Seconds until the slow node's share first fell under 5 % for a second (None: never).
    pub slow_shift_s: Option<f64>,
    /// Same for the failing node.
    pub failing_shift_s: Option<f64>,
    /// Seconds from the slow node's healing until its share over the next 5 s reaches half,
    /// and 90 %, of its fair share (None: not before the run ends).
    pub slow_back_s: [Option<f64>; 2],
    /// Same for the failing node.
    pub failing_back_s: [Option<f64>; 2],
    /// Requests completed.
    pub completed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Arrival,
    Done { node: usize, arrived: u64, ok: bool },
    Tick,
}

struct Node {
    busy: usize,
    queue: VecDeque<u64>,
}

/// Runs the scenario with one router and seed.
pub fn run(s: &ScenarioA, kind: RouterKind, seed: u64) -> RunResult {
    let n = s.service_ms.len();
    let mut rng = StdRng::seed_from_u64(seed);
    let capacity: f64 = s
        .service_ms
        .iter()
        .map(|m| s.workers as f64 * 1000.0 / m)
        .sum();
    let arrivals = Exp::new(s.load * capacity / US as f64).expect("positive rate");
    let initial_rtt = 10_000.0;
    let mut router: Box<dyn Router> = match kind {
        RouterKind::RoundRobin => Box::new(RoundRobin::new(n)),
        RouterKind::LeastPending => Box::new(LeastPending::new(n)),
        RouterKind::PeakEwma => Box::new(PeakEwma::new(n, initial_rtt)),
        RouterKind::EcosystemPerf => Box::new(Weighted::new(n, initial_rtt)),
    };
    let closed_loop = kind == RouterKind::EcosystemPerf;
    let mut engine = closed_loop.then(|| {
        let mut c = EngineConfig::default();
        c.views.retain(|v| v.name == "service_node");
        Engine::new(c).expect("valid engine config")
    });
    let routing = RoutingConfig::default();
    let mut balancer = Balancer::new();
    let names: Vec<String> = (0..n).map(|i| format!("node-{i}")).collect();
    let mut pending_events: Vec<Event> = Vec::new();

    let end = s.duration_s * US;
    let mut heap: BinaryHeap<Reverse<(u64, u64, Kind)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(u64, u64, Kind)>>, t: u64, k: Kind| {
        seq += 1;
        heap.push(Reverse((t, seq, k)));
    };
    push(&mut heap, 0, Kind::Arrival);
    if closed_loop {
        push(&mut heap, US, Kind::Tick);
    }
    let mut nodes: Vec<Node> = (0..n)
        .map(|_| Node {
            busy: 0,
            queue: VecDeque::new(),
        })
        .collect();
    let mut latencies: Vec<f64> = Vec::new();
    let mut phase_total = [0u64; 4];
    let mut phase_errors = [0u64; 4];
    let seconds = s.duration_s as usize;
    let mut sent = vec![vec![0u32; n]; seconds];
    let mut completed = 0u64;

    // Starts a request on `node` at `t`: a service time, or a fast failure.
    let start = |node: usize, t: u64, arrived: u64, rng: &mut StdRng| -> (u64, Kind) {
        let secs = t / US;
        let failing = node == s.failing.0 && (s.failing.1..s.failing.2).contains(&secs);
        if failing && rng.random::<f64>() < s.fail_share {
            return (
                t + 1_000,
                Kind::Done {
                    node,
                    arrived,
                    ok: false,
                },
            );
        }
        let mut mean = s.service_ms[node];
        if node == s.slow.0 && (s.slow.1..s.slow.2).contains(&secs) {
            mean *= s.slow_factor;
        }
        let d = Exp::new(1.0 / mean).expect("positive").sample(rng);
        (
            t + (d * 1000.0).max(1.0) as u64,
            Kind::Done {
                node,
                arrived,
                ok: true,
            },
        )
    };

    while let Some(Reverse((t, _, kind_of))) = heap.pop() {
        match kind_of {
            Kind::Arrival => {
                if t >= end {
                    continue;
                }
                let node = router.pick(t, &mut rng);
                sent[(t / US) as usize][node] += 1;
                if nodes[node].busy < s.workers {
                    nodes[node].busy += 1;
                    let (at, k) = start(node, t, t, &mut rng);
                    push(&mut heap, at, k);
                } else {
                    nodes[node].queue.push_back(t);
                }
                let gap = arrivals.sample(&mut rng) as u64;
                push(&mut heap, t + gap.max(1), Kind::Arrival);
            }
            Kind::Done { node, arrived, ok } => {
                completed += 1;
                let rtt = t - arrived;
                router.done(node, t, rtt, ok);
                let phase = ((arrived / US) as usize * 4 / seconds).min(3);
                phase_total[phase] += 1;
                if ok {
                    latencies.push(rtt as f64 / 1000.0);
                } else {
                    phase_errors[phase] += 1;
                }
                if closed_loop {
                    let mut e = Event::new(
                        ORIGIN_MS + (t / 1000) as i64,
                        "svc",
                        "call",
                        rtt as f64 / 1000.0,
                    );
                    e.node = names[node].clone();
                    e.ok = ok;
                    pending_events.push(e);
                }
                if let Some(next) = nodes[node].queue.pop_front() {
                    let (at, k) = start(node, t, next, &mut rng);
                    push(&mut heap, at, k);
                } else {
                    nodes[node].busy -= 1;
                }
            }
            Kind::Tick => {
                if let Some(engine) = engine.as_mut() {
                    let now = ORIGIN_MS + (t / 1000) as i64;
                    engine.ingest(&pending_events, now);
                    pending_events.clear();
                    if let Ok(inputs) = node_inputs(
                        engine,
                        "service_node",
                        "svc",
                        now,
                        routing.window,
                        routing.fast_window,
                    ) {
                        let scores = score_nodes(&inputs, &routing, None, 0.7);
                        let (report, _) = balancer.update("svc", &inputs, scores, now, &routing);
                        let mut weights = vec![1.0; n];
                        for w in &report.nodes {
                            if let Some(i) = names.iter().position(|x| *x == w.score.node) {
                                weights[i] = w.weight;
                            }
                        }
                        router.set_weights(&weights);
                    }
                }
                if t + US < end {
                    push(&mut heap, t + US, Kind::Tick);
                }
            }
        }
    }
    latencies.sort_by(f64::total_cmp);
    let share = |node: usize, (_, from, to): (usize, u64, u64)| -> f64 {
        let (mine, all) = (from as usize..to as usize).fold((0u64, 0u64), |(m, a), sec| {
            (
                m + u64::from(sent[sec][node]),
                a + sent[sec].iter().map(|&x| u64::from(x)).sum::<u64>(),
            )
        });
        mine as f64 / all.max(1) as f64
    };
    let shift = |node: usize, (_, from, to): (usize, u64, u64)| -> Option<f64> {
        (from as usize..to as usize)
            .find(|&sec| {
                let all: u32 = sent[sec].iter().sum();
                all > 0 && f64::from(sent[sec][node]) / f64::from(all) < 0.5 / n as f64
            })
            .map(|sec| (sec - from as usize) as f64 + 1.0)
    };
    // Back after healing: the first second from which the node's share of the next 5 s
    // reaches `part` of its fair share.
    let back = |node: usize, (_, _, healed): (usize, u64, u64), part: f64| -> Option<f64> {
        const SPAN: usize = 5;
        let fair = 1.0 / n as f64;
        (healed as usize..sent.len().saturating_sub(SPAN - 1))
            .find(|&sec| {
                let (mine, all) = (sec..sec + SPAN).fold((0u64, 0u64), |(m, a), t| {
                    (
                        m + u64::from(sent[t][node]),
                        a + sent[t].iter().map(|&x| u64::from(x)).sum::<u64>(),
                    )
                });
                all > 0 && mine as f64 / all as f64 >= part * fair
            })
            .map(|sec| (sec - healed as usize) as f64)
    };
    RunResult {
        router: router.name(),
        p50: quantile(&latencies, 0.5).unwrap_or(f64::NAN),
        p99: quantile(&latencies, 0.99).unwrap_or(f64::NAN),
        p999: quantile(&latencies, 0.999).unwrap_or(f64::NAN),
        error_rate: std::array::from_fn(|i| phase_errors[i] as f64 / phase_total[i].max(1) as f64),
        slow_share: share(s.slow.0, s.slow),
        failing_share: share(s.failing.0, s.failing),
        slow_shift_s: shift(s.slow.0, s.slow),
        failing_shift_s: shift(s.failing.0, s.failing),
        slow_back_s: [back(s.slow.0, s.slow, 0.5), back(s.slow.0, s.slow, 0.9)],
        failing_back_s: [
            back(s.failing.0, s.failing, 0.5),
            back(s.failing.0, s.failing, 0.9),
        ],
        completed,
    }
}

/// The table of scenario A over `seeds` seeds (1, 2, …): per router, mean ± 95 % interval.
pub fn table(s: &ScenarioA, seeds: u64) -> Vec<[String; 12]> {
    use super::stats::format_ci;
    RouterKind::ALL
        .iter()
        .map(|&k| {
            let runs: Vec<RunResult> = (1..=seeds).map(|seed| run(s, k, seed)).collect();
            let col = |f: &dyn Fn(&RunResult) -> f64, d: usize| {
                format_ci(&runs.iter().map(f).collect::<Vec<_>>(), d)
            };
            let shift = |f: &dyn Fn(&RunResult) -> Option<f64>| {
                let v: Vec<f64> = runs.iter().filter_map(f).collect();
                if v.len() < runs.len() {
                    format!("never in {} of {}", runs.len() - v.len(), runs.len())
                } else {
                    format_ci(&v, 1)
                }
            };
            [
                runs[0].router.to_string(),
                col(&|r| r.p50, 1),
                col(&|r| r.p99, 1),
                col(&|r| r.p999, 1),
                col(&|r| r.error_rate[2] * 100.0, 2),
                col(
                    &|r| (r.error_rate[0] + r.error_rate[1] + r.error_rate[3]) * 100.0 / 3.0,
                    3,
                ),
                col(&|r| r.slow_share * 100.0, 2),
                shift(&|r| r.slow_shift_s),
                col(&|r| r.failing_share * 100.0, 2),
                shift(&|r| r.failing_shift_s),
                format!(
                    "{} / {}",
                    shift(&|r| r.slow_back_s[0]),
                    shift(&|r| r.slow_back_s[1])
                ),
                format!(
                    "{} / {}",
                    shift(&|r| r.failing_back_s[0]),
                    shift(&|r| r.failing_back_s[1])
                ),
            ]
        })
        .collect()
}

/// Column heads of [`table`].
pub const TABLE_HEADS: [&str; 12] = [
    "router",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "errors % (fail-fast phase)",
    "errors % (other phases)",
    "slow node share %",
    "slow: s to shift",
    "failing node share %",
    "failing: s to shift",
    "slow healed: s to 50 % / 90 % of fair share",
    "failing healed: s to 50 % / 90 % of fair share",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn short() -> ScenarioA {
        ScenarioA {
            duration_s: 40,
            slow: (3, 10, 20),
            failing: (7, 20, 30),
            ..ScenarioA::default()
        }
    }

    #[test]
    fn a_seed_gives_the_same_run() {
        let s = short();
        for k in RouterKind::ALL {
            assert_eq!(run(&s, k, 7), run(&s, k, 7));
        }
        assert_ne!(
            run(&s, RouterKind::PeakEwma, 7),
            run(&s, RouterKind::PeakEwma, 8)
        );
    }

    #[test]
    fn weights_keep_traffic_off_a_node_that_fails_fast() {
        let s = short();
        let ewma = run(&s, RouterKind::PeakEwma, 3);
        let ours = run(&s, RouterKind::EcosystemPerf, 3);
        // Peak-EWMA is drawn to the node answering in 1 ms; the weights are not.
        assert!(ewma.failing_share > 0.1, "{ewma:?}");
        assert!(
            ours.error_rate[2] * 2.0 <= ewma.error_rate[2],
            "{ours:?} vs {ewma:?}"
        );
        assert!(ours.failing_shift_s.is_some(), "{ours:?}");
    }
}
