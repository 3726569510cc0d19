//! `POST /v1/rollouts`, `GET /v1/rollouts`, `GET /v1/rollouts/{id}`,
//! `POST /v1/rollouts/{id}/evaluate`. Rollouts and their history live in the store; an
//! evaluation reads both versions' requests since the rollout started from the engine, runs
//! the state machine of `perf_core::compare::rollout`, stores the result, publishes it on
//! the stream (`rollout`) and raises an alert on a rollback. The background cycle evaluates
//! running rollouts every minute, so a canary that regresses is rolled back even when no
//! controller asks.

use super::{live_samples, parse_json};
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use perf_core::compare::baseline::Selector;
use perf_core::compare::rollout::{
    Decision, Rollout, RolloutEvaluation, RolloutSpec, RolloutState,
};
use perf_store::Document;
use std::sync::Arc;

/// Store kind of rollouts.
pub const DOC_KIND: &str = "rollout";

fn load(state: &AppState, id: &str) -> Result<Rollout, AppError> {
    let doc = state
        .store()
        .get_document(DOC_KIND, id)
        .map_err(|e| AppError::Internal(e.into()))?
        .ok_or_else(|| AppError::NotFound(format!("no rollout {id:?}")))?;
    serde_json::from_str(&doc).map_err(|e| AppError::Internal(e.into()))
}

fn save(state: &AppState, r: &Rollout, now: i64) -> Result<(), AppError> {
    let body = serde_json::to_string(r).map_err(|e| AppError::Internal(e.into()))?;
    state
        .store()
        .put_document(&Document {
            kind: DOC_KIND.into(),
            id: r.id.clone(),
            service: r.spec.service.clone(),
            body,
            at_ms: now,
        })
        .map_err(|e| AppError::Internal(e.into()))
}

fn all(state: &AppState) -> Result<Vec<Rollout>, AppError> {
    let docs = state
        .store()
        .list_documents(DOC_KIND)
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(docs
        .iter()
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect())
}

/// Evaluates one rollout now and stores the result (blocking work).
pub fn evaluate_one(state: &AppState, id: &str) -> Result<RolloutEvaluation, AppError> {
    let _one_at_a_time = state.rollout_lock.lock().unwrap_or_else(|p| p.into_inner());
    let mut r = load(state, id)?;
    let now = state.now();
    let side = |version: &str| Selector {
        service: Some(r.spec.service.clone()),
        operation: None,
        version: Some(version.to_string()),
    };
    let (from, to) = (r.started_at, now + 1);
    let baseline = live_samples(state, &side(&r.spec.baseline_version), from, to)?;
    let canary = live_samples(state, &side(&r.spec.canary_version), from, to)?;
    let defs: Vec<perf_core::slo::SloDef> = state
        .engine()
        .slos()
        .entries()
        .iter()
        .filter(|e| e.def.selector.service == r.spec.service)
        .map(|e| e.def.clone())
        .collect();
    let refs: Vec<&perf_core::slo::SloDef> = defs.iter().collect();
    let was = r.state;
    let eval = r.evaluate(&baseline, &canary, &refs, &state.config.gates, now);
    if was == RolloutState::Running {
        save(state, &r, now)?;
        crate::stream::publish(state, "rollout", now, &eval);
        if eval.decision == Decision::Rollback {
            let notice = crate::webhooks::Notice {
                alertname: "EcosystemPerfCanaryRollback",
                labels: vec![
                    ("service", r.spec.service.clone()),
                    ("rollout", r.id.clone()),
                    ("canary_version", r.spec.canary_version.clone()),
                    ("severity", "page".into()),
                ],
                summary: format!(
                    "{} canary {} rolled back",
                    r.spec.service, r.spec.canary_version
                ),
                description: eval.reasons.join("; "),
                firing: true,
                since_ms: now,
                path: format!("/v1/rollouts/{}", r.id),
            };
            crate::webhooks::raise(state, "rollout", &r.id, &notice, now)
                .map_err(AppError::Internal)?;
        }
    }
    Ok(eval)
}

/// Evaluates every running rollout (the background cycle).
pub fn evaluate_running(state: &AppState) -> anyhow::Result<()> {
    let running: Vec<String> = all(state)
        .map_err(|e| anyhow::anyhow!(e.to_string()))?
        .into_iter()
        .filter(|r| r.state == RolloutState::Running)
        .map(|r| r.id)
        .collect();
    for id in running {
        if let Err(e) = evaluate_one(state, &id) {
            tracing::warn!(rollout = %id, error = %e, "rollout evaluation failed");
        }
    }
    Ok(())
}

/// Starts and stores a rollout (blocking work); a taken id is a conflict.
pub fn start(
    state: &AppState,
    id: String,
    spec: RolloutSpec,
    now: i64,
) -> Result<Rollout, AppError> {
    let rollout = Rollout::start(id, spec, now).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let _one_at_a_time = state.rollout_lock.lock().unwrap_or_else(|p| p.into_inner());
    let taken = state
        .store()
        .get_document(DOC_KIND, &rollout.id)
        .map_err(|e| AppError::Internal(e.into()))?
        .is_some();
    if taken {
        return Err(AppError::Conflict(format!(
            "a rollout {:?} exists",
            rollout.id
        )));
    }
    save(state, &rollout, now)?;
    crate::stream::publish(
        state,
        "rollout",
        now,
        &serde_json::json!({"id": rollout.id, "decision": "start", "weight": rollout.weight}),
    );
    Ok(rollout)
}

/// `POST /v1/rollouts`: a RolloutSpec, optionally with an `id`.
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
    let now = state.now();
    let id = id.unwrap_or_else(|| {
        format!(
            "r-{}-{}-{}",
            spec.service,
            spec.canary_version,
            perf_core::time::compact_utc(now)
        )
    });
    let rollout = tokio::task::spawn_blocking(move || start(&state, id, spec, now))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok((StatusCode::CREATED, Json(rollout)))
}

/// `GET /v1/rollouts`.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<serde_json::Value>, AppError> {
    let list: Vec<serde_json::Value> = all(&state)?
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
pub async fn get_one(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Rollout>, AppError> {
    Ok(Json(load(&state, &id)?))
}

/// `POST /v1/rollouts/{id}/evaluate`.
pub async fn evaluate(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<RolloutEvaluation>, AppError> {
    let eval = tokio::task::spawn_blocking(move || evaluate_one(&state, &id))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(eval))
}
