//! Shared server state and the durability protocol around the engine.
//!
//! Order of an ingest: decode and validate outside any lock; then, under the engine lock,
//! append the batch to the ingest log and apply it to the engine (so the log order is the
//! apply order); then wait, without the lock, until the log record is on disk (group
//! commit); only then answer 200. A snapshot serialises the engine together with the last
//! log sequence number it contains, under the same lock, so a restart that loads the
//! snapshot and replays the records after that number counts every acknowledged event
//! exactly once.
//!
//! When the log cannot take a batch (a full disk, or a failed fsync), the batch is neither
//! applied nor acknowledged: the caller gets [`WriteRefused`] (503 with `Retry-After`), the
//! cause is kept for `/readyz` and counted, and the log itself has cut off any partial bytes.
//! One process owns a data directory: [`AppState::open`] takes an exclusive lock on
//! `LOCK` inside it, held until the process ends.

use crate::config::{ClockMode, Config};
use crate::metrics::Metrics;
use anyhow::Context;
use perf_core::model::TimeBounds;
use perf_core::{Engine, Event, ResourceSample};
use perf_store::{IngestLog, Snapshot, SqliteStore, Store};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, Notify};

/// What one ingest-log record holds.
#[derive(Debug, Serialize, Deserialize)]
pub enum LogBatch {
    /// Validated events.
    Events(Vec<Event>),
    /// Validated resource samples.
    Resources(Vec<ResourceSample>),
}

/// Everything handlers share.
pub struct AppState {
    /// The configuration in force.
    pub config: Config,
    engine: Mutex<Engine>,
    log: IngestLog,
    store: Box<dyn Store>,
    /// Own metrics.
    pub metrics: Metrics,
    /// Typed JSON envelopes for `/v1/stream`.
    pub bus: broadcast::Sender<Arc<str>>,
    shutting_down: AtomicBool,
    /// Log size right after the last snapshot.
    log_bytes_at_snapshot: AtomicU64,
    /// Woken when the log grew past `maxLogBytes` since the last snapshot.
    pub snapshot_due: Notify,
    /// SLO statuses of the last evaluation cycle.
    pub slo_statuses: std::sync::RwLock<Option<Vec<perf_core::slo::SloStatus>>>,
    /// Tenant isolation hysteresis.
    pub tenant_states: Mutex<std::collections::BTreeMap<String, perf_core::tenant::IsolationState>>,
    /// Wall-clock source (tests pin it).
    pub wall_clock: fn() -> i64,
    /// Services whose regression alert is firing.
    pub regressions_firing: Mutex<std::collections::BTreeSet<String>>,
    /// Serialises rollout evaluations (read, decide, store).
    pub rollout_lock: Mutex<()>,
    /// Services whose headroom alert is firing.
    pub capacity_firing: Mutex<std::collections::BTreeSet<String>>,
    /// Anomaly detectors over the views, and their incidents.
    pub anomaly_monitor: Mutex<perf_core::anomaly::online::Monitor>,
    /// Routing weights with their memory (smoothing, slow start).
    pub balancer: Mutex<perf_core::routing::Balancer>,
    /// Degradation ladders, concurrency limits and policy contexts per service.
    pub policy: Mutex<crate::policy::PolicyState>,
    /// Callers whose risk alert is firing.
    pub risk_firing: Mutex<std::collections::BTreeSet<String>>,
    /// Gzip bodies being decompressed (`server.limits.maxConcurrentDecompressions`).
    pub decompressions: Arc<tokio::sync::Semaphore>,
    /// Why the last write failed, while it has not succeeded since.
    write_failure: Mutex<Option<String>>,
    /// True while `write_failure` holds a cause (so a successful commit need not lock it).
    write_failed: AtomicBool,
    /// When a refused write was last logged (unix ms), and how many were not since.
    write_failure_logged: AtomicI64,
    write_failures_unlogged: AtomicU64,
    /// The exclusive lock on the data directory (released when the process ends).
    _dir_lock: std::fs::File,
}

/// Free bytes the data directory needs again before `/readyz` reports a full disk as over,
/// at least: room for the largest batch (`maxBodyBytes`) counts too.
const READY_FREE_BYTES: u64 = 1 << 20;

