//! The sampled miss-ratio curve against the exact one (full LRU stack simulation) on seeded
//! traces: Zipf popularity at α 0.6–1.2, a drifting working set with periodic scans; the
//! size for 85 % against the exact size; the TTL advice on a known reuse-time distribution.

use super::advice::{report, SpaceFacts};
use super::mrc::{exact_lru_miss_ratios, exact_stack_distances, Curve};
use super::shards::Shards;
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Zipf};

/// splitmix64: the 64-bit key hash of a test key id.
fn hash(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn zipf_trace(alpha: f64, keys: u64, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(keys as f64, alpha).unwrap();
    (0..n).map(|_| hash(zipf.sample(&mut rng) as u64)).collect()
}

/// A working set of 4,000 keys drifting by one key every 20 accesses, with a scan of
/// 15,000 never-repeated-soon keys every 60,000 accesses, and 10 % uniform noise.
fn drifting_with_scans(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    let mut scan_id = 1u64 << 40;
    while out.len() < n {
        let t = out.len() as u64;
        if t.is_multiple_of(60_000) && t > 0 {
            for _ in 0..15_000 {
                out.push(hash(scan_id));
                scan_id += 1;
            }
            continue;
        }
        let base = t / 20;
        let id = if rng.random::<f64>() < 0.1 {
            rng.random_range(0..200_000u64)
        } else {
            // Popular near the front of the window: squared uniform.
            let u: f64 = rng.random();
            base + (u * u * 4_000.0) as u64
        };
        out.push(hash(id));
    }
    out.truncate(n);
    out
}

fn sampled_curve(trace: &[u64]) -> (Curve, f64) {
    let mut s = Shards::new(DEFAULT_MAX_KEYS, i64::MAX / 4);
    for (t, k) in trace.iter().enumerate() {
        s.access(*k, t as i64);
    }
    let periods: Vec<_> = s.periods().iter().filter(|p| p.accesses > 0).collect();
    let unique = s.unique_keys_since(i64::MIN);
    (Curve::of(&periods, s.rate()), unique)
}

fn distinct(trace: &[u64]) -> usize {
    trace.iter().collect::<std::collections::HashSet<_>>().len()
}

/// Mean absolute error of the sampled curve over sizes 1 %..100 % of the unique keys.
fn mae(trace: &[u64]) -> (f64, f64) {
    let unique = distinct(trace);
    let sizes: Vec<usize> = (1..=100).map(|p| (unique * p / 100).max(1)).collect();
    let exact = exact_lru_miss_ratios(trace, &sizes);
    let (curve, _) = sampled_curve(trace);
    let errors: Vec<f64> = sizes
        .iter()
        .zip(&exact)
        .map(|(c, e)| (curve.miss_ratio(*c as f64) - e).abs())
        .collect();
    let mean = errors.iter().sum::<f64>() / errors.len() as f64;
    let max = errors.iter().copied().fold(0.0, f64::max);
    (mean, max)
}

#[test]
fn at_rate_one_the_curve_is_the_exact_one_at_bin_edges() {
    // Fewer keys than the limit: every access sampled; positions renumbered many times.
    let trace = zipf_trace(0.9, 5_000, 200_000, 1);
    let mut s = Shards::new(8_192, i64::MAX / 4);
    for (t, k) in trace.iter().enumerate() {
        s.access(*k, t as i64);
    }
    assert_eq!(s.rate(), 1.0);
    let periods: Vec<_> = s.periods().iter().collect();
    let curve = Curve::of(&periods, 1.0);
    let sizes = [1usize, 2, 4, 16, 64, 256, 1024, 4096];
    let exact = exact_lru_miss_ratios(&trace, &sizes);
    for (c, e) in sizes.iter().zip(exact) {
        assert!(
            (curve.miss_ratio(*c as f64) - e).abs() < 1e-9,
            "size {c}: {} vs {e}",
            curve.miss_ratio(*c as f64)
        );
    }
}

#[test]
fn the_exact_oracle_is_an_lru_cache() {
    // A naive LRU list against the stack-distance oracle.
    let trace = zipf_trace(0.8, 300, 5_000, 2);
    for size in [1usize, 5, 50, 200] {
        let mut lru: Vec<u64> = Vec::new();
        let mut misses = 0;
        for k in &trace {
            match lru.iter().position(|x| x == k) {
                Some(i) => {
                    lru.remove(i);
                }
                None => {
                    misses += 1;
                    if lru.len() == size {
                        lru.remove(0);
                    }
                }
            }
            lru.push(*k);
        }
        let exact = exact_lru_miss_ratios(&trace, &[size])[0];
        assert!((exact - misses as f64 / trace.len() as f64).abs() < 1e-12);
    }
    assert_eq!(exact_stack_distances(&[7, 7])[1], Some(0));
}

#[test]
fn sampled_curves_are_within_two_points_of_exact_on_zipf_and_scans() {
    let mut report = Vec::new();
    for (name, trace) in [
        ("zipf 0.6", zipf_trace(0.6, 100_000, 400_000, 3)),
        ("zipf 0.8", zipf_trace(0.8, 100_000, 400_000, 4)),
        ("zipf 1.0", zipf_trace(1.0, 100_000, 400_000, 5)),
        ("zipf 1.2", zipf_trace(1.2, 100_000, 400_000, 6)),
        ("drift + scans", drifting_with_scans(400_000, 7)),
    ] {
        let (mean, max) = mae(&trace);
        report.push(format!("{name}: MAE {mean:.4}, max {max:.4}"));
        assert!(mean <= 0.02, "{name}: MAE {mean} ({report:?})");
    }
    eprintln!("{report:#?}");
}

#[test]
fn the_size_for_85_percent_is_within_ten_percent_of_exact() {
    for (name, trace) in [
        ("zipf 0.8", zipf_trace(0.8, 50_000, 400_000, 8)),
        ("zipf 1.1", zipf_trace(1.1, 200_000, 400_000, 9)),
    ] {
        let distances = exact_stack_distances(&trace);
        let n = trace.len() as f64;
        // Exact: the smallest size whose misses are at most 15 %.
        let mut reuse: Vec<usize> = distances.iter().flatten().copied().collect();
        reuse.sort_unstable();
        let cold = distances.iter().filter(|d| d.is_none()).count();
        let allowed = (0.15 * n) as usize - cold;
        // Misses at size c = cold + reuses with d ≥ c; need reuses with d ≥ c ≤ allowed.
        let exact = reuse[reuse.len() - allowed - 1] + 1;
        let (curve, _) = sampled_curve(&trace);
        let sampled = curve.size_for(0.85).unwrap();
        let ratio = sampled / exact as f64;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{name}: sampled {sampled} vs exact {exact}"
        );
    }
}

