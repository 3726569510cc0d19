//! Go-live readiness: the five go/no-go gates an ecosystem must pass before someone signs
//! that it is ready, each with the figure it was judged on, the window, the reason and the
//! evidence behind it (the services, operations, SLOs or cache spaces, worst first), so a
//! reviewer can check the signature instead of trusting it.
//!
//! 1. [`latency::gate`]: p99 per request class within its budget over a 30-minute steady
//!    state ([`steady`]: no degradation-ladder step, rollout step or open anomaly incident);
//! 2. [`error_budget::gate`]: the weekly error-budget burn of every SLO under 10 %;
//! 3. [`cache::gate`]: the hit rate of every hot cache space (the smallest set carrying 80 %
//!    of cacheable requests) at least 85 %;
//! 4. [`cost::gate`]: the 30-day cost forecast under 80 % of the monthly budget;
//! 5. [`headroom::gate`]: capacity headroom at the forecast peak at least 30 % for every
//!    service.
//!
//! A gate never passes on no data: it says `insufficient_data` and names the setting or the
//! data that would fix it. The verdict is `go` only when all five pass, `no_go` when any
//! fails, `insufficient_data` otherwise. Pure functions over the engine and the reports the
//! caller already has: the server and the offline command give the same answer for the same
//! data because they run this same code.

pub mod cache;
pub mod cost;
pub mod error_budget;
pub mod headroom;
pub mod latency;
pub mod steady;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

/// The thresholds the gates judge against (the server's `budgets:` section).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Guardrails {
    /// p99 budget of reads, ms.
    pub read_p99_ms: f64,
    /// p99 budget of writes, ms.
    pub write_p99_ms: f64,
    /// p99 budget of complex writes, ms.
    pub complex_write_p99_ms: f64,
    /// Largest share of an SLO's error budget a week may burn (0.10).
    pub weekly_error_budget_burn: f64,
    /// Smallest hit rate of a hot cache space (0.85).
    pub cache_hit_rate: f64,
    /// Share of cacheable requests the hot set carries (0.80).
    pub hot_share: f64,
    /// Largest share of the monthly budget the 30-day forecast may reach (0.80).
    pub cost_ceiling: f64,
    /// Smallest capacity headroom at the forecast peak (0.30).
    pub headroom: f64,
    /// Length of the steady state, ms (30 minutes).
    pub steady_ms: i64,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            read_p99_ms: 200.0,
            write_p99_ms: 300.0,
            complex_write_p99_ms: 300.0,
            weekly_error_budget_burn: 0.10,
            cache_hit_rate: 0.85,
            hot_share: 0.80,
            cost_ceiling: 0.80,
            headroom: 0.30,
            steady_ms: 30 * 60_000,
        }
    }
}

/// How one gate came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GateStatus {
    /// Within its threshold.
    Pass,
    /// Past it.
    Fail,
    /// Nothing to judge: the reason names the setting or data missing.
    InsufficientData,
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GoLiveVerdict))]
pub enum Verdict {
    /// Every gate passed.
    Go,
    /// At least one gate failed.
    NoGo,
    /// None failed, at least one had no data.
    InsufficientData,
}

/// A stretch of time a gate was judged over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = GoLiveWindow))]
pub struct Window {
    /// Start (inclusive).
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: i64,
    /// End (exclusive).
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: i64,
    /// What it is ("the latest 30 minutes without …").
    pub description: String,
}

/// One figure behind a gate: a service, operation, SLO or cache space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    /// What it is about (`qwallet read`, `feed-availability`, `qfeed/timeline`…).
    pub subject: String,
    /// Its figure, in the gate's unit.
    pub actual: Option<f64>,
    /// The threshold it is held to, in the same unit.
    pub threshold: Option<f64>,
    /// Requests behind the figure, when it comes from requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// Whether this one passes.
    pub pass: bool,
    /// The numbers in words.
    pub detail: String,
}

/// One gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gate {
    /// `latency`, `error_budget`, `cache`, `cost` or `headroom`.
    pub name: String,
    /// How it came out.
    pub status: GateStatus,
    /// The deciding figure (the worst subject's), in the gate's unit.
    pub actual: Option<f64>,
    /// Its threshold.
    pub threshold: f64,
    /// The unit of `actual` and `threshold` (`ms`, `ratio`).
    pub unit: String,
    /// The time judged.
    pub window: Option<Window>,
    /// Why, in one sentence.
    pub reason: String,
    /// The subjects behind the figure, worst first.
    pub evidence: Vec<Evidence>,
}

impl Gate {
    /// A gate with nothing to judge.
    pub fn insufficient(name: &str, threshold: f64, unit: &str, reason: String) -> Gate {
        Gate {
            name: name.to_string(),
            status: GateStatus::InsufficientData,
            actual: None,
            threshold,
            unit: unit.to_string(),
            window: None,
            reason,
            evidence: Vec::new(),
        }
    }
}

/// The go/no-go report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoLiveReport {
    /// The answer.
    pub verdict: Verdict,
    /// Engine time of the evaluation.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub evaluated_at: i64,
    /// The thresholds judged against.
    pub guardrails: Guardrails,
    /// The five gates, in order: latency, error_budget, cache, cost, headroom.
    pub gates: Vec<Gate>,
    /// The frozen guardrails judged against, when a set was frozen (`null`: the
    /// configuration's `budgets`).
    pub frozen: Option<FrozenRef>,
}

