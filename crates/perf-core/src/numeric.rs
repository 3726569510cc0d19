//! Small numeric helpers shared by several modules (the median of a handful of values, where
//! pulling in a statistics crate's sorting adaptors would add nothing).

/// The median of `v` (sorted in place; the mean of the two middle values for an even count);
/// `None` when empty.
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn odd_even_and_empty() {
        assert_eq!(super::median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(super::median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(super::median(&mut []), None);
    }
}

/// A fraction as a percent for display, without the float noise of the product (0.999 →
/// 99.9, not 99.90000000000001): rounded to ten decimals.
pub fn percent_of(fraction: f64) -> f64 {
    (fraction * 100.0 * 1e10).round() / 1e10
}

/// A p-value for people: two decimals down to 0.01 (`1.00`, `0.04`), three below that,
/// scientific under 0.001 (`1.2e-5`) — never `1.0e0`.
pub fn format_p_value(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p >= 0.01 {
        format!("{p:.2}")
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

#[cfg(test)]
mod p_value_tests {
    #[test]
    fn p_values_read_as_people_write_them() {
        let f = super::format_p_value;
        assert_eq!(f(1.0), "1.00");
        assert_eq!(f(0.0421), "0.04");
        assert_eq!(f(0.0042), "0.004");
        assert_eq!(f(0.0000123), "1.2e-5");
        assert_eq!(f(f64::NAN), "–");
        assert_eq!(format!("{}", super::percent_of(0.9995)), "99.95");
        assert_eq!(format!("{}", super::percent_of(0.999)), "99.9");
    }
}
