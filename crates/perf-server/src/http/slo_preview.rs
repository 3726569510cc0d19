//! `POST /v1/slos/preview`: "would we have met it?" — an SLO definition (the body `PUT
//! /v1/slos/{name}` takes: native JSON or YAML, OpenSLO v1, Sloth) evaluated over the history
//! the views hold (`perf_core::Engine::preview_slo`), without saving anything: its
//! compliance, budget and burn rates as if it had existed all along, per tenant too. `slo
//! what-if` in the CLI sends an existing SLO with another objective or window. Read scope:
//! it changes nothing.

use crate::config::slo::SloConfig;
use crate::http::error::AppError;
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use perf_core::slo::{Backfilled, SloStatus};
use serde::Serialize;
use std::sync::Arc;

/// The answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SloPreview {
    /// `met` (compliance at or above the objective over the window the history covers),
    /// `missed`, or `no_data` (nothing in the history matches).
    pub verdict: String,
    /// The SLO over all tenants, as if it had existed all along.
    pub slo: SloStatus,
    /// Per tenant (perTenant SLOs).
    pub tenants: Vec<SloStatus>,
    /// What the history held: from when, how many events, the latency estimate's bound
    /// (`null` with no matching history).
    pub history: Option<Backfilled>,
}

/// `POST /v1/slos/preview`.
#[utoipa::path(
    post,
    path = "/v1/slos/preview",
    tag = "slos",
    summary = "Would this SLO have been met?",
    request_body(content((SloConfig = "application/json"), (SloConfig = "application/yaml")), description = "An SLO as PUT takes it (the name may be left out)"),
    responses((status = 200, description = "The SLO evaluated over the views' history, nothing saved", body = SloPreview), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 415, description = "Not JSON or YAML", body = ErrorBody))
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<SloPreview>, AppError> {
    let mut config: SloConfig = crate::http::slos::parse_body(&headers, &body)?;
    if config.name.is_empty() {
        config.name = "preview".into();
    }
    let def = config.to_def(false).map_err(AppError::BadRequest)?;
    let preview = tokio::task::spawn_blocking(move || {
        let d = &state.durable;
        let now = d.now();
        let run = |engine: &perf_core::Engine| engine.preview_slo(def.clone(), now);
        let answer = if d.partitioned() {
            match d.merged_engine() {
                Ok(merged) => run(&merged),
                Err(e) => return Err(AppError::Internal(e)),
            }
        } else {
            run(&d.engine())
        };
        answer.map_err(AppError::BadRequest)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    let (mut statuses, history) = preview;
    let pos = statuses
        .iter()
        .position(|s| s.tenant.is_none())
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the preview has no all-tenants status"))
        })?;
    let slo = statuses.remove(pos);
    let verdict = match slo.compliance {
        _ if slo.total == 0 => "no_data",
        Some(c) if c >= slo.objective => "met",
        Some(_) => "missed",
        None => "no_data",
    };
    Ok(Json(SloPreview {
        verdict: verdict.into(),
        slo,
        tenants: statuses,
        history,
    }))
}
