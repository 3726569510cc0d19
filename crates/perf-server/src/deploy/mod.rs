//! Deployments: frozen baselines, the gate over live traffic, canary rollouts and continuous
//! regression monitoring (`/v1/baselines`, `/v1/gates/evaluate`, `/v1/rollouts`,
//! `/v1/regressions`). The statistics live in `perf_core::compare`; this module picks the
//! data out of the engine, keeps baselines and rollouts in the store, and runs the
//! background cycle that evaluates running rollouts and raises regression alerts (and, from
//! the capacity module, headroom alerts).

pub mod baselines;
pub mod gates;
pub mod regressions;
pub mod rollouts;

use crate::error::AppError;
use crate::state::AppState;
use perf_core::compare::baseline::{samples_from_engine, Selector};
use perf_core::compare::OperationSample;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// How often running rollouts and regressions are evaluated in the background.
pub const CYCLE: Duration = Duration::from_secs(60);

/// Parses a JSON body, naming the path of a bad field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest(
            "the body is empty; send a JSON object".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            AppError::BadRequest(e.inner().to_string())
        } else {
            AppError::BadRequest(format!("{path}: {}", e.inner()))
        }
    })
}

/// Per-operation samples of the engine's views for a selector over `[from, to)`.
pub fn live_samples(
    state: &AppState,
    selector: &Selector,
    from: i64,
    to: i64,
) -> Result<BTreeMap<String, OperationSample>, AppError> {
    samples_from_engine(&state.engine(), selector, from, to)
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// A window label (`1h`) as milliseconds, with the field named in the error.
pub fn window_ms(field: &str, text: &str) -> Result<i64, AppError> {
    let ms = perf_core::duration::parse_duration(text)
        .map_err(|e| AppError::BadRequest(format!("{field}: {e}")))?;
    if ms <= 0 {
        return Err(AppError::BadRequest(format!("{field}: must be positive")));
    }
    Ok(ms)
}

/// Runs the rollout and regression cycle until the process ends.
pub async fn cycle_forever(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(CYCLE);
    tick.tick().await;
    loop {
        tick.tick().await;
        let s = state.clone();
        let result = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            rollouts::evaluate_running(&s)?;
            regressions::alert_cycle(&s)?;
            crate::capacity::alert_cycle(&s)?;
            Ok(())
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "deployment cycle failed"),
            Err(e) => tracing::error!(error = %e, "deployment cycle task failed"),
        }
    }
}
