//! Is an error-rate change real at this many requests? A detector sees only the rate: on a
//! series with a hundred requests a minute, one error is a rate of 1 % where the usual is
//! 0 %, a surprise to the rate and nothing to anyone who knows the counts. The online monitor
//! therefore keeps each error-rate series' long-run rate (errors and requests, each a sum
//! that forgets with a time constant of a day, with half an error of prior: `(E + ½) / (R +
//! 1)`, so a series with little history is not taken to never fail) and accepts an error-rate anomaly only when the minute's error
//! *count* is improbable (Poisson tail < [`LEVEL`]) at the rate expected: for a rise, the
//! higher of the detector's expectation and the long-run rate; for a fall, the detector's
//! expectation. The Poisson tails come from `statrs`. The same long-run rate gives the
//! detector its noise floor (the standard error of the rate at the minute's request count),
//! so that a chance error does not raise an alert and then silence the series' detector for
//! its rest period.

use serde::{Deserialize, Serialize};
use statrs::distribution::{DiscreteCDF, Poisson};

/// Tail probability under which a minute's error count is not chance.
pub const LEVEL: f64 = 1e-3;
/// Share of the sums forgotten per minute (time constant: a day).
const FORGET: f64 = 1.0 / 1440.0;

/// A series' errors and requests, summed with forgetting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LongRunRate {
    errors: f64,
    requests: f64,
}

impl LongRunRate {
    /// Adds a minute.
    pub fn observe(&mut self, errors: u64, requests: u64) {
        self.errors = self.errors * (1.0 - FORGET) + errors as f64;
        self.requests = self.requests * (1.0 - FORGET) + requests as f64;
    }

    /// Errors per request, `(E + ½) / (R + 1)`.
    pub fn rate(&self) -> f64 {
        (self.errors + 0.5) / (self.requests + 1.0)
    }
}

/// Whether `errors` of `requests` differs from `expected_rate` (and, for a rise, from the
/// long-run rate too) by more than chance: Poisson tail below [`LEVEL`].
pub fn is_real_change(errors: u64, requests: u64, expected_rate: f64, long_run: f64) -> bool {
    let n = requests as f64;
    let observed = errors as f64;
    if observed > n * expected_rate {
        // P(X ≥ errors) at the more forgiving of the two rates.
        let lambda = n * expected_rate.max(long_run);
        if observed <= lambda {
            return false;
        }
        if lambda <= 0.0 {
            // No chance of an error at all.
            return true;
        }
        Poisson::new(lambda).is_ok_and(|p| p.sf(errors - 1) < LEVEL)
    } else {
        // P(X ≤ errors) at the expected rate: fewer errors than chance allows.
        let lambda = n * expected_rate;
        lambda > 0.0 && Poisson::new(lambda).is_ok_and(|p| p.cdf(errors) < LEVEL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_error_in_a_hundred_requests_is_chance_at_a_small_long_run_rate() {
        // Detector expected 0 (most minutes have no error), long-run 0.2 %.
        assert!(!is_real_change(1, 107, 0.0, 0.002));
        // Three errors at λ = 0.21: P ≈ 1.4e−3, still chance at the 1e−3 level.
        assert!(!is_real_change(3, 107, 0.0, 0.002));
        assert!(is_real_change(4, 107, 0.0, 0.002));
    }

    #[test]
    fn an_error_burst_is_real_and_a_quiet_minute_is_not() {
        // 25 % of 300 requests where 0.2 % is usual.
        assert!(is_real_change(75, 300, 0.002, 0.002));
        // No error where 0.22 % of 450 (λ ≈ 1) was expected: chance.
        assert!(!is_real_change(0, 450, 0.0022, 0.002));
        // No error where 5 % of 1,000 (λ = 50) was expected: a real fall.
        assert!(is_real_change(0, 1_000, 0.05, 0.05));
    }

    #[test]
    fn a_short_history_without_errors_does_not_make_one_error_news() {
        let mut r = LongRunRate::default();
        r.observe(0, 100);
        // After one clean minute of 100 requests the rate is ½ / 101: λ ≈ 0.5 next minute.
        assert!((r.rate() - 0.5 / 101.0).abs() < 1e-12);
        assert!(!is_real_change(1, 100, 0.0, r.rate()));
        assert!(!is_real_change(4, 100, 0.0, r.rate()));
        assert!(is_real_change(6, 100, 0.0, r.rate()));
        // After a clean day, one error in a minute is improbable (λ ≈ 1e−3).
        for _ in 0..1_440 {
            r.observe(0, 100);
        }
        assert!(is_real_change(1, 100, 0.0, r.rate()));
    }

    #[test]
    fn the_tail_matches_the_poisson_formula() {
        // P(X ≥ 3; λ = 0.5) = 1 − e^−0.5 (1 + 0.5 + 0.125) = 0.01439…
        let lambda: f64 = 0.5;
        let exact = 1.0 - (-lambda).exp() * (1.0 + lambda + lambda * lambda / 2.0);
        let p = Poisson::new(lambda).unwrap().sf(2);
        assert!((p - exact).abs() < 1e-12, "{p} vs {exact}");
        // Rises judged at the higher of the two rates.
        assert!(is_real_change(10, 1_000, 0.001, 0.001));
        assert!(!is_real_change(10, 1_000, 0.001, 0.008));
    }

    #[test]
    fn the_long_run_rate_moves_slowly() {
        let mut r = LongRunRate::default();
        assert_eq!(r.rate(), 0.5);
        for _ in 0..1_440 {
            r.observe(2, 1_000);
        }
        assert!((r.rate() - 0.002).abs() < 1e-5, "{}", r.rate());
        for _ in 0..10 {
            r.observe(250, 1_000);
        }
        // Ten minutes of a 25 % burst move a day-long rate by under 2 points.
        assert!(r.rate() < 0.02, "{}", r.rate());
    }
}
