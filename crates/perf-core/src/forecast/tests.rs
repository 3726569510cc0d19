//! The forecaster on synthetic series with known structure, and its documented handling of
//! short, constant, gapped and unsorted input.

use super::*;

const STEP: i64 = 1_800_000; // 30 minutes
const DAY: usize = 48;
const T0: i64 = 1_700_000_000_000;

/// Level 1000 growing 0.2 % per day (multiplicative), a daily shape (±30 %) and a weekend dip.
fn truth(i: usize) -> f64 {
    let day = i as f64 / DAY as f64;
    let daily = 1.0 + 0.3 * (2.0 * std::f64::consts::PI * day).sin();
    let weekend = if (i / DAY) % 7 >= 5 { 0.7 } else { 1.0 };
    1000.0 * (1.002f64).powf(day) * daily * weekend
}

fn points(n: usize, f: impl Fn(usize) -> f64) -> Vec<(i64, f64)> {
    (0..n).map(|i| (T0 + i as i64 * STEP, f(i))).collect()
}

#[test]
fn recovers_trend_and_both_seasonalities_within_two_percent() {
    let train = 6 * 7 * DAY;
    let fitted = fit(&points(train, truth)).unwrap();
    assert_eq!(fitted.period(), 7 * DAY, "the weekly period is detected");
    let fc = fitted.forecast(2 * DAY, 0.95);
    for (h, p) in fc.iter().enumerate() {
        let want = truth(train + h);
        assert!(
            (p.forecast / want - 1.0).abs() < 0.02,
            "h {h}: {} vs {want}",
            p.forecast
        );
        assert!(p.lower <= p.forecast && p.forecast <= p.upper);
    }
    // The trend was found (0.2 %/day on the log scale, per 30-minute step).
    let per_day = fitted.trend_per_step() * DAY as f64;
    assert!((per_day - 0.002f64.ln_1p()).abs() < 0.001, "{per_day}");
}

#[test]
fn positive_data_never_get_negative_forecasts_or_bounds() {
    // Mostly tiny values with rare bursts and zeros: the interval is wide, never negative.
    let data = points(4 * 7 * DAY, |i| {
        if i % 97 == 0 {
            500.0
        } else if i % 5 == 0 {
            0.0
        } else {
            1.0 + (i % 7) as f64
        }
    });
    let fc = fit(&data).unwrap().forecast(3 * DAY, 0.99);
    assert!(
        fc.iter().all(|p| p.lower >= 0.0 && p.forecast >= 0.0),
        "{:?}",
        fc.iter().find(|p| p.lower < 0.0)
    );
}

#[test]
fn short_unsorted_and_non_finite_input_is_refused_and_gaps_are_fine() {
    assert!(matches!(
        fit(&points(10, |_| 1.0)),
        Err(ForecastError::TooShort {
            needed: 16,
            got: 10
        })
    ));
    let mut bad = points(100, |i| i as f64 + 1.0);
    bad[50].0 = bad[49].0;
    assert!(matches!(
        fit(&bad),
        Err(ForecastError::Unsorted { row: 50 })
    ));
    let mut nan = points(100, |i| i as f64 + 1.0);
    nan[3].1 = f64::NAN;
    assert!(matches!(
        fit(&nan),
        Err(ForecastError::NotFinite { row: 3 })
    ));
    // A series with a missing day still finds its period and forecasts on the grid.
    let gapped: Vec<(i64, f64)> = points(5 * 7 * DAY, truth)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !(10 * DAY..11 * DAY).contains(i))
        .map(|(_, p)| p)
        .collect();
    let f = fit(&gapped).unwrap();
    let fc = f.forecast(3, 0.95);
    assert_eq!(fc[0].ts_ms, gapped.last().unwrap().0 + STEP);
    assert_eq!(f.period(), 7 * DAY);
}

#[test]
fn a_constant_series_forecasts_its_constant_with_a_zero_width_interval() {
    let fc = fit(&points(200, |_| 42.0)).unwrap().forecast(5, 0.95);
    for p in fc {
        assert!((p.forecast - 42.0).abs() < 1e-9 && (p.upper - p.lower).abs() < 1e-9);
    }
}

#[test]
fn a_short_series_without_season_follows_its_growth() {
    // Two hours of minutes growing 1 % per minute with ±3 % noise (a deterministic pattern):
    // no period can be detected, the trend is, and the forecast continues it.
    let minute = 60_000;
    let noise = |i: usize| 1.0 + 0.03 * ((i * 7919) % 13) as f64 / 6.0 - 0.03;
    let data: Vec<(i64, f64)> = (0..120)
        .map(|i| {
            (
                T0 + i as i64 * minute,
                100.0 * 1.01f64.powi(i as i32) * noise(i),
            )
        })
        .collect();
    let fitted = fit(&data).unwrap();
    assert_eq!(fitted.period(), 1);
    assert!(
        (fitted.trend_per_step() - 0.01f64.ln_1p()).abs() < 0.002,
        "{}",
        fitted.trend_per_step()
    );
    let fc = fitted.forecast(30, 0.95);
    for (h, p) in fc.iter().enumerate() {
        let want = 100.0 * 1.01f64.powi(120 + h as i32);
        assert!(
            (p.forecast / want - 1.0).abs() < 0.06,
            "h {h}: {} vs {want}",
            p.forecast
        );
        assert!(
            p.lower < want && want < p.upper,
            "h {h}: {want} outside the interval"
        );
    }
    // A flat noisy series gets no trend.
    let flat: Vec<(i64, f64)> = (0..120)
        .map(|i| (T0 + i as i64 * minute, 100.0 * noise(i)))
        .collect();
    assert_eq!(fit(&flat).unwrap().trend_per_step(), 0.0);
}
