//! SLOs on the server: loading definitions (configuration file, then those made over the API
//! and kept in the store) into the engine, the evaluation cycle (statuses cached, alert
//! transitions written to the history and published on the stream; reads evaluate too),
//! and the
//! `/v1/slos` and `/v1/alerts` endpoints.

use crate::config::slo::SloConfig;
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use perf_core::slo::{AlertState, SloDef, SloStatus};
use perf_core::Engine;
use perf_store::{AlertRecord, Store};
use serde::Serialize;
use std::sync::Arc;

/// Puts the configured SLOs and the stored ones into the engine; drops configured SLOs that
/// left the file. Counts are kept for SLOs that still count the same events.
pub fn load_definitions(
    engine: &mut Engine,
    configured: &[SloConfig],
    store: &dyn Store,
) -> anyhow::Result<()> {
    let mut wanted: Vec<SloDef> = Vec::new();
    for c in configured {
        wanted.push(
            c.to_def(true)
                .map_err(|e| anyhow::anyhow!("slo {}: {e}", c.name))?,
        );
    }
    for (name, json) in store.list_slos()? {
        let c: SloConfig =
            serde_json::from_str(&json).map_err(|e| anyhow::anyhow!("stored slo {name}: {e}"))?;
        if configured.iter().any(|x| x.name == name) {
            tracing::warn!(slo = %name, "an SLO of the configuration file replaces the one stored over the API");
            continue;
        }
        wanted.push(
            c.to_def(false)
                .map_err(|e| anyhow::anyhow!("stored slo {name}: {e}"))?,
        );
    }
    let stale: Vec<String> = engine
        .slos()
        .entries()
        .iter()
        .map(|e| e.def.name.clone())
        .filter(|n| !wanted.iter().any(|w| &w.name == n))
        .collect();
    for name in stale {
        engine.slos_mut().remove(&name);
    }
    for def in wanted {
        engine
            .slos_mut()
            .upsert(def)
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

fn subject(s: &SloStatus) -> String {
    match &s.tenant {
        Some(t) => format!("{}/{t}", s.name),
        None => s.name.clone(),
    }
}

/// One evaluation cycle: statuses are cached; transitions go to the history and the stream.
pub fn evaluate(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let evaluations = state.engine().slos_mut().evaluate(now);
    let mut statuses = Vec::with_capacity(evaluations.len());
    for e in evaluations {
        for t in &e.transitions {
            let payload = serde_json::json!({"slo": e.status.name, "service": e.status.service, "tenant": e.status.tenant, "from": t.from, "alert": t.alert});
            let state_name = serde_json::to_value(t.alert.state)?
                .as_str()
                .unwrap_or("")
                .to_string();
            state.store().append_alert(&AlertRecord {
                at_ms: now,
                kind: "slo".into(),
                subject: subject(&e.status),
                state: state_name,
                payload: payload.to_string(),
            })?;
            crate::stream::publish(state, "alert", now, &payload);
        }
        crate::webhooks::enqueue(state, &e.status, &e.transitions, now)?;
        statuses.push(e.status);
    }
    *state
        .slo_statuses
        .write()
        .unwrap_or_else(|p| p.into_inner()) = Some(statuses);
    Ok(())
}

/// Current statuses: reading evaluates (so answers are never older than the data; alert
/// transitions found on the way are recorded as in the cycle).
pub fn statuses(state: &AppState) -> anyhow::Result<Vec<SloStatus>> {
    evaluate(state)?;
    Ok(state
        .slo_statuses
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default())
}

/// `sloStatus` and open alerts of a service for the overview: the worst status of its SLOs.
pub fn service_summary(statuses: &[SloStatus], service: &str) -> (String, u32) {
    let rank = |s: &str| match s {
        "violation" => 4,
        "warning" => 3,
        "ok" => 2,
        "no_data" => 1,
        _ => 0,
    };
    let mine: Vec<&SloStatus> = statuses
        .iter()
        .filter(|s| s.service == service && s.tenant.is_none())
        .collect();
    let worst = mine
        .iter()
        .map(|s| s.status.as_ref())
        .max_by_key(|s| rank(s))
        .unwrap_or("none");
    let open = mine
        .iter()
        .flat_map(|s| &s.alerts)
        .filter(|a| a.state == AlertState::Firing)
        .count() as u32;
    (worst.to_string(), open)
}

/// A status with its definition and tenant instances.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SloDetail {
    #[serde(flatten)]
    status: SloStatus,
    read_only: bool,
    definition: SloConfig,
    tenant_overflow_events: u64,
    tenants: Vec<SloStatus>,
}

/// `GET /v1/slos`.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || statuses(&s))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let base: Vec<SloStatus> = all.into_iter().filter(|s| s.tenant.is_none()).collect();
    Ok(Json(serde_json::json!({"slos": base})))
}

