//! Online anomaly detection: the evaluation cycle feeds every completed minute of every view
//! to the detectors of `perf_core::anomaly::online`, publishes new anomalies on the stream
//! (`anomaly`), and raises an alert when an incident opens (resolved when it closes).
//! `GET /v1/anomalies?window=1h` lists recent anomalies and the incidents they form.
//! Detectors live in memory: after a restart they learn again (30 minutes of warm-up).

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

/// One cycle: new minutes through the detectors, incidents opened and closed as alerts.
pub fn evaluate(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let (found, opened, closed) = {
        let engine = state.engine();
        let mut monitor = state
            .anomaly_monitor
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (found, changes) = monitor.advance(&engine, now);
        let by_id = |ids: &[u64]| -> Vec<perf_core::anomaly::cluster::Incident> {
            ids.iter()
                .filter_map(|id| monitor.incidents.get(*id).cloned())
                .collect()
        };
        let (opened, closed) = (by_id(&changes.opened), by_id(&changes.closed));
        (found, opened, closed)
    };
    for a in &found {
        crate::stream::publish(state, "anomaly", now, a);
    }
    for (inc, firing) in opened
        .iter()
        .map(|i| (i, true))
        .chain(closed.iter().map(|i| (i, false)))
    {
        let notice = crate::webhooks::Notice {
            alertname: "EcosystemPerfAnomalyIncident",
            labels: vec![
                ("incident", inc.id.to_string()),
                (
                    "services",
                    inc.services.iter().cloned().collect::<Vec<_>>().join(","),
                ),
                ("severity", "ticket".into()),
            ],
            summary: format!(
                "{} anomalous series ({}): {}",
                inc.series,
                inc.metrics.iter().cloned().collect::<Vec<_>>().join(", "),
                inc.probable_cause
            ),
            description: format!(
                "{} anomalies since {}",
                inc.anomalies,
                perf_core::time::format_rfc3339(inc.start)
            ),
            firing,
            since_ms: inc.start,
            path: "/v1/anomalies".into(),
        };
        crate::webhooks::raise(
            state,
            "anomaly",
            &format!("incident-{}", inc.id),
            &notice,
            now,
        )?;
    }
    Ok(())
}

/// Query of `GET /v1/anomalies`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyQuery {
    window: Option<String>,
    service: Option<String>,
}

/// `GET /v1/anomalies?window=1h&service=`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<AnomalyQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let window = crate::deploy::window_ms("window", q.window.as_deref().unwrap_or("1h"))?;
    let s = state.clone();
    tokio::task::spawn_blocking(move || evaluate(&s))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(AppError::Internal)?;
    let now = state.now();
    let monitor = state
        .anomaly_monitor
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let in_service = |key: &[(String, String)]| {
        q.service
            .as_deref()
            .is_none_or(|svc| key.iter().any(|(d, v)| d == "service" && v == svc))
    };
    let anomalies: Vec<_> = monitor
        .anomalies()
        .filter(|a| a.at >= now - window && in_service(&a.key))
        .collect();
    let incidents: Vec<_> = monitor
        .incidents
        .all()
        .filter(|i| i.end >= now - window)
        .filter(|i| q.service.as_deref().is_none_or(|s| i.services.contains(s)))
        .collect();
    Ok(Json(serde_json::json!({
        "anomalies": anomalies,
        "incidents": incidents,
        "detectors": monitor.detector_count(),
        "unmonitored": monitor.unmonitored,
    })))
}
