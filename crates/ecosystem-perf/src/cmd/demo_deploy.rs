//! The demo's deployments (docs/ARCHITECTURE.md §8: "a canary version regresses p99, the gate blocks, the
//! rollout rolls back"): every simulated hour a clean qerberos canary is rolled out step by
//! step and completes, and a qnet canary with a slow mode (6 % of its requests four times
//! slower) is rolled back. This module is the rollout controller: it starts the rollouts
//! through the server's own rollout code, evaluates them every 20 simulated seconds and
//! moves the canary's traffic weight to what each decision says.

use perf_core::compare::rollout::{RolloutSpec, RolloutState};
use perf_server::AppState;
use perf_sim::{Canary, Generator, Repeating};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

const MINUTE: i64 = 60_000;
const EVERY: i64 = 20_000;

/// One hourly canary: what it deploys, the minute of the hour it starts and the traffic
/// weight its generator incident reads.
struct Schedule {
    spec: RolloutSpec,
    start_minute: i64,
    weight: Arc<AtomicU32>,
}

/// The rollout of one schedule in one hour.
struct Plan {
    schedule: usize,
    hour: i64,
    rollout: Option<String>,
    done: bool,
    next_eval_ms: i64,
}

/// Scheduled canaries and their controller: every hour, for as long as the demo runs.
pub struct Deployments {
    schedules: Vec<Schedule>,
    next_hour: i64,
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
    /// Adds the hourly canaries to the generator (one repeating incident each).
    pub fn schedule(generator: &mut Generator) -> Self {
        let mut schedules = Vec::new();
        for (spec, start_minute, slow_share) in [
            (
                spec("qerberos", "v3.1.1", "v3.2.0", &[25, 50, 100]),
                33,
                0.0,
            ),
            (spec("qnet", "v2.0.3", "v2.1.0", &[10, 50, 100]), 40, 0.06),
        ] {
            let weight = Arc::new(AtomicU32::new(0));
            generator.add_incident(Box::new(Repeating::every(
                60 * MINUTE,
                Canary {
                    service: spec.service.clone(),
                    version: spec.canary_version.clone(),
                    from_ms: start_minute * MINUTE,
                    to_ms: 60 * MINUTE,
                    weight: weight.clone(),
                    slow_share,
                    slow_factor: 4.0,
                },
            )));
            schedules.push(Schedule {
                spec,
                start_minute,
                weight,
            });
        }
        Deployments {
            schedules,
            next_hour: 0,
            plans: Vec::new(),
        }
    }

    /// The plans of every hour that has begun (a plan of an earlier hour that has not
    /// finished by then is dropped: its canary incident ended with its hour).
    fn plan_hours_until(&mut self, elapsed_ms: i64) {
        while self.next_hour * 60 * MINUTE <= elapsed_ms {
            let hour = self.next_hour;
            self.plans.retain(|p| !p.done && p.hour + 1 >= hour);
            for (i, s) in self.schedules.iter().enumerate() {
                self.plans.push(Plan {
                    schedule: i,
                    hour,
                    rollout: None,
                    done: false,
                    next_eval_ms: hour * 60 * MINUTE + s.start_minute * MINUTE + EVERY,
                });
            }
            self.next_hour += 1;
        }
    }

    /// Starts due rollouts and evaluates running ones; `elapsed_ms` is simulated time since
    /// the start.
    pub fn tick(&mut self, state: &AppState, elapsed_ms: i64) {
        self.plan_hours_until(elapsed_ms);
        let schedules = &self.schedules;
        for p in self.plans.iter_mut().filter(|p| {
            !p.done
                && elapsed_ms >= p.hour * 60 * MINUTE + schedules[p.schedule].start_minute * MINUTE
        }) {
            let s = &schedules[p.schedule];
            let Some(id) = &p.rollout else {
                let id = format!(
                    "demo-{}-{}-h{}",
                    s.spec.service, s.spec.canary_version, p.hour
                );
                let now = state.durable.now();
                match perf_server::control::rollouts::start(
                    &state.durable,
                    &state.control.memory,
                    id.clone(),
                    s.spec.clone(),
                    now,
                ) {
                    Ok((r, effects)) => {
                        if let Err(e) = state.apply(effects, now) {
                            tracing::warn!(error = %e, "demo rollout start was not published");
                        }
                        s.weight.store(r.weight, Ordering::Relaxed);
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
                    s.weight.store(e.weight, Ordering::Relaxed);
                    p.done = e.state != RolloutState::Running;
                }
                Err(e) => tracing::warn!(error = %e, "demo rollout evaluation failed"),
            }
        }
    }
}