/// `GET /v1/slos/{name}`.
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<SloDetail>, AppError> {
    let def = state
        .engine()
        .slos()
        .get(&name)
        .map(|e| e.def.clone())
        .ok_or_else(|| AppError::NotFound(format!("no SLO named {name:?}")))?;
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || statuses(&s))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let mut mine: Vec<SloStatus> = all.into_iter().filter(|s| s.name == name).collect();
    let pos = mine
        .iter()
        .position(|s| s.tenant.is_none())
        .ok_or_else(|| AppError::NotFound(format!("no SLO named {name:?}")))?;
    let status = mine.remove(pos);
    let tenant_overflow_events = state
        .engine()
        .slos()
        .get(&name)
        .map(|e| e.tenant_overflow)
        .unwrap_or(0);
    Ok(Json(SloDetail {
        status,
        read_only: def.from_config,
        definition: SloConfig::from_def(&def),
        tenant_overflow_events,
        tenants: mine,
    }))
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<SloConfig, AppError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
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
    if ct.contains("json") {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| AppError::BadRequest(format!("{}: {}", e.path(), e.inner())))
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| AppError::BadRequest(format!("{}: {}", e.path(), e.inner())))
    }
}

/// `PUT /v1/slos/{name}`: a native entry (JSON or YAML), or one OpenSLO v1 / Sloth SLO.
pub async fn put(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, AppError> {
    if state
        .engine()
        .slos()
        .get(&name)
        .is_some_and(|e| e.def.from_config)
    {
        return Err(AppError::Conflict(format!(
            "SLO {name:?} is defined in the configuration file; change it there"
        )));
    }
    let mut config = parse_body(&headers, &body)?;
    if config.name.is_empty() {
        config.name = name.clone();
    }
    if config.name != name {
        return Err(AppError::BadRequest(format!(
            "name: the body names {:?} but the path {name:?}",
            config.name
        )));
    }
    let def = config.to_def(false).map_err(AppError::BadRequest)?;
    let stored = SloConfig::from_def(&def);
    let json = serde_json::to_string(&stored).map_err(|e| AppError::Internal(e.into()))?;
    let created = state.engine().slos().get(&name).is_none();
    state
        .store()
        .put_slo(&name, &json, state.now())
        .map_err(|e| AppError::Internal(e.into()))?;
    state
        .engine()
        .slos_mut()
        .upsert(def)
        .map_err(AppError::BadRequest)?;
    let s = state.clone();
    tokio::task::spawn_blocking(move || evaluate(&s))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({"name": name, "definition": stored})),
    ))
}

/// `DELETE /v1/slos/{name}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<StatusCode, AppError> {
    let from_config = match state.engine().slos().get(&name) {
        None => return Err(AppError::NotFound(format!("no SLO named {name:?}"))),
        Some(e) => e.def.from_config,
    };
    if from_config {
        return Err(AppError::Conflict(format!(
            "SLO {name:?} is defined in the configuration file; remove it there"
        )));
    }
    state
        .store()
        .delete_slo(&name)
        .map_err(|e| AppError::Internal(e.into()))?;
    state.engine().slos_mut().remove(&name);
    let s = state.clone();
    tokio::task::spawn_blocking(move || evaluate(&s))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/alerts`: alerts open now (pending or firing) and recently resolved, and the
/// history of state changes.
pub async fn alerts(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || statuses(&s))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let current: Vec<serde_json::Value> = all
        .iter()
        .flat_map(|s| s.alerts.iter().map(move |a| serde_json::json!({"kind": "slo", "slo": s.name, "service": s.service, "tenant": s.tenant, "alert": a})))
        .collect();
    let history: Vec<serde_json::Value> = state
        .store()
        .recent_alerts(100)
        .map_err(|e| AppError::Internal(e.into()))?
        .into_iter()
        .map(|r| {
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
            serde_json::json!({"at": perf_core::time::format_rfc3339(r.at_ms), "kind": r.kind, "subject": r.subject, "state": r.state, "detail": payload})
        })
        .collect();
    Ok(Json(
        serde_json::json!({"alerts": current, "history": history}),
    ))
}
