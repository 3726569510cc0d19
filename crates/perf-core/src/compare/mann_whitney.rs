//! The Mann–Whitney U test (Wilcoxon rank-sum) of "candidate latencies tend to be larger
//! than baseline latencies".
//!
//! `U` counts candidate/baseline pairs where the candidate is larger, ties counting one half.
//! Without ties and with both samples of at most [`EXACT_MAX`] values the p-value is exact:
//! the null distribution of `U` comes from the recursion
//! `P(m, n; u) = m/(m+n) · P(m−1, n; u−n) + n/(m+n) · P(m, n−1; u)` (probabilities, not
//! counts, so nothing overflows). Otherwise it is the normal approximation with the tie
//! correction of the variance, `σ² = mn/12 · ((N + 1) − Σ(t³ − t) / (N(N − 1)))`, and a
//! continuity correction of ½ — exactly what `scipy.stats.mannwhitneyu` computes (checked to
//! 1e-6 against it in `tests/fixtures/stats_reference.json`).
//!
//! Two entry points: raw values (small samples, where exactness matters), and two latency
//! sketches, whose shared logarithmic bins make every bin a group of ties; at 1.8 % bin width
//! that costs nothing measurable in power and makes the test O(bins) for any sample size.

use super::histogram::Histogram;
use super::normal;
use serde::{Deserialize, Serialize};

/// Both samples at most this large and no ties: the exact null distribution is used.
pub const EXACT_MAX: usize = 50;

/// Outcome of the test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MannWhitney {
    /// U of the candidate: pairs where it is larger, plus half the ties.
    pub u: f64,
    /// Candidate sample size.
    pub n_candidate: u64,
    /// Baseline sample size.
    pub n_baseline: u64,
    /// U / (n_candidate · n_baseline): the probability that a random candidate request is
    /// slower than a random baseline one (ties halved); 0.5 means no shift.
    pub probability_slower: f64,
    /// Standardised statistic (normal approximation; 0 for the exact test).
    pub z: f64,
    /// P-value of "the candidate is slower".
    pub p_greater: f64,
    /// P-value of "the candidate is faster".
    pub p_less: f64,
    /// Two-sided p-value.
    pub p_two_sided: f64,
    /// Whether the exact distribution was used.
    pub exact: bool,
}

/// Test on raw values.
pub fn from_values(candidate: &[f64], baseline: &[f64]) -> Option<MannWhitney> {
    let (m, n) = (candidate.len(), baseline.len());
    if m == 0 || n == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = candidate
        .iter()
        .map(|&v| (v, true))
        .chain(baseline.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let t = (j - i + 1) as f64;
        let mid_rank = (i + j) as f64 / 2.0 + 1.0;
        let from_candidate = all[i..=j].iter().filter(|e| e.1).count() as f64;
        rank_sum += mid_rank * from_candidate;
        tie_term += t * t * t - t;
        i = j + 1;
    }
    let u = rank_sum - (m * (m + 1)) as f64 / 2.0;
    if tie_term == 0.0 && m <= EXACT_MAX && n <= EXACT_MAX {
        return Some(exact(u, m, n));
    }
    Some(asymptotic(u, m as u64, n as u64, tie_term))
}

/// Test on two sketches (values in one bin are ties).
pub fn from_histograms(candidate: &Histogram, baseline: &Histogram) -> Option<MannWhitney> {
    let (m, n) = (candidate.len(), baseline.len());
    if m == 0 || n == 0 {
        return None;
    }
    // Zero bins first, then a merge walk over the two ascending bin lists.
    let mut u = candidate.zero() as f64 * baseline.zero() as f64 * 0.5;
    let mut tie_term = cube_term((candidate.zero() + baseline.zero()) as f64);
    let mut below_in_baseline = baseline.zero() as f64;
    let (c, b) = (candidate.bins(), baseline.bins());
    let (mut i, mut j) = (0, 0);
    while i < c.len() || j < b.len() {
        let ci = c.get(i).map_or(i32::MAX, |x| x.0);
        let bj = b.get(j).map_or(i32::MAX, |x| x.0);
        if ci < bj {
            u += c[i].1 as f64 * below_in_baseline;
            tie_term += cube_term(c[i].1 as f64);
            i += 1;
        } else if bj < ci {
            below_in_baseline += b[j].1 as f64;
            tie_term += cube_term(b[j].1 as f64);
            j += 1;
        } else {
            let (cc, bb) = (c[i].1 as f64, b[j].1 as f64);
            u += cc * (below_in_baseline + 0.5 * bb);
            below_in_baseline += bb;
            tie_term += cube_term(cc + bb);
            i += 1;
            j += 1;
        }
    }
    Some(asymptotic(u, m, n, tie_term))
}

