//! One operation policy decision, pure and O(1) — the call a service embeds (measured at
//! tens of nanoseconds, `benches/policy.rs`) and the body of `POST /v1/policy/evaluate`.
//!
//! Rules, first match wins (the ladder level and the load come from [`ServiceContext`]):
//!
//! | when | critical | default | batch |
//! |---|---|---|---|
//! | L4 essential only | proceed | cache_fallback if cacheable, else reject | reject |
//! | L3 defer writes | proceed | writes: queue_deferral; cacheable reads: cache_fallback; reads proceed | reject |
//! | L2 cache fallback | proceed | cacheable: cache_fallback; else proceed | reject |
//! | L1 shed batch | proceed | proceed | reject |
//! | tenant throttled or isolated | proceed | queue_deferral | reject |
//! | load ≥ 1 (in flight ≥ the concurrency limit) | proceed | cacheable: cache_fallback; else queue_deferral | reject |
//! | load ≥ 0.8 | proceed | proceed | queue_deferral |
//! | otherwise | proceed | proceed | proceed |
//!
//! So lower priorities are always shed first and critical requests are never turned away by
//! policy. `riskLevel`: `critical` at L4 or load ≥ 1.2, `high` at L2–L3 or load ≥ 1,
//! `moderate` at L1 or load ≥ 0.8 or a 5-minute burn rate ≥ 1, else `low`.

use crate::model::RequestClass;
use serde::{Deserialize, Serialize};

/// Request priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Priority {
    /// Never shed by policy.
    Critical,
    /// Interactive traffic.
    #[default]
    Default,
    /// Deferrable background work; shed first.
    Batch,
}

/// What a caller asks about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyRequest {
    /// Service.
    pub service: String,
    /// Operation.
    pub operation: String,
    /// Tenant (DAO), when the request has one.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Priority (`default` when absent).
    #[serde(default)]
    pub priority: Priority,
    /// Whether a cached or simplified answer is acceptable.
    #[serde(default)]
    pub cacheable: bool,
    /// Request class; when absent, a write if the operation starts with POST, PUT, PATCH or
    /// DELETE, else a read.
    #[serde(default)]
    pub class: Option<RequestClass>,
}

impl PolicyRequest {
    /// Whether the request writes.
    pub fn is_write(&self) -> bool {
        match self.class {
            Some(c) => c != RequestClass::Read,
            None => ["POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| self.operation.starts_with(m)),
        }
    }
}

/// What the decision is made from, per service (refreshed by the evaluation cycle).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceContext {
    /// Degradation level, 0–4.
    pub level: u8,
    /// In flight over the concurrency limit.
    pub load: f64,
    /// The concurrency limit.
    pub concurrency_limit: f64,
    /// Fastest 5-minute SLO burn rate.
    pub burn_rate: f64,
    /// Share of the last minute's requests over their class's p99 budget / 1 %.
    pub slow_ratio: f64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    /// `proceed`, `queue_deferral`, `cache_fallback` or `reject`.
    pub decision: &'static str,
    /// Why, e.g. `degradation_level_2`, `concurrency_limit`, `tenant_throttled`.
    pub reason: &'static str,
    /// `low`, `moderate`, `high` or `critical`.
    pub risk_level: &'static str,
    /// What the caller can do instead.
    pub alternatives: &'static [&'static str],
    /// The numbers behind it.
    pub context: ServiceContext,
}

const PROCEED: &str = "proceed";
const QUEUE: &str = "queue_deferral";
const CACHE: &str = "cache_fallback";
const REJECT: &str = "reject";

fn alternatives(decision: &str) -> &'static [&'static str] {
    match decision {
        CACHE => &["use_cached_result", "simplified_operation"],
        QUEUE => &["retry_after_backoff", "submit_to_queue"],
        REJECT => &["retry_after_backoff", "use_cached_result"],
        _ => &[],
    }
}

/// The risk level of a context.
pub fn risk_level(ctx: &ServiceContext) -> &'static str {
    if ctx.level >= 4 || ctx.load >= 1.2 {
        "critical"
    } else if ctx.level >= 2 || ctx.load >= 1.0 {
        "high"
    } else if ctx.level >= 1 || ctx.load >= 0.8 || ctx.burn_rate >= 1.0 {
        "moderate"
    } else {
        "low"
    }
}

/// Decides one request. `tenant_throttled`: the request's tenant is under a
/// `traffic_throttling` or `isolate` recommendation.
pub fn decide(req: &PolicyRequest, ctx: &ServiceContext, tenant_throttled: bool) -> Decision {
    use Priority::*;
    let level_reason = match ctx.level {
        4 => "degradation_level_4",
        3 => "degradation_level_3",
        2 => "degradation_level_2",
        _ => "degradation_level_1",
    };
    let (decision, reason) = match (req.priority, ctx.level) {
        (Critical, _) => (
            PROCEED,
            if ctx.level > 0 {
                "critical_priority"
            } else {
                "normal"
            },
        ),
        (Batch, l) if l >= 1 => (REJECT, level_reason),
        (Default, 4) if req.cacheable => (CACHE, level_reason),
        (Default, 4) => (REJECT, level_reason),
        (Default, 3) if req.is_write() => (QUEUE, level_reason),
        (Default, 2..=3) if req.cacheable => (CACHE, level_reason),
        _ if tenant_throttled => match req.priority {
            Batch => (REJECT, "tenant_throttled"),
            _ => (QUEUE, "tenant_throttled"),
        },
        (Batch, _) if ctx.load >= 1.0 => (REJECT, "concurrency_limit"),
        (Default, _) if ctx.load >= 1.0 && req.cacheable => (CACHE, "concurrency_limit"),
        (Default, _) if ctx.load >= 1.0 => (QUEUE, "concurrency_limit"),
        (Batch, _) if ctx.load >= 0.8 => (QUEUE, "high_load"),
        _ if ctx.slow_ratio >= 1.0 => (PROCEED, "high_latency_risk"),
        _ => (PROCEED, "normal"),
    };
    Decision {
        decision,
        reason,
        risk_level: risk_level(ctx),
        alternatives: alternatives(decision),
        context: *ctx,
    }
}