/// Which frozen set of guardrails a report used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrozenRef {
    /// The set's id.
    pub id: String,
    /// When it was frozen.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub frozen_at: i64,
    /// Whether the configuration's budgets now differ from it (changing a frozen budget
    /// needs `baseline freeze --golive --force`).
    pub config_differs: bool,
}

impl GoLiveReport {
    /// The report of `gates`, with its verdict.
    pub fn new(evaluated_at: i64, guardrails: Guardrails, gates: Vec<Gate>) -> GoLiveReport {
        GoLiveReport {
            verdict: verdict(&gates),
            evaluated_at,
            guardrails,
            gates,
            frozen: None,
        }
    }
}

/// `go` when every gate passed (and there is at least one), `no_go` when any failed,
/// `insufficient_data` otherwise.
pub fn verdict(gates: &[Gate]) -> Verdict {
    if gates.iter().any(|g| g.status == GateStatus::Fail) {
        Verdict::NoGo
    } else if gates.is_empty() || gates.iter().any(|g| g.status != GateStatus::Pass) {
        Verdict::InsufficientData
    } else {
        Verdict::Go
    }
}

/// The status of a gate over its subjects: fail when any fails, else insufficient when
/// there are none, else pass.
pub(crate) fn status_of(evidence: &[Evidence]) -> GateStatus {
    if evidence.iter().any(|e| !e.pass) {
        GateStatus::Fail
    } else if evidence.is_empty() {
        GateStatus::InsufficientData
    } else {
        GateStatus::Pass
    }
}

/// What the gates read besides the engine: the caller's latest SLO statuses, cost and
/// capacity reports, and the disturbances of the steady-state search.
pub struct Inputs<'a> {
    /// Engine time of the evaluation.
    pub now: i64,
    /// SLO statuses of the last evaluation.
    pub slos: &'a [crate::slo::SloStatus],
    /// The cost report at `now`.
    pub cost: &'a crate::forecast::cost::CostReport,
    /// Every service's capacity report at `now`.
    pub capacity: &'a [crate::forecast::capacity::CapacityReport],
    /// Ladder steps, rollout steps and anomaly incidents.
    pub disturbances: &'a [steady::Disturbance],
}

/// Runs the five gates.
pub fn evaluate(engine: &crate::Engine, inputs: &Inputs, g: &Guardrails) -> GoLiveReport {
    let now = inputs.now;
    // The steady state is searched where minute buckets are kept: the keep of the finest
    // resolution at most a minute wide that keeps at least the window.
    let horizon = engine
        .config()
        .resolutions
        .iter()
        .filter(|r| r.width <= 60_000 && r.keep >= g.steady_ms)
        .map(|r| r.keep)
        .max()
        .unwrap_or(0);
    let steady = match steady::find(inputs.disturbances, now, now - horizon, g.steady_ms) {
        Some((from, to)) => Ok(Window {
            from,
            to,
            description: format!(
                "the latest {} minutes without a degradation step, a rollout step or an open anomaly incident",
                g.steady_ms / 60_000
            ),
        }),
        None => Err(format!(
            "no {} minutes without a degradation step, a rollout step or an open anomaly incident in the last {} hours of minute data ({} disturbances)",
            g.steady_ms / 60_000,
            horizon / 3_600_000,
            inputs.disturbances.len()
        )),
    };
    let mut latency = latency::gate(engine, &steady, g);
    if latency.status == GateStatus::InsufficientData && latency.evidence.is_empty() {
        explain_disturbances(&mut latency, inputs.disturbances, now - horizon);
    }
    let gates = vec![
        latency,
        error_budget::gate(inputs.slos, now, g),
        cache::gate(engine, now, g),
        cost::gate(inputs.cost, now, g),
        headroom::gate(inputs.capacity, now, g),
    ];
    GoLiveReport::new(now, *g, gates)
}

/// Disturbances shown when the latency gate found no steady state with traffic.
const DISTURBANCES_SHOWN: usize = 8;

/// Adds the disturbances of the searched horizon to a latency gate that lacks data: how many
/// of each kind in its reason, the latest as evidence, so the reviewer sees what kept the
/// ecosystem from a steady state.
fn explain_disturbances(gate: &mut Gate, disturbances: &[steady::Disturbance], since: i64) {
    let recent: Vec<&steady::Disturbance> = disturbances.iter().filter(|d| d.to >= since).collect();
    if recent.is_empty() {
        return;
    }
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for d in &recent {
        *counts.entry(d.kind.as_str()).or_default() += 1;
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} × {k}")).collect();
    gate.reason = format!(
        "{}; in the searched hours: {}",
        gate.reason,
        summary.join(", ")
    );
    for d in recent.iter().rev().take(DISTURBANCES_SHOWN) {
        gate.evidence.push(Evidence {
            subject: d.subject.clone(),
            actual: None,
            threshold: None,
            requests: None,
            pass: true,
            detail: if d.from == d.to {
                format!("{} at {}", d.kind, crate::time::format_rfc3339(d.from))
            } else {
                format!(
                    "{} from {} to {}",
                    d.kind,
                    crate::time::format_rfc3339(d.from),
                    crate::time::format_rfc3339(d.to)
                )
            },
        });
    }
}
