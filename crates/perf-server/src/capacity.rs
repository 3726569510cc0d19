//! `GET /v1/capacity/{service}`: the service's 48-hour demand forecast against its capacity,
//! headroom against the `budgets.headroom` budget, time to exhaustion, p99 against load
//! (`perf_core::forecast::capacity`). The deployment cycle raises
//! `EcosystemPerfCapacityHeadroom` when a service's headroom falls under the budget and
//! resolves it when it recovers.

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::Json;
use perf_core::forecast::capacity::{capacity_report, CapacityReport};
use std::sync::Arc;

/// The report of one service now (blocking work).
pub fn report(state: &AppState, service: &str) -> Result<CapacityReport, AppError> {
    let now = state.now();
    let engine = state.engine();
    if !engine.has_service(service) {
        return Err(AppError::NotFound(format!(
            "no data for service {service:?}"
        )));
    }
    capacity_report(
        &engine,
        service,
        now,
        state.config.budgets.headroom,
        Some(p99_budget_ms(state, service)),
    )
    .map_err(|e| AppError::BadRequest(e.to_string()))
}

/// The p99 budget a service's replicas must keep: the threshold of its whole-service latency
/// SLO with an objective of 99 % or more when it has one, else the read budget (the strictest
/// class budget, `budgets.read.p99Ms`).
pub fn p99_budget_ms(state: &AppState, service: &str) -> f64 {
    state
        .config
        .slos
        .iter()
        .filter(|s| s.service == service && s.sli == "latency" && s.objective >= 99.0)
        .filter(|s| s.operation.is_none() && s.class.is_none() && s.node.is_none())
        .filter(|s| s.tenant.is_none() && s.version.is_none())
        .filter_map(|s| s.threshold_ms)
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))
        .unwrap_or(state.config.budgets.read.p99_ms)
}

