//! Health, readiness, `/metrics` (the server's own metrics and the decision metrics) and
//! the answer for unknown routes.

use crate::http::error::AppError;
use crate::http::schemas::{ErrorBody, Health};
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use std::sync::Arc;

/// `GET /healthz`: the process is alive.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "Alive", body = Health))
)]
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the store answers, the ingest log takes writes (no full disk, no failed
/// sync) and the server is not shutting down; otherwise 503 with the cause.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    responses((status = 200, description = "Ready: state loaded, accepting events", body = Health), (status = 503, description = "Not ready yet (recovering) or shutting down", body = ErrorBody))
)]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let s = state.clone();
    tokio::task::spawn_blocking(move || s.durable.readiness())
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|why| AppError::Unavailable(format!("not ready: {why}")))?;
    Ok(Json(serde_json::json!({"status": "ready"})))
}

/// `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    responses((status = 200, description = "Prometheus text exposition 0.0.4", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<Arc<AppState>>) -> Result<impl IntoResponse, AppError> {
    let mut text = String::new();
    {
        let engine = state.durable.engine();
        state
            .durable
            .metrics
            .render(&mut text, &engine, state.durable.log_bytes())
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    crate::http::decision_metrics::render(&mut text, &state)
        .map_err(|e| AppError::Internal(e.into()))?;
    crate::http::slo_metrics::render(&mut text, &state)
        .map_err(|e| AppError::Internal(e.into()))?;
    render_answer_cache(&mut text, &state.answers).map_err(|e| AppError::Internal(e.into()))?;
    let s = state.clone();
    let memory = tokio::task::spawn_blocking(move || s.memory_cache.get(|| s.memory()))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    render_memory(&mut text, &memory).map_err(|e| AppError::Internal(e.into()))?;
    let s = state.clone();
    let golive = tokio::task::spawn_blocking(move || {
        s.golive_cache
            .get(|| crate::control::golive::report(&s.durable, &s.control.memory).ok())
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    if let Some(report) = &golive {
        crate::http::decision_metrics::render_golive(&mut text, report)
            .map_err(|e| AppError::Internal(e.into()))?;
    }
    if !state.durable.config.cluster.nats.url.is_empty() {
        let s = state.clone();
        let status = tokio::task::spawn_blocking(move || s.durable.cluster_status())
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        crate::http::cluster::render_metrics(&mut text, &status);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    ))
}

/// The answer cache's lookups and entries.
fn render_answer_cache(out: &mut String, a: &crate::answers::Answers) -> std::fmt::Result {
    use std::fmt::Write;
    let s = a.stats();
    writeln!(
        out,
        "# HELP ecosystem_perf_answer_cache_lookups_total Lookups of the cache of profile and overview answers, by result (a stale answer is a miss)."
    )?;
    writeln!(
        out,
        "# TYPE ecosystem_perf_answer_cache_lookups_total counter"
    )?;
    for (result, n) in [("hit", s.hits), ("miss", s.misses)] {
        writeln!(
            out,
            "ecosystem_perf_answer_cache_lookups_total{{result=\"{result}\"}} {n}"
        )?;
    }
    let (entries, capacity) = a.entries();
    writeln!(
        out,
        "# HELP ecosystem_perf_answer_cache_entries Answers held (cache.answers.entries at most: {capacity})."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_answer_cache_entries gauge")?;
    writeln!(out, "ecosystem_perf_answer_cache_entries {entries}")
}

/// The memory accounting: bytes per component and their sum.
fn render_memory(out: &mut String, m: &crate::accounting::MemoryReport) -> std::fmt::Result {
    use std::fmt::Write;
    writeln!(
        out,
        "# HELP ecosystem_perf_memory_bytes Heap bytes held by each component (computed from its containers, at most 30 s old)."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_memory_bytes gauge")?;
    for p in &m.components {
        writeln!(
            out,
            "ecosystem_perf_memory_bytes{{component=\"{}\"}} {}",
            p.component, p.bytes
        )?;
    }
    writeln!(
        out,
        "# HELP ecosystem_perf_memory_accounted_bytes Sum of ecosystem_perf_memory_bytes."
    )?;
    writeln!(out, "# TYPE ecosystem_perf_memory_accounted_bytes gauge")?;
    writeln!(
        out,
        "ecosystem_perf_memory_accounted_bytes {}",
        m.total_bytes
    )
}

/// Unknown routes.
pub async fn not_found() -> AppError {
    AppError::NotFound(
        "no such endpoint; the API is described at /api and GET /v1/openapi.json".into(),
    )
}
