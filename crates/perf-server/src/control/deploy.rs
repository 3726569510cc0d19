//! What the deployment decisions (baselines, gates, rollouts, regressions) read from the
//! engine: per-operation samples of a selector over a time range. The statistics live in
//! `perf_core::compare`.

use super::ControlError;
use crate::durable::Durable;
use perf_core::compare::baseline::{samples_from_engine, Selector};
use perf_core::compare::OperationSample;
use std::collections::BTreeMap;

/// Per-operation samples of the engine's views for a selector over `[from, to)`.
pub fn live_samples(
    d: &Durable,
    selector: &Selector,
    from: i64,
    to: i64,
) -> Result<BTreeMap<String, OperationSample>, ControlError> {
    samples_from_engine(&d.engine(), selector, from, to)
        .map_err(|e| ControlError::Invalid(e.to_string()))
}

/// A window label (`1h`) as milliseconds, with the field named in the error.
pub fn window_ms(field: &str, text: &str) -> Result<i64, ControlError> {
    let ms = perf_core::duration::parse_duration(text)
        .map_err(|e| ControlError::Invalid(format!("{field}: {e}")))?;
    if ms <= 0 {
        return Err(ControlError::Invalid(format!("{field}: must be positive")));
    }
    Ok(ms)
}
