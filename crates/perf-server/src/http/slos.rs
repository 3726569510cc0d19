//! `GET/PUT/DELETE /v1/slos[/{name}]`: statuses of the last evaluation (a read refreshes
//! them only when they are older than `server.evaluationInterval`, through the cycle's
//! single flight), and SLOs made over the API: a native entry (JSON or YAML), or one
//! OpenSLO v1 / Sloth SLO. A change is stored, put into the engine and evaluated at once.

use crate::config::slo::SloConfig;
use crate::control::Stage;
use crate::http::error::AppError;
use crate::http::extract::ApiPath;
use crate::http::schemas::{ErrorBody, SloList, SloStored};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use perf_core::slo::SloStatus;
use serde::Serialize;
use std::sync::Arc;

/// A status with its definition and tenant instances.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct SloDetail {
    #[serde(flatten)]
    status: SloStatus,
    read_only: bool,
    definition: SloConfig,
    tenant_overflow_events: u64,
    tenants: Vec<SloStatus>,
    /// When the SLO was filled from the views' history on creation: from when, how many
    /// events, the latency estimate's bound; `null` when it counted from its creation on.
    backfilled: Option<perf_core::slo::Backfilled>,
    /// Budget corrections in force (maintenance windows, business hours), with who
    /// declared them, when, why, and the events each left out.
    corrections: Vec<crate::config::slo_correction::CorrectionAnswer>,
}

/// `GET /v1/slos`.
#[utoipa::path(
    get,
    path = "/v1/slos",
    tag = "slos",
    summary = "Every SLO, worst first",
    responses((status = 200, description = "Every SLO with its budget, burn rates and alerts, worst first", body = SloList))
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || s.slo_statuses())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let base: Vec<SloStatus> = all.into_iter().filter(|s| s.tenant.is_none()).collect();
    Ok(Json(serde_json::json!({"slos": base})))
}

/// `GET /v1/slos/{name}`.
#[utoipa::path(
    get,
    path = "/v1/slos/{name}",
    tag = "slos",
    summary = "One SLO",
    params(("name" = String, Path, description = "SLO name")),
    responses((status = 200, description = "One SLO: its status and its definition", body = SloDetail), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<SloDetail>, AppError> {
    let backfilled = crate::config::slo::backfill_of(state.durable.store(), &name);
    let (read_only, definition, corrections) = {
        let engine = state.durable.engine();
        match (engine.slos().get(&name), engine.slos().composite(&name)) {
            (Some(e), _) => (
                e.def.from_config,
                SloConfig::from_def(&e.def),
                crate::config::slo_correction::answers(e, backfilled.as_ref()),
            ),
            (None, Some(c)) => (
                c.def.def.from_config,
                SloConfig::from_composite(&c.def),
                Vec::new(),
            ),
            (None, None) => return Err(AppError::NotFound(format!("no SLO named {name:?}"))),
        }
    };
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || s.slo_statuses())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let mut mine: Vec<SloStatus> = all.into_iter().filter(|s| s.name == name).collect();
    let pos = mine
        .iter()
        .position(|s| s.tenant.is_none())
        .ok_or_else(|| AppError::NotFound(format!("no SLO named {name:?}")))?;
    let status = mine.remove(pos);
    let tenant_overflow_events = state
        .durable
        .engine()
        .slos()
        .get(&name)
        .map(|e| e.tenant_overflow)
        .unwrap_or(0);
    Ok(Json(SloDetail {
        status,
        read_only,
        definition,
        tenant_overflow_events,
        tenants: mine,
        backfilled,
        corrections,
    }))
}

pub(crate) fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<SloConfig, AppError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::BadRequest("the body is not UTF-8".into()))?;
    if text.contains("apiVersion") || text.contains("prometheus/v1") {
        let mut slos = crate::config::import_slos(text).map_err(AppError::BadRequest)?;
        if slos.len() != 1 {
            return Err(AppError::BadRequest(format!(
                "the document holds {} SLOs; PUT takes exactly one",
                slos.len()
            )));
        }
        return Ok(slos.remove(0));
    }
    crate::http::extract::parse_json_or_yaml(headers, body)
}

