//! Intervals and tests for rates (error rate, cache hit rate): the Wilson score interval
//! for one proportion, Newcombe's hybrid score interval for a difference of two (method 10
//! of Newcombe 1998, built from the two Wilson intervals), and the pooled two-proportion z
//! test. Wilson and Newcombe keep their coverage near zero, where error rates live and the
//! textbook Wald interval collapses to a point. Checked against statsmodels
//! (`proportion_confint(method="wilson")`, `confint_proportions_2indep(method="newcomb")`,
//! `proportions_ztest`) in `tests/fixtures/stats_reference.json`.

use super::normal;

/// Wilson score interval for `successes / n` at two-sided critical value `z`.
pub fn wilson(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let low = if successes == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if successes as f64 == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    (low, high)
}

/// Newcombe's hybrid score interval for `a/na − b/nb` at two-sided critical value `z`.
pub fn newcombe_diff(a: u64, na: u64, b: u64, nb: u64, z: f64) -> (f64, f64) {
    let pa = a as f64 / na.max(1) as f64;
    let pb = b as f64 / nb.max(1) as f64;
    let (la, ua) = wilson(a, na, z);
    let (lb, ub) = wilson(b, nb, z);
    let d = pa - pb;
    let low = d - ((pa - la).powi(2) + (ub - pb).powi(2)).sqrt();
    let high = d + ((ua - pa).powi(2) + (pb - lb).powi(2)).sqrt();
    (low, high)
}

/// One-sided p-value of the pooled z test that `a/na` is larger than `b/nb`. Identical rates
/// of 0 or 1 on both sides carry no evidence: p = 1 (and 0.5 would be as wrong).
pub fn z_test_larger(a: u64, na: u64, b: u64, nb: u64) -> f64 {
    if na == 0 || nb == 0 {
        return 1.0;
    }
    let (nfa, nfb) = (na as f64, nb as f64);
    let pooled = (a + b) as f64 / (nfa + nfb);
    let var = pooled * (1.0 - pooled) * (1.0 / nfa + 1.0 / nfb);
    if var <= 0.0 {
        return 1.0;
    }
    let z = (a as f64 / nfa - b as f64 / nfb) / var.sqrt();
    normal::sf(z)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_is_inside_unit_interval_and_contains_the_estimate() {
        for (s, n) in [(0, 10), (10, 10), (3, 1000), (500, 1000)] {
            let (l, u) = wilson(s, n, 2.576);
            let p = s as f64 / n as f64;
            assert!(
                (0.0..=p).contains(&l) && (p..=1.0).contains(&u),
                "{s}/{n}: {l} {u}"
            );
        }
        // No data: the whole range.
        assert_eq!(wilson(0, 0, 1.96), (0.0, 1.0));
    }

    #[test]
    fn z_test_without_variation_is_not_evidence() {
        assert_eq!(z_test_larger(0, 100, 0, 100), 1.0);
        assert!(z_test_larger(30, 1000, 5, 1000) < 1e-4);
        assert!(z_test_larger(5, 1000, 30, 1000) > 0.99);
    }
}
