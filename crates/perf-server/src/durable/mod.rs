//! The durable layer: configuration, the engine, the ingest journal, the store, the server's
//! own metrics, the clock, shutdown and the snapshot protocol. It imports no feature module;
//! everything above (effects, control, http) reads and writes through it.
//!
//! The journal and the store are trait objects ([`perf_store::Journal`], [`Store`]): a
//! replicated stream and a PostgreSQL store plug in here without touching anything above.
//!
//! Order of an ingest: decode and validate outside any lock; then, under the engine lock,
//! append the batch to the ingest log and apply it to the engine (so the log order is the
//! apply order) — the cache key samplers last, under their own lock taken before the engine
//! lock is released (`perf_core::cache::SharedCaches`); then wait, without the lock, until the log record is on disk (group
//! commit); only then answer 200. A snapshot serialises the engine together with the last
//! log sequence number it contains, under the same lock, so a restart that loads the
//! snapshot and replays the records after that number counts every acknowledged event
//! exactly once.
//!
//! When the log cannot take a batch (a full disk, or a failed fsync), the batch is neither
//! applied nor acknowledged: the caller gets [`WriteRefused`] (503 with `Retry-After`), the
//! cause is kept for `/readyz` and counted, and the log itself has cut off any partial bytes.
//! With `cluster.nats.url` set, the ingest journal is the replicated stream instead
//! (`stream_ingest`): the batch is published and acknowledged first, and applied by the
//! stream's follower.
//!
//! One process owns a data directory: [`Durable::open`] takes an exclusive lock on
//! `LOCK` inside it, held until the process ends.

pub mod backup;
pub mod clock;
mod cluster_map;
mod data_dir;
mod log_wire;
pub mod metrics;
mod ownership;
mod sliced_snapshot;
mod snapshot_format;
mod stream_ingest;
pub use cluster_map::{ClusterMap, ReplicaView};
pub use stream_ingest::StreamStatus;

pub use clock::{system_now, Clock, ManualClock, SystemClock};

use crate::config::{ClockMode, Config};
use anyhow::Context;
use metrics::Metrics;
use perf_core::model::TimeBounds;
use perf_core::Engine;
use perf_store::{IngestLog, Journal, Snapshot, SqliteStore, Store};
use sliced_snapshot::ReplayFilter;
pub use snapshot_format::LogBatch;
use snapshot_format::{decode_record, decode_restored, encode_snapshot};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// The durable state: what survives a restart, and the protocol that makes it so.
pub struct Durable {
    /// The configuration in force.
    pub config: Config,
    engine: Arc<Mutex<Engine>>,
    ingest: Ingest,
    store: Box<dyn Store>,
    /// Own metrics.
    pub metrics: Metrics,
    clock: Arc<dyn Clock>,
    shutting_down: AtomicBool,
    /// Log size right after the last snapshot.
    log_bytes_at_snapshot: AtomicU64,
    /// Woken when the log grew past `maxLogBytes` since the last snapshot.
    pub snapshot_due: Notify,
    /// Why the last write failed, while it has not succeeded since.
    write_failure: Mutex<Option<String>>,
    /// True while `write_failure` holds a cause (so a successful commit need not lock it).
    write_failed: AtomicBool,
    /// When a refused write was last logged (unix ms), and how many were not since.
    write_failure_logged: AtomicI64,
    write_failures_unlogged: AtomicU64,
    /// The exclusive lock on the data directory (released when the process ends).
    _dir_lock: std::fs::File,
    /// Held while a snapshot is written.
    snapshot_lock: Mutex<()>,
    /// Partition owners and replica URLs as the last ownership round saw them (leases).
    cluster_map: Mutex<ClusterMap>,
    /// This process's name among the replicas (lease holder).
    pub replica_id: String,
    /// Whether this replica writes alerts, webhooks and rollout steps: always when
    /// embedded; with the stream, while it holds the `leader` lease.
    leader: AtomicBool,
    /// Until when (this replica's wall clock) the lease it last renewed runs: a process
    /// paused past it (GC, SIGSTOP, a stalled VM) does not lead on when it wakes.
    leader_until: AtomicI64,
}

