//! `GET /v1/tenants` and `GET /v1/tenants/{id}/evaluation` (the DAO hook): the tenant
//! stage's last evaluations (refreshed first when older than the evaluation interval), each
//! with its cost (last 24 h, month to date, share, 30-day forecast). A tenant token sees its
//! own tenant only.

use crate::control::tenants::TenantAnswer;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::extract::ApiPath;
use crate::http::refreshed;
use crate::http::schemas::{ErrorBody, TenantList};
use crate::AppState;
use axum::extract::{Extension, State};
use axum::Json;
use perf_core::tenant::TenantEvaluation;
use std::sync::Arc;

/// `GET /v1/tenants`: every tenant seen in the last hour, evaluated.
#[utoipa::path(
    get,
    path = "/v1/tenants",
    tag = "tenants",
    summary = "DAO subnets",
    responses((status = 200, description = "Every DAO subnet seen in the last hour, evaluated", body = TenantList))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    principal: Option<Extension<Principal>>,
) -> Result<Json<serde_json::Value>, AppError> {
    let confined = principal.and_then(|Extension(p)| p.tenant);
    refreshed(&state).await?;
    let out = tokio::task::spawn_blocking(move || {
        let evaluations: Vec<TenantEvaluation> = state
            .control
            .decisions()
            .tenants
            .iter()
            .filter(|t| confined.as_ref().is_none_or(|c| *c == t.dao_id))
            .cloned()
            .collect();
        crate::control::tenants::with_costs(&state.durable, evaluations, state.durable.now())
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(serde_json::json!({"tenants": out})))
}

/// `GET /v1/tenants/{id}/evaluation`.
#[utoipa::path(
    get,
    path = "/v1/tenants/{id}/evaluation",
    tag = "tenants",
    summary = "One DAO subnet",
    params(("id" = String, Path, description = "Tenant (DAO) id")),
    responses((status = 200, description = "One DAO subnet: SLO compliance, budget burn, cost and its forecast, isolation and why", body = TenantAnswer), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TenantAnswer>, AppError> {
    // An unknown tenant is a 404, as an unknown service is (a typo must not read as a
    // healthy tenant with no data).
    let e = tokio::task::spawn_blocking(move || {
        state.refresh();
        let now = state.durable.now();
        crate::control::tenants::one(&state.durable, &state.control.memory, &id, now)
            .map(|e| crate::control::tenants::with_costs(&state.durable, vec![e], now).remove(0))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    e.map(Json).ok_or_else(|| {
        AppError::NotFound(
            "no such tenant: no series of it in any view with a tenant dimension".into(),
        )
    })
}
