//! Canary rollouts as a pure state machine: a rollout moves a new version through traffic
//! steps (e.g. 5 → 25 → 50 → 100 %), and each evaluation compares the canary's requests
//! since the start with the baseline version's over the same time, with always-valid
//! sequential p-values (so evaluating every minute does not inflate false rollbacks), plus
//! the canary's own SLO burn.
//!
//! Decision order: **rollback** when the gate finds a significant regression past a
//! threshold, or when the canary alone burns an SLO's error budget faster than
//! `maxBurnRate` (the lower Wilson bound of its bad-event share over the budget rate, so a
//! handful of failures on little traffic does not count); **hold** while the step is younger
//! than `minStepDuration`, while data are insufficient, or while a metric is past its
//! threshold without significance; otherwise **promote** to the next weight, or **complete**
//! from the last step. A finished rollout answers its final decision and changes nothing.

use super::config::GateConfig;
use super::gate::{evaluate, GateOutcome, Recommendation};
use super::proportion;
use super::sample::OperationSample;
use super::sequential::SequentialState;
use crate::duration::serde_label;
use crate::error::CoreError;
use crate::slo::{Sli, SloDef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most history entries kept per rollout (transitions are always kept).
const MAX_HISTORY: usize = 200;

/// What a rollout is asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutSpec {
    /// Service.
    pub service: String,
    /// Version serving the rest of the traffic.
    pub baseline_version: String,
    /// The new version.
    pub canary_version: String,
    /// Traffic weights in percent, ascending, the last one 100.
    #[serde(default = "default_steps")]
    pub steps: Vec<u32>,
    /// Minimum time at each step before a promotion.
    #[serde(default = "default_min_step", with = "serde_label")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub min_step_duration: i64,
    /// Rollback when the canary burns an SLO's budget faster than this.
    #[serde(default = "default_max_burn")]
    pub max_burn_rate: f64,
    /// Analysis settings (default: the server's `gates` section).
    #[serde(default)]
    pub analysis: Option<GateConfig>,
}

fn default_steps() -> Vec<u32> {
    vec![5, 25, 50, 100]
}

fn default_min_step() -> i64 {
    5 * 60_000
}

fn default_max_burn() -> f64 {
    6.0
}

impl RolloutSpec {
    /// Checks the spec; the message names the field.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |m: String| Err(CoreError::InvalidQuery(m));
        if self.service.is_empty()
            || self.baseline_version.is_empty()
            || self.canary_version.is_empty()
        {
            return bad("service, baselineVersion and canaryVersion are required".into());
        }
        if self.baseline_version == self.canary_version {
            return bad("canaryVersion must differ from baselineVersion".into());
        }
        if self.steps.is_empty()
            || self.steps.windows(2).any(|w| w[0] >= w[1])
            || self.steps[0] == 0
            || self.steps.last() != Some(&100)
        {
            return bad(format!(
                "steps must be ascending percentages ending at 100, got {:?}",
                self.steps
            ));
        }
        if self.min_step_duration < 0 {
            return bad("minStepDuration must not be negative".into());
        }
        if !(self.max_burn_rate.is_finite() && self.max_burn_rate > 0.0) {
            return bad("maxBurnRate must be a positive number".into());
        }
        if let Some(a) = &self.analysis {
            a.validate()?;
        }
        Ok(())
    }
}

/// Where a rollout is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RolloutState {
    /// Moving through its steps.
    Running,
    /// The canary serves all traffic.
    Completed,
    /// The canary was withdrawn.
    RolledBack,
}

impl std::fmt::Display for RolloutState {
    /// The name the API uses (`rolled_back`), for tables and reasons.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RolloutState::Running => "running",
            RolloutState::Completed => "completed",
            RolloutState::RolledBack => "rolled_back",
        })
    }
}

impl std::fmt::Display for Decision {
    /// The name the API uses (`rollback`), for tables and reasons.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decision::Promote => "promote",
            Decision::Hold => "hold",
            Decision::Rollback => "rollback",
            Decision::Complete => "complete",
        })
    }
}

/// A gate metric's value in its own unit: milliseconds for latencies, percent for rates,
/// plain otherwise (cost per request).
fn metric_value(kind: &str, v: f64) -> String {
    if kind.contains("latency") {
        format!("{v:.1} ms")
    } else if kind.contains("error") || kind.contains("cache") {
        format!("{:.2} %", v * 100.0)
    } else {
        format!("{v:.4}")
    }
}

/// A step's age, to the second (`24s of 2m`, not `24s1ms of 2m`).
fn whole_seconds(ms: i64) -> String {
    crate::duration::format_duration(ms.max(0) / 1_000 * 1_000)
}

