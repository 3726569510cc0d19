//! `POST /v1/policy/evaluate` (the Qflow hook: proceed, queue, cache fallback or reject for
//! one operation; it only reads the context the policy stage refreshed, so a decision costs
//! a map lookup) and `GET /v1/degradation` (every service's ladder level with its reason,
//! signals and runbook line).

use crate::control::Decisions;
use crate::effects::stream::LevelEntry;
use crate::http::error::AppError;
use crate::http::extract::parse_json;
use crate::http::schemas::{DegradationAnswer, ErrorBody};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use perf_core::policy::{decide, Decision, PolicyRequest};
use std::sync::Arc;

/// `GET /v1/degradation`.
#[utoipa::path(
    get,
    path = "/v1/degradation",
    tag = "control",
    summary = "The degradation ladder",
    responses((status = 200, description = "Every service's ladder level, signals and history", body = DegradationAnswer))
)]
pub async fn get_degradation(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let decisions = state.control.decisions();
    let entries: Vec<LevelEntry> = decisions.policy.entries(&state.durable);
    Json(serde_json::json!({ "services": entries }))
}

/// Whether a tenant is under a throttling or isolation recommendation.
fn tenant_throttled(decisions: &Decisions, tenant: Option<&str>) -> bool {
    use perf_core::tenant::Isolation;
    let Some(t) = tenant else { return false };
    decisions
        .tenant_states
        .get(t)
        .is_some_and(|s| s.current() >= Isolation::TrafficThrottling)
}

/// `POST /v1/policy/evaluate`.
#[utoipa::path(
    post,
    path = "/v1/policy/evaluate",
    tag = "control",
    summary = "Decide one operation: proceed, queue, cache or reject",
    request_body(content = PolicyRequest, content_type = "application/json"),
    responses((status = 200, description = "Proceed, queue, cache fallback or reject, and why", body = Decision), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn post_evaluate(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Decision>, AppError> {
    let req: PolicyRequest = parse_json(&body)?;
    if req.service.is_empty() || req.operation.is_empty() {
        return Err(AppError::BadRequest(
            "service and operation must not be empty".into(),
        ));
    }
    let (ctx, throttled) = {
        let decisions = state.control.decisions();
        (
            decisions.policy.context(&req.service),
            tenant_throttled(&decisions, req.tenant.as_deref()),
        )
    };
    let mut d = decide(&req, &ctx.unwrap_or_default(), throttled);
    if ctx.is_none() && d.decision == "proceed" {
        d.reason = "no_data";
    }
    Ok(Json(d))
}
