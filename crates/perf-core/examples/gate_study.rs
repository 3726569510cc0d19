//! Seeded simulation study of the deployment gate (BENCHMARKS.md, "Gate study").
//!
//! For three latency shapes (lognormal, bimodal cache hit/miss, lognormal body with a Pareto
//! tail), effect sizes 0 / +5 / +10 / +20 / +30 / +50 % applied either uniformly (every
//! request slower) or to the tail only (requests above the shape's p95 slower), plus a slow
//! mode (3 % of requests three times slower, same median), and 500 … 100,000 requests per
//! side, it counts how often the gate blocks, next to two reference judges written here: a
//! naive "p99 ratio > 1.15" rule and a Kayenta-style Mann–Whitney judge (two-sided p < 0.01
//! with the candidate slower). Then the sequential canary: 20 looks at A/A data, how often
//! the rollout would roll back, with always-valid p-values and with naive fixed-sample ones.
//!
//! `cargo run --release -p perf-core --example gate_study [-- --reps N]`

#![allow(missing_docs)]

use perf_core::compare::mann_whitney;
use perf_core::compare::sequential::SequentialState;
use perf_core::compare::{evaluate, GateConfig, OperationSample, Recommendation};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
enum Shape {
    Lognormal,
    Bimodal,
    HeavyTail,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Lognormal => "lognormal (median 50 ms, σ 0.6)",
            Shape::Bimodal => "bimodal (70 % hits ~12 ms, 30 % misses ~80 ms)",
            Shape::HeavyTail => "heavy tail (lognormal body, 3 % Pareto α 1.8 tail)",
        }
    }

    fn draw(self, rng: &mut StdRng) -> f64 {
        match self {
            Shape::Lognormal => LogNormal::new(50f64.ln(), 0.6).unwrap().sample(rng),
            Shape::Bimodal => {
                if rng.random::<f64>() < 0.7 {
                    LogNormal::new(12f64.ln(), 0.25).unwrap().sample(rng)
                } else {
                    LogNormal::new(80f64.ln(), 0.35).unwrap().sample(rng)
                }
            }
            Shape::HeavyTail => {
                if rng.random::<f64>() < 0.97 {
                    LogNormal::new(40f64.ln(), 0.5).unwrap().sample(rng)
                } else {
                    120.0 * (1.0 - rng.random::<f64>()).powf(-1.0 / 1.8)
                }
            }
        }
    }

    /// The shape's p95, from a large seeded sample.
    fn p95(self) -> f64 {
        let mut rng = StdRng::seed_from_u64(95);
        let mut v: Vec<f64> = (0..400_000).map(|_| self.draw(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        v[(0.95 * v.len() as f64) as usize]
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Change {
    Uniform(f64),
    Tail(f64),
    SlowMode,
}

impl Change {
    fn label(self) -> String {
        match self {
            Change::Uniform(e) => format!("uniform {:+.0} %", e * 100.0),
            Change::Tail(e) => format!("tail {:+.0} %", e * 100.0),
            Change::SlowMode => "slow mode 3 % ×3".into(),
        }
    }

    fn apply(self, x: f64, p95: f64, rng: &mut StdRng) -> f64 {
        match self {
            Change::Uniform(e) => x * (1.0 + e),
            Change::Tail(e) if x > p95 => x * (1.0 + e),
            Change::Tail(_) => x,
            Change::SlowMode if rng.random::<f64>() < 0.03 => x * 3.0,
            Change::SlowMode => x,
        }
    }
}

fn sample(
    shape: Shape,
    change: Option<Change>,
    p95: f64,
    n: usize,
    rng: &mut StdRng,
) -> OperationSample {
    let mut s = OperationSample::default();
    for _ in 0..n {
        let mut x = shape.draw(rng);
        if let Some(c) = change {
            x = c.apply(x, p95, rng);
        }
        s.requests += 1;
        s.latency.insert(x);
    }
    s
}

fn one(op: OperationSample) -> BTreeMap<String, OperationSample> {
    BTreeMap::from([("GET /item".to_string(), op)])
}

#[derive(Default, Clone, Copy)]
struct Tally {
    block: u32,
    review: u32,
    insufficient: u32,
    naive: u32,
    kayenta: u32,
    reps: u32,
}

impl Tally {
    fn pct(x: u32, reps: u32) -> f64 {
        100.0 * f64::from(x) / f64::from(reps)
    }
}

fn main() {
    let reps: u32 = std::env::args()
        .skip_while(|a| a != "--reps")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sizes = [500usize, 2_000, 5_000, 20_000, 100_000];
    let mut changes = vec![Change::Uniform(0.0)];
    for e in [0.05, 0.10, 0.20, 0.30, 0.50] {
        changes.push(Change::Uniform(e));
    }
    for e in [0.05, 0.10, 0.20, 0.30, 0.50] {
        changes.push(Change::Tail(e));
    }
    changes.push(Change::SlowMode);
    let cfg = GateConfig::default();
    println!("# Gate study ({reps} seeded replicates per cell)\n");
    println!("Cell: gate blocks % · [manual review % · insufficient %] · naive p99>1.15 blocks % · Mann–Whitney judge blocks %\n");
    for (si, shape) in [Shape::Lognormal, Shape::Bimodal, Shape::HeavyTail]
        .into_iter()
        .enumerate()
    {
        let p95 = shape.p95();
        println!("## {}\n", shape.name());
        print!("| change |");
        for n in sizes {
            print!(" n = {n} |");
        }
        println!();
        println!("|---|{}", "---|".repeat(sizes.len()));
        for (ci, &change) in changes.iter().enumerate() {
            print!("| {} |", change.label());
            for (ni, &n) in sizes.iter().enumerate() {
                let mut t = Tally::default();
                let seed = ((si * 100 + ci) * 100 + ni) as u64;
                let mut rng = StdRng::seed_from_u64(seed);
                let reps_here = if n >= 100_000 { reps.div_ceil(2) } else { reps };
                for _ in 0..reps_here {
                    let b = sample(shape, None, p95, n, &mut rng);
                    let c = sample(shape, Some(change), p95, n, &mut rng);
                    let naive = c.latency.quantile(0.99).unwrap()
                        / b.latency.quantile(0.99).unwrap()
                        > 1.15;
                    let hb = perf_core::compare::histogram::Histogram::of(&b.latency);
                    let hc = perf_core::compare::histogram::Histogram::of(&c.latency);
                    let mw = mann_whitney::from_histograms(&hc, &hb).unwrap();
                    let kayenta = mw.p_two_sided < 0.01 && mw.probability_slower > 0.5;
                    let out = evaluate(&one(b), &one(c), &cfg, None);
                    t.reps += 1;
                    t.naive += u32::from(naive);
                    t.kayenta += u32::from(kayenta);
                    match out.recommendation {
                        Recommendation::BlockDeployment => t.block += 1,
                        Recommendation::ManualReview => t.review += 1,
                        Recommendation::InsufficientData => t.insufficient += 1,
                        Recommendation::Proceed => {}
                    }
                }
                print!(
                    " **{:.1}** [{:.0}·{:.0}] {:.0} {:.0} |",
                    Tally::pct(t.block, t.reps),
                    Tally::pct(t.review, t.reps),
                    Tally::pct(t.insufficient, t.reps),
                    Tally::pct(t.naive, t.reps),
                    Tally::pct(t.kayenta, t.reps)
                );
            }
            println!();
        }
        println!();
    }
    sequential_study(reps.max(200) * 2);
}

/// 20 looks at A/A data (250 more requests per side per look): a rollout rolls back when a
/// look blocks. Always-valid p-values against fixed-sample p-values re-tested at every look.
fn sequential_study(reps: u32) {
    let cfg = GateConfig::default();
    println!("## Sequential canary: 20 looks, 250 new requests per side per look\n");
    println!("| data | rollback rate, always-valid (mSPRT) | rollback rate, fixed-sample test at every look |");
    println!("|---|---|---|");
    for (label, change) in [
        ("A/A lognormal", None),
        ("A/A heavy tail", None),
        ("tail +30 % (lognormal)", Some(Change::Tail(0.30))),
        ("uniform +20 % (lognormal)", Some(Change::Uniform(0.20))),
    ] {
        let shape = if label.contains("heavy") {
            Shape::HeavyTail
        } else {
            Shape::Lognormal
        };
        let p95 = shape.p95();
        let mut rng = StdRng::seed_from_u64(7 + label.len() as u64);
        let (mut seq_rb, mut fixed_rb) = (0u32, 0u32);
        for _ in 0..reps {
            let mut b = OperationSample::default();
            let mut c = OperationSample::default();
            let mut state = SequentialState::default();
            let (mut seq_done, mut fixed_done) = (false, false);
            for _ in 0..20 {
                for _ in 0..250 {
                    let x = shape.draw(&mut rng);
                    b.requests += 1;
                    b.latency.insert(x);
                    let mut y = shape.draw(&mut rng);
                    if let Some(ch) = change {
                        y = ch.apply(y, p95, &mut rng);
                    }
                    c.requests += 1;
                    c.latency.insert(y);
                }
                let (bm, cm) = (one(b.clone()), one(c.clone()));
                if !seq_done {
                    let out = evaluate(&bm, &cm, &cfg, Some(&mut state));
                    seq_done = out.recommendation == Recommendation::BlockDeployment;
                }
                if !fixed_done {
                    let out = evaluate(&bm, &cm, &cfg, None);
                    fixed_done = out.recommendation == Recommendation::BlockDeployment;
                }
            }
            seq_rb += u32::from(seq_done);
            fixed_rb += u32::from(fixed_done);
        }
        println!(
            "| {label} | {:.2} % | {:.2} % |",
            Tally::pct(seq_rb, reps),
            Tally::pct(fixed_rb, reps)
        );
    }
    println!("\n({reps} replicates per row)");
}
