//! `POST /v1/rollouts`, `GET /v1/rollouts`, `GET /v1/rollouts/{id}`,
//! `POST /v1/rollouts/{id}/evaluate` (see `control::rollouts`).

use crate::control::rollouts;
use crate::http::error::AppError;
use crate::http::extract::{parse_json, ApiPath};
use crate::http::schemas::{ErrorBody, RolloutList};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use perf_core::compare::rollout::{Rollout, RolloutEvaluation, RolloutSpec};
use std::sync::Arc;

/// `POST /v1/rollouts`: a RolloutSpec, optionally with an `id`.
#[utoipa::path(
    post,
    path = "/v1/rollouts",
    tag = "deploy",
    summary = "Start a canary rollout",
    request_body(content = RolloutSpec, description = "A rollout spec, optionally with an `id`", content_type = "application/json"),
    responses((status = 201, description = "Started", body = Rollout), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Rollout>), AppError> {
    let mut value: serde_json::Value = parse_json(&body)?;
    let id = match value.as_object_mut().and_then(|o| o.remove("id")) {
        Some(serde_json::Value::String(s)) => Some(s),
        None => None,
        Some(_) => return Err(AppError::BadRequest("id: must be a string".into())),
    };
    let spec: RolloutSpec = parse_json(value.to_string().as_bytes())?;
    let now = state.durable.now();
    let id = id.unwrap_or_else(|| {
        format!(
            "r-{}-{}-{}",
            spec.service,
            spec.canary_version,
            perf_core::time::compact_utc(now)
        )
    });
    let rollout = tokio::task::spawn_blocking(move || -> Result<Rollout, AppError> {
        let (rollout, effects) =
            rollouts::start(&state.durable, &state.control.memory, id, spec, now)?;
        state
            .apply(effects, now)
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(rollout)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok((StatusCode::CREATED, Json(rollout)))
}

/// `GET /v1/rollouts`.
#[utoipa::path(
    get,
    path = "/v1/rollouts",
    tag = "deploy",
    summary = "Canary rollouts",
    responses((status = 200, description = "Every rollout", body = RolloutList))
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, AppError> {
    let list: Vec<serde_json::Value> = rollouts::all(&state.durable)?
        .iter()
        .map(|r| {
            serde_json::json!({"id": r.id, "service": r.spec.service, "baselineVersion": r.spec.baseline_version,
                "canaryVersion": r.spec.canary_version, "state": r.state, "weight": r.weight,
                "startedAt": perf_core::time::format_rfc3339(r.started_at), "evaluations": r.history.len()})
        })
        .collect();
    Ok(Json(serde_json::json!({ "rollouts": list })))
}

/// `GET /v1/rollouts/{id}`.
#[utoipa::path(
    get,
    path = "/v1/rollouts/{id}",
    tag = "deploy",
    summary = "One rollout",
    params(("id" = String, Path, description = "Rollout id")),
    responses((status = 200, description = "The rollout with its history", body = Rollout), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Rollout>, AppError> {
    Ok(Json(rollouts::load(&state.durable, &id)?))
}

/// `POST /v1/rollouts/{id}/evaluate`.
#[utoipa::path(
    post,
    path = "/v1/rollouts/{id}/evaluate",
    tag = "deploy",
    summary = "Evaluate a rollout step",
    params(("id" = String, Path, description = "Rollout id")),
    responses((status = 200, description = "The decision of this step: promote, hold or roll back, and why", body = RolloutEvaluation), (status = 404, description = "No such resource", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn evaluate(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RolloutEvaluation>, AppError> {
    let eval = tokio::task::spawn_blocking(move || -> Result<RolloutEvaluation, AppError> {
        let now = state.durable.now();
        let (eval, effects) =
            rollouts::evaluate_one(&state.durable, &state.control.memory, &id, now)?;
        state
            .apply(effects, now)
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(eval)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(eval))
}
