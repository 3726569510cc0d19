//! Memory accounting of a running server: the heap bytes of every component, computed
//! from the containers that hold them (`perf_core::memory`), for `GET /v1/memory`,
//! `ecosystem_perf_memory_bytes{component}` on `/metrics` and `ecosystem-perf status
//! --memory`. The engine's parts are computed under the engine lock by walking every
//! series' buckets (about 2 ms for the demo's 500 series; ~0.5 s at 100,000 series), so
//! `/metrics` reuses a report younger than [`REUSE_MS`].

use crate::control::Control;
use crate::durable::Durable;
use crate::effects::Effects;
use perf_core::memory::Part;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// How long `/metrics` reuses a computed report.
pub const REUSE_MS: u128 = 30_000;

/// Heap bytes per component.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct MemoryReport {
    /// Sum of the components.
    pub total_bytes: u64,
    /// Resident set size of the process, where the platform says (Linux).
    pub rss_bytes: Option<u64>,
    /// Each component, in a fixed order: the engine's, the decisions', the stream's,
    /// then anything held beside the server.
    pub components: Vec<Part>,
}

impl MemoryReport {
    /// Sum of the components.
    pub fn total(&self) -> u64 {
        self.total_bytes
    }

    /// Bytes of one component (0 when absent).
    pub fn bytes(&self, component: &str) -> u64 {
        self.components
            .iter()
            .find(|p| p.component == component)
            .map_or(0, |p| p.bytes)
    }
}

/// Computes the report now from the layers (and what is held `beside` them).
pub fn report(
    durable: &Durable,
    control: &Control,
    effects: &Effects,
    answers: &crate::answers::Answers,
    beside: &Mutex<BTreeMap<String, u64>>,
) -> MemoryReport {
    let mut components = durable.engine().memory();
    components.extend(crate::control::memory::parts(&control.memory.decisions()));
    components.push(Part::new("stream_buffers", effects.bus.heap_bytes()));
    components.push(Part::new("answer_cache", answers.heap_bytes()));
    let beside = beside.lock().unwrap_or_else(|p| p.into_inner()).clone();
    components.extend(beside.into_iter().map(|(c, b)| Part {
        component: c,
        bytes: b,
    }));
    MemoryReport {
        total_bytes: perf_core::memory::total(&components),
        rss_bytes: rss_bytes(),
        components,
    }
}

/// A report at most [`REUSE_MS`] old (for `/metrics`, scraped every few seconds): the
/// memory report, the go-live report.
pub struct Cached<T>(Mutex<Option<(Instant, T)>>);

impl<T> Default for Cached<T> {
    fn default() -> Self {
        Cached(Mutex::new(None))
    }
}

impl<T: Clone> Cached<T> {
    /// The cached report, computed again (by `compute`) when older than [`REUSE_MS`].
    pub fn get(&self, compute: impl FnOnce() -> T) -> T {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some((at, r)) if at.elapsed().as_millis() < REUSE_MS => r.clone(),
            _ => {
                let r = compute();
                *slot = Some((Instant::now(), r.clone()));
                r
            }
        }
    }
}

/// Resident set size of this process, from `/proc/self/status` (Linux only).
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}
