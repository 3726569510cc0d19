//! Capacity: the report behind `GET /v1/capacity/{service}` (the service's 48-hour demand forecast against its capacity,
//! headroom against the `budgets.headroom` budget, time to exhaustion, p99 against load
//! (`perf_core::forecast::capacity`)), its scaling plan, the replicas a week of headroom
//! says could go, and the capacity stage of the deployment cycle, which raises
//! `EcosystemPerfCapacityHeadroom` when a service's headroom falls under the budget and
//! resolves it when it recovers.

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::{AlertKind, Effect, Notice};
use perf_core::forecast::capacity::{capacity_report, CapacityReport};

/// The report of one service now (blocking work).
pub fn report(d: &Durable, service: &str) -> Result<CapacityReport, ControlError> {
    let now = d.now();
    let engine = d.engine();
    if !engine.has_service(service) {
        return Err(ControlError::NotFound(format!(
            "no data for service {service:?}"
        )));
    }
    capacity_report(
        &engine,
        service,
        now,
        d.config.budgets.headroom,
        Some(p99_budget_ms(d, service)),
    )
    .map_err(|e| ControlError::Invalid(e.to_string()))
}

/// The p99 budget a service's replicas must keep: the threshold of its whole-service latency
/// SLO with an objective of 99 % or more when it has one, else the read budget (the strictest
/// class budget, `budgets.read.p99Ms`).
pub fn p99_budget_ms(d: &Durable, service: &str) -> f64 {
    d.config
        .slos
        .iter()
        .filter(|s| s.service == service && s.sli == "latency" && s.objective >= 99.0)
        .filter(|s| s.operation.is_none() && s.class.is_none() && s.node.is_none())
        .filter(|s| s.tenant.is_none() && s.version.is_none())
        .filter_map(|s| s.threshold_ms)
        .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.min(t))))
        .unwrap_or(d.config.budgets.read.p99_ms)
}

/// Raises and resolves headroom alerts for every service (the deployment cycle).
pub fn alert_cycle(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let services = d.engine().services();
    let mut effects = Vec::new();
    for svc in services {
        let Ok(r) = report(d, &svc) else { continue };
        let low = r.status == "below_budget";
        if !m.decisions().firing.set(AlertKind::Capacity, &svc, low) {
            continue;
        }
        effects.push(Effect::Alert(Notice {
            kind: AlertKind::Capacity,
            subject: svc.clone(),
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
        }));
    }
    Ok(effects)
}

/// Current replicas of a service: the largest `replicas` its nodes declared, else the number
/// of nodes reporting resources.
pub fn current_replicas(d: &Durable, service: &str) -> u32 {
    let engine = d.engine();
    let nodes: Vec<_> = engine.resources().of_service(service).collect();
    nodes
        .iter()
        .filter_map(|(_, r)| r.last.replicas)
        .max()
        .unwrap_or(nodes.len() as u32)
}

/// The plan of one service (blocking work).
pub fn plan_of(
    d: &Durable,
    service: &str,
) -> Result<super::capacity_plan::ScalingPlan, ControlError> {
    let r = report(d, service)?;
    super::capacity_plan::plan(&r, current_replicas(d, service)).ok_or_else(|| {
        ControlError::Invalid(format!(
            "no capacity known for {service}: send capacityRps (or cpu) resource samples for its nodes"
        ))
    })
}

/// A service that could run with fewer replicas.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
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
pub fn savings(d: &Durable) -> Vec<Saving> {
    const WEEK_HOURS: i64 = 168;
    let now = d.now();
    let budget = d.config.budgets.headroom;
    let mut out = Vec::new();
    // Collected first: the engine lock must not be held while `report` takes it again.
    let services = d.engine().services();
    for svc in services {
        let Ok(r) = report(d, &svc) else { continue };
        let Some(cap) = r.capacity_rps else { continue };
        if r.step_minutes != 60 || r.history_steps < WEEK_HOURS as usize {
            continue; // not a week of history yet
        }
        let peak_7d = {
            let engine = d.engine();
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
        let current = current_replicas(d, &svc).max(1);
        let per_replica = cap / f64::from(current);
        let (target, _) = super::capacity_plan::target_utilization(&r);
        let needed =
            super::capacity_plan::replicas_for(peak_7d.max(r.peak_upper_rps), per_replica, target);
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
