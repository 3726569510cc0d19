//! How every command writes a number with its unit: fractions as percents (`12.34 %`),
//! changes as signed percents or percentage points (`+4.7 %`, `+0.12 pt`), latencies in
//! milliseconds (`151.6 ms`), durations as labels (`1m30s`, the form configuration and the
//! API accept), and a missing value as `–`. One place, so a table, a report line and a
//! golden file write the same figure the same way; the digits are the caller's (a
//! compliance needs three, a load share none).

use perf_core::duration::format_duration;

/// A missing value.
pub const MISSING: &str = "–";

/// A fraction as a percent with `digits` decimals (`0.1234`, 2 → `12.34 %`).
pub fn percent(fraction: f64, digits: usize) -> String {
    format!("{:.digits$} %", fraction * 100.0)
}

/// [`percent`], or [`MISSING`].
pub fn percent_opt(fraction: Option<f64>, digits: usize) -> String {
    fraction.map_or_else(|| MISSING.into(), |x| percent(x, digits))
}

/// [`percent`] of a JSON number, or [`MISSING`].
pub fn percent_json(v: &serde_json::Value, digits: usize) -> String {
    percent_opt(v.as_f64(), digits)
}

/// A relative change as a signed percent (`0.047`, 1 → `+4.7 %`).
pub fn signed_percent(change: f64, digits: usize) -> String {
    format!("{:+.digits$} %", change * 100.0)
}

/// A change of a rate in percentage points (`0.0012`, 2 → `+0.12 pt`).
pub fn points(change: f64, digits: usize) -> String {
    format!("{:+.digits$} pt", change * 100.0)
}

/// A latency in milliseconds with one decimal (`151.6 ms`).
pub fn ms(v: f64) -> String {
    format!("{v:.1} ms")
}

/// [`ms`], or [`MISSING`].
pub fn ms_opt(v: Option<f64>) -> String {
    v.map_or_else(|| MISSING.into(), ms)
}

/// A duration in milliseconds as a label to the second (`90400` → `1m30s`); under a second
/// in milliseconds (`850 ms`), so a short duration never reads as `0s`.
pub fn duration(ms: i64) -> String {
    if ms.abs() < 1_000 {
        return format!("{ms} ms");
    }
    let seconds = (ms as f64 / 1_000.0).round() as i64;
    if seconds < 0 {
        format!("-{}", format_duration(-seconds * 1_000))
    } else {
        format_duration(seconds * 1_000)
    }
}

/// [`duration`] of a JSON number of milliseconds, or [`MISSING`].
pub fn duration_json(v: &serde_json::Value) -> String {
    v.as_i64().map_or_else(|| MISSING.into(), duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_reads_one_way() {
        assert_eq!(percent(0.1234, 2), "12.34 %");
        assert_eq!(percent(0.5, 0), "50 %");
        assert_eq!(percent_opt(None, 1), "–");
        assert_eq!(percent_json(&serde_json::json!(0.0005), 3), "0.050 %");
        assert_eq!(percent_json(&serde_json::Value::Null, 3), "–");
        assert_eq!(signed_percent(0.047, 1), "+4.7 %");
        assert_eq!(signed_percent(-0.005, 1), "-0.5 %");
        assert_eq!(points(0.0012, 2), "+0.12 pt");
        assert_eq!(ms(151.62), "151.6 ms");
        assert_eq!(ms_opt(None), "–");
        assert_eq!(duration(24_001), "24s");
        assert_eq!(duration(90_400), "1m30s");
        assert_eq!(duration(89_600), "1m30s");
        assert_eq!(duration(850), "850 ms");
        assert_eq!(duration(0), "0 ms");
        assert_eq!(duration(-120_000), "-2m");
        assert_eq!(duration(3 * 86_400_000 + 3_600_000), "3d1h");
        assert_eq!(duration_json(&serde_json::json!(7_200_000)), "2h");
        assert_eq!(duration_json(&serde_json::Value::Null), "–");
    }
}