fn cube_term(t: f64) -> f64 {
    t * t * t - t
}

fn asymptotic(u: f64, m: u64, n: u64, tie_term: f64) -> MannWhitney {
    let (mf, nf) = (m as f64, n as f64);
    let total = mf + nf;
    let mu = mf * nf / 2.0;
    let var = mf * nf / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    let sd = var.max(0.0).sqrt();
    let z_of = |stat: f64| {
        if sd > 0.0 {
            (stat - mu - 0.5) / sd
        } else {
            0.0
        }
    };
    let p_of = |stat: f64| {
        if sd > 0.0 {
            normal::sf(z_of(stat))
        } else {
            1.0
        }
    };
    let u_other = mf * nf - u;
    MannWhitney {
        u,
        n_candidate: m,
        n_baseline: n,
        probability_slower: u / (mf * nf),
        z: if sd > 0.0 { (u - mu) / sd } else { 0.0 },
        p_greater: p_of(u).min(1.0),
        p_less: p_of(u_other).min(1.0),
        p_two_sided: (2.0 * p_of(u.max(u_other))).min(1.0),
        exact: false,
    }
}

fn exact(u: f64, m: usize, n: usize) -> MannWhitney {
    let pmf = null_distribution(m, n);
    // U has integer values without ties; P(U >= k).
    let sf = |k: f64| -> f64 {
        let k = k.round().max(0.0) as usize;
        pmf.get(k..).map_or(0.0, |t| t.iter().sum::<f64>())
    };
    let u_other = (m * n) as f64 - u;
    MannWhitney {
        u,
        n_candidate: m as u64,
        n_baseline: n as u64,
        probability_slower: u / (m * n) as f64,
        z: 0.0,
        p_greater: sf(u).min(1.0),
        p_less: sf(u_other).min(1.0),
        p_two_sided: (2.0 * sf(u.max(u_other))).min(1.0),
        exact: true,
    }
}

/// P(U = u) for u in 0..=m·n under the null hypothesis, no ties.
fn null_distribution(m: usize, n: usize) -> Vec<f64> {
    // prev[j] = distribution for (i − 1, j); cur[j] for (i, j).
    let point = vec![1.0];
    let mut prev: Vec<Vec<f64>> = vec![point.clone(); n + 1];
    for i in 1..=m {
        let mut cur: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        cur.push(point.clone());
        for j in 1..=n {
            let mut dist = vec![0.0; i * j + 1];
            let (wi, wj) = (i as f64 / (i + j) as f64, j as f64 / (i + j) as f64);
            // Largest value belongs to the candidate: it beats all j baseline values.
            for (u, &p) in prev[j].iter().enumerate() {
                dist[u + j] += wi * p;
            }
            for (u, &p) in cur[j - 1].iter().enumerate() {
                dist[u] += wj * p;
            }
            cur.push(dist);
        }
        prev = cur;
    }
    prev.swap_remove(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::LatencySketch;

    #[test]
    fn exact_distribution_sums_to_one_and_is_symmetric() {
        let d = null_distribution(4, 6);
        assert_eq!(d.len(), 25);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for k in 0..d.len() {
            assert!((d[k] - d[24 - k]).abs() < 1e-12);
        }
        // P(U = 0) = 1 / C(10, 4) = 1/210.
        assert!((d[0] - 1.0 / 210.0).abs() < 1e-15);
    }

    #[test]
    fn sketch_test_agrees_with_value_test_when_values_sit_on_bin_values() {
        // Values exactly at bin representatives: the sketch loses nothing.
        let vals = |lo: i32, hi: i32, rep: usize| -> Vec<f64> {
            (lo..hi)
                .flat_map(|i| std::iter::repeat_n(LatencySketch::bin_value(i), rep))
                .collect()
        };
        let (c, b) = (vals(200, 260, 3), vals(190, 250, 4));
        let by_values = from_values(&c, &b).unwrap();
        let sk = |v: &[f64]| {
            let mut s = LatencySketch::new();
            v.iter().for_each(|&x| s.insert(x));
            Histogram::of(&s)
        };
        let by_bins = from_histograms(&sk(&c), &sk(&b)).unwrap();
        assert!((by_values.u - by_bins.u).abs() < 1e-9);
        assert!((by_values.p_greater - by_bins.p_greater).abs() < 1e-12);
        assert!((by_values.p_two_sided - by_bins.p_two_sided).abs() < 1e-12);
    }
}
