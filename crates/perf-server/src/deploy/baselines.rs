//! `POST /v1/baselines` (freeze from live aggregates, or import a baseline file),
//! `GET /v1/baselines`, `GET` and `DELETE /v1/baselines/{id}`.

use super::{live_samples, parse_json, window_ms};
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use perf_core::compare::baseline::{Selector, KIND};
use perf_core::compare::Baseline;
use perf_store::Document;
use serde::Deserialize;
use std::sync::Arc;

/// Store kind of baselines.
pub const DOC_KIND: &str = "baseline";

/// What `POST /v1/baselines` takes (unless the body is a baseline file).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FreezeRequest {
    service: String,
    #[serde(default)]
    operation: Option<String>,
    #[serde(default)]
    version: Option<String>,
    /// Window ending now (default 1h); or `from` and `to`.
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// A baseline without its samples, for lists.
pub fn summary(b: &Baseline) -> serde_json::Value {
    serde_json::json!({
        "id": b.id, "service": b.service, "operation": b.operation, "version": b.version,
        "from": perf_core::time::format_rfc3339(b.from), "to": perf_core::time::format_rfc3339(b.to),
        "createdAt": perf_core::time::format_rfc3339(b.created_at), "requests": b.requests,
        "operations": b.operations.keys().collect::<Vec<_>>(),
    })
}

/// Every stored baseline, oldest first.
pub fn all(state: &AppState) -> Result<Vec<Baseline>, AppError> {
    let docs = state
        .store()
        .list_documents(DOC_KIND)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(docs
        .iter()
        .filter_map(|d| Baseline::from_json(d).ok())
        .collect())
}

/// One stored baseline.
pub fn get(state: &AppState, id: &str) -> Result<Baseline, AppError> {
    let doc = state
        .store()
        .get_document(DOC_KIND, id)
        .map_err(|e| AppError::Internal(e.into()))?
        .ok_or_else(|| AppError::NotFound(format!("no baseline {id:?}")))?;
    Baseline::from_json(&doc).map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
}

/// The most recent baseline of a service.
pub fn latest_of(state: &AppState, service: &str) -> Result<Option<Baseline>, AppError> {
    Ok(all(state)?
        .into_iter()
        .filter(|b| b.service == service)
        .max_by_key(|b| b.created_at))
}

fn store(state: &AppState, b: &Baseline) -> Result<(), AppError> {
    let exists = state
        .store()
        .get_document(DOC_KIND, &b.id)
        .map_err(|e| AppError::Internal(e.into()))?
        .is_some();
    if exists {
        return Err(AppError::Conflict(format!(
            "a baseline {:?} exists; delete it first or choose another id",
            b.id
        )));
    }
    let body = serde_json::to_string(b).map_err(|e| AppError::Internal(e.into()))?;
    state
        .store()
        .put_document(&Document {
            kind: DOC_KIND.into(),
            id: b.id.clone(),
            service: b.service.clone(),
            body,
            at_ms: b.created_at,
        })
        .map_err(|e| AppError::Internal(e.into()))
}

fn valid_id(id: &str) -> Result<(), AppError> {
    if id.is_empty()
        || id.len() > 200
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Err(AppError::BadRequest(format!(
            "id: {id:?} must be 1–200 characters of letters, digits, - _ . :"
        )));
    }
    Ok(())
}

/// `POST /v1/baselines`.
pub async fn post(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let now = state.now();
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::BadRequest("the body is not UTF-8".into()))?;
    let baseline = if text.contains(KIND) {
        Baseline::from_json(text).map_err(|e| AppError::BadRequest(e.to_string()))?
    } else {
        let req: FreezeRequest = parse_json(&body)?;
        let (from, to) = match (&req.from, &req.to, &req.window) {
            (Some(f), Some(t), None) => {
                let p = |field: &str, v: &str| {
                    perf_core::time::parse_timestamp(v)
                        .map_err(|e| AppError::BadRequest(format!("{field}: {e}")))
                };
                (p("from", f)?, p("to", t)?)
            }
            (None, None, w) => {
                let w = window_ms("window", w.as_deref().unwrap_or("1h"))?;
                (now - w, now + 1)
            }
            _ => {
                return Err(AppError::BadRequest(
                    "give either window, or both from and to".into(),
                ))
            }
        };
        if from >= to {
            return Err(AppError::BadRequest("from must be before to".into()));
        }
        let selector = Selector {
            service: Some(req.service.clone()),
            operation: req.operation.clone(),
            version: req.version.clone(),
        };
        let ops = live_samples(&state, &selector, from, to)?;
        let id = req.id.clone().unwrap_or_else(|| {
            format!(
                "{}-{}-{}",
                req.service,
                req.version.as_deref().unwrap_or("all"),
                perf_core::time::compact_utc(now)
            )
        });
        Baseline::new(id, &selector, req.service.clone(), (from, to), now, ops)
    };
    valid_id(&baseline.id)?;
    if baseline.requests == 0 {
        return Err(AppError::BadRequest(format!(
            "no requests of {}{}{} in the window: a baseline needs data",
            baseline.service,
            baseline
                .version
                .as_deref()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default(),
            baseline
                .operation
                .as_deref()
                .map(|o| format!(" operation {o}"))
                .unwrap_or_default(),
        )));
    }
    store(&state, &baseline)?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(&baseline).map_err(|e| AppError::Internal(e.into()))?),
    ))
}

/// `GET /v1/baselines`.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, AppError> {
    let list: Vec<serde_json::Value> = all(&state)?.iter().map(summary).collect();
    Ok(Json(serde_json::json!({ "baselines": list })))
}

/// `GET /v1/baselines/{id}`: the whole baseline (what `baseline freeze --out` writes).
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Baseline>, AppError> {
    Ok(Json(get(&state, &id)?))
}

/// `DELETE /v1/baselines/{id}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    let gone = state
        .store()
        .delete_document(DOC_KIND, &id)
        .map_err(|e| AppError::Internal(e.into()))?;
    if gone {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(format!("no baseline {id:?}")))
    }
}
