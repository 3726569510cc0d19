//! The single-flight evaluation cycle: [`Control::run_cycle`] runs every stage on its own —
//! a failing stage is logged under its name and the others still run. The runtime's loop and
//! any read that finds the decisions older than `server.evaluationInterval` go through the
//! same lock, so two evaluations never overlap and a read never decides beside the cycle.

use super::decisions::{Decisions, Memory};
use super::error::ControlError;
use super::{
    anomalies, capacity, drills, policy, regressions, risk, rollouts, routing, slos, tenants,
};
use crate::durable::Durable;
use crate::effects::{Effect, Effects};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The stages of the evaluation cycle, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// SLO statuses and burn-rate alerts.
    Slos,
    /// Anomaly detectors and incidents.
    Anomalies,
    /// Degradation ladders, concurrency limits, policy contexts.
    Policy,
    /// Routing weights.
    Routing,
    /// Caller risk.
    Risk,
    /// Tenant isolation.
    Tenants,
    /// Recovery drills and failover triggers.
    Drills,
    /// Running canary rollouts (deployment cycle).
    Rollouts,
    /// Regression alerts against baselines (deployment cycle).
    Regressions,
    /// Headroom alerts (deployment cycle).
    Capacity,
    /// Cache advice changes on the stream (deployment cycle).
    Cache,
}

impl Stage {
    /// The stages of the evaluation cycle (every `server.evaluationInterval`), in order.
    pub const EVALUATION: [Stage; 7] = [
        Stage::Slos,
        Stage::Anomalies,
        Stage::Policy,
        Stage::Routing,
        Stage::Risk,
        Stage::Tenants,
        Stage::Drills,
    ];

    /// The stages of the deployment cycle (every `server.deploymentInterval`), in order.
    pub const DEPLOYMENT: [Stage; 4] = [
        Stage::Rollouts,
        Stage::Regressions,
        Stage::Capacity,
        Stage::Cache,
    ];

    /// Every stage.
    pub const ALL: [Stage; 11] = [
        Stage::Slos,
        Stage::Anomalies,
        Stage::Policy,
        Stage::Routing,
        Stage::Risk,
        Stage::Tenants,
        Stage::Drills,
        Stage::Rollouts,
        Stage::Regressions,
        Stage::Capacity,
        Stage::Cache,
    ];

    /// Its name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Slos => "slos",
            Stage::Anomalies => "anomalies",
            Stage::Policy => "policy",
            Stage::Routing => "routing",
            Stage::Risk => "risk",
            Stage::Tenants => "tenants",
            Stage::Drills => "drills",
            Stage::Rollouts => "rollouts",
            Stage::Regressions => "regressions",
            Stage::Capacity => "capacity",
            Stage::Cache => "cache",
        }
    }

    fn run(self, d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
        match self {
            Stage::Slos => slos::evaluate(d, m, now),
            Stage::Anomalies => anomalies::evaluate(d, m, now),
            Stage::Policy => policy::evaluate(d, m, now),
            Stage::Routing => routing::evaluate_all(d, m, now),
            Stage::Risk => risk::evaluate(d, m, now),
            Stage::Tenants => tenants::evaluate(d, m, now),
            Stage::Drills => drills::evaluate(d, m, now),
            Stage::Rollouts => rollouts::evaluate_running(d, m, now),
            Stage::Regressions => regressions::alert_cycle(d, m, now),
            Stage::Capacity => capacity::alert_cycle(d, m, now),
            Stage::Cache => super::cache::evaluate(d, m, now),
        }
    }
}

/// How a cycle went.
#[derive(Debug, Default)]
pub struct CycleReport {
    /// The stages that failed, with why.
    pub failures: Vec<(&'static str, String)>,
}

/// Runs of each stage, for `/metrics` and for tests that count evaluations.
#[derive(Debug, Default)]
pub struct StageCounters {
    runs: [AtomicU64; Stage::ALL.len()],
    failures: [AtomicU64; Stage::ALL.len()],
}

impl StageCounters {
    /// Times `stage` ran, and times it failed.
    pub fn of(&self, stage: Stage) -> (u64, u64) {
        let i = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
        (
            self.runs[i].load(Ordering::Relaxed),
            self.failures[i].load(Ordering::Relaxed),
        )
    }

