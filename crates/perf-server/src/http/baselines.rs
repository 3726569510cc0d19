//! `POST /v1/baselines` (freeze from live aggregates, or import a baseline file),
//! `GET /v1/baselines`, `GET` and `DELETE /v1/baselines/{id}`.

use crate::control::baselines::{self, FreezeRequest};
use crate::http::error::AppError;
use crate::http::extract::{parse_json, ApiPath};
use crate::http::schemas::{BaselineList, ErrorBody};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use perf_core::compare::baseline::KIND;
use perf_core::compare::Baseline;
use std::sync::Arc;

/// A baseline without its samples, for lists.
pub fn summary(b: &Baseline) -> serde_json::Value {
    serde_json::json!({
        "id": b.id, "service": b.service, "operation": b.operation, "version": b.version,
        "from": perf_core::time::format_rfc3339(b.from), "to": perf_core::time::format_rfc3339(b.to),
        "createdAt": perf_core::time::format_rfc3339(b.created_at), "requests": b.requests,
        "operations": b.operations.keys().collect::<Vec<_>>(),
    })
}

/// `POST /v1/baselines`.
#[utoipa::path(
    post,
    path = "/v1/baselines",
    tag = "deploy",
    summary = "Freeze a baseline",
    request_body(content = FreezeRequest, content_type = "application/json"),
    responses((status = 201, description = "Frozen", body = Baseline), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let now = state.durable.now();
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::BadRequest("the body is not UTF-8".into()))?;
    let baseline = if text.contains(KIND) {
        Baseline::from_json(text).map_err(|e| AppError::BadRequest(e.to_string()))?
    } else {
        let req: FreezeRequest = parse_json(&body)?;
        baselines::freeze(&state.durable, &req, now)?
    };
    baselines::add(&state.durable, &baseline)?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&baseline).map_err(|e| AppError::Internal(e.into()))?),
    ))
}

/// `GET /v1/baselines`.
#[utoipa::path(
    get,
    path = "/v1/baselines",
    tag = "deploy",
    summary = "Frozen baselines",
    responses((status = 200, description = "Frozen baselines, without their samples", body = BaselineList))
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, AppError> {
    let list: Vec<serde_json::Value> = baselines::all(&state.durable)?
        .iter()
        .map(summary)
        .collect();
    Ok(Json(serde_json::json!({ "baselines": list })))
}

/// `GET /v1/baselines/{id}`: the whole baseline (what `baseline freeze --out` writes).
#[utoipa::path(
    get,
    path = "/v1/baselines/{id}",
    tag = "deploy",
    summary = "One baseline",
    params(("id" = String, Path, description = "Baseline id")),
    responses((status = 200, description = "The whole baseline", body = Baseline), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Baseline>, AppError> {
    Ok(Json(baselines::get(&state.durable, &id)?))
}

/// `DELETE /v1/baselines/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/baselines/{id}",
    tag = "deploy",
    summary = "Delete a baseline",
    params(("id" = String, Path, description = "Baseline id")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    let gone = state
        .durable
        .store()
        .delete_document(baselines::DOC_KIND, &id)
        .map_err(|e| AppError::Internal(e.into()))?;
    if gone {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!("no baseline {id:?}")))
    }
}
