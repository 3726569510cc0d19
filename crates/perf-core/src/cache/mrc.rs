//! Miss-ratio curves of an LRU cache: from a SHARDS sample ([`Curve`]) and, as the oracle
//! the sample is tested against, from a full LRU stack simulation of a trace
//! ([`exact_lru_miss_ratios`]).
//!
//! An LRU cache of `c` entries hits an access exactly when fewer than `c` other keys were
//! accessed since the key's previous access (its stack distance `d < c`), so the miss ratio
//! at `c` is (first accesses + reuses with `d ≥ c`) / accesses: one histogram of distances
//! gives the whole curve.

use super::histogram::Histogram;
use super::shards::Period;

/// The miss-ratio curve of one space over some periods.
#[derive(Debug, Clone, Default)]
pub struct Curve {
    /// Scaled reuse distances (weights in sampled accesses).
    pub distances: Histogram,
    /// Sampled first accesses.
    pub cold: f64,
    /// Sampled accesses, with the SHARDS-adj correction (accesses × rate).
    pub total: f64,
}

impl Curve {
    /// The curve of `periods` sampled at `rate`. SHARDS-adj: the difference between the
    /// accesses expected at `rate` and those sampled is added at distance 0.
    pub fn of(periods: &[&Period], rate: f64) -> Curve {
        let mut c = Curve::default();
        let mut sampled = 0.0;
        let mut accesses = 0u64;
        for p in periods {
            c.distances.merge(&p.distances);
            c.cold += p.cold;
            sampled += p.sampled;
            accesses += p.accesses;
        }
        let expected = accesses as f64 * rate;
        let correction = expected - sampled;
        // Never so negative that the first bin would go below zero.
        let first = c.distances.weight_at_least(0.0) - c.distances.weight_at_least(1.0);
        c.distances.add_to_first(correction.max(-first));
        c.total = (sampled + correction.max(-first)).max(0.0);
        c
    }

    /// The miss ratio of an LRU cache of `size` entries (1 when nothing was sampled).
    pub fn miss_ratio(&self, size: f64) -> f64 {
        if self.total <= 0.0 {
            return 1.0;
        }
        let misses = self.cold + self.distances.weight_at_least(size.max(0.0));
        (misses / self.total).clamp(0.0, 1.0)
    }

    /// The smallest size whose miss ratio is at most `1 − hit_ratio`; `None` when even an
    /// unbounded cache does not get there (first accesses alone miss more).
    pub fn size_for(&self, hit_ratio: f64) -> Option<f64> {
        let target = 1.0 - hit_ratio;
        if self.total <= 0.0 || self.cold / self.total > target + 1e-12 {
            return None;
        }
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        while self.miss_ratio(hi) > target {
            hi *= 2.0;
            if hi > 1e13 {
                return None;
            }
        }
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if self.miss_ratio(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi.ceil())
    }
}

/// Exact LRU miss ratios of `trace` at each of `sizes` (entries), by a full stack
/// simulation: the oracle of the sampled curve. O(accesses × log keys).
pub fn exact_lru_miss_ratios(trace: &[u64], sizes: &[usize]) -> Vec<f64> {
    let distances = exact_stack_distances(trace);
    let n = trace.len().max(1) as f64;
    let mut reuses: Vec<usize> = distances.iter().flatten().copied().collect();
    reuses.sort_unstable();
    let cold = distances.len() - reuses.len();
    sizes
        .iter()
        .map(|&c| {
            // Reuses at distance ≥ c miss, as every first access does.
            let far = reuses.len() - reuses.partition_point(|&d| d < c);
            (cold + far) as f64 / n
        })
        .collect()
}

/// The stack distance of every access (`None` for a first access), exactly.
pub fn exact_stack_distances(trace: &[u64]) -> Vec<Option<usize>> {
    let n = trace.len();
    let mut tree = vec![0i64; n + 1];
    let add = |tree: &mut Vec<i64>, i: usize, d: i64| {
        let mut i = i + 1;
        while i <= n {
            tree[i] += d;
            i += i & i.wrapping_neg();
        }
    };
    let sum = |tree: &Vec<i64>, i: usize| {
        let mut i = i + 1;
        let mut s = 0;
        while i > 0 {
            s += tree[i];
            i -= i & i.wrapping_neg();
        }
        s
    };
    let mut last: ahash::AHashMap<u64, usize> = ahash::AHashMap::new();
    let mut out = Vec::with_capacity(n);
    for (t, key) in trace.iter().enumerate() {
        match last.insert(*key, t) {
            Some(prev) => {
                let after = sum(&tree, t.saturating_sub(1).max(prev)) - sum(&tree, prev);
                out.push(Some(after as usize));
                add(&mut tree, prev, -1);
            }
            None => out.push(None),
        }
        add(&mut tree, t, 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_distances_count_distinct_keys_between_reuses() {
        // a b c a b b d a
        let trace = [1, 2, 3, 1, 2, 2, 4, 1];
        let d = exact_stack_distances(&trace);
        assert_eq!(
            d,
            vec![None, None, None, Some(2), Some(2), Some(0), None, Some(2)]
        );
        // Size 2: the 4 first accesses and the reuses at distance 2 miss; size 3 only the
        // first accesses.
        assert_eq!(
            exact_lru_miss_ratios(&trace, &[2, 3]),
            vec![7.0 / 8.0, 4.0 / 8.0]
        );
    }
}
