//! Tenant (DAO subnet) evaluation: how a tenant's requests fare against the latency and
//! availability targets, how fast it burns error budget, how much of its services' load it
//! carries, whether its surges hurt the other tenants, and what to do about it.
//!
//! * Latency: the tenant's p99 over the last 5 minutes against the read p99 budget (or the
//!   threshold of a per-tenant latency SLO). Availability: 1 − error rate against the
//!   objective of a per-tenant availability SLO (default 99.9 %).
//! * `errorBudgetBurn`: error rate / (1 − availability target) over the last hour (the 1h
//!   burn rate; the highest 1h burn of its per-tenant SLO instances when there are any).
//! * `performanceScore` = round(50 × a + 50 × l) with a = 1 / (1 + max(0, burn − 1)) (1 within
//!   budget, ½ at twice the budget rate) and l = min(1, target p99 / actual p99): 100 when
//!   both targets hold, falling smoothly as either is missed. Monotone in both.
//! * The subnet is the service the tenant weighs on most; s is its share of that service's
//!   requests over the last 5 minutes; the surge ratio compares its rate there with its rate
//!   earlier in the hour (at least 10 minutes of it, else no surge is called); the others'
//!   p99 is measured on that service before and now.
//! * `isolationRecommendation`: `isolate` when burn ≥ 14.4 (the fast page rate) and s ≥ 0.5;
//!   `traffic_throttling` when burn ≥ 6, or s ≥ 0.4 while the tenant surges (≥ 2×) and the
//!   others' p99 rose ≥ 20 %; `monitor` when burn ≥ 1, or it surges with s ≥ 0.25; `none`
//!   otherwise, and always without traffic.
//!   Hysteresis: a stricter level applies at once; a milder one only after it has been
//!   the raw verdict for `dwell` (default 5 minutes), one level at a time.

use crate::engine::Engine;
use crate::view::Dim;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000;

/// What to do with a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Isolation {
    /// Nothing.
    None,
    /// Watch it.
    Monitor,
    /// Rate-limit its traffic.
    TrafficThrottling,
    /// Move it to its own capacity.
    Isolate,
}

/// One SLI against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SliCompliance {
    /// `compliant`, `violation` or `no_data`.
    pub status: String,
    /// Measured value (p99 ms, or availability as a fraction).
    pub actual: Option<f64>,
    /// Target.
    pub target: f64,
}

/// Evidence that a tenant's surge hurts the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoisyNeighbour {
    /// The tenant's request rate over the last 5 minutes over its rate in the rest of the
    /// hour (0 when there is no earlier data to compare with).
    pub surge_ratio: f64,
    /// Whether that is a surge (≥ 2×).
    pub surging: bool,
    /// Other tenants' p99 over the last 5 minutes, ms.
    pub others_p99_now: Option<f64>,
    /// Other tenants' p99 over the 55 minutes before, ms.
    pub others_p99_before: Option<f64>,
    /// Relative change of the others' p99.
    pub others_p99_change: Option<f64>,
    /// Whether the others degrade while this tenant surges (change ≥ 20 %).
    pub degrading_others: bool,
}

impl TenantEvaluation {
    /// Heap bytes: its id, compliance per SLI, reasons, subnet and services.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{btree_map, string, vec};
        string(&self.dao_id)
            + btree_map(&self.slo_compliance)
            + self
                .slo_compliance
                .iter()
                .map(|(k, c)| string(k) + string(&c.status))
                .sum::<usize>()
            + vec(&self.reasons)
            + self.reasons.iter().map(|r| string(r)).sum::<usize>()
            + self.subnet.as_deref().map_or(0, string)
            + vec(&self.services)
            + self.services.iter().map(|s| string(s)).sum::<usize>()
    }
}

/// The evaluation (docs/ARCHITECTURE.md §6 shape plus the numbers behind it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TenantEvaluation {
    /// Tenant id.
    pub dao_id: String,
    /// 0–100 (see the module doc), `null` without traffic.
    pub performance_score: Option<u8>,
    /// Per SLI.
    pub slo_compliance: BTreeMap<String, SliCompliance>,
    /// Recommendation after hysteresis.
    pub isolation_recommendation: Isolation,
    /// Recommendation before hysteresis.
    pub raw_recommendation: Isolation,
    /// Why.
    pub reasons: Vec<String>,
    /// 1h burn rate.
    pub error_budget_burn: f64,
    /// Its share of the requests of its subnet (last 5 minutes).
    pub load_share: f64,
    /// The service it weighs on most (where share and noisy-neighbour evidence are measured).
    pub subnet: Option<String>,
    /// Requests per second (last 5 minutes).
    pub rps: f64,
    /// Services it used.
    pub services: Vec<String>,
    /// Noisy-neighbour evidence.
    pub noisy_neighbour: NoisyNeighbour,
}

