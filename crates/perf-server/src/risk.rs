//! Risk signals per caller (the Qerberos hook): `GET /v1/risk/signals?minLevel=` and
//! `GET /v1/risk/entities/{id}`. Each service's tracked callers are scored
//! (`perf_core::risk`) over the last hour against the service's anomaly incidents (from the
//! anomaly monitor) and the window of its regression alert when firing; a caller of several
//! services gets its highest score, with every service's signals and evidence. The evaluation
//! cycle publishes callers that rise to `high` or `critical` on the stream (`risk`) and as
//! alerts (`EcosystemPerfCallerRisk`), resolved when they fall back under `high`.

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use perf_core::risk::{evaluate_caller, service_evidence, EntityRisk};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Span of evidence, ms.
const SPAN_MS: i64 = 3_600_000;
/// A firing regression alert counts over this much recent time.
const REGRESSION_MS: i64 = 10 * 60_000;

/// Every tracked caller's risk now, highest score first.
pub fn evaluate_all(state: &AppState) -> Result<Vec<EntityRisk>, AppError> {
    let now = state.now();
    let services = state.engine().services();
    let incidents: Vec<(Vec<String>, i64, i64)> = {
        let monitor = state
            .anomaly_monitor
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        monitor
            .incidents
            .all()
            .filter(|i| i.end >= now - SPAN_MS)
            .map(|i| {
                (
                    i.services.iter().cloned().collect(),
                    i.start,
                    i.end.max(i.start + 60_000),
                )
            })
            .collect()
    };
    let firing = state
        .regressions_firing
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let mut merged: BTreeMap<String, EntityRisk> = BTreeMap::new();
    for svc in services {
        let windows: Vec<(i64, i64)> = incidents
            .iter()
            .filter(|(s, _, _)| s.contains(&svc))
            .map(|(_, f, t)| (*f, *t))
            .collect();
        let regressions = if firing.contains(&svc) {
            vec![(now - REGRESSION_MS, now + 1)]
        } else {
            Vec::new()
        };
        let (series, callers) = {
            let engine = state.engine();
            service_evidence(&engine, &svc, now, SPAN_MS, &windows, &regressions)
                .map_err(|e| AppError::BadRequest(e.to_string()))?
        };
        for c in &callers {
            let r = evaluate_caller(&series, c);
            match merged.get_mut(&r.entity_id) {
                None => {
                    merged.insert(r.entity_id.clone(), r);
                }
                Some(m) => {
                    m.signals.extend(r.signals);
                    m.signals.sort_by(|a, b| b.strength.total_cmp(&a.strength));
                    m.correlations.extend(r.correlations);
                    m.evidence.extend(r.evidence);
                    if r.risk_score > m.risk_score {
                        m.risk_score = r.risk_score;
                        m.risk_level = r.risk_level;
                    }
                }
            }
        }
    }
    let mut out: Vec<EntityRisk> = merged.into_values().collect();
    out.sort_by(|a, b| {
        b.risk_score
            .total_cmp(&a.risk_score)
            .then_with(|| a.entity_id.cmp(&b.entity_id))
    });
    Ok(out)
}

fn rank(level: &str) -> u8 {
    match level {
        "critical" => 3,
        "high" => 2,
        "moderate" => 1,
        _ => 0,
    }
}

/// Publishes callers that became high or critical, resolves those that fell back (the
/// evaluation cycle).
pub fn evaluate(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let Ok(risks) = evaluate_all(state) else {
        return Ok(());
    };
    let mut firing = state.risk_firing.lock().unwrap_or_else(|p| p.into_inner());
    let high: std::collections::BTreeSet<String> = risks
        .iter()
        .filter(|r| rank(r.risk_level) >= 2)
        .map(|r| r.entity_id.clone())
        .collect();
    for r in risks
        .iter()
        .filter(|r| rank(r.risk_level) >= 2 && !firing.contains(&r.entity_id))
    {
        crate::stream::publish(state, "risk", now, r);
    }
    let keys: Vec<String> = firing.union(&high).cloned().collect();
    for id in keys {
        let r = risks.iter().find(|r| r.entity_id == id);
        let notice = crate::webhooks::Notice {
            alertname: "EcosystemPerfCallerRisk",
            labels: vec![("entity", id.clone()), ("severity", "ticket".into())],
            summary: match r {
                Some(r) => format!("caller {id}: risk {} ({:.0})", r.risk_level, r.risk_score),
                None => format!("caller {id}: risk back to normal"),
            },
            description: r
                .map(|r| {
                    r.signals
                        .iter()
                        .map(|s| format!("{} {} on {}", s.kind, s.severity, s.service))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default(),
            firing: high.contains(&id),
            since_ms: now,
            path: "/v1/risk/signals?minLevel=high".into(),
        };
        crate::webhooks::raise_on_change(state, &mut firing, "risk", &id, &notice, now)?;
    }
    Ok(())
}

/// Query of `GET /v1/risk/signals`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SignalsQuery {
    min_level: Option<String>,
}

/// `GET /v1/risk/signals?minLevel=low|moderate|high|critical` (default `moderate`).
pub async fn get_signals(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<SignalsQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    let min = q.min_level.unwrap_or_else(|| "moderate".into());
    if !["low", "moderate", "high", "critical"].contains(&min.as_str()) {
        return Err(AppError::BadRequest(format!(
            "minLevel: {min:?} is not low, moderate, high or critical"
        )));
    }
    let risks = tokio::task::spawn_blocking(move || evaluate_all(&state))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let tracked = risks.len();
    let entities: Vec<EntityRisk> = risks
        .into_iter()
        .filter(|r| rank(r.risk_level) >= rank(&min))
        .collect();
    Ok(Json(serde_json::json!({
        "minLevel": min,
        "trackedCallers": tracked,
        "entities": entities,
        "levels": {"low": "< 25", "moderate": "25–50", "high": "50–75", "critical": "≥ 75"},
    })))
}

/// `GET /v1/risk/entities/{id}`.
pub async fn get_entity(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<EntityRisk>, AppError> {
    let risks = tokio::task::spawn_blocking(move || evaluate_all(&state))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    risks
        .into_iter()
        .find(|r| r.entity_id == id)
        .map(Json)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "caller {id:?} is not among the tracked callers of the last hour (heavy hitters by requests, errors, cost or slow requests)"
            ))
        })
}
