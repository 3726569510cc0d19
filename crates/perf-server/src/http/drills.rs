//! `/v1/drills`: start a recovery drill (`POST`, admin scope), stop it
//! (`POST /v1/drills/{id}/stop`), list them, and read one's report — measured RTO against the
//! target, impact, recovery gate (`GET /v1/drills/{id}`). The measuring itself is the drills
//! stage of the evaluation cycle (`control::drills`).

use crate::control::drills::{self, DrillReport, DrillRequest};
use crate::http::error::AppError;
use crate::http::extract::{parse_json, ApiPath};
use crate::http::schemas::{DrillList, ErrorBody};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use perf_core::drill::DrillView;
use std::sync::Arc;

/// `POST /v1/drills`.
#[utoipa::path(
    post,
    path = "/v1/drills",
    tag = "golive",
    summary = "Start a drill",
    request_body(content = DrillRequest, content_type = "application/json"),
    responses((status = 201, description = "Started", body = DrillView), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<DrillView>), AppError> {
    let req: DrillRequest = parse_json(&body)?;
    let drill = tokio::task::spawn_blocking(move || -> Result<DrillView, AppError> {
        let (drill, effects) = drills::start(&state.durable, req)?;
        state
            .apply(effects, state.durable.now())
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(drill)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok((StatusCode::CREATED, Json(drill)))
}

/// `POST /v1/drills/{id}/stop`.
#[utoipa::path(
    post,
    path = "/v1/drills/{id}/stop",
    tag = "golive",
    summary = "Stop a drill",
    params(("id" = String, Path, description = "Drill id")),
    responses((status = 200, description = "Stopped", body = DrillView), (status = 404, description = "No such resource", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn stop(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DrillView>, AppError> {
    let drill = tokio::task::spawn_blocking(move || -> Result<DrillView, AppError> {
        let (drill, effects) = drills::stop(&state.durable, &id)?;
        state
            .apply(effects, state.durable.now())
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(drill)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(drill))
}

/// `GET /v1/drills`.
#[utoipa::path(
    get,
    path = "/v1/drills",
    tag = "golive",
    summary = "Drills",
    responses((status = 200, description = "Every drill", body = DrillList))
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, AppError> {
    crate::http::refreshed(&state).await?;
    let list: Vec<DrillView> = drills::all(&state.durable)?
        .iter()
        .map(|d| d.view())
        .collect();
    Ok(Json(serde_json::json!({ "drills": list })))
}

/// `GET /v1/drills/{id}`.
#[utoipa::path(
    get,
    path = "/v1/drills/{id}",
    tag = "golive",
    summary = "One drill",
    params(("id" = String, Path, description = "Drill id")),
    responses((status = 200, description = "The drill and what it measured", body = DrillReport), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DrillReport>, AppError> {
    crate::http::refreshed(&state).await?;
    let r = tokio::task::spawn_blocking(move || drills::report(&state.durable, &id))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(r))
}
