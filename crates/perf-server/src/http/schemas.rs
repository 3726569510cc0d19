//! Shapes for the OpenAPI document that no single Rust type carries: the request bodies as
//! sent on the wire (the decoder reads them borrowed and field by field, `perf_core::model`),
//! and the answers a handler assembles as a JSON value (lists wrapped in an object, a report
//! with a field added, rows of the alert history). They only describe: the handlers, and in
//! a cluster the forwarding layer that merges partitions' answers, build the JSON
//! themselves. The schema test (`tests/openapi.rs`) validates every live answer against
//! these shapes, so a handler that drifts from its documented shape fails there.

#![allow(dead_code)] // Fields are read by the schema derive only.

use crate::control::capacity::Saving;
use crate::control::golive::{BudgetChange, FrozenSet};
use crate::control::regressions::{Regression, TrendReport};
use crate::control::tenants::TenantAnswer;
use crate::effects::stream::LevelEntry;
use perf_core::anomaly::incident::{Incident, SeriesAnomaly};
use perf_core::compare::rollout::RolloutState;
use perf_core::drill::DrillView;
use perf_core::forecast::cost::CostReport;
use perf_core::risk::EntityRisk;
use perf_core::routing::WeightsReport;
use perf_core::slo::SloStatus;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An event timestamp: RFC 3339 text or integer unix milliseconds.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Timestamp {
    /// Unix milliseconds.
    Millis(i64),
    /// RFC 3339, e.g. `2026-01-01T00:00:00Z`.
    Text(String),
}

/// One request as a service reports it (`POST /v1/events`, one per NDJSON line or in a JSON
/// array). Unknown fields are ignored; a field out of its range rejects that event only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventIn {
    /// When the request finished; default: the server's clock.
    ts: Option<Timestamp>,
    /// Service, 1–128 characters.
    service: String,
    /// Route, RPC or operation, 1–256 characters.
    operation: String,
    /// Instance that served it; default `default`.
    node: Option<String>,
    /// Latency budget class: `read`, `write` or `complex_write`; default `read`.
    class: Option<String>,
    /// DAO, subnet or customer.
    tenant: Option<String>,
    /// Caller identity (hashed when `privacy.hashCallers` is on).
    entity: Option<String>,
    /// Deployed version.
    version: Option<String>,
    /// Duration in milliseconds, finite and ≥ 0.
    #[schema(minimum = 0.0)]
    latency_ms: f64,
    /// Outcome; default: from `status` (< 500 is ok), else true.
    ok: Option<bool>,
    /// HTTP status code 100–599.
    #[schema(minimum = 100, maximum = 599)]
    status: Option<i64>,
    /// Cache outcome: `hit` or `miss`.
    cache: Option<String>,
    /// Cache key space.
    cache_space: Option<String>,
    /// Cache key, 1–1024 bytes; kept only as a hash.
    cache_key: Option<String>,
    /// Cost in currency units, ≥ 0.
    #[schema(minimum = 0.0)]
    cost: Option<f64>,
    /// Milliseconds per stage (at most 32 stages).
    stages: Option<BTreeMap<String, f64>>,
}

/// One resource sample of a node (`POST /v1/resources`, a JSON array or NDJSON).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceIn {
    /// Sample time; default: the server's clock.
    ts: Option<Timestamp>,
    /// Service.
    service: String,
    /// Node.
    node: String,
    /// CPU utilisation of the allocation, 0–1.
    cpu: Option<f64>,
    /// Memory utilisation of the allocation, 0–1.
    memory: Option<f64>,
    /// Requests in flight.
    inflight: Option<u64>,
    /// Maximum sustainable requests per second, > 0.
    capacity_rps: Option<f64>,
    /// Replicas (a service-level sample).
    replicas: Option<u32>,
    /// Entries per cache space (at most 64 spaces).
    cache_sizes: Option<BTreeMap<String, u64>>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (state loaded, accepting events).
    status: String,
}

/// The error envelope of every 4xx and 5xx answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    error: ErrorDetail,
}

