//! Accuracy against exact quantiles on several distributions, and exact merging.

use super::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal, Pareto};

const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[(q * (sorted.len() - 1) as f64).floor() as usize]
}

fn check_accuracy(name: &str, mut values: Vec<f64>) {
    let mut sketch = LatencySketch::new();
    for &v in &values {
        sketch.insert(v);
    }
    values.sort_by(f64::total_cmp);
    for q in QUANTILES {
        let exact = exact_quantile(&values, q);
        let got = sketch.quantile(q).unwrap();
        let rel = if exact == 0.0 {
            got.abs()
        } else {
            (got - exact).abs() / exact
        };
        assert!(
            rel <= 0.01,
            "{name} q={q}: exact {exact}, sketch {got}, relative error {rel}"
        );
    }
}

fn sample(n: usize, seed: u64, f: impl Fn(&mut StdRng) -> f64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| f(&mut rng)).collect()
}

#[test]
fn uniform_quantiles_within_one_percent() {
    check_accuracy(
        "uniform",
        sample(200_000, 1, |r| r.random_range(0.5..500.0)),
    );
}

#[test]
fn lognormal_quantiles_within_one_percent() {
    let d = LogNormal::new(3.0, 0.8).unwrap();
    check_accuracy("lognormal", sample(200_000, 2, |r| d.sample(r)));
}

#[test]
fn bimodal_quantiles_within_one_percent() {
    let fast = Normal::new(20.0, 3.0).unwrap();
    let slow = Normal::new(400.0, 40.0).unwrap();
    check_accuracy(
        "bimodal",
        sample(200_000, 3, |r| {
            let v: f64 = if r.random_bool(0.9) {
                fast.sample(r)
            } else {
                slow.sample(r)
            };
            v.max(0.1)
        }),
    );
}

#[test]
fn pareto_heavy_tail_quantiles_within_one_percent() {
    let d = Pareto::new(5.0, 1.2).unwrap();
    check_accuracy("pareto", sample(200_000, 4, |r| d.sample(r)));
}

#[test]
fn constant_quantiles_are_exact() {
    check_accuracy("constant", vec![42.0; 10_000]);
    let mut s = LatencySketch::new();
    s.insert(42.0);
    assert_eq!(s.quantile(0.99), Some(42.0));
}

#[test]
fn zeros_and_empty() {
    let s = LatencySketch::new();
    assert_eq!(s.quantile(0.5), None);
    let mut s = LatencySketch::new();
    for _ in 0..10 {
        s.insert(0.0);
    }
    s.insert(100.0);
    assert_eq!(s.quantile(0.5), Some(0.0));
    assert!((s.quantile(1.0).unwrap() - 100.0).abs() <= 1.0);
}

#[test]
fn sparse_and_dense_forms_answer_alike() {
    let d = LogNormal::new(2.0, 1.5).unwrap();
    let values = sample(5_000, 9, |r| d.sample(r));
    let mut one = LatencySketch::new();
    values.iter().for_each(|&v| one.insert(v));
    assert!(matches!(one.bins, BinStore::Dense { .. }));
    let mut parts = LatencySketch::new();
    for chunk in values.chunks(7) {
        let mut s = LatencySketch::new();
        chunk.iter().for_each(|&v| s.insert(v));
        assert!(matches!(s.bins, BinStore::Sparse(_)));
        parts.merge(&s);
    }
    for q in QUANTILES {
        assert_eq!(one.quantile(q), parts.quantile(q));
    }
}

proptest! {
    /// Merging per-node sketches gives the sketch of all data: same counts, same quantiles.
    #[test]
    fn merge_equals_sketch_of_all(
        nodes in prop::collection::vec(prop::collection::vec(0.0f64..10_000.0, 0..300), 1..8)
    ) {
        let mut all = LatencySketch::new();
        let mut merged = LatencySketch::new();
        for node in &nodes {
            let mut s = LatencySketch::new();
            for &v in node {
                s.insert(v);
                all.insert(v);
            }
            merged.merge(&s);
        }
        prop_assert_eq!(all.count(), merged.count());
        prop_assert_eq!(all.min(), merged.min());
        prop_assert_eq!(all.max(), merged.max());
        for q in [0.0, 0.25, 0.5, 0.9, 0.99, 1.0] {
            prop_assert_eq!(all.quantile(q), merged.quantile(q));
        }
    }

    /// Merge order does not matter (associative and commutative).
    #[test]
    fn merge_is_associative(
        a in prop::collection::vec(0.01f64..1e5, 0..200),
        b in prop::collection::vec(0.01f64..1e5, 0..200),
        c in prop::collection::vec(0.01f64..1e5, 0..200),
    ) {
        let mk = |v: &Vec<f64>| { let mut s = LatencySketch::new(); v.iter().for_each(|&x| s.insert(x)); s };
        let (sa, sb, sc) = (mk(&a), mk(&b), mk(&c));
        let mut left = sa.clone(); left.merge(&sb); left.merge(&sc);
        let mut bc = sb.clone(); bc.merge(&sc);
        let mut right = sa.clone(); right.merge(&bc);
        for q in [0.1, 0.5, 0.95, 0.999] {
            prop_assert_eq!(left.quantile(q), right.quantile(q));
        }
        prop_assert_eq!(left.count(), right.count());
    }
}

#[test]
fn mapping_constants_match_the_accuracy() {
    let gamma = (1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY);
    assert!((GAMMA - gamma).abs() < 1e-15);
    assert!((LN_GAMMA - gamma.ln()).abs() < 1e-15);
}
