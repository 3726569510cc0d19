//! The forecasting model (see the module doc of [`super`]).

use crate::compare::trend;
use crate::numeric::median;
use serde::Serialize;

const DAY_MS: i64 = 86_400_000;
/// Cycles the profile is the median of.
const PROFILE_CYCLES: usize = 4;
/// Lowest autocorrelation at which a period counts.
const MIN_ACF: f64 = 0.2;
/// Weight of a new residual in the level correction.
const LEVEL_ALPHA: f64 = 0.1;
/// Fewest points a fit needs.
pub const MIN_POINTS: usize = 16;

/// Why a series cannot be forecast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// Too few points.
    #[error("the series has {got} points; a forecast needs at least {needed}")]
    TooShort {
        /// Needed.
        needed: usize,
        /// Got.
        got: usize,
    },
    /// Timestamps are not increasing.
    #[error("timestamps must increase (row {row} is not after the one before)")]
    Unsorted {
        /// Zero-based row.
        row: usize,
    },
    /// A value is NaN or infinite.
    #[error("row {row}: the value is not finite")]
    NotFinite {
        /// Zero-based row.
        row: usize,
    },
}

/// One forecast step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForecastPoint {
    /// Time, unix ms (RFC 3339 in JSON).
    #[serde(
        rename = "ts",
        serialize_with = "crate::time::serde_rfc3339::serialize"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub ts_ms: i64,
    /// Point forecast.
    pub forecast: f64,
    /// Lower bound of the interval.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transform {
    /// `ln(x + offset)`.
    Log {
        offset: f64,
    },
    Identity,
}