#[test]
fn ttl_advice_keeps_95_percent_of_reuses_of_a_known_distribution() {
    // Each key is used twice, the second time an Exp(mean 60 s) later: the reuse times are
    // exponential, whose 95th percentile is 60 s × ln 20 = 179.7 s.
    let mut rng = StdRng::seed_from_u64(10);
    let exp = Exp::new(1.0 / 60_000.0).unwrap();
    let mut accesses = Vec::new();
    for k in 0..60_000u64 {
        let t = rng.random_range(0..3_600_000i64);
        accesses.push((t, hash(k)));
        accesses.push((t + exp.sample(&mut rng) as i64, hash(k)));
    }
    accesses.sort_unstable();
    let mut s = Shards::new(DEFAULT_MAX_KEYS, 24 * 3_600_000);
    for (t, k) in &accesses {
        s.access(*k, *t);
    }
    assert!(s.rate() < 0.2, "sampled: {}", s.rate());
    let facts = SpaceFacts {
        service: "qindex".into(),
        space: "qindex:search".into(),
        requests: 120_000,
        hits: 50_000,
        lookups: 120_000,
        current_size: Some(1_000),
        current_ttl_ms: Some(60_000),
        target: 0.85,
    };
    let r = report(&facts, Some(&s));
    let p95 = r.ttl.p95_ms.unwrap();
    assert!((p95 / 179_744.0 - 1.0).abs() < 0.08, "p95 {p95}");
    assert_eq!(r.ttl.recommended_ms, Some(300_000));
    // A 60 s TTL loses e^-1 = 37 % of the reuses.
    let beyond = r.ttl.reuses_beyond_current.unwrap();
    assert!((beyond - (-1.0f64).exp()).abs() < 0.05, "{beyond}");
    let words = r.recommendations.join("\n");
    assert!(
        words.contains("its TTL is 1m") && words.contains("raise it to 5m"),
        "{words}"
    );
    // Every key repeats once: half the keyed accesses are first accesses, so no size
    // reaches 85 %.
    assert_eq!(r.size_for["0.85"], None);
    assert!((r.cold_miss_ratio.unwrap() - 0.5).abs() < 0.05);
    assert!(words.contains("no cache size reaches 85 %"), "{words}");
    let unique = r.unique_keys.unwrap() as f64;
    assert!((unique / 60_000.0 - 1.0).abs() < 0.1, "{unique}");
}

