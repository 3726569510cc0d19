//! The go-live report behind `GET /v1/golive` and `ecosystem-perf golive`: gathers what the
//! five gates read — the SLO statuses of the last cycle, the cost report, every service's
//! capacity report, and the disturbances that break a steady state (degradation-ladder
//! steps and anomaly incidents from the alert history, rollout steps from the rollouts) —
//! and runs `perf_core::golive`. Reads only; the offline command runs this same function on
//! a replayed data directory, so both answer alike for the same events.
//!
//! `freeze` (`POST /v1/golive/freeze`, `baseline freeze --golive`) freezes the budgets, each
//! service's per-operation baseline and the p99 per class: the report then judges against
//! the frozen budgets and names the set. Replacing a frozen set whose budgets differ from the
//! configuration's needs `force`, and the change (when, old, new) is recorded in the store.

use super::capacity;
use super::decisions::Memory;
use super::error::ControlError;
use super::rollouts;
use crate::config::Budgets;
use crate::durable::Durable;
use crate::effects::AlertKind;
use perf_core::golive::steady::Disturbance;
use perf_core::golive::{evaluate, FrozenRef, GoLiveReport, Guardrails, Inputs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Alert records read for the disturbances (the steady state is searched in the last 6
/// hours; a ladder that steps every evaluation would need more, and then has no steady state
/// anyway).
const HISTORY_RECORDS: usize = 20_000;

/// The guardrails of the `budgets:` section.
pub fn guardrails(b: &Budgets) -> Guardrails {
    Guardrails {
        read_p99_ms: b.read.p99_ms,
        write_p99_ms: b.write.p99_ms,
        complex_write_p99_ms: b.complex_write.p99_ms,
        weekly_error_budget_burn: b.weekly_error_budget_burn,
        cache_hit_rate: b.cache_hit_rate,
        cost_ceiling: b.cost_ceiling,
        headroom: b.headroom,
        ..Guardrails::default()
    }
}

/// Ladder steps, anomaly incidents and rollout steps up to `now`.
pub fn disturbances(d: &Durable, now: i64) -> Result<Vec<Disturbance>, ControlError> {
    let mut records = d.store().recent_alerts(HISTORY_RECORDS)?;
    records.reverse(); // oldest first
    let mut out = Vec::new();
    let mut open: BTreeMap<String, i64> = BTreeMap::new();
    for r in records.iter().filter(|r| r.at_ms <= now) {
        if r.kind == AlertKind::Degradation.history_kind() {
            out.push(Disturbance {
                kind: "degradation_step".into(),
                subject: r.subject.clone(),
                from: r.at_ms,
                to: r.at_ms,
            });
        } else if r.kind == AlertKind::Anomaly.history_kind() {
            if r.state == "firing" {
                open.entry(r.subject.clone()).or_insert(r.at_ms);
            } else {
                let from = open.remove(&r.subject).unwrap_or(r.at_ms);
                out.push(Disturbance {
                    kind: "anomaly_incident".into(),
                    subject: r.subject.clone(),
                    from,
                    to: r.at_ms,
                });
            }
        }
    }
    for (subject, from) in open {
        out.push(Disturbance {
            kind: "anomaly_incident".into(),
            subject,
            from,
            to: now,
        });
    }
    for r in rollouts::all(d)? {
        out.push(Disturbance {
            kind: "rollout_step".into(),
            subject: r.id.clone(),
            from: r.started_at,
            to: r.started_at,
        });
        for s in r.history.iter().filter(|s| s.weight != s.weight_before) {
            out.push(Disturbance {
                kind: "rollout_step".into(),
                subject: r.id.clone(),
                from: s.at,
                to: s.at,
            });
        }
    }
    out.retain(|x| x.from <= now);
    out.sort_by(|a, b| a.from.cmp(&b.from).then_with(|| a.subject.cmp(&b.subject)));
    Ok(out)
}

/// The report now, against the frozen set when there is one, else the configuration.
///
/// With partitions owned by leases the report spans every partition: whichever replica is
/// asked makes it on [`Durable::merged_engine`], with the SLO statuses and capacity
/// evaluated on it; the disturbances come from the shared history.
pub fn report(d: &Durable, m: &Memory) -> Result<GoLiveReport, ControlError> {
    // Read before the engine is locked below: under `clock: event`, `now` locks it too.
    let now = d.now();
    let frozen = frozen(d)?;
    let disturbances = disturbances(d, now)?;
    if d.partitioned() {
        let mut merged = d
            .merged_engine()
            .map_err(|e| ControlError::Invalid(format!("merging the partitions: {e:#}")))?;
        let slos = merged
            .slos_mut()
            .evaluate(now)
            .into_iter()
            .map(|e| e.status)
            .collect();
        let capacity = merged
            .services()
            .iter()
            .filter_map(|svc| {
                perf_core::forecast::capacity::capacity_report(
                    &merged,
                    svc,
                    now,
                    d.config.budgets.headroom,
                    Some(capacity::p99_budget_ms(d, svc)),
                )
                .ok()
            })
            .collect();
        let spaces = super::cache::overview_on(d, &merged, now, &|_, _| true);
        let parts = Parts {
            slos,
            capacity,
            frozen,
            disturbances,
            spaces,
        };
        return report_on(d, &merged, now, parts);
    }
    let slos = m.decisions().slos.clone().unwrap_or_default();
    let services = d.engine().services();
    let capacity: Vec<_> = services
        .iter()
        .filter_map(|svc| capacity::report(d, svc).ok())
        .collect();
    // The cache spaces before the engine is locked for the report: their curves and
    // replays are computed without the lock.
    let spaces = super::cache::current(d, &|_, _| true);
    let parts = Parts {
        slos,
        capacity,
        frozen,
        disturbances,
        spaces,
    };
    report_on(d, &d.engine(), now, parts)
}

/// What a report is made of besides the engine.
struct Parts {
    slos: Vec<perf_core::slo::SloStatus>,
    capacity: Vec<perf_core::forecast::capacity::CapacityReport>,
    frozen: Option<FrozenSet>,
    disturbances: Vec<Disturbance>,
    /// The cache spaces, whose advice explains a failing cache gate.
    spaces: perf_core::cache::overview::CacheOverview,
}

/// The report on `engine` with these SLO statuses, capacity reports and cache spaces.
fn report_on(
    d: &Durable,
    engine: &perf_core::Engine,
    now: i64,
    parts: Parts,
) -> Result<GoLiveReport, ControlError> {
    let Parts {
        slos,
        capacity,
        frozen,
        disturbances,
        spaces,
    } = parts;
    let configured = guardrails(&d.config.budgets);
    let g = frozen.as_ref().map_or(configured, |f| f.guardrails);
    let cost = perf_core::forecast::cost::cost_report(
        engine,
        now,
        d.config.budgets.monthly_cost_budget,
        d.config.budgets.cost_ceiling,
    )
    .map_err(|e| ControlError::Invalid(e.to_string()))?;
    let mut report = evaluate(
        engine,
        &Inputs {
            now,
            slos: &slos,
            cost: &cost,
            capacity: &capacity,
            disturbances: &disturbances,
        },
        &g,
    );
    for gate in &mut report.gates {
        super::cache::explain_gate(gate, &spaces);
    }
    report.frozen = frozen.map(|f| FrozenRef {
        config_differs: f.guardrails != configured,
        id: f.id,
        frozen_at: f.frozen_at,
    });
    Ok(report)
}

/// Store kind of frozen go-live sets.
pub const FROZEN_KIND: &str = "golive_frozen";
/// Store kind of recorded changes of frozen budgets.
pub const CHANGE_KIND: &str = "golive_budget_change";
/// The window the frozen baselines and class p99s are read over.
const FREEZE_WINDOW: &str = "1h";

/// The guardrails and baselines a go-live run is judged against, frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct FrozenSet {
    /// Identifier (`golive-<n>-<time>`).
    pub id: String,
    /// Its number: the sets frozen before it, plus one.
    pub seq: u32,
    /// When.
    #[serde(with = "perf_core::time::serde_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub frozen_at: i64,
    /// The budgets.
    pub guardrails: Guardrails,
    /// p99 per request class over the hour before, ms.
    pub class_p99_ms: BTreeMap<String, f64>,
    /// The per-operation baselines frozen with it, one per service.
    pub baselines: Vec<String>,
}

/// A change of frozen budgets, recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct BudgetChange {
    /// When.
    #[serde(with = "perf_core::time::serde_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// The set replaced.
    pub from_set: String,
    /// The set replacing it.
    pub to_set: String,
    /// The budgets before.
    pub old: Guardrails,
    /// The budgets after.
    pub new: Guardrails,
}

