//! `GET/POST /v1/slos/{name}/corrections` and `DELETE /v1/slos/{name}/corrections/{id}`:
//! budget corrections declared over the API (a maintenance window, business hours), kept in
//! the store with who declared them (the body's `author`, and the token's name), when and
//! why. Declaring or withdrawing one rebuilds the SLO's counts from the views' history with
//! the exclusions in force, so it applies to the past as well as to what comes
//! (`perf_core::slo::correction`); the SLO is evaluated again at once. Corrections of the
//! configuration file are listed too, read-only.

use crate::config::slo_correction::{
    answers, forget_correction, store_correction, CorrectionAnswer, CorrectionConfig,
};
use crate::control::Stage;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::extract::{parse_json_or_yaml, ApiPath};
use crate::http::schemas::ErrorBody;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use perf_core::slo::Backfilled;
use serde::Serialize;
use std::sync::Arc;

/// The corrections of one SLO.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CorrectionList {
    /// The SLO.
    pub slo: String,
    /// In force, configuration file first, then in the order declared.
    pub corrections: Vec<CorrectionAnswer>,
}

/// The answer to a declaration.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CorrectionDeclared {
    /// The SLO.
    pub slo: String,
    /// The correction, with what it left out of the history.
    pub correction: CorrectionAnswer,
    /// The rebuild of the SLO's counts from the views (`null`: no view holds what it
    /// selects).
    pub backfilled: Option<Backfilled>,
}

fn not_found(name: &str) -> AppError {
    AppError::NotFound(format!("no SLO named {name:?}"))
}

/// Rebuilds SLO `name`'s counts with `corrections` in force and keeps the back-fill summary.
fn rebuild(
    state: &AppState,
    name: &str,
    corrections: Vec<perf_core::slo::Correction>,
) -> Result<(Option<Backfilled>, Vec<CorrectionAnswer>), AppError> {
    let mut engine = state.durable.engine();
    let service = engine
        .slos()
        .get(name)
        .ok_or_else(|| not_found(name))?
        .def
        .selector
        .service
        .clone();
    let now = state.durable.now_with(&engine);
    engine
        .slos_mut()
        .set_corrections(name, corrections)
        .map_err(AppError::BadRequest)?;
    let filled = engine.backfill_slo(name, now);
    crate::config::slo::record_backfill(
        state.durable.store(),
        name,
        &service,
        filled.as_ref(),
        now,
    )
    .map_err(AppError::Internal)?;
    let entry = engine.slos().get(name).ok_or_else(|| not_found(name))?;
    Ok((filled.clone(), answers(entry, filled.as_ref())))
}

/// `GET /v1/slos/{name}/corrections`.
#[utoipa::path(
    get,
    path = "/v1/slos/{name}/corrections",
    tag = "slos",
    summary = "An SLO's budget corrections",
    params(("name" = String, Path, description = "SLO name")),
    responses((status = 200, description = "The corrections in force, with the events each left out", body = CorrectionList), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<CorrectionList>, AppError> {
    let history = crate::config::slo::backfill_of(state.durable.store(), &name);
    let engine = state.durable.engine();
    let entry = engine.slos().get(&name).ok_or_else(|| not_found(&name))?;
    Ok(Json(CorrectionList {
        slo: name.clone(),
        corrections: answers(entry, history.as_ref()),
    }))
}

/// `POST /v1/slos/{name}/corrections`.
#[utoipa::path(
    post,
    path = "/v1/slos/{name}/corrections",
    tag = "slos",
    summary = "Declare a budget correction",
    params(("name" = String, Path, description = "SLO name")),
    request_body(content((CorrectionConfig = "application/json"), (CorrectionConfig = "application/yaml")), description = "A maintenance window or business hours, with the reason and the author"),
    responses((status = 201, description = "Declared; the SLO's counts rebuilt without what it excludes, past and future", body = CorrectionDeclared), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 409, description = "The id is taken", body = ErrorBody), (status = 415, description = "Not JSON or YAML", body = ErrorBody))
)]
pub async fn post(
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CorrectionDeclared>), AppError> {
    let config: CorrectionConfig = parse_json_or_yaml(&headers, &body)?;
    let token = principal.and_then(|Extension(p)| p.token);
    let (mut all, service) = {
        let engine = state.durable.engine();
        let entry = engine.slos().get(&name).ok_or_else(|| not_found(&name))?;
        (
            entry.corrections.clone(),
            entry.def.selector.service.clone(),
        )
    };
    if all.iter().any(|c| c.id == config.id) {
        return Err(AppError::Conflict(format!(
            "SLO {name:?} already has a correction {:?}; withdraw it first",
            config.id
        )));
    }
    let correction = config
        .to_correction(false, token, state.durable.now())
        .map_err(AppError::BadRequest)?;
    store_correction(state.durable.store(), &name, &service, &correction)
        .map_err(AppError::Internal)?;
    all.push(correction);
    let id = config.id.clone();
    let s = state.clone();
    let n = name.clone();
    let (backfilled, answers) = tokio::task::spawn_blocking(move || {
        let out = rebuild(&s, &n, all);
        s.run_stage(Stage::Slos);
        out
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    let correction = answers
        .into_iter()
        .find(|a| a.declared.id == id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the correction vanished")))?;
    Ok((
        StatusCode::CREATED,
        Json(CorrectionDeclared {
            slo: name,
            correction,
            backfilled,
        }),
    ))
}

/// `DELETE /v1/slos/{name}/corrections/{id}`.
#[utoipa::path(
    delete,
    path = "/v1/slos/{name}/corrections/{id}",
    tag = "slos",
    summary = "Withdraw a budget correction declared over the API",
    params(("name" = String, Path, description = "SLO name"), ("id" = String, Path, description = "Correction id")),
    responses((status = 204, description = "Withdrawn; the SLO's counts rebuilt with its events counted again"), (status = 404, description = "No such resource", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ApiPath((name, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, AppError> {
    let mut all = {
        let engine = state.durable.engine();
        let entry = engine.slos().get(&name).ok_or_else(|| not_found(&name))?;
        entry.corrections.clone()
    };
    let pos = all
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(|| AppError::NotFound(format!("SLO {name:?} has no correction {id:?}")))?;
    if all[pos].from_config {
        return Err(AppError::Conflict(format!(
            "correction {id:?} of SLO {name:?} is in the configuration file; remove it there"
        )));
    }
    forget_correction(state.durable.store(), &name, &id).map_err(AppError::Internal)?;
    all.remove(pos);
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        let out = rebuild(&s, &name, all);
        s.run_stage(Stage::Slos);
        out
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(StatusCode::NO_CONTENT)
}