#[test]
fn an_undersized_space_is_told_the_size_it_needs() {
    let trace = zipf_trace(1.2, 100_000, 300_000, 11);
    let mut s = Shards::new(DEFAULT_MAX_KEYS, 24 * 3_600_000);
    for (t, k) in trace.iter().enumerate() {
        s.access(*k, t as i64 * 10);
    }
    let facts = SpaceFacts {
        service: "qindex".into(),
        space: "qindex:search".into(),
        requests: 300_000,
        hits: 200_000,
        lookups: 300_000,
        current_size: Some(1_000),
        current_ttl_ms: None,
        target: 0.85,
    };
    let r = report(&facts, Some(&s));
    let needed = r.size_for["0.85"].unwrap();
    assert!(needed > 1_000);
    let words = r.recommendations.join("\n");
    assert!(
        words.contains(&format!("{needed} entries (now 1000) would reach 85 %")),
        "{words}"
    );
    // The curve falls with size and spans 1 %..100 % of the unique keys.
    assert!(r
        .mrc
        .windows(2)
        .all(|w| w[1].miss_ratio <= w[0].miss_ratio + 1e-12));
    let unique = r.unique_keys.unwrap();
    assert_eq!(r.mrc.last().unwrap().size, unique);
    assert!(r.mrc_error.unwrap() < 0.01);
}

#[test]
fn memory_stays_bounded_by_the_key_limit() {
    let trace = zipf_trace(0.7, 1_000_000, 300_000, 12);
    let mut s = Shards::new(2_048, i64::MAX / 4);
    for (t, k) in trace.iter().enumerate() {
        s.access(*k, t as i64);
    }
    assert!(s.tracked_keys() <= 2_048);
    let small = s.heap_bytes();
    let mut big = Shards::new(2_048, i64::MAX / 4);
    for (t, k) in zipf_trace(0.7, 1_000_000, 900_000, 13).iter().enumerate() {
        big.access(*k, t as i64);
    }
    // Three times the trace, about the same memory.
    assert!(
        big.heap_bytes() <= small * 11 / 10,
        "{} vs {small}",
        big.heap_bytes()
    );
}

#[test]
fn spaces_are_bounded_and_move_with_their_service() {
    let mut spaces = CacheSpaces::default();
    for i in 0..MAX_SPACES + 10 {
        spaces.access("svc", &format!("space-{i}"), hash(i as u64), 0);
    }
    assert_eq!(spaces.iter().count(), MAX_SPACES);
    assert_eq!(spaces.dropped, 10);
    let mut other = CacheSpaces::default();
    other.access("a", "s", 1, 0);
    other.access("b", "s", 1, 0);
    let mut taken = CacheSpaces::default();
    taken.take_from(&other, |s| s == "a");
    assert_eq!(taken.iter().map(|x| x.0).collect::<Vec<_>>(), vec!["a"]);
    other.retain_services(|s| s == "b");
    assert!(other.get(Some("a"), "s").is_none() && other.get(None, "s").is_some());
}

#[test]
fn a_full_sampler_stays_under_its_documented_memory() {
    let mut s = Shards::new(DEFAULT_MAX_KEYS, 24 * 3_600_000);
    for (t, k) in zipf_trace(0.7, 1_000_000, 200_000, 14).iter().enumerate() {
        s.access(*k, t as i64 * 100);
    }
    assert_eq!(s.tracked_keys(), DEFAULT_MAX_KEYS);
    // The module doc promises at most 0.75 MiB per space.
    assert!(s.heap_bytes() <= 768 * 1024, "{}", s.heap_bytes());
    eprintln!("full sampler: {} bytes", s.heap_bytes());
}

#[test]
fn keys_of_a_drifting_working_set_are_forgotten_after_two_periods() {
    // 200 new keys an hour, each used 50 times within its hour, periods of one hour: the
    // table holds about two hours of keys, not every key since the start.
    let mut s = Shards::new(DEFAULT_MAX_KEYS, 3_600_000);
    for hour in 0..48i64 {
        for i in 0..10_000i64 {
            let key = hash((hour * 200 + i % 200) as u64);
            s.access(key, hour * 3_600_000 + i * 360);
        }
        if hour >= 3 {
            assert!(
                s.tracked_keys() <= 3 * 200,
                "hour {hour}: {}",
                s.tracked_keys()
            );
        }
    }
    assert_eq!(s.rate(), 1.0, "never full, never sampled down");
}

