//! `GET /v1/capacity/{service}`: the service's 48-hour demand forecast against its capacity,
//! headroom against the `budgets.headroom` budget, time to exhaustion
//! (`perf_core::forecast::capacity`). The deployment cycle raises
//! `EcosystemPerfCapacityHeadroom` when a service's headroom falls under the budget and
//! resolves it when it recovers.

use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use perf_core::forecast::capacity::{capacity_report, CapacityReport};
use std::sync::Arc;

/// The report of one service now (blocking work).
pub fn report(state: &AppState, service: &str) -> Result<CapacityReport, AppError> {
    let now = state.now();
    let engine = state.engine();
    if !engine.services().iter().any(|s| s == service) {
        return Err(AppError::NotFound(format!(
            "no data for service {service:?}"
        )));
    }
    capacity_report(&engine, service, now, state.config.budgets.headroom)
        .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// `GET /v1/capacity/{service}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(service): Path<String>,
) -> Result<Json<CapacityReport>, AppError> {
    let r = tokio::task::spawn_blocking(move || report(&state, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(r))
}

/// Raises and resolves headroom alerts for every service (the deployment cycle).
pub fn alert_cycle(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let services = state.engine().services();
    let mut firing = state
        .capacity_firing
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for svc in services {
        let Ok(r) = report(state, &svc) else { continue };
        let low = r.status == "below_budget";
        if low == firing.contains(&svc) {
            continue;
        }
        let notice = crate::webhooks::Notice {
            alertname: "EcosystemPerfCapacityHeadroom",
            labels: vec![("service", svc.clone()), ("severity", "ticket".into())],
            summary: format!(
                "{svc}: headroom {:.0} % against a {:.0} % budget",
                r.headroom.unwrap_or(0.0) * 100.0,
                r.headroom_budget * 100.0
            ),
            description: r.explanation.clone(),
            firing: low,
            since_ms: now,
            path: format!("/v1/capacity/{svc}"),
        };
        crate::webhooks::raise(state, "capacity", &svc, &notice, now)?;
        if low {
            firing.insert(svc);
        } else {
            firing.remove(&svc);
        }
    }
    Ok(())
}