/// `PUT /v1/slos/{name}`: a native entry (JSON or YAML), or one OpenSLO v1 / Sloth SLO.
#[utoipa::path(
    put,
    path = "/v1/slos/{name}",
    tag = "slos",
    summary = "Create or replace an SLO",
    params(("name" = String, Path, description = "SLO name")),
    request_body(content((SloConfig = "application/json"), (SloConfig = "application/yaml")), description = "A native SLO entry (JSON or YAML), or one OpenSLO v1 or Sloth SLO"),
    responses((status = 200, description = "Replaced", body = SloStored), (status = 201, description = "Created", body = SloStored), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 409, description = "The name belongs to an SLO of the configuration file", body = ErrorBody), (status = 415, description = "Not JSON or YAML", body = ErrorBody))
)]
pub async fn put(
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    let configured = {
        let engine = state.durable.engine();
        engine.slos().get(&name).is_some_and(|e| e.def.from_config)
            || engine
                .slos()
                .composite(&name)
                .is_some_and(|c| c.def.def.from_config)
    };
    if configured {
        return Err(AppError::Conflict(format!(
            "SLO {name:?} is defined in the configuration file; change it there"
        )));
    }
    let mut config = parse_body(&headers, &body)?;
    if config.corrections.is_some() {
        return Err(AppError::BadRequest(format!(
            "corrections: declare them with POST /v1/slos/{name}/corrections"
        )));
    }
    if config.name.is_empty() {
        config.name = name.clone();
    }
    if config.name != name {
        return Err(AppError::BadRequest(format!(
            "name: the body names {:?} but the path {name:?}",
            config.name
        )));
    }
    if config.is_composite() {
        return put_composite(&state, &name, &config).await;
    }
    if state.durable.engine().slos().composite(&name).is_some() {
        return Err(AppError::Conflict(format!(
            "{name:?} is a composite SLO; delete it before making an SLO of that name"
        )));
    }
    let def = config.to_def(false).map_err(AppError::BadRequest)?;
    let silent = {
        let engine = state.durable.engine();
        let now = state.durable.now_with(&engine);
        crate::control::slo_traffic::silent_tiers(&engine, &def, now)
    };
    if !silent.is_empty() {
        return Err(AppError::BadRequest(silent.join("; ")));
    }
    let stored = SloConfig::from_def(&def);
    let json = serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.into()))?;
    let created = state.durable.engine().slos().get(&name).is_none();
    state
        .durable
        .store()
        .put_slo(&name, &json, state.durable.now())
        .map_err(|e| AppError::Internal(e.into()))?;
    let service = def.selector.service.clone();
    let backfilled = {
        let mut engine = state.durable.engine();
        let kept = engine
            .slos_mut()
            .upsert(def)
            .map_err(AppError::BadRequest)?;
        if kept {
            crate::config::slo::backfill_of(state.durable.store(), &name)
        } else {
            let now = state.durable.now_with(&engine);
            let filled = engine.backfill_slo(&name, now);
            crate::config::slo::record_backfill(
                state.durable.store(),
                &name,
                &service,
                filled.as_ref(),
                now,
            )
            .map_err(AppError::Internal)?;
            filled
        }
    };
    stored_answer(&state, created, &name, &stored, backfilled).await
}

/// After a PUT: the SLOs evaluated again, and the answer (201 when `created`).
async fn stored_answer(
    state: &Arc<AppState>,
    created: bool,
    name: &str,
    stored: &SloConfig,
    backfilled: Option<perf_core::slo::Backfilled>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.run_stage(Stage::Slos))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({"name": name, "definition": stored, "backfilled": backfilled})),
    ))
}

/// `PUT /v1/slos/{name}` of a composite SLO: its members must exist (and not be
/// composites); nothing to fill, the members' counts are its history.
async fn put_composite(
    state: &Arc<AppState>,
    name: &str,
    config: &SloConfig,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let journey = config.to_composite(false).map_err(AppError::BadRequest)?;
    let stored = SloConfig::from_composite(&journey);
    let json = serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.into()))?;
    let created = {
        let mut engine = state.durable.engine();
        if engine.slos().get(name).is_some() {
            return Err(AppError::Conflict(format!(
                "{name:?} is an SLO over events; delete it before making a composite of that name"
            )));
        }
        let created = engine.slos().composite(name).is_none();
        let before = engine.slos().composite(name).map(|c| c.def.clone());
        engine
            .slos_mut()
            .upsert_composite(journey)
            .map_err(AppError::BadRequest)?;
        if let Err(e) = state
            .durable
            .store()
            .put_slo(name, &json, state.durable.now_with(&engine))
        {
            // Not kept: the engine goes back to what the store holds.
            match before {
                Some(old) => {
                    let _ = engine.slos_mut().upsert_composite(old);
                }
                None => {
                    engine.slos_mut().remove_composite(name);
                }
            }
            return Err(AppError::Internal(e.into()));
        }
        created
    };
    stored_answer(state, created, name, &stored, None).await
}

/// `DELETE /v1/slos/{name}`.
#[utoipa::path(
    delete,
    path = "/v1/slos/{name}",
    tag = "slos",
    summary = "Delete an SLO made over the API",
    params(("name" = String, Path, description = "SLO name")),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such resource", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody))
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    let (from_config, journeys) = {
        let engine = state.durable.engine();
        match (engine.slos().get(&name), engine.slos().composite(&name)) {
            (Some(e), _) => (e.def.from_config, engine.slos().journeys_of(&name)),
            (None, Some(c)) => (c.def.def.from_config, Vec::new()),
            (None, None) => return Err(AppError::NotFound(format!("no SLO named {name:?}"))),
        }
    };
    if from_config {
        return Err(AppError::Conflict(format!(
            "SLO {name:?} is defined in the configuration file; remove it there"
        )));
    }
    if !journeys.is_empty() {
        return Err(AppError::Conflict(format!(
            "SLO {name:?} is a member of the composite SLO(s) {}; change those first",
            journeys.join(", ")
        )));
    }
    state
        .durable
        .store()
        .delete_slo(&name)
        .map_err(|e| AppError::Internal(e.into()))?;
    {
        let mut engine = state.durable.engine();
        engine.slos_mut().remove(&name);
        engine.slos_mut().remove_composite(&name);
    }
    crate::config::slo::record_backfill(state.durable.store(), &name, "", None, 0)
        .map_err(AppError::Internal)?;
    let store = state.durable.store();
    for c in crate::config::slo_correction::stored_corrections(store, &name)
        .map_err(AppError::Internal)?
    {
        crate::config::slo_correction::forget_correction(store, &name, &c.id)
            .map_err(AppError::Internal)?;
    }
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.run_stage(Stage::Slos))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(StatusCode::NO_CONTENT)
}
