//! The sampled LRU miss-ratio curve (fixed-size SHARDS, `perf_core::cache`) against the exact
//! one from a full LRU stack simulation, on seeded traces: the five the tests check (Zipf
//! α 0.6–1.2, a drifting working set with scans) and four shapes the tests never saw (a
//! loop larger than any useful cache, two populations with different working sets, a hot
//! set that jumps halfway, a uniform key space). Prints the mean and largest absolute error
//! over sizes 1 %..100 % of the unique keys and the size for 85 % (exact vs sampled), and
//! writes the curves as an SVG (`docs/img/mrc.svg`).
//!
//! `cargo run --release -p perf-core --example mrc_eval [-- out.svg]`

use perf_core::cache::mrc::{exact_lru_miss_ratios, exact_stack_distances, Curve};
use perf_core::cache::shards::Shards;
use perf_core::cache::DEFAULT_MAX_KEYS;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use std::fmt::Write;

const N: usize = 1_000_000;

fn hash(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn zipf(alpha: f64, keys: u64, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let z = Zipf::new(keys as f64, alpha).unwrap();
    (0..N).map(|_| hash(z.sample(&mut rng) as u64)).collect()
}

fn drift_and_scans(seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(N);
    let mut scan = 1u64 << 40;
    while out.len() < N {
        let t = out.len() as u64;
        if t.is_multiple_of(60_000) && t > 0 {
            for _ in 0..15_000 {
                out.push(hash(scan));
                scan += 1;
            }
            continue;
        }
        let id = if rng.random::<f64>() < 0.1 {
            rng.random_range(0..200_000u64)
        } else {
            let u: f64 = rng.random();
            t / 20 + (u * u * 4_000.0) as u64
        };
        out.push(hash(id));
    }
    out.truncate(N);
    out
}

/// Held out: a loop over 50,000 keys with 30 % Zipf(1.0) noise.
fn loop_with_noise(seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let z = Zipf::new(100_000.0, 1.0).unwrap();
    (0..N)
        .map(|i| {
            if rng.random::<f64>() < 0.3 {
                hash((1 << 41) + z.sample(&mut rng) as u64)
            } else {
                hash((i % 50_000) as u64)
            }
        })
        .collect()
}

/// Held out: two populations, Zipf(1.1) over 5,000 keys and Zipf(0.7) over 300,000.
fn two_populations(seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let a = Zipf::new(5_000.0, 1.1).unwrap();
    let b = Zipf::new(300_000.0, 0.7).unwrap();
    (0..N)
        .map(|_| {
            if rng.random::<f64>() < 0.5 {
                hash(a.sample(&mut rng) as u64)
            } else {
                hash((1 << 42) + b.sample(&mut rng) as u64)
            }
        })
        .collect()
}

/// Held out: Zipf(0.9) over 100,000 keys whose identities all change halfway.
fn jumping_hot_set(seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let z = Zipf::new(100_000.0, 0.9).unwrap();
    (0..N)
        .map(|i| {
            let base = if i < N / 2 { 0 } else { 1 << 43 };
            hash(base + z.sample(&mut rng) as u64)
        })
        .collect()
}

/// Held out: uniform over 150,000 keys.
fn uniform(seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..N)
        .map(|_| hash(rng.random_range(0..150_000u64)))
        .collect()
}

struct Result {
    name: &'static str,
    held_out: bool,
    sizes: Vec<usize>,
    exact: Vec<f64>,
    sampled: Vec<f64>,
    exact_85: Option<usize>,
    sampled_85: Option<f64>,
    /// The error the answer states (`mrcError`: the largest binomial standard error of the
    /// curve's miss ratios over the sampled keys).
    stated: f64,
}

fn evaluate(name: &'static str, held_out: bool, trace: &[u64]) -> Result {
    let unique = trace.iter().collect::<std::collections::HashSet<_>>().len();
    let sizes: Vec<usize> = (1..=100).map(|p| (unique * p / 100).max(1)).collect();
    let exact = exact_lru_miss_ratios(trace, &sizes);
    let mut s = Shards::new(DEFAULT_MAX_KEYS, i64::MAX / 4);
    for (t, k) in trace.iter().enumerate() {
        s.access(*k, t as i64);
    }
    let periods: Vec<_> = s.periods().iter().filter(|p| p.accesses > 0).collect();
    let curve = Curve::of(&periods, s.rate());
    let sampled: Vec<f64> = sizes.iter().map(|c| curve.miss_ratio(*c as f64)).collect();
    let keys = s.tracked_keys().max(1) as f64;
    let stated = sampled
        .iter()
        .map(|m| (m * (1.0 - m) / keys).sqrt())
        .fold(0.0, f64::max);
    let distances = exact_stack_distances(trace);
    let cold = distances.iter().filter(|d| d.is_none()).count();
    let allowed = (0.15 * trace.len() as f64) as usize;
    let exact_85 = (cold <= allowed).then(|| {
        let mut reuse: Vec<usize> = distances.iter().flatten().copied().collect();
        reuse.sort_unstable();
        let far = allowed - cold;
        if far >= reuse.len() {
            0
        } else {
            reuse[reuse.len() - far - 1] + 1
        }
    });
    Result {
        name,
        held_out,
        sizes,
        exact,
        sampled,
        exact_85,
        sampled_85: curve.size_for(0.85),
        stated,
    }
}

