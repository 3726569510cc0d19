//! Demand forecasting with honest intervals: a robust seasonal profile with a level
//! correction, written here rather than taken from a crate.
//!
//! Why not `augurs` (the field's Rust option): its seasonal ETS is not implemented, and its
//! MSTL prediction intervals come from the trend model alone, ignoring the seasonal
//! components' uncertainty — intervals that are too narrow exactly where capacity planning
//! needs them (peaks). The method below is small, fast (one pass over the training data) and
//! its intervals are calibrated on the data's own out-of-sample errors.
//!
//! **Method.** (1) Values are log-transformed when they are all positive (`ln(x + c)` with a
//! small offset when there are zeros), so positive data never get negative forecasts; series
//! with negative values are modelled as they are. (2) The sampling step is the median time
//! step; gaps are missing points, not zeros. (3) The period is detected among one day and one
//! week (in steps) by the autocorrelation of the transformed series, when at least two full
//! periods are available; the weekly period wins when it explains the data about as well,
//! since it contains the daily pattern. (4) The profile at each phase of the period is the
//! median of the last (up to) four cycles — robust to one anomalous day or week. (5) A trend
//! (Theil–Sen slope over per-cycle means; without a period, over the means of up to 24 blocks
//! of the series) is added when Mann–Kendall finds it significant.
//! (6) The level correction is the exponentially weighted recent residual against the
//! profile, decayed over the horizon by the residuals' own autocorrelation at that lag.
//! (7) Intervals: empirical quantiles of the errors made inside the training window when each
//! cycle is predicted, as the forecast is, by the median of the (up to four) cycles before
//! it (without a period: each point by the median of the up to 48 points before it, moved
//! along the trend) — so the interval reflects how well the profile predicts a cycle it has not seen (the
//! level correction is left out of these errors, which keeps them conservative).

pub mod capacity;
pub mod cost;
pub mod eval;
mod model;
pub mod tenant_cost;

pub use model::{fit, Fitted, ForecastError, ForecastPoint};

#[cfg(test)]
mod tests;