/// The configured store: PostgreSQL at `store.url`, else SQLite in the data directory.
fn open_store(config: &Config, dir: &std::path::Path) -> anyhow::Result<Box<dyn Store>> {
    if config.store.url.is_empty() {
        let path = dir.join("perf.db");
        let store =
            SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))?;
        return Ok(Box::new(store));
    }
    let store = perf_store::PostgresStore::open(&config.store.url).with_context(|| {
        format!(
            "opening the store at {}",
            redact_password(&config.store.url)
        )
    })?;
    Ok(Box::new(store))
}

/// `url` with its password, if any, replaced by `***` (for messages and logs).
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Where accepted batches go before they are acknowledged.
enum Ingest {
    /// The local ingest log: appended and applied under the engine lock.
    Local(Box<dyn Journal>),
    /// The cluster's stream: published, acknowledged, applied by its follower.
    Stream(Box<stream_ingest::StreamIngest>),
}

/// The lease whose holder writes alerts, webhooks and rollout steps.
pub const LEADER_LEASE: &str = "leader";

/// A name no other replica has: host, process id and start time.
fn replica_id() -> String {
    let host = rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned();
    format!("{host}-{}-{}", std::process::id(), system_now())
}

/// Free bytes the data directory needs again before `/readyz` reports a full disk as over,
/// at least: room for the largest batch (`maxBodyBytes`) counts too.
const READY_FREE_BYTES: u64 = 1 << 20;