/// An evaluation's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = RolloutDecision))]
pub enum Decision {
    /// Move to the next traffic weight.
    Promote,
    /// Stay at this weight.
    Hold,
    /// Withdraw the canary (weight 0).
    Rollback,
    /// The canary passed its last step.
    Complete,
}

/// The canary's burn of one SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BurnCheck {
    /// SLO name.
    pub slo: String,
    /// Canary requests counted.
    pub requests: u64,
    /// Bad ones.
    pub bad: u64,
    /// Bad share over the budget rate (1 − objective).
    pub burn_rate: f64,
    /// The same from the lower Wilson bound of the bad share.
    pub burn_rate_lower: f64,
    /// `burn_rate_lower > maxBurnRate`.
    pub exceeded: bool,
}

/// One evaluation, kept in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutStep {
    /// When.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: i64,
    /// Decision.
    pub decision: Decision,
    /// Canary weight before.
    pub weight_before: u32,
    /// Canary weight after.
    pub weight: u32,
    /// Why.
    pub reasons: Vec<String>,
    /// The gate's recommendation at this look.
    pub recommendation: Recommendation,
    /// Requests per side at this look.
    pub samples: [u64; 2],
}

/// A rollout with its state and history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollout {
    /// Identifier.
    pub id: String,
    /// What was asked.
    #[serde(flatten)]
    pub spec: RolloutSpec,
    /// State.
    pub state: RolloutState,
    /// Index into `steps`.
    pub step: usize,
    /// Current canary weight in percent (0 after a rollback).
    pub weight: u32,
    /// Start.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: i64,
    /// Start of the current step.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub step_started_at: i64,
    /// Always-valid p-values so far.
    pub sequential: SequentialState,
    /// Evaluations, oldest first.
    pub history: Vec<RolloutStep>,
}

/// What an evaluation answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutEvaluation {
    /// Rollout id.
    pub id: String,
    /// Decision.
    pub decision: Decision,
    /// Canary traffic weight to apply now, percent.
    pub weight: u32,
    /// State after the decision.
    pub state: RolloutState,
    /// Why.
    pub reasons: Vec<String>,
    /// The sequential gate behind it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateOutcome>,
    /// SLO burn of the canary.
    pub burn: Vec<BurnCheck>,
}

impl Rollout {
    /// A new rollout at its first step.
    pub fn start(id: String, spec: RolloutSpec, now: i64) -> Result<Self, CoreError> {
        spec.validate()?;
        let weight = spec.steps[0];
        Ok(Rollout {
            id,
            spec,
            state: RolloutState::Running,
            step: 0,
            weight,
            started_at: now,
            step_started_at: now,
            sequential: SequentialState::default(),
            history: Vec::new(),
        })
    }

    /// Evaluates with the requests of both versions since the start.
    pub fn evaluate(
        &mut self,
        baseline: &BTreeMap<String, OperationSample>,
        canary: &BTreeMap<String, OperationSample>,
        slos: &[&SloDef],
        default_analysis: &GateConfig,
        now: i64,
    ) -> RolloutEvaluation {
        if self.state != RolloutState::Running {
            let decision = if self.state == RolloutState::Completed {
                Decision::Complete
            } else {
                Decision::Rollback
            };
            return RolloutEvaluation {
                id: self.id.clone(),
                decision,
                weight: self.weight,
                state: self.state,
                reasons: vec![format!("the rollout has already ended ({})", self.state)],
                gate: None,
                burn: Vec::new(),
            };
        }
        let cfg = self.spec.analysis.unwrap_or(*default_analysis);
        let gate = evaluate(baseline, canary, &cfg, Some(&mut self.sequential));
        let burn = burn_checks(canary, slos, self.spec.max_burn_rate);
        let mut reasons = Vec::new();
        let weight_before = self.weight;
        let decision = if gate.recommendation == Recommendation::BlockDeployment {
            for v in &gate.violations {
                reasons.push(format!(
                    "{} on {}: {} against {} ({:+.1} %), past the limit {} (p = {}, always-valid)",
                    v.kind,
                    v.operation,
                    metric_value(&v.kind, v.current),
                    metric_value(&v.kind, v.baseline),
                    v.change * 100.0,
                    metric_value(&v.kind, v.threshold),
                    crate::numeric::format_p_value(v.p_value),
                ));
            }
            Decision::Rollback
        } else if burn.iter().any(|b| b.exceeded) {
            for b in burn.iter().filter(|b| b.exceeded) {
                reasons.push(format!(
                    "the canary burns SLO {} at {:.1}× (at least {:.1}×; limit {:.1}×): {} bad of {}",
                    b.slo, b.burn_rate, b.burn_rate_lower, self.spec.max_burn_rate, b.bad, b.requests
                ));
            }
            Decision::Rollback
        } else {
            let age = now - self.step_started_at;
            let mut hold = Vec::new();
            if age < self.spec.min_step_duration {
                hold.push(format!(
                    "{} of {} at {} %",
                    whole_seconds(age),
                    crate::duration::format_duration(self.spec.min_step_duration),
                    self.weight
                ));
            }
            match gate.recommendation {
                Recommendation::InsufficientData => {
                    hold.push(format!("waiting for data: {}", gate.summary))
                }
                Recommendation::ManualReview => {
                    hold.push(format!("not yet conclusive: {}", gate.summary))
                }
                _ => {}
            }
            if !hold.is_empty() {
                reasons = hold;
                Decision::Hold
            } else if self.step + 1 < self.spec.steps.len() {
                reasons.push(format!("no regression: {}", gate.summary));
                Decision::Promote
            } else {
                reasons.push(format!("no regression at 100 %: {}", gate.summary));
                Decision::Complete
            }
        };
        match decision {
            Decision::Promote => {
                self.step += 1;
                self.weight = self.spec.steps[self.step];
                self.step_started_at = now;
            }
            Decision::Rollback => {
                self.state = RolloutState::RolledBack;
                self.weight = 0;
            }
            Decision::Complete => {
                self.state = RolloutState::Completed;
                self.weight = 100;
            }
            Decision::Hold => {}
        }
        let samples = [
            baseline.values().map(|s| s.requests).sum(),
            canary.values().map(|s| s.requests).sum(),
        ];
        self.history.push(RolloutStep {
            at: now,
            decision,
            weight_before,
            weight: self.weight,
            reasons: reasons.clone(),
            recommendation: gate.recommendation,
            samples,
        });
        self.trim_history();
        RolloutEvaluation {
            id: self.id.clone(),
            decision,
            weight: self.weight,
            state: self.state,
            reasons,
            gate: Some(gate),
            burn,
        }
    }

