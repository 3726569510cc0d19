//! The tenant stage (the DAO hook): every tenant seen in the last hour, evaluated against
//! the read p99 budget and the objective of a `perTenant` availability SLO when there is one
//! (99.9 % otherwise), with its isolation recommendation passed through hysteresis. The
//! hysteresis state lives in the decisions and only the cycle moves it, so how often
//! `GET /v1/tenants` is read changes nothing.
//!
//! A tenant's traffic spans services, so with partitions owned by leases only the leader
//! evaluates tenants, on every partition's aggregates (`Durable::merged_engine`), and the
//! tenant reads are forwarded to it.

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::Effect;
use perf_core::slo::Sli;
use perf_core::tenant::{evaluate as evaluate_tenant, tenants, TenantEvaluation, TenantTargets};

const HOUR: i64 = 3_600_000;

fn targets(d: &Durable) -> TenantTargets {
    let availability = d
        .engine()
        .slos()
        .entries()
        .iter()
        .find(|e| e.def.per_tenant && e.def.sli == Sli::Availability)
        .map(|e| e.def.objective)
        .unwrap_or(0.999);
    TenantTargets {
        p99_ms: d.config.budgets.read.p99_ms,
        availability,
        dwell_ms: 5 * 60_000,
    }
}

/// Evaluates every tenant of the last hour and applies its hysteresis (the cycle).
pub fn evaluate(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let t = targets(d);
    let evaluations: Vec<TenantEvaluation> = if d.partitioned() {
        if !d.is_leader() {
            m.decisions().tenants.clear();
            return Ok(Vec::new());
        }
        let engine = d
            .merged_engine()
            .map_err(|e| ControlError::Invalid(format!("merging the partitions: {e:#}")))?;
        tenants(&engine, now, HOUR)
            .iter()
            .map(|name| evaluate_tenant(&engine, name, now, t))
            .collect()
    } else {
        let engine = d.engine();
        tenants(&engine, now, HOUR)
            .iter()
            .map(|name| evaluate_tenant(&engine, name, now, t))
            .collect()
    };
    let mut decisions = m.decisions();
    let mut out = Vec::with_capacity(evaluations.len());
    for mut e in evaluations {
        e.isolation_recommendation = decisions
            .tenant_states
            .entry(e.dao_id.clone())
            .or_default()
            .apply(e.raw_recommendation, now, t.dwell_ms);
        out.push(e);
    }
    decisions.tenants = out;
    Ok(Vec::new())
}

/// One tenant as of the last cycle; a tenant the cycle did not see is evaluated now with
/// its hysteresis state read, not moved; `None` for a tenant no view holds and no state names.
pub fn one(d: &Durable, m: &Memory, tenant: &str, now: i64) -> Option<TenantEvaluation> {
    if let Some(e) = m.decisions().tenants.iter().find(|e| e.dao_id == tenant) {
        return Some(e.clone());
    }
    let known_state = m.decisions().tenant_states.contains_key(tenant);
    let t = targets(d);
    let evaluate = |engine: &perf_core::Engine| {
        (known_state || engine.has_tenant(tenant)).then(|| evaluate_tenant(engine, tenant, now, t))
    };
    let mut e = if d.partitioned() {
        match d.merged_engine() {
            Ok(engine) => evaluate(&engine),
            Err(_) => evaluate(&d.engine()),
        }
    } else {
        evaluate(&d.engine())
    }?;
    let mut state = m
        .decisions()
        .tenant_states
        .get(tenant)
        .cloned()
        .unwrap_or_default();
    e.isolation_recommendation = state.apply(e.raw_recommendation, now, t.dwell_ms);
    Some(e)
}

/// A tenant's evaluation with what it costs: the DAO treasury's answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantAnswer {
    /// The evaluation (SLO compliance, budget burn, isolation and why, noisy-neighbour
    /// evidence).
    #[serde(flatten)]
    pub evaluation: TenantEvaluation,
    /// Its cost: last 24 hours, month to date, share of the ecosystem, 30-day forecast;
    /// `null` when no view has a tenant dimension.
    pub cost: Option<perf_core::forecast::tenant_cost::TenantCost>,
}

/// `evaluations` with their costs at `now`, read on one engine (the merged partitions when
/// partitioned). A cost that cannot be read is `null`, not an error: the evaluation stands.
pub fn with_costs(d: &Durable, evaluations: Vec<TenantEvaluation>, now: i64) -> Vec<TenantAnswer> {
    let cost_on = |engine: &perf_core::Engine, evaluations: Vec<TenantEvaluation>| {
        evaluations
            .into_iter()
            .map(|evaluation| TenantAnswer {
                cost: perf_core::forecast::tenant_cost::tenant_cost(
                    engine,
                    &evaluation.dao_id,
                    now,
                )
                .ok()
                .flatten(),
                evaluation,
            })
            .collect()
    };
    if d.partitioned() {
        if let Ok(engine) = d.merged_engine() {
            return cost_on(&engine, evaluations);
        }
    }
    cost_on(&d.engine(), evaluations)
}