/// Zipf(0.8) over 20,000 keys with a scan of 3,000 one-time keys every 5,000 accesses.
fn zipf_with_scans(n: usize, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(20_000.0, 0.8).unwrap();
    let mut out = Vec::with_capacity(n);
    let mut scan = 1u64 << 41;
    while out.len() < n {
        if out.len() % 5_000 == 0 {
            for _ in 0..3_000 {
                out.push(hash(scan));
                scan += 1;
            }
        }
        out.push(hash(zipf.sample(&mut rng) as u64));
    }
    out.truncate(n);
    out
}

#[test]
fn the_policy_note_comes_from_simulating_the_sampled_accesses() {
    let facts = |size| SpaceFacts {
        service: "qindex".into(),
        space: "qindex:search".into(),
        requests: 400_000,
        hits: 100_000,
        lookups: 400_000,
        current_size: Some(size),
        current_ttl_ms: None,
        target: 0.85,
    };
    // Scans push popular keys out of an LRU: the filter is recommended, with both figures,
    // and the miniature simulation agrees with the full one within a few points.
    let trace = zipf_with_scans(400_000, 15);
    let mut s = Shards::new(DEFAULT_MAX_KEYS, i64::MAX / 4);
    for (t, k) in trace.iter().enumerate() {
        s.access(*k, t as i64);
    }
    let r = report(&facts(2_000), Some(&s));
    let p = r.policy.clone().expect("a comparison");
    let full_lru = super::policy_sim::lru_hit_ratio(&trace[trace.len() - 100_000..], 2_000);
    let full_tiny = super::policy_sim::w_tinylfu_hit_ratio(&trace[trace.len() - 100_000..], 2_000);
    eprintln!("sampled {p:?}; full trace LRU {full_lru:.3} W-TinyLFU {full_tiny:.3}");
    assert!(p.w_tiny_lfu > p.lru + 0.03, "{p:?}");
    assert!(full_tiny > full_lru + 0.03);
    assert!(
        r.recommendations.join("\n").contains("admission filter"),
        "{:?}",
        r.recommendations
    );
    // A pure Zipf trace without scans: LRU is close to W-TinyLFU, nothing is claimed.
    let mut s = Shards::new(DEFAULT_MAX_KEYS, i64::MAX / 4);
    for (t, k) in zipf_trace(1.0, 5_000, 200_000, 16).iter().enumerate() {
        s.access(*k, t as i64);
    }
    let r = report(&facts(4_000), Some(&s));
    assert!(
        !r.recommendations.join("\n").contains("admission filter"),
        "{r:?}"
    );
}

/// A batch recorded at once (runs of one space looked up once) leaves every sampler as the
/// same events recorded one by one: spaces, services and keyless events interleaved.
#[test]
fn a_batch_records_what_its_events_record_one_by_one() {
    let mut rng = StdRng::seed_from_u64(31);
    let events: Vec<Event> = (0..20_000)
        .map(|i| {
            let service = ["qindex", "qnet"][rng.random_range(0..2)];
            let mut e = Event::new(1_700_000_000_000 + i, service, "search", 5.0);
            match rng.random_range(0..4) {
                0 => {}
                1 => e.cache_space = Some("a".into()),
                _ => e.cache_space = Some("b".into()),
            }
            // Runs: the same space for a while, then another.
            if (i / 50) % 3 != 0 {
                e.service = "qindex".into();
                e.cache_space = Some("b".into());
            }
            e.cache_key = (i % 7 != 0).then(|| hash(rng.random_range(0..3_000)));
            e
        })
        .collect();
    let mut batch = CacheSpaces::default();
    batch.record(&events);
    let mut one_by_one = CacheSpaces::default();
    for e in &events {
        one_by_one.record(std::slice::from_ref(e));
    }
    let state = |c: &CacheSpaces| {
        c.iter()
            .map(|(service, space, s)| {
                (
                    format!("{service}/{space}"),
                    s.tracked_keys(),
                    s.periods().clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let got = state(&batch);
    assert_eq!(
        got.len(),
        6,
        "three spaces (a, b, the operation) in two services"
    );
    assert_eq!(got, state(&one_by_one));
}