impl Transform {
    fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Log { offset } => (x + offset).ln(),
            Transform::Identity => x,
        }
    }

    fn invert(self, y: f64) -> f64 {
        match self {
            Transform::Log { offset } => (y.exp() - offset).max(0.0),
            Transform::Identity => y,
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone)]
pub struct Fitted {
    step_ms: i64,
    last_ts: i64,
    /// Grid index of the last point.
    last_index: usize,
    transform: Transform,
    period: usize,
    profile: Vec<f64>,
    trend_per_step: f64,
    trend_center: f64,
    level: f64,
    /// Residual autocorrelation by lag (non-increasing, in [0, 1]).
    rho: Vec<f64>,
    /// Sorted out-of-sample errors (transformed scale).
    errors: Vec<f64>,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Autocorrelation at `lag` over the present pairs.
fn acf(y: &[f64], lag: usize) -> f64 {
    let present: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    if present.len() < 3 || lag >= y.len() {
        return 0.0;
    }
    let mean = present.iter().sum::<f64>() / present.len() as f64;
    let var = present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / present.len() as f64;
    if var <= 0.0 {
        return 0.0;
    }
    let (mut s, mut n) = (0.0, 0usize);
    for i in 0..y.len() - lag {
        let (a, b) = (y[i], y[i + lag]);
        if a.is_finite() && b.is_finite() {
            s += (a - mean) * (b - mean);
            n += 1;
        }
    }
    if n == 0 {
        0.0
    } else {
        s / n as f64 / var
    }
}

/// Fits the model to `(unix ms, value)` points in time order.
pub fn fit(points: &[(i64, f64)]) -> Result<Fitted, ForecastError> {
    if points.len() < MIN_POINTS {
        return Err(ForecastError::TooShort {
            needed: MIN_POINTS,
            got: points.len(),
        });
    }
    for (i, p) in points.iter().enumerate() {
        if !p.1.is_finite() {
            return Err(ForecastError::NotFinite { row: i });
        }
        if i > 0 && p.0 <= points[i - 1].0 {
            return Err(ForecastError::Unsorted { row: i });
        }
    }
    let mut steps: Vec<f64> = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) as f64)
        .collect();
    let step_ms = median(&mut steps).unwrap_or(1.0).max(1.0) as i64;
    let t0 = points[0].0;
    let last_index = ((points[points.len() - 1].0 - t0) as f64 / step_ms as f64).round() as usize;
    // Transform.
    let min = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let transform = if min > 0.0 {
        Transform::Log { offset: 0.0 }
    } else if min == 0.0 {
        let mut pos: Vec<f64> = points.iter().map(|p| p.1).filter(|v| *v > 0.0).collect();
        let c = median(&mut pos).map_or(1.0, |m| 0.01 * m);
        Transform::Log { offset: c }
    } else {
        Transform::Identity
    };
    // The grid, gaps as NaN.
    let mut y = vec![f64::NAN; last_index + 1];
    for p in points {
        let k = ((p.0 - t0) as f64 / step_ms as f64).round() as usize;
        y[k.min(last_index)] = transform.apply(p.1);
    }
    let n = y.len();
    // Period.
    let mut period = 1;
    let steps_of = |span: i64| -> Option<usize> {
        (span % step_ms == 0 && span / step_ms >= 2 && n >= 2 * (span / step_ms) as usize)
            .then_some((span / step_ms) as usize)
    };
    let daily = steps_of(DAY_MS).map(|p| (p, acf(&y, p)));
    let weekly = steps_of(7 * DAY_MS).map(|p| (p, acf(&y, p)));
    match (daily, weekly) {
        (Some(d), Some(w)) if w.1 >= MIN_ACF && w.1 >= d.1 - 0.05 => period = w.0,
        (Some(d), _) if d.1 >= MIN_ACF => period = d.0,
        (None, Some(w)) if w.1 >= MIN_ACF => period = w.0,
        _ => {}
    }
    let cycles = if period == 1 {
        n.min(48)
    } else {
        (n / period).min(PROFILE_CYCLES)
    };
    // Profile: median over the last `cycles` cycles at each phase (phase = index mod period).
    let start = n - cycles * period;
    let mut profile = vec![f64::NAN; period];
    let mut scratch = Vec::with_capacity(cycles);
    for (phase, slot) in profile.iter_mut().enumerate() {
        scratch.clear();
        let mut k = start + ((phase + period - start % period) % period);
        while k < n {
            if y[k].is_finite() {
                scratch.push(y[k]);
            }
            k += period;
        }
        if let Some(m) = median(&mut scratch) {
            *slot = m;
        }
    }
    let overall = {
        let mut all: Vec<f64> = y[start..]
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        median(&mut all).unwrap_or(0.0)
    };
    for v in profile.iter_mut().filter(|v| !v.is_finite()) {
        *v = overall;
    }
    // Trend over per-cycle means (all complete cycles), kept only when significant.
    let mut trend_per_step = 0.0;
    if period > 1 && n / period >= 3 {
        let total = n / period;
        let first = n - total * period;
        let means: Vec<(f64, f64)> = (0..total)
            .filter_map(|c| {
                let seg: Vec<f64> = y[first + c * period..first + (c + 1) * period]
                    .iter()
                    .copied()
                    .filter(|v| v.is_finite())
                    .collect();
                (!seg.is_empty()).then(|| (c as f64, seg.iter().sum::<f64>() / seg.len() as f64))
            })
            .collect();
        if let Some(t) = trend::fit(&means) {
            if t.p_value < 0.05 {
                trend_per_step = t.slope / period as f64;
            }
        }
    } else if period == 1 {
        // No season: the trend over the means of (up to) 24 blocks of the whole series.
        let block = n.div_ceil(24).max(1);
        let means: Vec<(f64, f64)> = y
            .chunks(block)
            .enumerate()
            .filter_map(|(b, seg)| {
                let finite: Vec<f64> = seg.iter().copied().filter(|v| v.is_finite()).collect();
                (!finite.is_empty()).then(|| {
                    (
                        (b * block) as f64 + (seg.len() as f64 - 1.0) / 2.0,
                        finite.iter().sum::<f64>() / finite.len() as f64,
                    )
                })
            })
            .collect();
        if let Some(t) = trend::fit(&means) {
            if t.p_value < 0.05 {
                trend_per_step = t.slope;
            }
        }
    }
    let trend_center = start as f64 + (n - start) as f64 / 2.0;
    let base = |k: usize| profile[k % period] + trend_per_step * (k as f64 - trend_center);
    // Residuals of the profiled part; level correction; their autocorrelation.
    let resid: Vec<f64> = (start..n)
        .map(|k| {
            if y[k].is_finite() {
                y[k] - base(k)
            } else {
                f64::NAN
            }
        })
        .collect();
    let mut level = 0.0;
    for r in resid.iter().filter(|r| r.is_finite()) {
        level += LEVEL_ALPHA * (r - level);
    }
    // Lags up to one period (and at least two days of steps): beyond, the correction is 0.
    let max_lag = (resid.len() / 2).min(period.max(96));
    let mut rho = Vec::with_capacity(max_lag + 1);
    let mut prev = 1.0f64;
    for lag in 0..=max_lag {
        let r = if lag == 0 {
            1.0
        } else {
            acf(&resid, lag).clamp(0.0, 1.0)
        };
        prev = prev.min(r);
        rho.push(prev);
    }
    // Out-of-sample errors: every cycle of the training window predicted the way the forecast
    // is made — the median of the (up to four) cycles before it.
    let mut errors = Vec::new();
    let total = if period > 1 { n / period } else { 0 };
    if total >= 2 {
        let first = n - total * period;
        for c in 1..total {
            let from = c.saturating_sub(PROFILE_CYCLES);
            // The trend between the cycles the median comes from and the predicted one.
            let shift = trend_per_step * period as f64 * (c as f64 - (from + c - 1) as f64 / 2.0);
            for off in 0..period {
                let k = first + c * period + off;
                if !y[k].is_finite() {
                    continue;
                }
                scratch.clear();
                for o in from..c {
                    let j = first + o * period + off;
                    if y[j].is_finite() {
                        scratch.push(y[j]);
                    }
                }
                if let Some(m) = median(&mut scratch) {
                    errors.push(y[k] - m - shift);
                }
            }
        }
    } else if period == 1 && cycles.min(n / 2) >= 4 {
        // No season: every point predicted the way the forecast is made — the median of the
        // points before it, moved along the trend.
        let w = cycles.min(n / 2);
        for k in w..n {
            if !y[k].is_finite() {
                continue;
            }
            scratch.clear();
            scratch.extend(y[k - w..k].iter().copied().filter(|v| v.is_finite()));
            if let Some(m) = median(&mut scratch) {
                errors.push(y[k] - m - trend_per_step * (w as f64 + 1.0) / 2.0);
            }
        }
    } else {
        // Too few cycles to hold one out: one-step differences, a conservative stand-in.
        errors = y
            .windows(2)
            .filter(|w| w[0].is_finite() && w[1].is_finite())
            .map(|w| w[1] - w[0])
            .collect();
    }
    errors.sort_by(f64::total_cmp);
    Ok(Fitted {
        step_ms,
        last_ts: points[points.len() - 1].0,
        last_index,
        transform,
        period,
        profile,
        trend_per_step,
        trend_center,
        level,
        rho,
        errors,
    })
}

