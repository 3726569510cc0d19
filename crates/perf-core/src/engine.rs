//! The engine: every view, the caller summaries and resource samples, updated by validated
//! events and asked by queries. Pure and synchronous: time is always an argument.

use crate::config::EngineConfig;
use crate::error::CoreError;
use crate::heavy_hitters::{CallerSummaries, Counter, Measure};
use crate::interner::Interner;
use crate::model::{Event, ResourceSample};
use crate::resources::Resources;
use crate::stats::Stats;
use crate::view::{Dim, DimValues, View, DIM_COUNT};
use ahash::AHashMap;
use serde::{Deserialize, Serialize};

/// Tenant instances per `perTenant` SLO.
const MAX_TENANTS_PER_SLO: usize = 1_000;
/// Most distinct stage names tracked; others are summed under `other`.
const MAX_STAGE_NAMES: usize = 256;

/// Work per `advance` call (engine/sweep.rs; a series aged is one unit, a bucket moved or
/// sealed another): ~16k units of ~0.5–1 µs keep a call's share of a sweep to ~10 ms.
const SWEEP_WORK_PER_CALL: usize = 16_384;
/// And at most this long per call (the only clock the engine reads: it decides how much
/// maintenance a call does, never what a query answers).
const SWEEP_TIME_PER_CALL: std::time::Duration = std::time::Duration::from_millis(5);
/// A sweep that falls behind (widths pass while a pass runs: few, large ingest calls, as a
/// backfill on the event clock makes) gets this many times the work and time per call at
/// most (engine/sweep.rs): 8 × 5 ms stays under the 50 ms stall the server allows.
const SWEEP_MAX_CATCH_UP: u32 = 8;

/// The next data generation: one counter for every engine of the process, so two engines
/// (a restored one replacing another) never share a generation.
static NEXT_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The position of the aging sweep (engine/sweep.rs): the next series to age, view by view.
#[derive(Debug, Clone, Default)]
struct Sweep {
    pending: bool,
    /// A width passed during the running pass: the series already aged need another.
    again: bool,
    /// Widths that passed while passes were running since the sweep last caught up.
    behind: u32,
    view: usize,
    series: usize,
    /// Series per call when not [`SWEEP_WORK_PER_CALL`] (tests).
    per_call: Option<usize>,
}

/// Counters about the engine itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineCounters {
    /// Events recorded.
    pub events: u64,
    /// Events that arrived already past retention (none through validated ingest).
    pub too_old: u64,
    /// Requests dropped from the coarsest level for age.
    pub expired: u64,
}

/// The aggregation engine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Engine {
    config: EngineConfig,
    interner: Interner,
    views: Vec<View>,
    callers: AHashMap<u32, CallerSummaries>,
    resources: Resources,
    stages: Interner,
    watermark: i64,
    last_advance: i64,
    #[serde(default)]
    slos: crate::slo::SloSet,
    /// Self-observation counters.
    pub counters: EngineCounters,
    /// Where the aging sweep stands (runtime state, not in the snapshot).
    #[serde(skip)]
    sweep: Sweep,
    /// Series one tenant may hold per view with a tenant dimension (a runtime limit, not
    /// part of the snapshot; `None`: only the per-view limit).
    #[serde(skip)]
    series_per_tenant: Option<usize>,
    /// Cache key samplers per (service, space). Not in the engine's own encoding: the
    /// server's snapshot carries them after it (older snapshots have none), see
    /// [`Engine::caches`].
    #[serde(skip)]
    caches: crate::cache::SharedCaches,
    /// Changes whenever what the views, caller summaries or resource samples answer may
    /// have changed (runtime state, not in the snapshot): see [`Engine::generation`].
    #[serde(skip)]
    generation: u64,
}