/// `GET /v1/capacity/{service}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(service): Path<String>,
) -> Result<Json<CapacityReport>, AppError> {
    let r = tokio::task::spawn_blocking(move || report(&state, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(r))
}

/// Raises and resolves headroom alerts for every service (the deployment cycle).
pub fn alert_cycle(state: &AppState) -> anyhow::Result<()> {
    let now = state.now();
    let services = state.engine().services();
    let mut firing = state
        .capacity_firing
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for svc in services {
        let Ok(r) = report(state, &svc) else { continue };
        let low = r.status == "below_budget";
        let notice = crate::webhooks::Notice {
            alertname: "EcosystemPerfCapacityHeadroom",
            labels: vec![("service", svc.clone()), ("severity", "ticket".into())],
            summary: format!(
                "{svc}: headroom {:.0} % against a {:.0} % budget",
                r.headroom.unwrap_or(0.0) * 100.0,
                r.headroom_budget * 100.0
            ),
            description: r.explanation.clone(),
            firing: low,
            since_ms: now,
            path: format!("/v1/capacity/{svc}"),
        };
        crate::webhooks::raise_on_change(state, &mut firing, "capacity", &svc, &notice, now)?;
    }
    Ok(())
}

/// Current replicas of a service: the largest `replicas` its nodes declared, else the number
/// of nodes reporting resources.
pub fn current_replicas(state: &AppState, service: &str) -> u32 {
    let engine = state.engine();
    let nodes: Vec<_> = engine.resources().of_service(service).collect();
    nodes
        .iter()
        .filter_map(|(_, r)| r.last.replicas)
        .max()
        .unwrap_or(nodes.len() as u32)
}

/// The plan of one service (blocking work).
pub fn plan_of(
    state: &AppState,
    service: &str,
) -> Result<crate::capacity_plan::ScalingPlan, AppError> {
    let r = report(state, service)?;
    crate::capacity_plan::plan(&r, current_replicas(state, service)).ok_or_else(|| {
        AppError::BadRequest(format!(
            "no capacity known for {service}: send capacityRps (or cpu) resource samples for its nodes"
        ))
    })
}

/// `GET /v1/capacity/{service}/plan`: replicas, HPA bounds and the pre-scaling schedule.
pub async fn get_plan(
    State(state): State<Arc<AppState>>,
    Path(service): Path<String>,
) -> Result<Json<crate::capacity_plan::ScalingPlan>, AppError> {
    let p = tokio::task::spawn_blocking(move || plan_of(&state, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(p))
}

/// Query of `GET /v1/capacity/{service}/hpa`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpaQuery {
    format: Option<String>,
}

/// `GET /v1/capacity/{service}/hpa`: the manifest as YAML (default) or JSON (`?format=json`).
pub async fn get_hpa(
    State(state): State<Arc<AppState>>,
    Path(service): Path<String>,
    ApiQuery(q): ApiQuery<HpaQuery>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let p = tokio::task::spawn_blocking(move || plan_of(&state, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let manifest = crate::capacity_plan::hpa_manifest(&p);
    let mut value = serde_json::to_value(&manifest).map_err(|e| AppError::Internal(e.into()))?;
    // k8s-openapi leaves apiVersion and kind to its resource trait; a manifest needs them.
    if let Some(o) = value.as_object_mut() {
        o.insert("apiVersion".into(), "autoscaling/v2".into());
        o.insert("kind".into(), "HorizontalPodAutoscaler".into());
    }
    match q.format.as_deref() {
        None | Some("yaml") => {
            let yaml =
                serde_yaml_ng::to_string(&value).map_err(|e| AppError::Internal(e.into()))?;
            Ok((
                [(axum::http::header::CONTENT_TYPE, "application/yaml")],
                yaml,
            )
                .into_response())
        }
        Some("json") => Ok(Json(value).into_response()),
        Some(other) => Err(AppError::BadRequest(format!(
            "format: {other:?} is not yaml or json"
        ))),
    }
}

/// A service that could run with fewer replicas.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Saving {
    /// Service.
    pub service: String,
    /// Headroom at the peak hour of the last 7 days.
    pub headroom_7d: f64,
    /// Replicas now.
    pub current_replicas: u32,
    /// Replicas that would have carried the week's peak within the budget.
    pub replicas_needed: u32,
    /// Replicas to drop.
    pub drop_replicas: u32,
    /// Share of the service's capacity that is saved.
    pub capacity_saved: f64,
    /// One sentence.
    pub recommendation: String,
}

/// Services whose headroom stayed above 60 % at every hour of the last week.
pub fn savings(state: &AppState) -> Vec<Saving> {
    const WEEK_HOURS: i64 = 168;
    let now = state.now();
    let budget = state.config.budgets.headroom;
    let mut out = Vec::new();
    // Collected first: the engine lock must not be held while `report` takes it again.
    let services = state.engine().services();
    for svc in services {
        let Ok(r) = report(state, &svc) else { continue };
        let Some(cap) = r.capacity_rps else { continue };
        if r.step_minutes != 60 || r.history_steps < WEEK_HOURS as usize {
            continue; // not a week of history yet
        }
        let peak_7d = {
            let engine = state.engine();
            let view = engine.views()[0].def.name.clone();
            let end = now.div_euclid(3_600_000) * 3_600_000;
            (1..=WEEK_HOURS)
                .filter_map(|h| {
                    let from = end - h * 3_600_000;
                    engine
                        .query(
                            &view,
                            &[(perf_core::view::Dim::Service, svc.as_str())],
                            from,
                            from + 3_600_000,
                        )
                        .ok()
                        .map(|s| s.requests as f64 / 3600.0)
                })
                .fold(0.0, f64::max)
        };
        let headroom_7d = 1.0 - peak_7d.max(r.peak_upper_rps) / cap;
        if headroom_7d <= 0.6 {
            continue;
        }
        let current = current_replicas(state, &svc).max(1);
        let per_replica = cap / f64::from(current);
        let (target, _) = crate::capacity_plan::target_utilization(&r);
        let needed =
            crate::capacity_plan::replicas_for(peak_7d.max(r.peak_upper_rps), per_replica, target);
        if needed >= current {
            continue;
        }
        let drop = current - needed;
        out.push(Saving {
            recommendation: format!(
                "{svc} kept {:.0} % headroom all week: {needed} of its {current} replicas carry its peak within the {:.0} % budget; drop {drop} ({:.0} % of its capacity)",
                headroom_7d * 100.0,
                budget * 100.0,
                f64::from(drop) / f64::from(current) * 100.0
            ),
            service: svc,
            headroom_7d,
            current_replicas: current,
            replicas_needed: needed,
            drop_replicas: drop,
            capacity_saved: f64::from(drop) / f64::from(current),
        });
    }
    out
}

/// `GET /v1/cost`: cost per service and operation, month to date, 30-day forecast against the
/// monthly budget, and replicas that could be dropped.
pub async fn get_cost(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, AppError> {
    let answer = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, AppError> {
        let now = state.now();
        let report = {
            let engine = state.engine();
            perf_core::forecast::cost::cost_report(
                &engine,
                now,
                state.config.budgets.monthly_cost_budget,
                state.config.budgets.cost_ceiling,
            )
            .map_err(|e| AppError::BadRequest(e.to_string()))?
        };
        let mut v = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.into()))?;
        v["recommendations"] =
            serde_json::to_value(savings(&state)).map_err(|e| AppError::Internal(e.into()))?;
        Ok(v)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(answer))
}