    fn count(&self, stage: Stage, failed: bool) {
        let i = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
        self.runs[i].fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failures[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The decisions and the single-flight cycle over them.
#[derive(Default)]
pub struct Control {
    /// The decisions and the rollout lock.
    pub memory: Memory,
    /// Held while a cycle runs; holds the engine time the last one ran at.
    cycle: Mutex<Option<i64>>,
    /// Runs and failures per stage.
    pub counters: StageCounters,
}

impl Control {
    /// The decisions, locked (after the engine, never before it).
    pub fn decisions(&self) -> MutexGuard<'_, Decisions> {
        self.memory.decisions()
    }

    /// Runs one evaluation cycle now, after any cycle in flight.
    pub fn run_cycle(&self, d: &Durable, e: &Effects) -> CycleReport {
        let mut last = self.cycle.lock().unwrap_or_else(|p| p.into_inner());
        *last = Some(d.now());
        self.cycle_stages(d, e, &Stage::EVALUATION)
    }

    /// Runs the deployment cycle now (rollouts, regressions, headroom), inside the single
    /// flight.
    pub fn run_deployment_cycle(&self, d: &Durable, e: &Effects) -> CycleReport {
        let _flight = self.cycle.lock().unwrap_or_else(|p| p.into_inner());
        self.cycle_stages(d, e, &Stage::DEPLOYMENT)
    }

    /// Runs one stage now, inside the single flight (a changed SLO definition is evaluated
    /// at once).
    pub fn run_stage(&self, d: &Durable, e: &Effects, stage: Stage) -> CycleReport {
        let _flight = self.cycle.lock().unwrap_or_else(|p| p.into_inner());
        self.cycle_stages(d, e, &[stage])
    }

    /// Runs a cycle unless the last one ran less than `server.evaluationInterval` ago in
    /// engine time (the wall clock, or the newest event time under `clock: event`, so a
    /// replay is evaluated as its own time passes). With `wait` false it does not wait for a
    /// cycle in flight (a read then answers from the decisions it has), unless there are
    /// none yet.
    pub fn run_if_due(&self, d: &Durable, e: &Effects, wait: bool) -> Option<CycleReport> {
        let every = d.config.server.evaluation_interval.max(100);
        let mut last = if wait || self.decisions().slos.is_none() {
            self.cycle.lock().unwrap_or_else(|p| p.into_inner())
        } else {
            match self.cycle.try_lock() {
                Ok(g) => g,
                Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => return None,
            }
        };
        let now = d.now();
        // A clock that stepped back (NTP) makes the cycle due rather than stalling it.
        if last.is_some_and(|t| now >= t && now - t < every) {
            return None;
        }
        *last = Some(now);
        Some(self.cycle_stages(d, e, &Stage::EVALUATION))
    }

    /// Undoes the memory of alerts whose notifications could not be written: the stage set
    /// them firing (or resolved) when it returned them, so without this the next cycle
    /// would see no change and the notification would be lost. Only the alerts that
    /// `firing` announces (a condition checked every cycle) are repeated this way; those
    /// raised on a transition of their own state machine (the degradation ladder, anomaly
    /// incidents, rollbacks, SLO burn tiers) are not.
    fn forget(&self, unapplied: &[Effect]) {
        let mut decisions = self.memory.decisions();
        for effect in unapplied {
            if let Effect::Alert(n) = effect {
                if n.kind.announced_by_firing() {
                    decisions.firing.set(n.kind, &n.subject, !n.firing);
                }
            }
        }
    }

    fn cycle_stages(&self, d: &Durable, e: &Effects, stages: &[Stage]) -> CycleReport {
        let mut report = CycleReport::default();
        for &stage in stages {
            let now = d.now();
            let outcome = stage.run(d, &self.memory, now).and_then(|effects| {
                e.apply_or_return(d, effects, now)
                    .map_err(|(err, unapplied)| {
                        self.forget(&unapplied);
                        ControlError::from(err)
                    })
            });
            self.counters.count(stage, outcome.is_err());
            if let Err(err) = outcome {
                tracing::error!(stage = stage.name(), error = %err, "evaluation stage failed; the other stages still ran");
                report.failures.push((stage.name(), err.to_string()));
            }
        }
        report
    }
}