/// The body of the error envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `unauthorized`, `forbidden`, `not_found`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`, `rate_limited`,
    /// `request_timeout`, `method_not_allowed`, `unavailable` or `internal`.
    code: String,
    /// For a person: what was wrong and, where it helps, what to send instead.
    message: String,
}

/// `GET /v1/slos`: every SLO's status, per-tenant SLOs once per tenant.
#[derive(Serialize, ToSchema)]
pub struct SloList {
    /// The SLOs.
    slos: Vec<SloStatus>,
}

/// `PUT /v1/slos/{name}`: the stored definition.
#[derive(Serialize, ToSchema)]
pub struct SloStored {
    /// SLO name.
    name: String,
    /// The definition as stored (native form; an OpenSLO or Sloth body is converted).
    definition: Value,
    /// A new SLO (or one whose counting changed) is filled from the views' history: from
    /// when, how many events, the latency estimate's bound; `null` when no view holds the
    /// dimensions it selects on, or when its counts were kept.
    backfilled: Option<perf_core::slo::Backfilled>,
}

/// An SLO alert as `GET /v1/alerts` lists it under `alerts`.
#[derive(Serialize, ToSchema)]
pub struct CurrentSloAlert {
    /// Always `slo`.
    kind: String,
    /// SLO name.
    slo: String,
    /// Its service.
    service: String,
    /// Its tenant, for a per-tenant SLO.
    tenant: Option<String>,
    /// The alert (tier, burn rates, state).
    alert: Value,
}

/// A row of the alert history.
#[derive(Serialize, ToSchema)]
pub struct AlertRow {
    /// Row id; pass it as `before` to read older rows.
    id: i64,
    /// When, RFC 3339.
    at: String,
    /// `slo`, `degradation`, `rollout`, `anomaly`, `golive`…
    kind: String,
    /// What it is about (SLO name, service, rollout id).
    subject: String,
    /// `pending`, `firing` or `resolved`.
    state: String,
    /// The notification as sent.
    detail: Value,
}

/// `GET /v1/alerts`.
#[derive(Serialize, ToSchema)]
pub struct AlertsAnswer {
    /// SLO alerts as the last evaluation sees them.
    alerts: Vec<CurrentSloAlert>,
    /// SLO incidents open now: one per SLO instance with a tier firing.
    incidents: Vec<SloIncident>,
    /// Notifications still open (firing, not resolved).
    open: Vec<AlertRow>,
    /// The history, newest first, one page.
    history: Vec<AlertRow>,
    /// The `before` of the next page; null on the last page.
    next: Option<i64>,
}

/// An SLO instance's incident: its tiers firing now, as one problem.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SloIncident {
    /// The fingerprint webhook notifications of this incident carry.
    fingerprint: String,
    /// SLO.
    slo: String,
    /// Service.
    service: String,
    /// Tenant of a per-tenant instance.
    tenant: Option<String>,
    /// The highest tier firing.
    severity: perf_core::slo::Severity,
    /// When the first of its tiers began firing (RFC 3339).
    since: String,
    /// The tiers firing, `long/short` windows.
    tiers: Vec<String>,
    /// What it means, in one line.
    summary: String,
}

/// A baseline without its samples, as `GET /v1/baselines` lists it and `POST` answers.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaselineSummary {
    /// Baseline id.
    id: String,
    /// Service.
    service: String,
    /// Operation, when the baseline is of one.
    operation: Option<String>,
    /// Version frozen.
    version: Option<String>,
    /// Start of the frozen window, RFC 3339.
    from: String,
    /// End of the frozen window, RFC 3339.
    to: String,
    /// When it was frozen, RFC 3339.
    created_at: String,
    /// Requests in it.
    requests: u64,
    /// Operations it holds.
    operations: Vec<String>,
}

/// `GET /v1/baselines`.
#[derive(Serialize, ToSchema)]
pub struct BaselineList {
    /// The baselines.
    baselines: Vec<BaselineSummary>,
}

