//! The server's own cache of its hot read answers — the profile of a service and the
//! overview (every second to each stream while anyone listens) — on the instrumented cache
//! of `perf-cache` (moka), so the caching service can judge its own cache like any other.
//!
//! Exact, never stale: an answer is tagged with the engine's data generation
//! ([`perf_core::Engine::generation`]) and the window's bucket bounds, and reused only while
//! both match; its rates, the one part that depends on the exact "now", are divided again
//! by the time the window covers at the moment of the reuse. Under a steady stream of
//! batches that makes hits rare (every batch changes the data): the cache pays where reads
//! outnumber batches — several dashboards or pollers, a quiet service, `clock: event`.
//!
//! With `cache.answers.report`, its lookups are ingested as events of service
//! `ecosystem-perf`, operation `answers`, space `ecosystem-perf:answers`, through the same commit as any batch
//! (logged, acknowledged after fsync, keys hashed as configured), stamped on the engine's
//! clock. Lookups made while the server shuts down are not reported.

use crate::config::{AnswerCacheConfig, ClockMode};
use crate::durable::{Durable, LogBatch};
use perf_cache::{Batch, Builder, Identity, InstrumentedCache, Recorder, RecorderStats, Reporter};
use perf_core::model::{cache_key_hash, CacheOutcome, Event, RequestClass};
use perf_core::report::{overview, profile, Overview, Profile, Window};
use perf_core::Engine;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The service the server's own lookups are reported as.
pub const SELF_SERVICE: &str = "ecosystem-perf";
/// Their operation.
pub const OPERATION: &str = "answers";
/// Their cache space.
pub const SPACE: &str = "ecosystem-perf:answers";
/// Lookups buffered between two reports at most.
const RECORDER_CAPACITY: usize = 100_000;

/// What an answer is asked for with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AnswerKey {
    Overview { window: i64 },
    Profile { service: String, window: i64 },
}

#[derive(Debug)]
enum Answer {
    Overview(Overview),
    Profile(Result<Option<Profile>, String>),
}

/// Bytes moka spends per entry besides the key and value (see [`Answers::heap_bytes`]).
const ENTRY_OVERHEAD: usize = 160;

impl Answer {
    fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let size = std::mem::size_of::<Cached>();
        size + match self {
            Answer::Overview(ov) => {
                ov.window.capacity()
                    + ov.services.capacity() * size_of::<perf_core::report::ServiceOverview>()
                    + ov.services
                        .iter()
                        .map(|s| s.service.capacity() + s.slo_status.capacity())
                        .sum::<usize>()
                    + ov.views.capacity() * size_of::<perf_core::report::ViewSeries>()
                    + ov.views.iter().map(|v| v.view.capacity()).sum::<usize>()
            }
            Answer::Profile(Ok(Some(p))) => {
                p.service.capacity()
                    + p.window.capacity()
                    + p.operations.capacity() * size_of::<perf_core::report::OperationProfile>()
                    + p.operations
                        .iter()
                        .map(|o| o.operation.capacity())
                        .sum::<usize>()
                    + p.bottlenecks.capacity() * size_of::<perf_core::report::Bottleneck>()
                    + p.bottlenecks
                        .iter()
                        .map(|b| b.operation.capacity() + b.stage.capacity())
                        .sum::<usize>()
            }
            Answer::Profile(Ok(None)) => 0,
            Answer::Profile(Err(e)) => e.capacity(),
        }
    }
}

/// An answer and what it was computed from.
#[derive(Debug)]
struct Cached {
    generation: u64,
    from: i64,
    to: i64,
    answer: Answer,
}

impl Cached {
    fn fresh(&self, generation: u64, w: &Window) -> bool {
        self.generation == generation && self.from == w.from && self.to == w.to
    }
}

/// The answer cache.
pub struct Answers {
    cache: Option<InstrumentedCache<AnswerKey, Arc<Cached>>>,
    recorder: Arc<Recorder>,
    reporter: Mutex<Option<Reporter>>,
}

impl Answers {
    /// A cache of `config.entries` answers (none at 0), its lookups made as `node`.
    pub fn new(config: &AnswerCacheConfig, node: &str) -> Self {
        let recorder = Recorder::new(
            Identity::new(SELF_SERVICE, OPERATION, node),
            RECORDER_CAPACITY,
        );
        let cache = (config.entries > 0).then(|| {
            Builder::new(SPACE)
                .max_capacity(config.entries)
                .build(&recorder)
        });
        Answers {
            cache,
            recorder,
            reporter: Mutex::new(None),
        }
    }

    /// Starts ingesting the lookups into `durable` every second.
    pub fn report_to(&self, durable: Arc<Durable>) {
        let sink = move |batch: &Batch| {
            let events = self_events(&durable, batch);
            durable
                .commit(LogBatch::Events(events))
                .map(|()| 0)
                .map_err(|e| e.to_string())
        };
        let reporter = Reporter::spawn(self.recorder.clone(), sink, Duration::from_secs(1));
        *self.reporter.lock().unwrap_or_else(|p| p.into_inner()) = Some(reporter);
    }

