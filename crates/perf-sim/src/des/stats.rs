//! Exact quantiles of a run's latencies and 95 % intervals across seeds (Student's t, from
//! statrs).

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The `q` quantile of sorted values (nearest rank); `None` when empty.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Mean and half-width of the 95 % t interval of `values`.
pub fn mean_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    // The two-sided 95 % point of Student's t with n − 1 degrees of freedom.
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .map(|d| d.inverse_cdf(0.975))
        .unwrap_or(f64::NAN);
    (mean, t * (var / n as f64).sqrt())
}

/// `mean ± half` with `digits` decimals.
pub fn format_ci(values: &[f64], digits: usize) -> String {
    let (m, h) = mean_ci(values);
    if h.is_finite() {
        format!("{m:.digits$} ± {h:.digits$}")
    } else {
        format!("{m:.digits$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles_and_t_intervals() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 0.999), Some(100.0));
        // 1..=5: mean 3, sd √2.5, t(4) = 2.776: half-width 2.776 · √(2.5 / 5) = 1.963.
        let (m, h) = mean_ci(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(m, 3.0);
        assert!((h - 1.9629).abs() < 1e-3, "{h}");
        // Large samples: t(99) = 1.984 (tables), close to the normal 1.96.
        let v: Vec<f64> = (0..100).map(|i| f64::from(i % 2)).collect();
        let (_, h) = mean_ci(&v);
        let sd = (25.0f64 / 99.0).sqrt();
        assert!((h / (sd / 10.0) - 1.9842).abs() < 1e-3, "{h}");
    }
}
