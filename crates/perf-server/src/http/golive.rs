//! `GET /v1/golive`: the go/no-go report — verdict, the five gates with their figures,
//! windows, reasons and evidence (`perf_core::golive`). Reads the decisions of the last cycle
//! (a cycle runs first when they are older than `server.evaluationInterval`). `POST
//! /v1/golive/freeze` freezes the guardrails and baselines it judges against; `GET
//! /v1/golive/frozen` shows them with every recorded change.

use crate::control::golive::FrozenSet;
use crate::http::error::AppError;
use crate::http::refreshed;
use crate::http::schemas::{ErrorBody, FrozenAnswer};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::golive::GoLiveReport;
use std::sync::Arc;

/// `GET /v1/golive`.
#[utoipa::path(
    get,
    path = "/v1/golive",
    tag = "golive",
    summary = "Go / no-go report",
    responses((status = 200, description = "Go or no-go: the five gates with their evidence", body = GoLiveReport))
)]
pub async fn get(State(state): State<Arc<AppState>>) -> Result<Json<GoLiveReport>, AppError> {
    refreshed(&state).await?;
    let r = tokio::task::spawn_blocking(move || {
        crate::control::golive::report(&state.durable, &state.control.memory)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(r))
}

/// Body of `POST /v1/golive/freeze`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[derive(utoipa::ToSchema)]
pub struct FreezeBody {
    /// Replace a frozen set whose budgets differ from the configuration's.
    #[serde(default)]
    force: bool,
}

/// `POST /v1/golive/freeze` (admin scope): freezes the guardrails and baselines.
#[utoipa::path(
    post,
    path = "/v1/golive/freeze",
    tag = "golive",
    summary = "Freeze the go-live guardrails",
    request_body(content = FreezeBody, description = "Optional; `{\"force\": true}` refreezes", content_type = "application/json"),
    responses((status = 201, description = "Frozen", body = FrozenSet), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn post_freeze(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<(axum::http::StatusCode, Json<FrozenSet>), AppError> {
    let req: FreezeBody = if body.iter().all(u8::is_ascii_whitespace) {
        FreezeBody::default()
    } else {
        crate::http::extract::parse_json(&body)?
    };
    let set = tokio::task::spawn_blocking(move || {
        crate::control::golive::freeze(&state.durable, req.force)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok((axum::http::StatusCode::CREATED, Json(set)))
}

/// `GET /v1/golive/frozen`: the frozen set in force and every recorded budget change.
#[utoipa::path(
    get,
    path = "/v1/golive/frozen",
    tag = "golive",
    summary = "The frozen go-live set",
    responses((status = 200, description = "The frozen set in force and every budget change", body = FrozenAnswer))
)]
pub async fn get_frozen(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, AppError> {
    let frozen = crate::control::golive::frozen(&state.durable)?;
    let changes = crate::control::golive::changes(&state.durable)?;
    Ok(Json(
        serde_json::json!({"frozen": frozen, "changes": changes}),
    ))
}
