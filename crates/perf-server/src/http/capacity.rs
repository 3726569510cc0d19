//! `GET /v1/capacity/{service}` (forecast against capacity, headroom), `/plan` (replicas,
//! HPA bounds, pre-scaling schedule), `/hpa` (the HorizontalPodAutoscaler manifest) and
//! `GET /v1/cost` (cost month to date, 30-day forecast, replicas that could go). Reads only.

use crate::control::capacity::{plan_of, report, savings};
use crate::http::error::AppError;
use crate::http::extract::{ApiPath, ApiQuery};
use crate::http::schemas::{CostAnswer, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use perf_core::forecast::capacity::CapacityReport;
use std::sync::Arc;

/// `GET /v1/capacity/{service}`.
#[utoipa::path(
    get,
    path = "/v1/capacity/{service}",
    tag = "capacity",
    summary = "Capacity forecast",
    params(("service" = String, Path, description = "Service name")),
    responses((status = 200, description = "Demand forecast with its interval against the capacity, headroom", body = CapacityReport), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get(
    State(state): State<Arc<AppState>>,
    ApiPath(service): ApiPath<String>,
) -> Result<Json<CapacityReport>, AppError> {
    let r = tokio::task::spawn_blocking(move || report(&state.durable, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(r))
}

/// `GET /v1/capacity/{service}/plan`: replicas, HPA bounds and the pre-scaling schedule.
#[utoipa::path(
    get,
    path = "/v1/capacity/{service}/plan",
    tag = "capacity",
    summary = "Scaling plan",
    params(("service" = String, Path, description = "Service name")),
    responses((status = 200, description = "Replicas per hour for the next day", body = crate::control::capacity_plan::ScalingPlan), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_plan(
    State(state): State<Arc<AppState>>,
    ApiPath(service): ApiPath<String>,
) -> Result<Json<crate::control::capacity_plan::ScalingPlan>, AppError> {
    let p = tokio::task::spawn_blocking(move || plan_of(&state.durable, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(p))
}

/// Query of `GET /v1/capacity/{service}/hpa`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HpaQuery {
    /// `yaml` (default) or `json`.
    format: Option<String>,
}

/// `GET /v1/capacity/{service}/hpa`: the manifest as YAML (default) or JSON (`?format=json`).
#[utoipa::path(
    get,
    path = "/v1/capacity/{service}/hpa",
    tag = "capacity",
    summary = "Kubernetes HPA manifest",
    params(("service" = String, Path, description = "Service name"), HpaQuery),
    responses((status = 200, description = "A Kubernetes HorizontalPodAutoscaler (autoscaling/v2) manifest, YAML by default or JSON with `format=json`", content((String = "application/yaml"), (serde_json::Value = "application/json"))), (status = 400, description = "A bad parameter or body", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody))
)]
pub async fn get_hpa(
    State(state): State<Arc<AppState>>,
    ApiPath(service): ApiPath<String>,
    ApiQuery(q): ApiQuery<HpaQuery>,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let p = tokio::task::spawn_blocking(move || plan_of(&state.durable, &service))
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let manifest = crate::control::capacity_plan::hpa_manifest(&p);
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

/// `GET /v1/cost`: cost per service and operation, month to date, 30-day forecast against the
/// monthly budget, and replicas that could be dropped.
#[utoipa::path(
    get,
    path = "/v1/cost",
    tag = "capacity",
    summary = "Cost against the budget",
    responses((status = 200, description = "Cost month to date, 30-day forecast against the budget, replicas to drop", body = CostAnswer), (status = 400, description = "A bad parameter or body", body = ErrorBody))
)]
pub async fn get_cost(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, AppError> {
    let answer = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, AppError> {
        let now = state.durable.now();
        let report = {
            let engine = state.durable.engine();
            perf_core::forecast::cost::cost_report(
                &engine,
                now,
                state.durable.config.budgets.monthly_cost_budget,
                state.durable.config.budgets.cost_ceiling,
            )
            .map_err(|e| AppError::BadRequest(e.to_string()))?
        };
        let mut v = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.into()))?;
        v["recommendations"] = serde_json::to_value(savings(&state.durable))
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(v)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(answer))
}
