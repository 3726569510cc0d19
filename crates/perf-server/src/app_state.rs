//! What handlers and background loops share: the three layers below http, composed. The
//! durable state (engine, journal, store, metrics, clock), the effects' outlets (the stream
//! bus) and the control layer's decisions; and the one http resource that is not a layer's
//! (the gzip decompression slots).
//!
//! Locks on the hot path: the engine (ingest, queries) and the decisions (policy answers,
//! reads of the last decisions). The single-flight cycle lock and the rollout lock are only
//! taken by evaluations; the write-failure cause only after a refused write.

use crate::config::Config;
use crate::control::{Control, CycleReport, Stage};
use crate::durable::{Clock, Durable, SystemClock};
use crate::effects::{Effect, Effects};
use perf_core::slo::SloStatus;
use std::sync::Arc;

/// Everything handlers share.
pub struct AppState {
    /// Configuration, engine, journal, store, metrics, clock.
    pub durable: Arc<Durable>,
    /// The stream bus; applies effects.
    pub effects: Effects,
    /// The decisions and the single-flight cycle.
    pub control: Control,
    /// Gzip bodies being decompressed (`server.limits.maxConcurrentDecompressions`).
    pub decompressions: Arc<tokio::sync::Semaphore>,
    /// Memory held beside the server in the same process (the demo's simulator), by
    /// component, reported by its owner.
    pub memory_beside: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// The last memory report, reused by `/metrics` for a while.
    pub memory_cache: crate::accounting::Cached<crate::accounting::MemoryReport>,
    /// The last go-live report, reused by `/metrics` for a while (`None`: it failed).
    pub golive_cache: crate::accounting::Cached<Option<perf_core::golive::GoLiveReport>>,
    /// The cache of profile and overview answers.
    pub answers: crate::answers::Answers,
}

impl AppState {
    /// Opens the data directory on the system clock.
    pub fn open(config: Config) -> anyhow::Result<Arc<AppState>> {
        AppState::open_with_clock(config, Arc::new(SystemClock))
    }

    /// Opens the data directory with the given wall clock (tests pin time with a
    /// [`crate::durable::ManualClock`]).
    pub fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<AppState>> {
        let slots = config.server.limits.max_concurrent_decompressions;
        let durable = Arc::new(Durable::open_with_clock(config, clock)?);
        let answers =
            crate::answers::Answers::new(&durable.config.cache.answers, &durable.replica_id);
        if durable.config.cache.answers.report {
            answers.report_to(durable.clone());
        }
        Ok(Arc::new(AppState {
            durable,
            effects: Effects::default(),
            control: Control::default(),
            decompressions: Arc::new(tokio::sync::Semaphore::new(slots)),
            memory_beside: Default::default(),
            memory_cache: Default::default(),
            golive_cache: Default::default(),
            answers,
        }))
    }

    /// Heap bytes per component, computed now (see [`crate::accounting`]).
    pub fn memory(&self) -> crate::accounting::MemoryReport {
        crate::accounting::report(
            &self.durable,
            &self.control,
            &self.effects,
            &self.answers,
            &self.memory_beside,
        )
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.durable.config
    }

    /// Runs one evaluation cycle now (after any in flight). Blocking.
    pub fn run_cycle(&self) -> CycleReport {
        self.control.run_cycle(&self.durable, &self.effects)
    }

    /// Runs one stage now inside the single flight. Blocking.
    pub fn run_stage(&self, stage: Stage) -> CycleReport {
        self.control.run_stage(&self.durable, &self.effects, stage)
    }

    /// Before a read: runs the cycle when the decisions are older than
    /// `server.evaluationInterval` and no cycle is in flight (never beside one). Blocking.
    pub fn refresh(&self) {
        self.control.run_if_due(&self.durable, &self.effects, false);
    }

    /// SLO statuses of the last evaluation (refreshed first when due). Blocking.
    pub fn slo_statuses(&self) -> Vec<SloStatus> {
        self.refresh();
        self.control.decisions().slos.clone().unwrap_or_default()
    }

    /// Applies effects a request's decision produced (a rollout step, a start).
    pub fn apply(&self, effects: Vec<Effect>, now: i64) -> Result<(), perf_store::StoreError> {
        self.effects.apply(&self.durable, effects, now)
    }
}
