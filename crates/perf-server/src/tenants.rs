//! `GET /v1/tenants` and `GET /v1/tenants/{id}/evaluation` (the DAO hook). Targets come
//! from the configuration: the read p99 budget, and the objective of a `perTenant`
//! availability SLO when there is one (99.9 % otherwise). Hysteresis state lives here, per
//! tenant; it only depends on time, so how often the endpoint is read changes nothing.

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{Extension, Path, State};
use axum::Json;
use perf_core::slo::Sli;
use perf_core::tenant::{evaluate, tenants, TenantEvaluation, TenantTargets};
use std::sync::Arc;

const HOUR: i64 = 3_600_000;

fn targets(state: &AppState) -> TenantTargets {
    let availability = state
        .engine()
        .slos()
        .entries()
        .iter()
        .find(|e| e.def.per_tenant && e.def.sli == Sli::Availability)
        .map(|e| e.def.objective)
        .unwrap_or(0.999);
    TenantTargets {
        p99_ms: state.config.budgets.read.p99_ms,
        availability,
        dwell_ms: 5 * 60_000,
    }
}

/// Evaluates one tenant and applies its hysteresis.
pub fn evaluate_one(state: &AppState, tenant: &str) -> TenantEvaluation {
    let now = state.now();
    let t = targets(state);
    let mut e = evaluate(&state.engine(), tenant, now, t);
    let mut states = state
        .tenant_states
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    e.isolation_recommendation =
        states
            .entry(tenant.to_string())
            .or_default()
            .apply(e.raw_recommendation, now, t.dwell_ms);
    e
}

/// `GET /v1/tenants`: every tenant seen in the last hour, evaluated.
/// A tenant token sees its own tenant only.
pub async fn list(
    State(state): State<Arc<AppState>>,
    principal: Option<Extension<Principal>>,
) -> Result<Json<serde_json::Value>, AppError> {
    let confined = principal.and_then(|Extension(p)| p.tenant);
    let out = tokio::task::spawn_blocking(move || {
        // `now` first: under the event clock it locks the engine too.
        let now = state.now();
        let names = tenants(&state.engine(), now, HOUR);
        names
            .iter()
            .filter(|t| confined.as_ref().is_none_or(|c| c == *t))
            .map(|t| evaluate_one(&state, t))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(serde_json::json!({"tenants": out})))
}

/// `GET /v1/tenants/{id}/evaluation`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<TenantEvaluation>, AppError> {
    let e = tokio::task::spawn_blocking(move || evaluate_one(&state, &id))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(e))
}
