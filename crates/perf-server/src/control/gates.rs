//! The deployment gate over live traffic (`POST /v1/gates/evaluate`). The candidate is a
//! version's requests in a window ending now; the baseline is a stored baseline
//! (`baselineId`), another version's requests over the same window (`baselineVersion`), or
//! by default the service's most recent baseline.

use super::baselines;
use super::deploy::{live_samples, window_ms};
use super::ControlError;
use crate::durable::Durable;
use perf_core::compare::baseline::Selector;
use perf_core::compare::{evaluate, GateConfig, GateReport, SideInfo};
use serde::Deserialize;

/// What `POST /v1/gates/evaluate` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct GateRequest {
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
pub fn run(d: &Durable, req: GateRequest) -> Result<GateReport, ControlError> {
    let cfg = req.analysis.unwrap_or(d.config.gates);
    cfg.validate()
        .map_err(|e| ControlError::Invalid(format!("analysis: {e}")))?;
    if req.baseline_id.is_some() && req.baseline_version.is_some() {
        return Err(ControlError::Invalid(
            "give baselineId or baselineVersion, not both".into(),
        ));
    }
    let now = d.now();
    let window = window_ms("window", req.window.as_deref().unwrap_or("1h"))?;
    let (from, to) = (now - window, now + 1);
    let candidate_sel = Selector {
        service: Some(req.service.clone()),
        operation: req.operation.clone(),
        version: req.candidate_version.clone(),
    };
    let candidate = live_samples(d, &candidate_sel, from, to)?;
    let (baseline, source, bversion) = match (&req.baseline_id, &req.baseline_version) {
        (Some(id), _) => {
            let b = baselines::get(d, id)?;
            if b.service != req.service {
                return Err(ControlError::Invalid(format!(
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
                live_samples(d, &sel, from, to)?,
                format!(
                    "version {v}, last {}",
                    perf_core::duration::format_duration(window)
                ),
                Some(v.clone()),
            )
        }
        (None, None) => {
            let b = baselines::latest_of(d, &req.service)?.ok_or_else(|| {
                ControlError::Invalid(format!(
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