/// Milliseconds since the Unix epoch.
pub fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl AppState {
    /// Opens the data directory: loads the snapshot, replays the log tail.
    pub fn open(config: Config) -> anyhow::Result<Arc<AppState>> {
        let dir = PathBuf::from(&config.server.data_dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let dir_lock = lock_data_dir(&dir)?;
        let store = SqliteStore::open(&dir.join("perf.db"))
            .with_context(|| format!("opening {}", dir.join("perf.db").display()))?;
        let wanted = config.engine_config();
        let (mut engine, after) = match store.load_snapshot()? {
            Some(s) => {
                let engine = decode_snapshot(&s.data)?;
                if engine.config() != &wanted {
                    tracing::warn!("views, resolutions or limits differ from the stored aggregates; they keep their layout until the data directory is renewed");
                }
                (engine, s.seq)
            }
            None => (Engine::new(wanted)?, 0),
        };
        engine.set_series_per_tenant(Some(config.server.limits.max_series_per_tenant));
        let mut replayed = 0usize;
        let mut bad = None;
        let log = IngestLog::open(&dir.join("log"), after, |seq, payload| match decode_record(
            payload,
        ) {
            Ok((now, LogBatch::Events(events))) => {
                replayed += events.len();
                engine.ingest(&events, now);
            }
            Ok((now, LogBatch::Resources(samples))) => engine.ingest_resources(&samples, now),
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
        crate::slos::load_definitions(&mut engine, &config.slos, &store)
            .context("loading SLO definitions")?;
        let (bus, _) = broadcast::channel(1024);
        let decompressions = Arc::new(tokio::sync::Semaphore::new(
            config.server.limits.max_concurrent_decompressions,
        ));
        Ok(Arc::new(AppState {
            config,
            engine: Mutex::new(engine),
            log,
            store: Box::new(store),
            metrics: Metrics::default(),
            bus,
            shutting_down: AtomicBool::new(false),
            log_bytes_at_snapshot: AtomicU64::new(0),
            snapshot_due: Notify::new(),
            slo_statuses: std::sync::RwLock::new(None),
            tenant_states: Mutex::new(Default::default()),
            wall_clock: system_now,
            regressions_firing: Mutex::new(Default::default()),
            rollout_lock: Mutex::new(()),
            capacity_firing: Mutex::new(Default::default()),
            balancer: Mutex::new(perf_core::routing::Balancer::new()),
            policy: Mutex::new(Default::default()),
            risk_firing: Mutex::new(Default::default()),
            write_failure: Mutex::new(None),
            write_failed: AtomicBool::new(false),
            write_failure_logged: AtomicI64::new(i64::MIN / 2),
            write_failures_unlogged: AtomicU64::new(0),
            decompressions,
            _dir_lock: dir_lock,
            anomaly_monitor: Mutex::new(perf_core::anomaly::online::Monitor::new(
                Default::default(),
            )),
        }))
    }

    /// The engine, locked.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine's "now": wall clock, or newest event time under `clock: event`.
    pub fn now(&self) -> i64 {
        match self.config.server.clock {
            ClockMode::Wall => (self.wall_clock)(),
            ClockMode::Event => self.engine().watermark().max(0),
        }
    }

    /// The accepted timestamp range for a batch arriving now.
    pub fn bounds(&self) -> TimeBounds {
        let engine = self.engine();
        let retention = engine.config().retention();
        match self.config.server.clock {
            ClockMode::Wall => TimeBounds {
                now_ms: (self.wall_clock)(),
                max_age_ms: retention,
                max_future_ms: engine.config().max_future,
            },
            // Under the event clock "now" is the newest event time, so age is measured from
            // it; the future is still bounded by the wall clock, so that one bogus timestamp
            // cannot move the watermark years ahead and expire everything.
            ClockMode::Event => {
                let wall = (self.wall_clock)();
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
        if self.is_shutting_down() {
            anyhow::bail!(ShuttingDown);
        }
        // 8 bytes for the engine time of the batch, written under the lock.
        let mut payload =
            postcard::to_extend(&batch, vec![0u8; 8]).context("encoding the batch")?;
        let seq = {
            let mut engine = self.engine();
            let now = match (&batch, self.config.server.clock) {
                (_, ClockMode::Wall) => (self.wall_clock)(),
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
            let seq = self
                .log
                .append(&payload)
                .map_err(|e| self.write_refused(e))?;
            match &batch {
                LogBatch::Events(events) => engine.ingest(events, now),
                LogBatch::Resources(samples) => engine.ingest_resources(samples, now),
            }
            seq
        };
        self.log
            .wait_durable(seq)
            .map_err(|e| self.write_refused(e))?;
        if self.write_failed.swap(false, Ordering::Relaxed) {
            *self.write_failure.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
        let since = self
            .log
            .bytes()
            .saturating_sub(self.log_bytes_at_snapshot.load(Ordering::Relaxed));
        if since > self.config.server.limits.max_log_bytes {
            self.snapshot_due.notify_one();
        }
        Ok(())
    }

    /// Records why the log refused a batch and turns it into the caller's answer.
    fn write_refused(&self, e: perf_store::StoreError) -> anyhow::Error {
        let (cause, retry_after_s) = if e.is_disk_full() {
            ("disk_full", 30)
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
            tracing::error!(cause, error = %message, data_dir = %self.config.server.data_dir, refused_since_last_line = suppressed, "a batch was refused: the ingest log could not store it (nothing of it was applied)");
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
        if let Some(why) = self.log.failure() {
            return Err(format!(
                "the ingest log takes no more records after a failed {why}; restart the server"
            ));
        }
        let failure = self.write_failure.lock().unwrap_or_else(|p| p.into_inner());
        let Some(why) = failure.as_ref() else {
            return Ok(());
        };
        let room = READY_FREE_BYTES.max(self.config.server.limits.max_body_bytes as u64);
        match self.log.available_bytes() {
            Ok(free) if free >= room => Ok(()),
            _ => Err(format!("the last write failed: {why}")),
        }
    }

    /// Writes a snapshot of the aggregates and drops the log segments it covers.
    pub fn snapshot(&self) -> anyhow::Result<()> {
        let (seq, data, taken_at_ms) = {
            let engine = self.engine();
            let data = encode_snapshot(&engine)?;
            (self.log.last_seq(), data, engine.watermark())
        };
        self.log.wait_durable(seq)?;
        self.store.save_snapshot(&Snapshot {
            seq,
            taken_at_ms,
            data,
        })?;
        self.log.rotate()?;
        self.log.remove_through(seq)?;
        self.log_bytes_at_snapshot
            .store(self.log.bytes(), Ordering::Relaxed);
        self.metrics.snapshots.fetch_add(1, Ordering::Relaxed);
        Ok(())
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
        self.log.bytes()
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

/// Takes the exclusive lock on a data directory, or says which process holds it.
fn lock_data_dir(dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    use std::io::{Read, Seek, Write};
    let path = dir.join("LOCK");
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            anyhow::bail!(
                "the data directory {} is in use by another ecosystem-perf process{}; stop it, or give this one its own --data-dir",
                dir.display(),
                match holder.trim() {
                    "" => String::new(),
                    pid => format!(" (pid {pid})"),
                }
            );
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    Ok(file)
}

/// The error of a write refused during shutdown.
#[derive(Debug, thiserror::Error)]
#[error("the server is shutting down")]
pub struct ShuttingDown;

/// Format of the snapshot bytes: a little-endian `u32` version, then the postcard engine.
/// Postcard is positional, so any change to the engine's serialised fields must bump it.
const SNAPSHOT_FORMAT: u32 = 3;

fn encode_snapshot(engine: &Engine) -> anyhow::Result<Vec<u8>> {
    postcard::to_extend(engine, SNAPSHOT_FORMAT.to_le_bytes().to_vec())
        .context("encoding the snapshot")
}

fn decode_snapshot(data: &[u8]) -> anyhow::Result<Engine> {
    anyhow::ensure!(data.len() >= 4, "the aggregate snapshot is truncated");
    let format = u32::from_le_bytes(data[..4].try_into()?);
    anyhow::ensure!(
        format == SNAPSHOT_FORMAT,
        "the aggregate snapshot has format {format}, this binary reads format {SNAPSHOT_FORMAT}; start the version that wrote it, or move the data directory away to start empty"
    );
    let mut engine: Engine =
        postcard::from_bytes(&data[4..]).context("decoding the aggregate snapshot")?;
    engine.after_load();
    Ok(engine)
}

fn decode_record(payload: &[u8]) -> anyhow::Result<(i64, LogBatch)> {
    anyhow::ensure!(payload.len() >= 8, "record too short");
    let now = i64::from_le_bytes(payload[..8].try_into()?);
    Ok((now, postcard::from_bytes(&payload[8..])?))
}
