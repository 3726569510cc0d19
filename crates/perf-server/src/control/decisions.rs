//! The memory of the control layer: every decision's state in one [`Decisions`], behind one
//! lock ([`Memory`]), and the lock that serialises rollout evaluations. Lock order: the
//! engine, then the decisions; a stage never takes the engine while it holds the decisions.

use super::ladders::PolicyState;
use crate::effects::Firing;
use perf_core::risk::EntityRisk;
use perf_core::routing::{Balancer, WeightsReport};
use perf_core::slo::SloStatus;
use perf_core::tenant::{IsolationState, TenantEvaluation};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};

/// The memory of every decision, behind one lock.
pub struct Decisions {
    /// SLO statuses of the last evaluation (none before the first).
    pub slos: Option<Vec<SloStatus>>,
    /// Anomaly detectors over the views, and their incidents.
    pub anomalies: perf_core::anomaly::online::Monitor,
    /// Degradation ladders, concurrency limits and policy contexts per service.
    pub policy: PolicyState,
    /// Routing weights with their memory (smoothing, slow start).
    pub balancer: Balancer,
    /// The last routing report per service.
    pub routing: BTreeMap<String, WeightsReport>,
    /// Every tracked caller's risk at the last evaluation, highest first.
    pub risks: Option<Vec<EntityRisk>>,
    /// Isolation hysteresis per tenant.
    pub tenant_states: BTreeMap<String, IsolationState>,
    /// Every tenant seen in the last hour, evaluated by the last cycle.
    pub tenants: Vec<TenantEvaluation>,
    /// Services whose current window blocks against their latest baseline (a domain
    /// signal, read by risk; the alert's own state is in `firing`).
    pub regressed: BTreeSet<String>,
    /// Alerts firing now (regression, capacity, risk, degradation, anomaly, failover).
    pub firing: Firing,
    /// Per failover rule (its index in `drills.failover`): its state and how far it has
    /// looked.
    pub failover: BTreeMap<usize, (perf_core::drill::FailoverWatch, i64)>,
    /// The kind of cache advice each (service, space) got last (its words without figures).
    pub cache_advice: BTreeMap<(String, String), String>,
}

impl Default for Decisions {
    fn default() -> Self {
        Decisions {
            slos: None,
            anomalies: perf_core::anomaly::online::Monitor::new(Default::default()),
            policy: Default::default(),
            balancer: Balancer::new(),
            routing: BTreeMap::new(),
            risks: None,
            tenant_states: BTreeMap::new(),
            tenants: Vec::new(),
            regressed: BTreeSet::new(),
            firing: Firing::default(),
            failover: BTreeMap::new(),
            cache_advice: BTreeMap::new(),
        }
    }
}

/// The decisions behind their lock, and the rollout lock.
#[derive(Default)]
pub struct Memory {
    decisions: Mutex<Decisions>,
    rollouts: Mutex<()>,
}

impl Memory {
    /// The decisions, locked (after the engine, never before it).
    pub fn decisions(&self) -> MutexGuard<'_, Decisions> {
        self.decisions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serialises rollout evaluations (read, decide, store).
    pub fn rollout_lock(&self) -> MutexGuard<'_, ()> {
        self.rollouts.lock().unwrap_or_else(|p| p.into_inner())
    }
}