impl Fitted {
    /// The detected period in steps (1 = none).
    pub fn period(&self) -> usize {
        self.period
    }

    /// The sampling step, ms.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// Trend per step on the transformed scale (0 when not significant).
    pub fn trend_per_step(&self) -> f64 {
        self.trend_per_step
    }

    /// The `horizon` steps after the last point, with a central `interval` (e.g. 0.95).
    pub fn forecast(&self, horizon: usize, interval: f64) -> Vec<ForecastPoint> {
        let tail = (1.0 - interval.clamp(0.5, 0.999)) / 2.0;
        let (q_lo, q_hi) = (
            quantile(&self.errors, tail),
            quantile(&self.errors, 1.0 - tail),
        );
        (1..=horizon)
            .map(|h| {
                let k = self.last_index + h;
                let rho = self.rho.get(h).copied().unwrap_or(0.0);
                let centre = self.profile[k % self.period]
                    + self.trend_per_step * (k as f64 - self.trend_center)
                    + self.level * rho;
                ForecastPoint {
                    ts_ms: self.last_ts + h as i64 * self.step_ms,
                    forecast: self.transform.invert(centre),
                    lower: self.transform.invert(centre + q_lo),
                    upper: self.transform.invert(centre + q_hi),
                }
            })
            .collect()
    }
}