/// A filter on dimension values: every listed dimension must equal its value.
pub type Filter<'a> = &'a [(Dim, &'a str)];

impl Engine {
    /// An empty engine; refuses an invalid configuration.
    pub fn new(config: EngineConfig) -> Result<Self, CoreError> {
        config.validate()?;
        let views = config.views.iter().cloned().map(View::new).collect();
        Ok(Engine {
            config,
            interner: Interner::default(),
            views,
            callers: AHashMap::new(),
            resources: Resources::default(),
            stages: Interner::default(),
            watermark: i64::MIN,
            last_advance: i64::MIN,
            slos: crate::slo::SloSet::new(MAX_TENANTS_PER_SLO),
            counters: EngineCounters::default(),
            sweep: Default::default(),
            series_per_tenant: None,
            caches: Default::default(),
            generation: next_generation(),
        })
    }

    /// The data generation: equal at two moments only if no batch, time step, sweep, load or
    /// merge changed the engine's views, caller summaries or resource samples in between
    /// (SLO alert states are not covered). Unique across the engines of a process, so a
    /// cached answer tagged with it is exact while it matches.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn touch(&mut self) {
        self.generation = next_generation();
    }

    /// The cache key samplers, locked (after the engine: always in that order).
    pub fn caches(&self) -> std::sync::MutexGuard<'_, crate::cache::CacheSpaces> {
        self.caches.lock()
    }

    /// A handle on the samplers, to record a batch's keys after the engine lock is released
    /// (see [`Engine::ingest_views`]).
    pub fn cache_handle(&self) -> crate::cache::SharedCachesHandle {
        self.caches.handle()
    }

    /// Replaces the cache key samplers (restoring a snapshot).
    pub fn set_caches(&mut self, caches: crate::cache::CacheSpaces) {
        self.touch();
        *self.caches.lock() = caches;
    }

    /// Sizes the cache key samplers of spaces seen from now on.
    pub fn set_cache_settings(&mut self, settings: crate::cache::SamplerSettings) {
        self.caches.lock().set_settings(settings);
    }

    /// Limits the series one tenant may hold in each view with a tenant dimension.
    pub fn set_series_per_tenant(&mut self, limit: Option<usize>) {
        self.series_per_tenant = limit;
    }

    /// Rebuilds lookup tables after deserialising a snapshot.
    pub fn after_load(&mut self) {
        self.touch();
        for v in &mut self.views {
            v.rebuild_indexes();
        }
        self.slos.rebuild_index();
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The latest "now" the engine was given.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Records validated events at engine time `now`.
    pub fn ingest(&mut self, events: &[Event], now: i64) {
        self.ingest_views(events, now);
        self.caches.lock().record(events);
    }

    /// [`Engine::ingest`] without the cache key samplers: the caller records the same
    /// events in them next, before any other batch — the server takes
    /// [`Engine::cache_handle`]'s lock before it releases the engine's, so the samplers'
    /// work overlaps the next batch's views instead of lengthening the engine lock.
    pub fn ingest_views(&mut self, events: &[Event], now: i64) {
        self.touch();
        self.advance(now);
        for e in events {
            self.record(e);
        }
    }

    fn record(&mut self, e: &Event) {
        let now = self.watermark;
        let mut values = DimValues {
            text: [None; DIM_COUNT],
            ids: [None; DIM_COUNT],
        };
        values.text[Dim::Service.slot()] = Some(&e.service);
        values.text[Dim::Operation.slot()] = Some(&e.operation);
        values.text[Dim::Node.slot()] = Some(&e.node);
        values.text[Dim::Tenant.slot()] = e.tenant.as_deref();
        values.text[Dim::Version.slot()] = e.version.as_deref();
        values.text[Dim::Class.slot()] = Some(e.class.as_str());
        values.text[Dim::CacheSpace.slot()] = e.cache_space.as_deref();
        for slot in 0..DIM_COUNT {
            values.ids[slot] = values.text[slot].and_then(|t| self.interner.get(t));
        }
        let stage_ids = self.stage_ids(e);
        let slow_threshold = self.config.slow.of(e.class);
        let levels = self.config.resolutions.len();
        let mut recorded = false;
        for view in &mut self.views {
            let limits = crate::view::SeriesLimits {
                per_view: self.config.max_series_per_view,
                per_tenant: self.series_per_tenant.unwrap_or(usize::MAX),
            };
            let Some(series) = view.series_for(&mut values, &mut self.interner, limits, levels)
            else {
                continue;
            };
            match series
                .rollup
                .bucket_for(&self.config.resolutions, e.ts_ms, now)
            {
                Some(stats) => {
                    stats.record(e, slow_threshold, &stage_ids);
                    recorded = true;
                }
                None => break,
            }
        }
        if !recorded {
            self.counters.too_old += 1;
            return;
        }
        self.counters.events += 1;
        self.slos.record(e, now);
        if let (Some(entity), Some(service)) = (&e.entity, values.ids[Dim::Service.slot()]) {
            let hh = self.config.heavy_hitters;
            self.callers.entry(service).or_default().record(
                hh.k,
                hh.bucket,
                e.ts_ms,
                entity,
                !e.ok,
                e.cost.unwrap_or(0.0),
                e.latency_ms > slow_threshold,
            );
        }
    }

    fn stage_ids(&mut self, e: &Event) -> Vec<u32> {
        e.stages
            .iter()
            .map(|(name, _)| match self.stages.get(name) {
                Some(id) => id,
                None if self.stages.len() < MAX_STAGE_NAMES => self.stages.intern(name),
                None => self.stages.intern("other"),
            })
            .collect()
    }

    /// The name of an interned stage.
    pub fn stage_name(&self, id: u32) -> &str {
        self.stages.name(id)
    }

    /// Records resource samples.
    pub fn ingest_resources(&mut self, samples: &[ResourceSample], now: i64) {
        self.touch();
        self.advance(now);
        for s in samples {
            self.resources.record(s, self.config.max_series_per_view);
        }
    }

    /// Moves time forward: once per finest bucket width it starts a sweep that ages buckets
    /// into coarser levels (sweep.rs: a bounded number of series per call, so a large engine
    /// never stops ingest for a whole pass), and expires old caller buckets.
    pub fn advance(&mut self, now: i64) {
        if now > self.watermark {
            self.touch();
            self.watermark = now;
            let width = self.config.resolutions[0].width;
            if self.last_advance == i64::MIN || now >= self.last_advance + width {
                self.last_advance = now;
                // A running pass goes on with the latest time, then starts over for the
                // series it aged before this width.
                self.sweep.again = self.sweep.pending;
                if self.sweep.pending {
                    self.sweep.behind = self.sweep.behind.saturating_add(1);
                }
                self.sweep.pending = true;
                self.slos.advance(now);
                let hh = self.config.heavy_hitters;
                for c in self.callers.values_mut() {
                    c.expire(now - hh.keep, hh.bucket);
                }
            }
        }
        let scale = 1 + self.sweep.behind.min(SWEEP_MAX_CATCH_UP - 1);
        match self.sweep.per_call {
            Some(work) => self.sweep_some(work * scale as usize, None),
            None => self.sweep_some(
                SWEEP_WORK_PER_CALL * scale as usize,
                Some(SWEEP_TIME_PER_CALL * scale),
            ),
        }
    }

    /// A view by name.
    pub fn view(&self, name: &str) -> Result<&View, CoreError> {
        self.views
            .iter()
            .find(|v| v.def.name == name)
            .ok_or_else(|| CoreError::UnknownView(name.into()))
    }

    /// All views.
    pub fn views(&self) -> &[View] {
        &self.views
    }

    /// The name of the first configured view: every view holds every request, so its
    /// per-service totals are the service's (reports that need only service totals read it).
    pub fn first_view_name(&self) -> Result<String, CoreError> {
        self.views
            .first()
            .map(|v| v.def.name.clone())
            .ok_or_else(|| CoreError::InvalidQuery("no views".into()))
    }

    /// The interned string of an id.
    pub fn name(&self, id: u32) -> &str {
        self.interner.name(id)
    }

    /// True when `service` has a series (O(1): the per-cycle loops over every service ask
    /// this once per service; [`Engine::services`] sorts them all and made those loops
    /// quadratic, a whole core busy at 10,000 services).
    pub fn has_service(&self, service: &str) -> bool {
        match (self.interner.get(service), self.views.first()) {
            (Some(id), Some(view)) => view.series_of_service(id).next().is_some(),
            _ => false,
        }
    }

    /// True when some view with a tenant dimension holds a series of `tenant`.
    pub fn has_tenant(&self, tenant: &str) -> bool {
        self.interner
            .get(tenant)
            .is_some_and(|id| self.views.iter().any(|v| v.has_tenant(id)))
    }

    /// Every service seen, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .views
            .first()
            .map(|v| {
                let mut ids: Vec<u32> = v.series().iter().map(|s| s.key[0]).collect();
                ids.sort_unstable();
                ids.dedup();
                ids.into_iter()
                    .map(|id| self.name(id).to_string())
                    .filter(|n| n != crate::view::OVERFLOW_VALUE)
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Merged stats of every series of `view` matching `filter`, buckets starting in `[from, to)`.
    pub fn query(
        &self,
        view: &str,
        filter: Filter,
        from: i64,
        to: i64,
    ) -> Result<Stats, CoreError> {
        let mut out = Stats::default();
        for (_, stats) in self.group(view, filter, from, to)? {
            out.merge(&stats);
        }
        Ok(out)
    }

    /// Stats per series of `view` matching `filter` (key values as text, in the view's
    /// dimension order), buckets starting in `[from, to)`; series without data are left out.
    pub fn group(
        &self,
        view: &str,
        filter: Filter,
        from: i64,
        to: i64,
    ) -> Result<Vec<(Vec<String>, Stats)>, CoreError> {
        self.group_within(view, filter, from, to, None)
    }

    /// How many series [`Engine::group`] would look at for `filter` (an upper bound on the
    /// groups it returns): the view's, or the filtered service's.
    pub fn candidate_series(&self, view: &str, filter: Filter) -> Result<usize, CoreError> {
        let v = self.view(view)?;
        let service = filter.iter().find(|(d, _)| v.def.dims.first() == Some(d));
        Ok(match service {
            Some((_, name)) => self
                .interner
                .get(name)
                .map_or(0, |id| v.series_of_service(id).count()),
            None => v.series().len(),
        })
    }

    /// [`Engine::group`] that gives up with [`CoreError::InvalidQuery`] past `deadline`.
    pub fn group_within(
        &self,
        view: &str,
        filter: Filter,
        from: i64,
        to: i64,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<(Vec<String>, Stats)>, CoreError> {
        let v = self.view(view)?;
        let mut wanted = Vec::with_capacity(filter.len());
        for (dim, value) in filter {
            let Some(pos) = v.def.dims.iter().position(|d| d == dim) else {
                return Err(CoreError::InvalidQuery(format!(
                    "view {view} has no dimension {}",
                    dim.as_str()
                )));
            };
            match self.interner.get(value) {
                Some(id) => wanted.push((pos, id)),
                None => return Ok(Vec::new()),
            }
        }
        let service_filter = wanted.iter().find(|(pos, _)| *pos == 0).map(|(_, id)| *id);
        let candidates: Box<dyn Iterator<Item = &crate::view::Series>> = match service_filter {
            Some(id) => Box::new(v.series_of_service(id)),
            None => Box::new(v.series().iter()),
        };
        let mut out = Vec::new();
        for (i, s) in candidates.enumerate() {
            if i % 256 == 255 && deadline.is_some_and(|d| std::time::Instant::now() > d) {
                return Err(CoreError::InvalidQuery(format!(
                    "the query ran out of its time budget after {} series; narrow it (a service, a shorter window)",
                    i + 1
                )));
            }
            if !wanted.iter().all(|(pos, id)| s.key[*pos] == *id) {
                continue;
            }
            let mut stats = Stats::default();
            s.rollup.query_into(from, to, &mut stats);
            if stats.requests > 0 {
                let key = (0..v.def.dims.len())
                    .map(|i| self.name(s.key[i]).to_string())
                    .collect();
                out.push((key, stats));
            }
        }
        Ok(out)
    }

    /// Stats of a view's overflow series over `[from, to)`, if it holds any request there.
    pub fn overflow_stats(
        &self,
        view: &str,
        from: i64,
        to: i64,
    ) -> Result<Option<Stats>, CoreError> {
        let Some(series) = self.view(view)?.overflow_series() else {
            return Ok(None);
        };
        let mut stats = Stats::default();
        series.rollup.query_into(from, to, &mut stats);
        Ok((stats.requests > 0).then_some(stats))
    }

    /// Top callers of a service by a measure over `[from, to)`.
    pub fn top_callers(
        &self,
        service: &str,
        measure: Measure,
        from: i64,
        to: i64,
        n: usize,
    ) -> Vec<Counter> {
        self.interner
            .get(service)
            .and_then(|id| self.callers.get(&id))
            .map(|c| c.top(measure, from, to, n))
            .unwrap_or_default()
    }

    /// The caller summaries of a service (per-bucket Space-Saving counters).
    pub fn caller_summaries(&self, service: &str) -> Option<&CallerSummaries> {
        self.interner
            .get(service)
            .and_then(|id| self.callers.get(&id))
    }

    /// The SLOs.
    pub fn slos(&self) -> &crate::slo::SloSet {
        &self.slos
    }

    /// The SLOs, to change definitions or evaluate (alert states change on evaluation).
    pub fn slos_mut(&mut self) -> &mut crate::slo::SloSet {
        &mut self.slos
    }

    /// `def`'s history in the views ([`crate::slo::backfill::history`]); `None` when no view
    /// can answer or it holds nothing the SLO selects.
    fn slo_history(
        &self,
        def: &crate::slo::SloDef,
        corrections: &[crate::slo::Correction],
        now: i64,
        keep: i64,
        max_tenants: usize,
    ) -> Option<crate::slo::backfill::History> {
        let views: Vec<(String, Vec<Dim>)> = self
            .views
            .iter()
            .map(|v| (v.def.name.clone(), v.def.dims.clone()))
            .collect();
        let group = |view: &str, filter: &[(Dim, &str)], from: i64, to: i64| {
            self.group(view, filter, from, to).ok()
        };
        crate::slo::backfill::history(&views, &group, def, corrections, now, keep, max_tenants)
            .filter(|h| h.summary.events > 0 || !h.summary.excluded_events.is_empty())
    }

    /// Fills SLO `name`'s counters from the views' history at `now`
    /// ([`crate::slo::backfill`]), without what its budget corrections exclude; for an SLO
    /// just created or whose counts were reset. `None` when no view holds the dimensions it
    /// selects on, or nothing it selects.
    pub fn backfill_slo(&mut self, name: &str, now: i64) -> Option<crate::slo::Backfilled> {
        let entry = self.slos.get(name)?;
        let (def, corrections) = (entry.def.clone(), entry.corrections.clone());
        let (keep, max_tenants) = self.slos.retention_of(name)?;
        let h = self.slo_history(&def, &corrections, now, keep, max_tenants)?;
        self.slos.fill(name, h.all, h.tenants, now);
        Some(h.summary)
    }

    /// What SLO `def` would answer at `now` had it existed over the views' history, without
    /// keeping anything ("would we have met it"): its status over all tenants first, then
    /// per tenant, and what the history held (`None`: no view holds the dimensions it selects
    /// on, or nothing it selects). The budget corrections of the SLO of that name, if there
    /// is one, apply.
    pub fn preview_slo(
        &self,
        def: crate::slo::SloDef,
        now: i64,
    ) -> Result<(Vec<crate::slo::SloStatus>, Option<crate::slo::Backfilled>), String> {
        let name = def.name.clone();
        let mut set = crate::slo::SloSet::new(self.slos.max_tenants());
        set.upsert(def.clone())?;
        let (keep, max_tenants) = set.retention_of(&name).ok_or("the SLO vanished")?;
        let corrections = self
            .slos
            .get(&name)
            .map(|e| e.corrections.clone())
            .unwrap_or_default();
        set.set_corrections(&name, corrections.clone())?;
        let h = self.slo_history(&def, &corrections, now, keep, max_tenants);
        let summary = h.as_ref().map(|h| h.summary.clone());
        if let Some(h) = h {
            set.fill(&name, h.all, h.tenants, now);
        }
        set.advance(now);
        let statuses = set.evaluate(now).into_iter().map(|e| e.status).collect();
        Ok((statuses, summary))
    }

    /// Resource samples.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// Heap bytes per component: the buckets of every view at each resolution
    /// (`views_10s`, `views_1m`, …), the views' indexes, interned names, caller summaries,
    /// resource samples and SLO counters.
    pub fn memory(&self) -> Vec<crate::memory::Part> {
        use crate::memory::Part;
        let mut parts: Vec<Part> = self
            .config
            .resolutions
            .iter()
            .enumerate()
            .map(|(level, r)| {
                Part::new(
                    format!("views_{}", crate::duration::format_duration(r.width)),
                    self.views.iter().map(|v| v.level_heap_bytes(level)).sum(),
                )
            })
            .collect();
        parts.push(Part::new(
            "view_indexes",
            crate::memory::vec(&self.views)
                + self.views.iter().map(View::index_heap_bytes).sum::<usize>(),
        ));
        parts.push(Part::new(
            "interned_names",
            self.interner.heap_bytes() + self.stages.heap_bytes(),
        ));
        parts.push(Part::new(
            "caller_summaries",
            crate::memory::hash_map(&self.callers)
                + self
                    .callers
                    .values()
                    .map(CallerSummaries::heap_bytes)
                    .sum::<usize>(),
        ));
        parts.push(Part::new("resource_samples", self.resources.heap_bytes()));
        parts.push(Part::new("slo_counters", self.slos.heap_bytes()));
        parts.push(Part::new("cache_samplers", self.caches.lock().heap_bytes()));
        parts
    }

    /// Approximate heap bytes of all series (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.views
            .iter()
            .flat_map(|v| v.series())
            .map(|s| s.rollup.heap_bytes() + std::mem::size_of_val(s))
            .sum()
    }
}

mod partition;
mod sweep;
#[cfg(test)]
mod tests;
