//! `POST /v1/gates/evaluate`: the deployment gate over live traffic. The candidate is a
//! version's requests in a window ending now; the baseline is a stored baseline
//! (`baselineId`), another version's requests over the same window (`baselineVersion`), or
//! by default the service's most recent baseline.

use super::{baselines, live_samples, parse_json, window_ms};
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use perf_core::compare::baseline::Selector;
use perf_core::compare::{evaluate, GateConfig, GateReport, SideInfo};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GateRequest {
    service: String,
    #[serde(default)]
    deployment: Option<String>,
    #[serde(default)]
    candidate_version: Option<String>,
    #[serde(default)]
    baseline_id: Option<String>,
    #[serde(default)]
    baseline_version: Option<String>,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    analysis: Option<GateConfig>,
}

/// Evaluates a gate request (blocking work: call from a blocking task).
fn run(state: &AppState, req: GateRequest) -> Result<GateReport, AppError> {
    let cfg = req.analysis.unwrap_or(state.config.gates);
    cfg.validate()
        .map_err(|e| AppError::BadRequest(format!("analysis: {e}")))?;
    if req.baseline_id.is_some() && req.baseline_version.is_some() {
        return Err(AppError::BadRequest(
            "give baselineId or baselineVersion, not both".into(),
        ));
    }
    let now = state.now();
    let window = window_ms("window", req.window.as_deref().unwrap_or("1h"))?;
    let (from, to) = (now - window, now + 1);
    let candidate_sel = Selector {
        service: Some(req.service.clone()),
        operation: req.operation.clone(),
        version: req.candidate_version.clone(),
    };
    let candidate = live_samples(state, &candidate_sel, from, to)?;
    let (baseline, source, bversion) = match (&req.baseline_id, &req.baseline_version) {
        (Some(id), _) => {
            let b = baselines::get(state, id)?;
            if b.service != req.service {
                return Err(AppError::BadRequest(format!(
                    "baselineId: baseline {id:?} is of service {:?}, not {:?}",
                    b.service, req.service
                )));
            }
            (b.operations, format!("baseline {id}"), b.version)
        }
        (None, Some(v)) => {
            let sel = Selector {
                version: Some(v.clone()),
                ..candidate_sel.clone()
            };
            (
                live_samples(state, &sel, from, to)?,
                format!(
                    "version {v}, last {}",
                    perf_core::duration::format_duration(window)
                ),
                Some(v.clone()),
            )
        }
        (None, None) => {
            let b = baselines::latest_of(state, &req.service)?.ok_or_else(|| {
                AppError::BadRequest(format!(
                    "no baseline of {:?}: freeze one (POST /v1/baselines) or give baselineVersion",
                    req.service
                ))
            })?;
            (b.operations, format!("baseline {}", b.id), b.version)
        }
    };
    let baseline = match &req.operation {
        Some(op) => baseline.into_iter().filter(|(k, _)| k == op).collect(),
        None => baseline,
    };
    let outcome = evaluate(&baseline, &candidate, &cfg, None);
    Ok(GateReport {
        deployment: req
            .deployment
            .clone()
            .or_else(|| req.candidate_version.clone())
            .unwrap_or_else(|| format!("{} (current traffic)", req.service)),
        service: req.service.clone(),
        baseline: SideInfo {
            source,
            version: bversion,
            requests: baseline.values().map(|s| s.requests).sum(),
        },
        candidate: SideInfo {
            source: format!(
                "live traffic, last {}",
                perf_core::duration::format_duration(window)
            ),
            version: req.candidate_version.clone(),
            requests: candidate.values().map(|s| s.requests).sum(),
        },
        outcome,
    })
}

/// `POST /v1/gates/evaluate`.
pub async fn post(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<GateReport>, AppError> {
    let req: GateRequest = parse_json(&body)?;
    let report = tokio::task::spawn_blocking(move || run(&state, req))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(report))
}
