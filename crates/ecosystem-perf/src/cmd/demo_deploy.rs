//! The demo's deployments (docs/ARCHITECTURE.md §8: "a canary version regresses p99, the gate blocks, the
//! rollout rolls back"): every simulated hour a clean qerberos canary is rolled out step by
//! step and completes, and a qnet canary with a slow mode (6 % of its requests four times
//! slower) is rolled back. This module is the rollout controller: it starts the rollouts
//! through the server's own rollout code, evaluates them every 20 simulated seconds and
//! moves the canary's traffic weight to what each decision says.

use perf_core::compare::rollout::{RolloutSpec, RolloutState};
use perf_server::AppState;
use perf_sim::{Canary, Generator};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const MINUTE: i64 = 60_000;
const EVERY: i64 = 20_000;

struct Plan {
    spec: RolloutSpec,
    hour: i64,
    start_ms: i64,
    weight: Arc<AtomicU32>,
    rollout: Option<String>,
    done: bool,
    next_eval_ms: i64,
}

/// Scheduled canaries and their controller.
pub struct Deployments {
    plans: Vec<Plan>,
}

fn spec(service: &str, from: &str, to: &str, steps: &[u32]) -> RolloutSpec {
    RolloutSpec {
        service: service.into(),
        baseline_version: from.into(),
        canary_version: to.into(),
        steps: steps.to_vec(),
        min_step_duration: 2 * MINUTE,
        max_burn_rate: 6.0,
        analysis: None,
    }
}

impl Deployments {
    /// Adds the canaries of `hours` hours to the generator.
    pub fn schedule(generator: &mut Generator, hours: i64) -> Self {
        let mut plans = Vec::new();
        for hour in 0..hours {
            let base = hour * 60 * MINUTE;
            for (spec, start, slow_share) in [
                (
                    spec("qerberos", "v3.1.1", "v3.2.0", &[25, 50, 100]),
                    33,
                    0.0,
                ),
                (spec("qnet", "v2.0.3", "v2.1.0", &[10, 50, 100]), 40, 0.06),
            ] {
                let weight = Arc::new(AtomicU32::new(0));
                generator.add_incident(Box::new(Canary {
                    service: spec.service.clone(),
                    version: spec.canary_version.clone(),
                    from_ms: base + start * MINUTE,
                    to_ms: base + 60 * MINUTE,
                    weight: weight.clone(),
                    slow_share,
                    slow_factor: 4.0,
                }));
                plans.push(Plan {
                    spec,
                    hour,
                    start_ms: base + start * MINUTE,
                    weight,
                    rollout: None,
                    done: false,
                    next_eval_ms: base + start * MINUTE + EVERY,
                });
            }
        }
        Deployments { plans }
    }

    /// Starts due rollouts and evaluates running ones; `elapsed_ms` is simulated time since
    /// the start.
    pub fn tick(&mut self, state: &AppState, elapsed_ms: i64) {
        for p in self
            .plans
            .iter_mut()
            .filter(|p| !p.done && elapsed_ms >= p.start_ms)
        {
            let Some(id) = &p.rollout else {
                let id = format!(
                    "demo-{}-{}-h{}",
                    p.spec.service, p.spec.canary_version, p.hour
                );
                let now = state.durable.now();
                match perf_server::control::rollouts::start(
                    &state.durable,
                    &state.control.memory,
                    id.clone(),
                    p.spec.clone(),
                    now,
                ) {
                    Ok((r, effects)) => {
                        if let Err(e) = state.apply(effects, now) {
                            tracing::warn!(error = %e, "demo rollout start was not published");
                        }
                        p.weight.store(r.weight, Ordering::Relaxed);
                        p.rollout = Some(id);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "demo rollout did not start");
                        p.done = true;
                    }
                }
                continue;
            };
            if elapsed_ms < p.next_eval_ms {
                continue;
            }
            p.next_eval_ms = elapsed_ms + EVERY;
            let now = state.durable.now();
            match perf_server::control::rollouts::evaluate_one(
                &state.durable,
                &state.control.memory,
                id,
                now,
            ) {
                Ok((e, effects)) => {
                    if let Err(err) = state.apply(effects, now) {
                        tracing::warn!(error = %err, "demo rollout step was not published");
                    }
                    p.weight.store(e.weight, Ordering::Relaxed);
                    p.done = e.state != RolloutState::Running;
                }
                Err(e) => tracing::warn!(error = %e, "demo rollout evaluation failed"),
            }
        }
    }
}