    /// Stops reporting, after sending what is buffered.
    pub fn stop_reporting(&self) {
        let reporter = self
            .reporter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(reporter);
    }

    /// Sends the buffered lookups now (tests).
    pub fn flush(&self) {
        if let Some(r) = &*self.reporter.lock().unwrap_or_else(|p| p.into_inner()) {
            r.flush();
        }
    }

    /// Lookups so far.
    pub fn stats(&self) -> RecorderStats {
        self.recorder.stats()
    }

    /// Entries held, and the most it holds (0 when off).
    pub fn entries(&self) -> (u64, u64) {
        self.cache
            .as_ref()
            .map_or((0, 0), |c| (c.entry_count(), c.max_capacity().unwrap_or(0)))
    }

    /// Heap bytes of the answers held: their strings and vectors, and per entry its key and
    /// moka's bookkeeping (counted as 160 bytes: the entry, its deque node and its
    /// frequency-sketch share, as moka 0.12 lays them out).
    pub fn heap_bytes(&self) -> usize {
        let Some(cache) = &self.cache else {
            return 0;
        };
        cache
            .iter()
            .map(|(key, cached)| {
                let key_bytes = match &*key {
                    AnswerKey::Overview { .. } => 0,
                    AnswerKey::Profile { service, .. } => service.len(),
                };
                ENTRY_OVERHEAD + key_bytes + cached.answer.heap_bytes()
            })
            .sum()
    }

    /// The overview of the last `window` ms at `now` (as [`perf_core::report::overview`]).
    pub fn overview(&self, engine: &Engine, now: i64, window: i64) -> Overview {
        let w = Window::last(now, window, engine.config().resolutions[0].width);
        let Some(cache) = &self.cache else {
            return overview(engine, now, window);
        };
        let cached = lookup(cache, engine, &w, AnswerKey::Overview { window }, || {
            Answer::Overview(overview(engine, now, window))
        });
        match &cached.answer {
            Answer::Overview(ov) => {
                let mut ov = ov.clone();
                ov.rerate(&w);
                ov
            }
            Answer::Profile(_) => unreachable!("an overview key holds an overview"),
        }
    }

    /// The profile of `service` over the last `window` ms at `now` (as
    /// [`perf_core::report::profile`]); `Err` with the reason when it cannot be computed.
    pub fn profile(
        &self,
        engine: &Engine,
        service: &str,
        now: i64,
        window: i64,
    ) -> Result<Option<Profile>, String> {
        let w = Window::last(now, window, engine.config().resolutions[0].width);
        let compute = || profile(engine, service, now, window).map_err(|e| e.to_string());
        let Some(cache) = &self.cache else {
            return compute();
        };
        let key = AnswerKey::Profile {
            service: service.to_string(),
            window,
        };
        let cached = lookup(cache, engine, &w, key, || Answer::Profile(compute()));
        match &cached.answer {
            Answer::Profile(p) => p.clone().map(|p| {
                p.map(|mut p| {
                    p.rerate(&w);
                    p
                })
            }),
            Answer::Overview(_) => unreachable!("a profile key holds a profile"),
        }
    }
}

/// The cached answer of `key` if computed from the engine's current data on `w`'s buckets,
/// else `compute`d now and stored in its place.
fn lookup(
    cache: &InstrumentedCache<AnswerKey, Arc<Cached>>,
    engine: &Engine,
    w: &Window,
    key: AnswerKey,
    compute: impl FnOnce() -> Answer,
) -> Arc<Cached> {
    let generation = engine.generation();
    cache.get_fresh(
        key,
        |c| c.fresh(generation, w),
        || {
            Arc::new(Cached {
                generation,
                from: w.from,
                to: w.to,
                answer: compute(),
            })
        },
    )
}

/// The lookups as events on the engine's clock (under `clock: event`, the engine's now less
/// each lookup's age), keys hashed as at ingest.
fn self_events(durable: &Durable, batch: &Batch) -> Vec<Event> {
    let who = batch.who;
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let engine_now = durable.now();
    let mut events: Vec<Event> = batch
        .accesses
        .iter()
        .map(|a| {
            let ts_ms = match durable.config.server.clock {
                ClockMode::Wall => a.ts_ms,
                ClockMode::Event => engine_now - (wall - a.ts_ms).max(0),
            };
            let mut e = Event::new(ts_ms, &who.service, &who.operation, a.latency_ms);
            e.node = who.node.clone();
            e.class = RequestClass::Read;
            e.cache = Some(if a.hit {
                CacheOutcome::Hit
            } else {
                CacheOutcome::Miss
            });
            e.cache_space = Some(batch.space_of(a).to_string());
            e.cache_key = Some(cache_key_hash(&format!("{:016x}", a.key)));
            e
        })
        .collect();
    if durable.config.privacy.hash_callers {
        crate::privacy::hash_callers(durable.config.privacy.key.as_bytes(), &mut events);
    }
    events
}