impl Durable {
    /// Opens the data directory on the system clock: loads the snapshot, replays the log tail.
    pub fn open(config: Config) -> anyhow::Result<Durable> {
        Durable::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`Durable::open`] with the given wall clock.
    pub fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Durable> {
        let dir = PathBuf::from(&config.server.data_dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let dir_lock = data_dir::lock(&dir)?;
        let store = open_store(&config, &dir)?;
        let wanted = config.engine_config();
        // The restored snapshot's size sets how many slices the first one taken is cut into
        // (`Metrics::snapshot_bytes`), as a taken one's sets the next.
        let mut restored_bytes = 0;
        let (mut engine, filter) = match store.load_snapshot()? {
            Some(s) => {
                restored_bytes = s.data.len() as u64;
                let restored = decode_restored(&s.data, s.seq)?;
                if restored.engine.config() != &wanted {
                    tracing::warn!("views, resolutions or limits differ from the stored aggregates; they keep their layout until the data directory is renewed");
                }
                let filter = ReplayFilter::sliced(restored.slices, restored.seqs);
                (restored.engine, filter)
            }
            None => (Engine::new(wanted)?, ReplayFilter::whole(0)),
        };
        let after = filter.min_seq();
        engine.set_series_per_tenant(Some(config.server.limits.max_series_per_tenant));
        engine.set_cache_settings(config.cache_sampler_settings());
        if !config.cluster.nats.url.is_empty() {
            if config.store.url.is_empty() {
                tracing::warn!("the ingest stream with the SQLite store: run one replica on this stream; several replicas need store.url (PostgreSQL) to share leadership, or each leads alone");
            }
            // With leases the engine holds the owned partitions only, each loaded from its
            // own snapshot when taken (ownership.rs); a whole-engine snapshot is not used.
            let (engine, after) = if config.cluster.ownership == crate::config::Ownership::Leases {
                let mut fresh = Engine::new(config.engine_config())?;
                fresh.set_series_per_tenant(Some(config.server.limits.max_series_per_tenant));
                fresh.set_cache_settings(config.cache_sampler_settings());
                restored_bytes = 0;
                (fresh, 0)
            } else {
                (engine, after)
            };
            let engine = Arc::new(Mutex::new(engine));
            let stream = stream_ingest::StreamIngest::open(
                &config.cluster.nats,
                config.cluster.ownership,
                config.server.clock,
                &engine,
                after,
            )?;
            {
                let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
                let now = match config.server.clock {
                    ClockMode::Wall => clock.now_ms(),
                    ClockMode::Event => engine.watermark().max(0),
                };
                crate::config::slo::load_definitions(
                    &mut engine,
                    &config.slos,
                    store.as_ref(),
                    now,
                )
                .context("loading SLO definitions")?;
            }
            return Ok(Durable::assemble(
                config,
                engine,
                Ingest::Stream(Box::new(stream)),
                store,
                clock,
                dir_lock,
                restored_bytes,
            ));
        }
        let mut replayed = 0usize;
        let mut bad = None;
        let log = IngestLog::open(&dir.join("log"), after, |seq, payload| match decode_record(
            payload,
        ) {
            Ok((now, LogBatch::Events(events))) => {
                let sent = events.len();
                let events = filter.events(seq, events);
                replayed += events.len();
                engine.ingest(&events, now);
                // The slice that already held them counted them at its own position.
                engine.counters.events += (sent - events.len()) as u64;
            }
            Ok((now, LogBatch::Resources(samples))) => {
                engine.ingest_resources(&filter.resources(seq, samples), now)
            }
            Err(e) => bad = Some(format!("log record {seq}: {e}")),
        })?;
        if let Some(e) = bad {
            anyhow::bail!("the ingest log holds a record this binary cannot read ({e})");
        }
        tracing::info!(
            snapshot_seq = after,
            replayed_events = replayed,
            "aggregates restored"
        );
        let now = match config.server.clock {
            ClockMode::Wall => clock.now_ms(),
            ClockMode::Event => engine.watermark().max(0),
        };
        crate::config::slo::load_definitions(&mut engine, &config.slos, store.as_ref(), now)
            .context("loading SLO definitions")?;
        Ok(Durable::assemble(
            config,
            Arc::new(Mutex::new(engine)),
            Ingest::Local(Box::new(log)),
            store,
            clock,
            dir_lock,
            restored_bytes,
        ))
    }

    /// The layers put together; `restored_bytes` is the size of the snapshot the engine was
    /// restored from (0 when none was used), the last snapshot's size until one is taken.
    fn assemble(
        config: Config,
        engine: Arc<Mutex<Engine>>,
        ingest: Ingest,
        store: Box<dyn Store>,
        clock: Arc<dyn Clock>,
        dir_lock: std::fs::File,
        restored_bytes: u64,
    ) -> Durable {
        let metrics = Metrics::default();
        metrics
            .snapshot_bytes
            .store(restored_bytes, Ordering::Relaxed);
        Durable {
            config,
            engine,
            store,
            metrics,
            clock,
            shutting_down: AtomicBool::new(false),
            log_bytes_at_snapshot: AtomicU64::new(0),
            snapshot_due: Notify::new(),
            write_failure: Mutex::new(None),
            write_failed: AtomicBool::new(false),
            write_failure_logged: AtomicI64::new(i64::MIN / 2),
            write_failures_unlogged: AtomicU64::new(0),
            _dir_lock: dir_lock,
            snapshot_lock: Mutex::new(()),
            cluster_map: Mutex::new(ClusterMap::default()),
            replica_id: replica_id(),
            leader: AtomicBool::new(matches!(ingest, Ingest::Local(_))),
            leader_until: AtomicI64::new(if matches!(ingest, Ingest::Local(_)) {
                i64::MAX
            } else {
                i64::MIN
            }),
            ingest,
        }
    }

    /// True when this replica writes alerts, webhook notifications and rollout steps.
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::Acquire)
            && self.wall_now() < self.leader_until.load(Ordering::Acquire)
    }

    /// Takes or renews the `leader` lease (with the stream only; embedded servers lead
    /// alone). A store that does not answer means stepping down: no leader is better than
    /// two. Blocking.
    pub fn hold_leadership(&self) -> bool {
        if matches!(self.ingest, Ingest::Local(_)) {
            return true;
        }
        let now = self.wall_now();
        let leading = match self.store.acquire_lease(
            LEADER_LEASE,
            &self.replica_id,
            self.config.cluster.lease_ttl,
            now,
        ) {
            Ok(l) if l.holder == self.replica_id && l.expires_at_ms > now => {
                self.leader_until.store(l.expires_at_ms, Ordering::Release);
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(error = %e, "the leader lease could not be renewed; stepping down");
                false
            }
        };
        if self.leader.swap(leading, Ordering::AcqRel) != leading {
            tracing::info!(replica = %self.replica_id, leading, "leadership changed");
        }
        leading
    }

    /// Gives the `leader` lease up (at shutdown), so another replica takes over at once.
    pub fn release_leadership(&self) {
        if matches!(self.ingest, Ingest::Stream(_)) && self.leader.swap(false, Ordering::AcqRel) {
            if let Err(e) = self.store.release_lease(LEADER_LEASE, &self.replica_id) {
                tracing::warn!(error = %e, "the leader lease could not be released; it expires");
            }
        }
    }

    /// Wall-clock now (unix ms) from the injected clock.
    pub fn wall_now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The engine, locked.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine's "now": wall clock, or newest event time under `clock: event`.
    pub fn now(&self) -> i64 {
        match self.config.server.clock {
            ClockMode::Wall => self.clock.now_ms(),
            ClockMode::Event => self.engine().watermark().max(0),
        }
    }

    /// [`Durable::now`] for a caller already holding the engine (under `clock: event` now
    /// reads it, and its lock is not reentrant).
    pub fn now_with(&self, engine: &perf_core::Engine) -> i64 {
        match self.config.server.clock {
            ClockMode::Wall => self.clock.now_ms(),
            ClockMode::Event => engine.watermark().max(0),
        }
    }

    /// The accepted timestamp range for a batch arriving now.
    pub fn bounds(&self) -> TimeBounds {
        let engine = self.engine();
        let retention = engine.config().retention();
        match self.config.server.clock {
            ClockMode::Wall => TimeBounds {
                now_ms: self.clock.now_ms(),
                max_age_ms: retention,
                max_future_ms: engine.config().max_future,
            },
            // Under the event clock "now" is the newest event time, so age is measured from
            // it; the future is still bounded by the wall clock, so that one bogus timestamp
            // cannot move the watermark years ahead and expire everything.
            ClockMode::Event => {
                let wall = self.clock.now_ms();
                let future_limit = wall + engine.config().max_future;
                let w = engine.watermark();
                if w == i64::MIN {
                    TimeBounds {
                        now_ms: wall,
                        max_age_ms: i64::MAX / 4,
                        max_future_ms: engine.config().max_future,
                    }
                } else {
                    TimeBounds {
                        now_ms: w,
                        max_age_ms: retention,
                        max_future_ms: (future_limit - w).max(0),
                    }
                }
            }
        }
    }

    /// Logs and applies a batch, then waits until it is durable. Blocking: call it from
    /// `spawn_blocking`.
    pub fn commit(&self, batch: LogBatch) -> anyhow::Result<()> {
        self.commit_once(batch, None)
    }

    /// [`Durable::commit`]; with the cluster's stream, a batch committed again with the same
    /// `id` (a client's retry, within `cluster.nats.duplicateWindow`) is stored once. The
    /// local log has no such window: there `id` is ignored.
    pub fn commit_once(&self, batch: LogBatch, id: Option<&str>) -> anyhow::Result<()> {
        if self.is_shutting_down() {
            anyhow::bail!(ShuttingDown);
        }
        // Counted here, not by the HTTP handler, so every writer (the demo's simulator, the
        // offline go-live replay) shows on `/metrics` like an HTTP client.
        let (counter, n) = match &batch {
            LogBatch::Events(e) => (&self.metrics.events_accepted, e.len()),
            LogBatch::Resources(r) => (&self.metrics.resources_accepted, r.len()),
        };
        self.commit_batch(batch, id)?;
        counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }

    fn commit_batch(&self, batch: LogBatch, id: Option<&str>) -> anyhow::Result<()> {
        let log = match &self.ingest {
            Ingest::Local(log) => log,
            Ingest::Stream(stream) => return self.publish(stream, batch, id),
        };
        // 8 bytes for the engine time of the batch, written under the lock.
        let mut payload =
            postcard::to_extend(&batch, vec![0u8; 8]).context("encoding the batch")?;
        let seq = {
            let mut engine = self.engine();
            let now = match (&batch, self.config.server.clock) {
                (_, ClockMode::Wall) => self.clock.now_ms(),
                (LogBatch::Events(e), ClockMode::Event) => e
                    .iter()
                    .map(|e| e.ts_ms)
                    .max()
                    .unwrap_or(0)
                    .max(engine.watermark()),
                (LogBatch::Resources(r), ClockMode::Event) => r
                    .iter()
                    .map(|r| r.ts_ms)
                    .max()
                    .unwrap_or(0)
                    .max(engine.watermark()),
            };
            payload[..8].copy_from_slice(&now.to_le_bytes());
            let seq = log.append(&payload).map_err(|e| self.write_refused(e))?;
            match &batch {
                LogBatch::Events(events) => {
                    engine.ingest_views(events, now);
                    // The cache key samplers after the engine lock, hand over hand: their
                    // lock is taken before the engine's is let go, so batches reach them in
                    // log order and a snapshot (engine, then samplers) sees both at the same
                    // batch, while the next batch's views apply meanwhile.
                    let handle = engine.cache_handle();
                    let mut samplers = handle.lock();
                    drop(engine);
                    samplers.record(events);
                }
                LogBatch::Resources(samples) => engine.ingest_resources(samples, now),
            }
            seq
        };
        log.wait_durable(seq).map_err(|e| self.write_refused(e))?;
        if self.write_failed.swap(false, Ordering::Relaxed) {
            *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let since = log
            .bytes()
            .saturating_sub(self.log_bytes_at_snapshot.load(Ordering::Relaxed));
        if since > self.config.server.limits.max_log_bytes {
            self.snapshot_due.notify_one();
        }
        Ok(())
    }

    /// Publishes a batch to the cluster's stream, waits for JetStream's acknowledgements and
    /// then (bounded by the request timeout) for this replica to have applied it.
    fn publish(
        &self,
        stream: &stream_ingest::StreamIngest,
        batch: LogBatch,
        id: Option<&str>,
    ) -> anyhow::Result<()> {
        let now = match (&batch, self.config.server.clock) {
            (_, ClockMode::Wall) => self.clock.now_ms(),
            (LogBatch::Events(e), ClockMode::Event) => e.iter().map(|e| e.ts_ms).max().unwrap_or(0),
            (LogBatch::Resources(r), ClockMode::Event) => {
                r.iter().map(|r| r.ts_ms).max().unwrap_or(0)
            }
        };
        let parts = stream.split(batch, now)?;
        let stored = stream
            .stream
            .publish(parts, id)
            .map_err(|e| self.write_refused(e))?;
        if self.write_failed.swap(false, Ordering::Relaxed) {
            *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let wait = std::time::Duration::from_millis(
            self.config.server.limits.request_timeout.max(0) as u64,
        );
        if !stream.wait_applied(&stored, wait) {
            tracing::warn!(
                ?stored,
                "an acknowledged batch is not applied yet; it will be, reads may not show it"
            );
        }
        Ok(())
    }

    /// Records why the log refused a batch and turns it into the caller's answer.
    fn write_refused(&self, e: perf_store::StoreError) -> anyhow::Error {
        let (cause, retry_after_s) = if e.is_disk_full() {
            ("disk_full", 30)
        } else if matches!(e, perf_store::StoreError::Stream(_)) {
            ("stream", 5)
        } else if matches!(e, perf_store::StoreError::LogFailed(_)) {
            ("log_failed", 60)
        } else {
            ("io", 10)
        };
        self.metrics.write_failed(cause);
        let message = format!("{e}");
        // One line per 10 s at most: a full disk refuses every batch, and a log line per
        // batch would flood the logs (often on the same disk).
        let now = system_now();
        let last = self.write_failure_logged.load(Ordering::Relaxed);
        if now - last >= 10_000
            && self
                .write_failure_logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            let suppressed = self.write_failures_unlogged.swap(0, Ordering::Relaxed);
            tracing::error!(cause, error = %message, data_dir = %self.config.server.data_dir, refused_since_last_line = suppressed, "a batch was refused: the ingest log or stream could not store it (nothing of it was applied)");
        } else {
            self.write_failures_unlogged.fetch_add(1, Ordering::Relaxed);
        }
        *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.clone());
        self.write_failed.store(true, Ordering::Relaxed);
        anyhow::Error::new(WriteRefused {
            message,
            retry_after_s,
        })
    }

    /// `Ok` when the server can take writes; otherwise why not. Reads only: after a refused
    /// write it is ready again once there is room for the largest batch, and the cause is
    /// cleared by the next write that succeeds.
    pub fn readiness(&self) -> Result<(), String> {
        if self.is_shutting_down() {
            return Err("the server is shutting down".into());
        }
        if !self.store_ready() {
            return Err("the store does not answer".into());
        }
        let log = match &self.ingest {
            Ingest::Local(log) => log,
            Ingest::Stream(stream) => {
                if let Some(why) = stream.failure() {
                    return Err(format!(
                        "the aggregates no longer follow the ingest stream ({why}); restart the server"
                    ));
                }
                if !stream.stream.connected() {
                    return Err("not connected to NATS".into());
                }
                return Ok(());
            }
        };
        if let Some(why) = log.failure() {
            return Err(format!(
                "the ingest log takes no more records after a failed {why}; restart the server"
            ));
        }
        let failure = self.write_failure.lock().unwrap_or_else(|p| p.into_inner());
        let Some(why) = failure.as_ref() else {
            return Ok(());
        };
        let room = READY_FREE_BYTES.max(self.config.server.limits.max_body_bytes as u64);
        match log.available_bytes() {
            Ok(free) if free >= room => Ok(()),
            _ => Err(format!("the last write failed: {why}")),
        }
    }

    /// Writes a snapshot of the aggregates and drops the log segments it covers. With the
    /// local log it is taken in slices of services, each under a short hold of the engine
    /// lock (sliced_snapshot.rs).
    pub fn snapshot(&self) -> anyhow::Result<()> {
        self.snapshot_with(false)
    }

    /// A snapshot taken whole under one hold of the engine lock, every slice at the same log
    /// position: what a backup needs, which carries no log to replay.
    pub fn snapshot_whole(&self) -> anyhow::Result<()> {
        self.snapshot_with(true)
    }

    fn snapshot_with(&self, whole: bool) -> anyhow::Result<()> {
        // One at a time: the periodic loop, a backup and shutdown may ask together, and two
        // rotations and removals must not interleave.
        let _one = self.snapshot_lock.lock().unwrap_or_else(|p| p.into_inner());
        let log = match &self.ingest {
            Ingest::Local(log) => log,
            Ingest::Stream(stream) if stream.by_lease() => {
                return self.snapshot_partitions(stream);
            }
            Ingest::Stream(stream) => {
                // The follower writes `applied` under the engine lock: read together, the
                // aggregates hold exactly the records up to it.
                let (seq, data, taken_at_ms) = {
                    let engine = self.engine();
                    let data = encode_snapshot(&engine)?;
                    (stream.applied_all().unwrap_or(0), data, engine.watermark())
                };
                let bytes = data.len() as u64;
                self.store.save_snapshot(&Snapshot {
                    seq,
                    taken_at_ms,
                    data,
                })?;
                self.metrics.snapshot_bytes.store(bytes, Ordering::Relaxed);
                self.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
        };
        // Each slice goes to the store as it is encoded; the snapshot becomes current only
        // once every record it includes is durable (a crash before leaves the previous one).
        let mut writer = perf_store::SnapshotWriter::begin(&*self.store)?;
        let taken = sliced_snapshot::take(
            &self.engine,
            || log.last_seq(),
            whole,
            self.metrics.snapshot_bytes.load(Ordering::Relaxed),
            |bytes| Ok(writer.write(bytes)?),
        )?;
        self.metrics
            .snapshot_longest_hold_us
            .store(taken.longest_hold.as_micros() as u64, Ordering::Relaxed);
        log.wait_durable(taken.max_seq)?;
        writer.finish(taken.min_seq, taken.taken_at_ms)?;
        self.metrics
            .snapshot_bytes
            .store(taken.bytes, Ordering::Relaxed);
        log.rotate()?;
        log.remove_through(taken.min_seq)?;
        self.log_bytes_at_snapshot
            .store(log.bytes(), Ordering::Relaxed);
        self.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
        self.prune_alert_history();
        Ok(())
    }

    /// Deletes alert history past `alerting.historyRetention` (with each snapshot: often
    /// enough, and never on the ingest path). A failure is logged, not fatal.
    fn prune_alert_history(&self) {
        let before = self.now() - self.config.alerting.history_retention;
        if let Err(e) = self.store.prune_alerts(before) {
            tracing::warn!(error = %e, "pruning the alert history failed");
        }
    }

    /// How this replica stores and ingests: `GET /v1/cluster`. Blocking (asks NATS).
    pub fn cluster_status(&self) -> ClusterStatus {
        ClusterStatus {
            replica_id: self.replica_id.clone(),
            leader: self.is_leader(),
            leases: self
                .store
                .leases()
                .unwrap_or_default()
                .into_iter()
                .map(|l| LeaseView {
                    name: l.name,
                    holder: l.holder,
                    epoch: l.epoch,
                    expires_at_ms: l.expires_at_ms,
                })
                .collect(),
            mode: match &self.ingest {
                Ingest::Local(_) => "embedded",
                Ingest::Stream(_) => "stream",
            },
            store: if self.config.store.url.is_empty() {
                "sqlite"
            } else {
                "postgres"
            },
            stream: match &self.ingest {
                Ingest::Local(_) => None,
                Ingest::Stream(s) => Some(s.status()),
            },
            replicas: self.replica_views(),
        }
    }

    /// Stops accepting writes (ingest answers 503 from now on).
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// True once shutdown began.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Bytes in the ingest log.
    pub fn log_bytes(&self) -> u64 {
        match &self.ingest {
            Ingest::Local(log) => log.bytes(),
            Ingest::Stream(_) => 0,
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Schema version of the store (readiness check).
    pub fn store_ready(&self) -> bool {
        self.store.schema_version().is_ok()
    }
}

/// How a replica stores and ingests.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct ClusterStatus {
    /// This replica's name (lease holder).
    pub replica_id: String,
    /// Whether it writes alerts, webhook notifications and rollout steps now.
    pub leader: bool,
    /// The leases in the store (the leader's; partition owners later).
    pub leases: Vec<LeaseView>,
    /// `embedded` (local ingest log) or `stream` (the cluster's NATS JetStream stream).
    pub mode: &'static str,
    /// `sqlite` or `postgres`.
    pub store: &'static str,
    /// The ingest stream, in stream mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamStatus>,
    /// With `ownership: leases`: the replicas owning partitions, where they answer and what
    /// they own (as the last ownership round saw it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaView>,
}

/// A lease as `GET /v1/cluster` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct LeaseView {
    /// e.g. `leader`.
    pub name: String,
    /// Replica id of the holder.
    pub holder: String,
    /// Grows with every change of holder.
    pub epoch: i64,
    /// Until when (unix ms).
    pub expires_at_ms: i64,
}

/// A batch the ingest log could not store (full disk, failed sync): answer 503 with
/// `Retry-After`; nothing of it was applied.
#[derive(Debug, thiserror::Error)]
#[error("the batch was not stored: {message}")]
pub struct WriteRefused {
    /// The cause, for the client.
    pub message: String,
    /// Seconds after which a retry may succeed.
    pub retry_after_s: u64,
}

/// The error of a write refused during shutdown.
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub struct ShuttingDown;