/// A rollout as `GET /v1/rollouts` lists it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSummary {
    /// Rollout id.
    id: String,
    /// Service.
    service: String,
    /// Version serving the rest of the traffic.
    baseline_version: String,
    /// Version under test.
    canary_version: String,
    /// Where it stands.
    state: RolloutState,
    /// Canary's share of the traffic now, percent.
    weight: f64,
    /// When it started, RFC 3339.
    started_at: String,
    /// Evaluations so far.
    evaluations: usize,
}

/// `GET /v1/rollouts`.
#[derive(Serialize, ToSchema)]
pub struct RolloutList {
    /// The rollouts.
    rollouts: Vec<RolloutSummary>,
}

/// `GET /v1/drills`.
#[derive(Serialize, ToSchema)]
pub struct DrillList {
    /// The drills.
    drills: Vec<DrillView>,
}

/// `GET /v1/golive/frozen`.
#[derive(Serialize, ToSchema)]
pub struct FrozenAnswer {
    /// The frozen set in force; null before the first freeze.
    frozen: Option<FrozenSet>,
    /// Every recorded budget change.
    changes: Vec<BudgetChange>,
}

/// `GET /v1/regressions`.
#[derive(Serialize, ToSchema)]
pub struct RegressionsAnswer {
    /// Operations slower or failing more than their frozen baseline.
    regressions: Vec<Regression>,
    /// Day-over-day trends.
    trends: Vec<TrendReport>,
}

/// `GET /v1/anomalies`.
#[derive(Serialize, ToSchema)]
pub struct AnomaliesAnswer {
    /// Anomalous points of single series in the window.
    anomalies: Vec<SeriesAnomaly>,
    /// Incidents (anomalies grouped in time, with causes) ending in the window.
    incidents: Vec<Incident>,
    /// Series watched.
    detectors: usize,
    /// Series not watched because the detector limit was reached.
    unmonitored: u64,
}

/// `GET /v1/cost`: the cost report with the replicas that could be dropped.
#[derive(Serialize, ToSchema)]
pub struct CostAnswer {
    /// The report.
    #[serde(flatten)]
    report: CostReport,
    /// Replicas that could be dropped and what that saves.
    recommendations: Vec<Saving>,
}

/// `GET /v1/routing/weights` without `service`: every service's weights.
#[derive(Serialize, ToSchema)]
pub struct WeightsList {
    /// One report per service.
    services: Vec<WeightsReport>,
}

/// An Envoy EDS `ClusterLoadAssignment` (`GET /v1/routing/weights?service=…&format=envoy`).
#[derive(Serialize, ToSchema)]
pub struct EnvoyLoadAssignment {
    /// `type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment`.
    #[serde(rename = "@type")]
    type_url: String,
    /// The service.
    cluster_name: String,
    /// One locality whose `lb_endpoints` carry each node's `load_balancing_weight` (1–100).
    endpoints: Vec<Value>,
}

/// `GET /v1/routing/weights`: every service's weights, one service's, or one service's as
/// an Envoy load assignment.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum WeightsAnswer {
    /// Without `service`.
    All(WeightsList),
    /// With `service`.
    One(WeightsReport),
    /// With `service` and `format=envoy`.
    Envoy(EnvoyLoadAssignment),
}

/// `GET /v1/degradation`.
#[derive(Serialize, ToSchema)]
pub struct DegradationAnswer {
    /// Every service's ladder level, signals and history.
    services: Vec<LevelEntry>,
}

/// `GET /v1/risk/signals`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RiskSignals {
    /// The lowest level listed.
    min_level: String,
    /// Callers tracked.
    tracked_callers: usize,
    /// Callers at `minLevel` or above, riskiest first.
    entities: Vec<EntityRisk>,
    /// The score range of each level.
    levels: BTreeMap<String, String>,
}

/// `GET /v1/tenants`.
#[derive(Serialize, ToSchema)]
pub struct TenantList {
    /// Every tenant seen in the last hour (only the caller's own with a tenant token).
    tenants: Vec<TenantAnswer>,
}