/// The latest frozen set.
pub fn frozen(d: &Durable) -> Result<Option<FrozenSet>, ControlError> {
    Ok(d.store()
        .list_documents(FROZEN_KIND)?
        .iter()
        .filter_map(|b| serde_json::from_str::<FrozenSet>(b).ok())
        .max_by_key(|f| f.seq))
}

/// Every recorded change of frozen budgets, oldest first.
pub fn changes(d: &Durable) -> Result<Vec<BudgetChange>, ControlError> {
    let mut all: Vec<BudgetChange> = d
        .store()
        .list_documents(CHANGE_KIND)?
        .iter()
        .filter_map(|b| serde_json::from_str(b).ok())
        .collect();
    all.sort_by_key(|c| c.at);
    Ok(all)
}

fn differences(old: &Guardrails, new: &Guardrails) -> Vec<String> {
    let (a, b) = (
        serde_json::to_value(old).unwrap_or_default(),
        serde_json::to_value(new).unwrap_or_default(),
    );
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, v) in a {
            if b.get(k) != Some(v) {
                out.push(format!(
                    "{k} {v} → {}",
                    b.get(k).cloned().unwrap_or_default()
                ));
            }
        }
    }
    out
}

/// Freezes the configuration's budgets, each service's per-operation baseline and the p99
/// per class over the last hour. Replacing a frozen set whose budgets differ needs `force`,
/// and the change is recorded.
pub fn freeze(d: &Durable, force: bool) -> Result<FrozenSet, ControlError> {
    let now = d.now();
    let current = guardrails(&d.config.budgets);
    let previous = frozen(d)?;
    if let Some(p) = &previous {
        let diff = differences(&p.guardrails, &current);
        if !diff.is_empty() && !force {
            return Err(ControlError::Conflict(format!(
                "the configuration's budgets differ from the frozen set {} ({}): freeze with --force to replace them (the change is recorded)",
                p.id,
                diff.join(", ")
            )));
        }
    }
    let seq = previous.as_ref().map_or(1, |p| p.seq + 1);
    let stamp = format!("{seq}-{}", perf_core::time::compact_utc(now));
    let id = format!("golive-{stamp}");
    let mut baselines = Vec::new();
    // Every partition's aggregates when partitions are owned by leases (a go-live spans
    // every service), else this replica's, which hold everything.
    let merged = if d.partitioned() {
        Some(
            d.merged_engine()
                .map_err(|e| ControlError::Invalid(format!("merging the partitions: {e:#}")))?,
        )
    } else {
        None
    };
    let services = match &merged {
        Some(m) => m.services(),
        None => d.engine().services(),
    };
    for service in services {
        let req: super::baselines::FreezeRequest = serde_json::from_value(serde_json::json!({
            "service": service,
            "window": FREEZE_WINDOW,
            "id": format!("golive-{service}-{stamp}"),
        }))
        .map_err(|e| ControlError::Internal(e.to_string()))?;
        let b = match &merged {
            Some(m) => super::baselines::freeze_from(m, &req, now)?,
            None => super::baselines::freeze(d, &req, now)?,
        };
        if b.operations.is_empty() {
            continue;
        }
        super::baselines::add(d, &b)?;
        baselines.push(b.id);
    }
    let mut class_p99_ms = BTreeMap::new();
    {
        let local;
        let engine: &perf_core::Engine = match &merged {
            Some(m) => m,
            None => {
                local = d.engine();
                &local
            }
        };
        if let Some(view) = engine
            .views()
            .iter()
            .find(|v| v.def.dims == [perf_core::view::Dim::Service, perf_core::view::Dim::Class])
        {
            let name = view.def.name.clone();
            for class in ["read", "write", "complex_write"] {
                let s = engine
                    .query(
                        &name,
                        &[(perf_core::view::Dim::Class, class)],
                        now - 3_600_000,
                        now + 1,
                    )
                    .map_err(|e| ControlError::Internal(e.to_string()))?;
                if let Some(p) = s.latency.quantile(0.99) {
                    class_p99_ms.insert(class.to_string(), p);
                }
            }
        }
    }
    let set = FrozenSet {
        id: id.clone(),
        seq,
        frozen_at: now,
        guardrails: current,
        class_p99_ms,
        baselines,
    };
    let doc = |kind: &str, id: &str, body: String| perf_store::Document {
        kind: kind.into(),
        id: id.into(),
        service: String::new(),
        body,
        at_ms: now,
    };
    if let Some(p) = previous.filter(|p| p.guardrails != current) {
        let change = BudgetChange {
            at: now,
            from_set: p.id.clone(),
            to_set: id.clone(),
            old: p.guardrails,
            new: current,
        };
        d.store()
            .put_document(&doc(CHANGE_KIND, &format!("{id}-change"), json(&change)?))?;
    }
    d.store()
        .put_document(&doc(FROZEN_KIND, &id, json(&set)?))?;
    Ok(set)
}

fn json<T: Serialize>(v: &T) -> Result<String, ControlError> {
    serde_json::to_string(v).map_err(|e| ControlError::Internal(e.to_string()))
}
