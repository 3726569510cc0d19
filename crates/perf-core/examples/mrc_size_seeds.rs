//! The size an LRU cache needs for an 85 % hit ratio, from the SHARDS sample, against the
//! exact one, over twelve seeded Zipf traces (one million accesses over 100,000 keys): the
//! spread over seeds that one trace in `mrc_eval` cannot show, at a key limit of your choice
//! (spatial sampling's bias on this size shrinks as 1/rate: compare 4096, 8192, 16384).
//!
//! `cargo run --release -p perf-core --example mrc_size_seeds -- [ALPHA] [MAX_KEYS]`
//! (defaults 1.2 and `cache::DEFAULT_MAX_KEYS`).

use perf_core::cache::mrc::{exact_stack_distances, Curve};
use perf_core::cache::shards::Shards;
use perf_core::cache::DEFAULT_MAX_KEYS;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Zipf};

/// The key as a server would hold it: a 64-bit hash.
fn hash(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The smallest size at which at most 15 % of `accesses` miss, from reuse distances
/// (already scaled) and first accesses; `None` when first accesses alone miss more.
fn size_for_85(mut reuses: Vec<f64>, cold: f64, accesses: f64) -> Option<f64> {
    reuses.sort_by(|a, b| a.total_cmp(b));
    let far = 0.15 * accesses - cold;
    if far < 0.0 {
        return None;
    }
    let far = far as usize;
    Some(if far >= reuses.len() {
        0.0
    } else {
        reuses[reuses.len() - far - 1] + 1.0
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let alpha: f64 = args.next().map_or(1.2, |a| a.parse().expect("ALPHA"));
    let max_keys: usize = args
        .next()
        .map_or(DEFAULT_MAX_KEYS, |a| a.parse().expect("MAX_KEYS"));
    println!("Zipf {alpha}, 100,000 keys, 1,000,000 accesses; sampler of {max_keys} keys");
    println!("| seed | exact | sampled | error |");
    println!("|---|---|---|---|");
    let mut errors = Vec::new();
    for seed in 1..=12u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let zipf = Zipf::new(100_000.0, alpha).expect("a Zipf distribution");
        let trace: Vec<u64> = (0..1_000_000)
            .map(|_| hash(zipf.sample(&mut rng) as u64))
            .collect();
        let mut s = Shards::new(max_keys, i64::MAX / 4);
        for (t, k) in trace.iter().enumerate() {
            s.access(*k, t as i64);
        }
        let periods: Vec<_> = s.periods().iter().filter(|p| p.accesses > 0).collect();
        let sampled = Curve::of(&periods, s.rate()).size_for(0.85);
        let distances = exact_stack_distances(&trace);
        let cold = distances.iter().filter(|d| d.is_none()).count() as f64;
        let exact = size_for_85(
            distances.iter().flatten().map(|d| *d as f64).collect(),
            cold,
            trace.len() as f64,
        );
        let (Some(exact), Some(sampled)) = (exact, sampled) else {
            println!("| {seed} | unreachable at this α | | |");
            continue;
        };
        let e = sampled / exact - 1.0;
        errors.push(e);
        println!(
            "| {seed} | {exact:.0} | {sampled:.0} | {:+.1} % |",
            e * 100.0
        );
    }
    let summary = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        let worst = v.iter().copied().fold(0.0f64, |a, b| a.max(b.abs()));
        let within = v.iter().filter(|e| e.abs() <= 0.10).count();
        format!(
            "mean {:+.1} %, largest {:.1} %, within 10 %: {within}/{}",
            mean * 100.0,
            worst * 100.0,
            v.len()
        )
    };
    println!("{}", summary(&errors));
}