/// Targets and thresholds.
#[derive(Debug, Clone, Copy)]
pub struct TenantTargets {
    /// p99 latency target, ms.
    pub p99_ms: f64,
    /// Availability target, fraction.
    pub availability: f64,
    /// How long a milder recommendation must hold before it applies.
    pub dwell_ms: i64,
}

/// Remembered recommendation of a tenant (for hysteresis).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IsolationState {
    current: Option<Isolation>,
    milder: Option<(Isolation, i64)>,
}

impl IsolationState {
    /// The recommendation in force (none before the first evaluation).
    pub fn current(&self) -> Isolation {
        self.current.unwrap_or(Isolation::None)
    }

    /// Applies hysteresis to a raw verdict at `now`.
    pub fn apply(&mut self, raw: Isolation, now: i64, dwell_ms: i64) -> Isolation {
        let current = self.current.unwrap_or(Isolation::None);
        if raw >= current {
            self.current = Some(raw);
            self.milder = None;
            return raw;
        }
        let since = match self.milder {
            Some((_, since)) => since,
            None => now,
        };
        self.milder = Some((raw, since));
        if now - since >= dwell_ms {
            let next = match current {
                Isolation::Isolate => Isolation::TrafficThrottling,
                Isolation::TrafficThrottling => Isolation::Monitor,
                _ => Isolation::None,
            }
            .max(raw);
            self.current = Some(next);
            self.milder = if next > raw { Some((raw, now)) } else { None };
            return next;
        }
        current
    }
}

/// What a tenant does to one service (its subnet).
#[derive(Debug, Clone, Default)]
struct SubnetReading {
    service: String,
    share: f64,
    surge_ratio: f64,
    others_p99_now: Option<f64>,
    others_p99_before: Option<f64>,
}

fn subnet_reading(
    engine: &Engine,
    service: &str,
    tenant: &str,
    recent: crate::report::Window,
    hour: crate::report::Window,
) -> SubnetReading {
    let by_tenant = |from, to| {
        engine
            .group("service_tenant", &[(Dim::Service, service)], from, to)
            .unwrap_or_default()
    };
    let (mut all_now, mut mine_now) = (0u64, 0u64);
    let (mut others_now, mut others_before) = (
        crate::stats::Stats::default(),
        crate::stats::Stats::default(),
    );
    for (key, s) in by_tenant(recent.from, recent.to) {
        all_now += s.requests;
        if key[1] == tenant {
            mine_now = s.requests;
        } else {
            others_now.merge(&s);
        }
    }
    // Earlier rate over the part of the hour that has data for the service (a young
    // service has less than an hour of history), found to the minute.
    let first_with_data = (0..55).map(|k| hour.from + k * MINUTE).find(|&from| {
        engine
            .query(
                "service_tenant",
                &[(Dim::Service, service)],
                from,
                from + MINUTE,
            )
            .map(|s| s.requests > 0)
            .unwrap_or(false)
    });
    let mut mine_before = 0u64;
    let mut before_ms = 0i64;
    if let Some(start) = first_with_data.filter(|s| *s < recent.from) {
        before_ms = recent.from - start;
        for (key, s) in by_tenant(start, recent.from) {
            if key[1] == tenant {
                mine_before = s.requests;
            } else {
                others_before.merge(&s);
            }
        }
    }
    let rate_now = mine_now as f64 * 1000.0 / recent.covered_ms as f64;
    // Less than 10 minutes of history is too little to call anything a surge.
    let rate_before = if before_ms >= 10 * MINUTE {
        mine_before as f64 * 1000.0 / before_ms as f64
    } else {
        0.0
    };
    SubnetReading {
        service: service.to_string(),
        share: if all_now > 0 {
            mine_now as f64 / all_now as f64
        } else {
            0.0
        },
        surge_ratio: if rate_before > 0.0 {
            rate_now / rate_before
        } else {
            0.0
        },
        others_p99_now: others_now.latency.quantile(0.99),
        others_p99_before: others_before.latency.quantile(0.99),
    }
}