fn svg(results: &[Result]) -> String {
    let (w, h, cols) = (300.0, 220.0, 3usize);
    let rows = results.len().div_ceil(cols);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        w * cols as f64,
        h * rows as f64 + 20.0
    );
    let _ = writeln!(
        out,
        "<text x=\"8\" y=\"{}\">LRU miss ratio (y, 0–1) against cache size (x, 1–100 % of unique keys): exact (black) and sampled with {} keys (red, dashed)</text>",
        h * rows as f64 + 14.0,
        DEFAULT_MAX_KEYS
    );
    for (i, r) in results.iter().enumerate() {
        let (x0, y0) = ((i % cols) as f64 * w, (i / cols) as f64 * h);
        let (pw, ph) = (w - 40.0, h - 50.0);
        let px = |k: usize| x0 + 30.0 + pw * (k as f64 + 1.0) / r.sizes.len() as f64;
        let py = |m: f64| y0 + 25.0 + ph * (1.0 - m);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}{}</text>",
            x0 + 30.0,
            y0 + 15.0,
            r.name,
            if r.held_out { " (held out)" } else { "" }
        );
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{pw}\" height=\"{ph}\" fill=\"none\" stroke=\"#ccc\"/>",
            x0 + 30.0,
            y0 + 25.0
        );
        for (series, style) in [
            (&r.exact, "stroke=\"black\" stroke-width=\"2\""),
            (
                &r.sampled,
                "stroke=\"red\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"",
            ),
        ] {
            let points: Vec<String> = series
                .iter()
                .enumerate()
                .map(|(k, m)| format!("{:.1},{:.1}", px(k), py(*m)))
                .collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" {style} points=\"{}\"/>",
                points.join(" ")
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "docs/img/mrc.svg".into());
    let traces: Vec<(&'static str, bool, Vec<u64>)> = vec![
        ("Zipf 0.6, 100k keys", false, zipf(0.6, 100_000, 3)),
        ("Zipf 0.8, 100k keys", false, zipf(0.8, 100_000, 4)),
        ("Zipf 1.0, 100k keys", false, zipf(1.0, 100_000, 5)),
        ("Zipf 1.2, 100k keys", false, zipf(1.2, 100_000, 6)),
        ("drifting set + scans", false, drift_and_scans(7)),
        ("loop 50k + 30 % Zipf", true, loop_with_noise(21)),
        ("two populations", true, two_populations(22)),
        ("hot set jumps halfway", true, jumping_hot_set(23)),
        ("uniform, 150k keys", true, uniform(24)),
    ];
    let results: Vec<Result> = traces
        .iter()
        .map(|(name, held, t)| evaluate(name, *held, t))
        .collect();
    println!(
        "| trace | held out | unique keys | MAE | max error | stated error | points within 2× stated | size for 85 %: exact | sampled |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        let errors: Vec<f64> = r
            .exact
            .iter()
            .zip(&r.sampled)
            .map(|(a, b)| (a - b).abs())
            .collect();
        let mae = errors.iter().sum::<f64>() / errors.len() as f64;
        let max = errors.iter().copied().fold(0.0, f64::max);
        let within =
            errors.iter().filter(|e| **e <= 2.0 * r.stated).count() as f64 / errors.len() as f64;
        println!(
            "| {} | {} | {} | {mae:.4} | {max:.4} | {:.4} | {:.0} % | {} | {} |",
            r.name,
            if r.held_out { "yes" } else { "no" },
            r.sizes.last().unwrap(),
            r.stated,
            within * 100.0,
            r.exact_85.map_or("unreachable".into(), |x| x.to_string()),
            r.sampled_85
                .map_or("unreachable".into(), |x| format!("{x:.0}")),
        );
    }
    std::fs::write(&out, svg(&results)).expect("writing the SVG");
    println!("curves: {out}");
}
