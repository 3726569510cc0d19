//! `GET /v1/alerts?state=&kind=&service=&before=&limit=`: the SLO alert tiers open now with
//! their burn rates (`alerts`), the SLO incidents open now — one per SLO instance, whatever
//! number of its tiers fire, with the fingerprint webhook receivers see (`incidents`), every alert open now of every kind — SLO, degradation,
//! anomaly, risk, failover… — as the latest unresolved row of its history (`open`), and the
//! history of alert state changes, newest first, a page at a time (`history`, `next`: the
//! `before` of the next page). Filters apply to `open` and `history`; history is kept for
//! `alerting.historyRetention` (30 days by default).

use crate::http::error::AppError;
use crate::http::extract::ApiQuery;
use crate::http::schemas::{AlertsAnswer, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use perf_store::AlertRecord;
use serde::Deserialize;
use std::sync::Arc;

/// History rows per page unless `limit` says otherwise, and the most a page may hold.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1_000;
/// Rows read from the store at a time while filtering.
const SCAN: usize = 500;

/// Query of `GET /v1/alerts`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    /// Only `pending`, `firing` or `resolved` rows.
    state: Option<String>,
    /// Only this kind (`slo`, `degradation`, `rollout`, `anomaly`…).
    kind: Option<String>,
    /// Only this service.
    service: Option<String>,
    /// History rows older than this id (the `next` of the previous page).
    before: Option<i64>,
    /// Rows per page, 1–1000 (default 100).
    limit: Option<usize>,
}

impl AlertQuery {
    fn check(&self) -> Result<usize, AppError> {
        if let Some(s) = &self.state {
            if !["pending", "firing", "resolved"].contains(&s.as_str()) {
                return Err(AppError::BadRequest(format!(
                    "state: {s:?} is not pending, firing or resolved"
                )));
            }
        }
        if self.before.is_some_and(|b| b <= 0) {
            return Err(AppError::BadRequest(
                "before: a history id from a previous page's `next`".into(),
            ));
        }
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::BadRequest(format!(
                "limit: from 1 to {MAX_LIMIT}"
            )));
        }
        Ok(limit)
    }

    /// Whether a history row passes the filters: the service is the payload's `service`
    /// (SLO alerts), its `labels.service` (the others), or the subject.
    fn keeps(&self, r: &AlertRecord, payload: &serde_json::Value) -> bool {
        let service_of = payload["service"]
            .as_str()
            .or_else(|| payload["labels"]["service"].as_str());
        self.state.as_deref().is_none_or(|s| r.state == s)
            && self.kind.as_deref().is_none_or(|k| r.kind == k)
            && self
                .service
                .as_deref()
                .is_none_or(|s| service_of == Some(s) || r.subject == s)
    }
}

/// A history row as the API shows it.
fn row(id: i64, r: AlertRecord, payload: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"id": id, "at": perf_core::time::format_rfc3339(r.at_ms), "kind": r.kind, "subject": r.subject, "state": r.state, "detail": payload})
}

/// The rows of `rows` that pass `q`, as the API shows them.
fn kept(q: &AlertQuery, rows: Vec<(i64, AlertRecord)>) -> Vec<(i64, serde_json::Value)> {
    rows.into_iter()
        .filter_map(|(id, r)| {
            let payload: serde_json::Value = serde_json::from_str(&r.payload).unwrap_or_default();
            q.keeps(&r, &payload).then(|| (id, row(id, r, payload)))
        })
        .collect()
}

/// `GET /v1/alerts`.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "slos",
    summary = "Alerts and their history",
    params(AlertQuery),
    responses((status = 200, description = "Current SLO alerts, open notifications and one page of the history", body = AlertsAnswer), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn alerts(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<AlertQuery>,
) -> Result<impl IntoResponse, AppError> {
    let limit = q.check()?;
    let s = state.clone();
    let all = tokio::task::spawn_blocking(move || s.slo_statuses())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let incidents: Vec<serde_json::Value> = all
        .iter()
        .filter(|s| q.service.as_deref().is_none_or(|svc| s.service == svc))
        .filter_map(crate::effects::webhooks::open_incident)
        .collect();
    let current: Vec<serde_json::Value> = all
        .iter()
        .flat_map(|s| s.alerts.iter().map(move |a| serde_json::json!({"kind": "slo", "slo": s.name, "service": s.service, "tenant": s.tenant, "alert": a})))
        .collect();
    let (open, history, next) = tokio::task::spawn_blocking(move || {
        let store = state.durable.store();
        let open: Vec<serde_json::Value> = kept(&q, store.open_alerts()?)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let mut history = Vec::new();
        let mut cursor = q.before;
        let mut next = None;
        'pages: loop {
            let page = store.alert_page(cursor, SCAN)?;
            let Some(last) = page.last().map(|(id, _)| *id) else {
                break;
            };
            for (_, v) in kept(&q, page) {
                if history.len() == limit {
                    next = history
                        .last()
                        .and_then(|v: &serde_json::Value| v["id"].as_i64());
                    break 'pages;
                }
                history.push(v);
            }
            cursor = Some(last);
        }
        Ok::<_, perf_store::StoreError>((open, history, next))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Json(
        serde_json::json!({"alerts": current, "incidents": incidents, "open": open, "history": history, "next": next}),
    ))
}