    /// Keeps every transition and the most recent holds.
    fn trim_history(&mut self) {
        if self.history.len() <= MAX_HISTORY {
            return;
        }
        let excess = self.history.len() - MAX_HISTORY;
        let mut dropped = 0;
        self.history.retain(|h| {
            if dropped < excess && h.decision == Decision::Hold {
                dropped += 1;
                false
            } else {
                true
            }
        });
    }
}

/// The canary's burn of each SLO of its service: bad share over the budget rate.
pub fn burn_checks(
    canary: &BTreeMap<String, OperationSample>,
    slos: &[&SloDef],
    max_burn_rate: f64,
) -> Vec<BurnCheck> {
    let z = 2.575_829_303_548_901; // 99 % two-sided: the lower bound is a 99.5 % one-sided bound.
    slos.iter()
        .filter_map(|def| {
            let ops: Vec<&OperationSample> = canary
                .iter()
                .filter(|(op, _)| {
                    def.selector
                        .operation
                        .as_deref()
                        .is_none_or(|o| o == op.as_str())
                })
                .map(|(_, s)| s)
                .collect();
            let requests: u64 = ops.iter().map(|s| s.requests).sum();
            if requests == 0 {
                return None;
            }
            let bad: u64 = ops
                .iter()
                .map(|s| match def.sli {
                    Sli::Availability => s.errors,
                    // A slow or failed request is bad; failures are not double-counted
                    // beyond the requests over the threshold (a bound, exact when failures
                    // are fast).
                    Sli::Latency { threshold_ms } => {
                        let slow = s.requests - s.latency.count_at_most(threshold_ms);
                        (slow + s.errors).min(s.requests)
                    }
                })
                .sum();
            let budget_rate = (1.0 - def.objective).max(1e-9);
            let (lower, _) = proportion::wilson(bad, requests, z);
            let burn_rate_lower = lower / budget_rate;
            Some(BurnCheck {
                slo: def.name.clone(),
                requests,
                bad,
                burn_rate: bad as f64 / requests as f64 / budget_rate,
                burn_rate_lower,
                exceeded: burn_rate_lower > max_burn_rate,
            })
        })
        .collect()
}

#[cfg(test)]
mod words {
    use super::*;

    #[test]
    fn reasons_and_names_read_in_the_apis_words_and_units() {
        assert_eq!(RolloutState::RolledBack.to_string(), "rolled_back");
        assert_eq!(
            serde_json::to_value(RolloutState::RolledBack).unwrap(),
            "rolled_back"
        );
        assert_eq!(Decision::Hold.to_string(), "hold");
        assert_eq!(
            serde_json::to_value(Decision::Rollback).unwrap(),
            "rollback"
        );
        assert_eq!(metric_value("p99_latency_degradation", 174.34), "174.3 ms");
        assert_eq!(metric_value("error_rate_increase", 0.015), "1.50 %");
        assert_eq!(metric_value("cost_per_request_increase", 0.5), "0.5000");
        assert_eq!(whole_seconds(24_001), "24s");
        assert_eq!(whole_seconds(-5), "0s");
    }
}
