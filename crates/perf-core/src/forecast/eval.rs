//! Rolling-origin evaluation: fit on a training window ending at each origin, forecast the
//! next h steps, score against what happened. sMAPE (in %), MASE scaled by the in-sample
//! mean absolute error of the seasonal naive forecast with lag `m` on the training window,
//! and the coverage of the prediction interval — for the model and for the seasonal naive
//! references (the value one period earlier, repeated).

use super::model::fit;

/// Scores of one method at one horizon.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Scores {
    /// Symmetric MAPE, percent.
    pub smape: f64,
    /// Mean absolute scaled error.
    pub mase: f64,
    /// Share of actuals inside the interval (model only).
    pub coverage: Option<f64>,
    /// Origins scored.
    pub origins: usize,
}

/// The model and the references at one horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Horizon in steps.
    pub horizon: usize,
    /// The model.
    pub model: Scores,
    /// Seasonal naive, one per reference lag (e.g. weekly, daily).
    pub naive: Vec<(usize, Scores)>,
    /// Mean fit-plus-forecast time is measured by the caller; this counts the fits.
    pub fits: usize,
}

fn smape(a: f64, f: f64) -> f64 {
    let d = a.abs() + f.abs();
    if d == 0.0 {
        0.0
    } else {
        200.0 * (a - f).abs() / d
    }
}

/// Rolling-origin evaluation of a regular series (`values[i]` at `ts[i]`).
pub fn rolling_origin(
    points: &[(i64, f64)],
    train: usize,
    every: usize,
    horizon: usize,
    interval: f64,
    mase_lag: usize,
    naive_lags: &[usize],
) -> Evaluation {
    let mut model = (0.0, 0.0, 0usize, 0usize, 0usize);
    let mut naive: Vec<(f64, f64, usize)> = vec![(0.0, 0.0, 0); naive_lags.len()];
    let mut origins = 0;
    let mut origin = train;
    while origin + horizon <= points.len() {
        let window = &points[origin - train..origin];
        let scale = {
            let (mut s, mut n) = (0.0, 0);
            for i in mase_lag..window.len() {
                s += (window[i].1 - window[i - mase_lag].1).abs();
                n += 1;
            }
            if n > 0 && s > 0.0 {
                s / n as f64
            } else {
                1.0
            }
        };
        let actual = &points[origin..origin + horizon];
        if let Ok(f) = fit(window) {
            let fc = f.forecast(horizon, interval);
            for (p, a) in fc.iter().zip(actual) {
                model.0 += smape(a.1, p.forecast);
                model.1 += (a.1 - p.forecast).abs() / scale;
                model.2 += usize::from(a.1 >= p.lower && a.1 <= p.upper);
                model.3 += 1;
            }
            model.4 += 1;
        }
        for (slot, &lag) in naive.iter_mut().zip(naive_lags) {
            for (h, a) in actual.iter().enumerate() {
                // The value one period before the forecast time, from the training window
                // (repeating the last period for horizons beyond it).
                let back = lag - (h % lag);
                let idx = origin - back;
                let f = points[idx].1;
                slot.0 += smape(a.1, f);
                slot.1 += (a.1 - f).abs() / scale;
                slot.2 += 1;
            }
        }
        origins += 1;
        origin += every;
    }
    let m = model.3.max(1) as f64;
    Evaluation {
        horizon,
        model: Scores {
            smape: model.0 / m,
            mase: model.1 / m,
            coverage: Some(model.2 as f64 / m),
            origins,
        },
        naive: naive
            .iter()
            .zip(naive_lags)
            .map(|(s, &lag)| {
                let n = s.2.max(1) as f64;
                (
                    lag,
                    Scores {
                        smape: s.0 / n,
                        mase: s.1 / n,
                        coverage: None,
                        origins,
                    },
                )
            })
            .collect(),
        fits: model.4,
    }
}