/// Every tenant seen in the last `window_ms`.
pub fn tenants(engine: &Engine, now: i64, window_ms: i64) -> Vec<String> {
    let Ok(groups) = engine.group("service_tenant", &[], now - window_ms, now + MINUTE) else {
        return Vec::new();
    };
    let mut out: Vec<String> = groups
        .into_iter()
        .map(|(k, _)| k[1].clone())
        .filter(|t| t != crate::view::OVERFLOW_VALUE)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Evaluates one tenant at `now` (before hysteresis: see [`IsolationState::apply`]).
pub fn evaluate(
    engine: &Engine,
    tenant: &str,
    now: i64,
    targets: TenantTargets,
) -> TenantEvaluation {
    let width = engine.config().resolutions[0].width;
    let recent = crate::report::Window::last(now, 5 * MINUTE, width);
    let hour = crate::report::Window::last(now, 60 * MINUTE, width);
    let query = |filter: &[(Dim, &str)], from, to| {
        engine
            .query("service_tenant", filter, from, to)
            .unwrap_or_default()
    };
    let mine_now = query(&[(Dim::Tenant, tenant)], recent.from, recent.to);
    let mine_hour = query(&[(Dim::Tenant, tenant)], hour.from, hour.to);
    let groups = engine
        .group(
            "service_tenant",
            &[(Dim::Tenant, tenant)],
            hour.from,
            hour.to,
        )
        .unwrap_or_default();
    // By name: the order of series in a view is the order they arrived in, which differs
    // between engines holding the same events (a replica that took a partition over).
    let mut services: Vec<String> = groups.iter().map(|(k, _)| k[0].clone()).collect();
    services.sort();
    services.dedup();
    // Per service: the tenant's share of the last 5 minutes' requests, its rate against its
    // earlier rate, and the other tenants' p99 now and before. The subnet the tenant weighs
    // on most is the one judged.
    let mut subnet: Option<SubnetReading> = None;
    for svc in &services {
        let r = subnet_reading(engine, svc, tenant, recent, hour);
        if subnet.as_ref().is_none_or(|best| r.share > best.share) {
            subnet = Some(r);
        }
    }
    let subnet = subnet.unwrap_or_default();
    let load_share = subnet.share;
    let rps = recent.rate(mine_now.requests);
    let surge_ratio = subnet.surge_ratio;
    let (p_now, p_before) = (subnet.others_p99_now, subnet.others_p99_before);
    let change = match (p_now, p_before) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b - 1.0),
        _ => None,
    };
    let noisy = NoisyNeighbour {
        surge_ratio,
        surging: surge_ratio >= 2.0,
        others_p99_now: p_now,
        others_p99_before: p_before,
        others_p99_change: change,
        degrading_others: surge_ratio >= 2.0 && change.is_some_and(|c| c >= 0.2),
    };
    let p99 = mine_now.latency.quantile(0.99);
    let availability = mine_hour.error_rate().map(|e| 1.0 - e);
    let burn = mine_hour
        .error_rate()
        .map(|e| e / (1.0 - targets.availability))
        .unwrap_or(0.0);
    let mut slo_compliance = BTreeMap::new();
    let status = |ok: Option<bool>| match ok {
        None => "no_data".to_string(),
        Some(true) => "compliant".to_string(),
        Some(false) => "violation".to_string(),
    };
    slo_compliance.insert(
        "latency".into(),
        SliCompliance {
            status: status(p99.map(|p| p <= targets.p99_ms)),
            actual: p99,
            target: targets.p99_ms,
        },
    );
    slo_compliance.insert(
        "availability".into(),
        SliCompliance {
            status: status(availability.map(|a| a >= targets.availability)),
            actual: availability,
            target: targets.availability,
        },
    );
    let performance_score = (mine_hour.requests > 0).then(|| {
        let a = 1.0 / (1.0 + (burn - 1.0).max(0.0));
        let l = p99
            .map(|p| {
                if p <= 0.0 {
                    1.0
                } else {
                    (targets.p99_ms / p).min(1.0)
                }
            })
            .unwrap_or(1.0);
        (50.0 * a + 50.0 * l).round().clamp(0.0, 100.0) as u8
    });
    let mut reasons = Vec::new();
    let raw = if mine_now.requests == 0 && mine_hour.requests == 0 {
        reasons.push("no traffic".into());
        Isolation::None
    } else if burn >= 14.4 && load_share >= 0.5 {
        reasons.push(format!("burns error budget at {burn:.1}× (≥ 14.4) while carrying {:.0} % of its services' load (≥ 50 %)", load_share * 100.0));
        Isolation::Isolate
    } else if burn >= 6.0 || (load_share >= 0.4 && noisy.degrading_others) {
        if burn >= 6.0 {
            reasons.push(format!("burns error budget at {burn:.1}× (≥ 6)"));
        }
        if load_share >= 0.4 && noisy.degrading_others {
            reasons.push(format!(
                "surges to {surge_ratio:.1}× its hourly rate with {:.0} % of the load while other tenants' p99 rose {:.0} %",
                load_share * 100.0,
                change.unwrap_or(0.0) * 100.0
            ));
        }
        Isolation::TrafficThrottling
    } else if burn >= 1.0 || (noisy.surging && load_share >= 0.25) {
        reasons.push(if burn >= 1.0 {
            format!("burns error budget faster than allowed ({burn:.1}×)")
        } else {
            format!(
                "surges to {surge_ratio:.1}× with {:.0} % of {}'s load",
                load_share * 100.0,
                subnet.service
            )
        });
        Isolation::Monitor
    } else {
        Isolation::None
    };
    TenantEvaluation {
        dao_id: tenant.to_string(),
        performance_score,
        slo_compliance,
        isolation_recommendation: raw,
        raw_recommendation: raw,
        reasons,
        error_budget_burn: burn,
        load_share,
        subnet: (!subnet.service.is_empty()).then(|| subnet.service.clone()),
        rps,
        services,
        noisy_neighbour: noisy,
    }
}

#[cfg(test)]
mod tests;
