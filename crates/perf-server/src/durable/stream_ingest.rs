//! Ingest through the cluster's NATS JetStream stream (`cluster.nats.url` set) instead of
//! the local log.
//!
//! Order of an ingest in this mode: decode and validate; split the batch by partition
//! (`hash(service) mod P`), each part a log record of its own with the batch's engine time;
//! publish the parts and wait for JetStream's acknowledgements (the batch is durable on a
//! quorum of the stream's replicas); then wait, bounded by the request timeout, until this
//! replica's followers of those partitions have applied them, so a read after the answer
//! sees the batch. Only followers apply records to the engine, in stream order, and each
//! records the stream sequence of the last one it applied *under the engine lock*: a
//! snapshot taken under that lock holds exactly the records up to its sequence, and a
//! restart replays the stream after it — every acknowledged event counted once, whatever
//! the data directory holds.
//!
//! With `cluster.ownership: all` one follower applies every partition, and the whole engine
//! is snapshotted with its sequence. With `leases` each owned partition has a follower of
//! its own that starts from that partition's snapshot (see `ownership.rs`); the engine holds
//! the owned partitions' services only.

use super::snapshot_format::{decode_record, LogBatch};
use crate::config::{ClockMode, NatsConfig};
use anyhow::Context;
use perf_core::Engine;
use perf_store::stream::{partition_of, Follower};
use perf_store::{EventStream, StreamConfig};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The ingest stream as `GET /v1/cluster` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[derive(utoipa::ToSchema)]
pub struct StreamStatus {
    /// Stream name.
    pub stream: String,
    /// Partitions.
    pub partitions: u32,
    /// Copies JetStream keeps of each record.
    pub replicas: usize,
    /// `all` or `leases`.
    pub ownership: crate::config::Ownership,
    /// Connected to a NATS server now.
    pub connected: bool,
    /// The last stream sequence applied to this replica's aggregates (with `leases`, the
    /// highest among its partitions).
    pub applied_sequence: u64,
    /// The stream's last sequence (absent when NATS does not answer).
    pub last_sequence: Option<u64>,
    /// Records stored but not applied here yet (with `leases`, of the owned partitions).
    pub lag_records: Option<u64>,
    /// Why the stream's state is unknown, or why a follower stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Partitions this replica applies.
    pub owned_partitions: Vec<u32>,
}

/// One partition this replica applies (with `leases`).
pub(super) struct OwnedPartition {
    follower: Follower,
    /// The epoch of the partition's lease when it was taken (written with its snapshots).
    pub epoch: i64,
    /// Written under the engine lock by the follower.
    applied: Arc<AtomicU64>,
}

/// Who applies the stream here.
enum Followers {
    /// One follower of every partition (`ownership: all`).
    All {
        follower: Arc<Follower>,
        applied: Arc<AtomicU64>,
    },
    /// A follower per owned partition (`ownership: leases`).
    Owned(BTreeMap<u32, Arc<OwnedPartition>>),
}

/// The stream and its followers.
pub(super) struct StreamIngest {
    pub stream: EventStream,
    clock: ClockMode,
    engine: Arc<Mutex<Engine>>,
    followers: Mutex<Followers>,
}

/// The `StreamConfig` of the `cluster.nats` section.
fn stream_config(nats: &NatsConfig) -> StreamConfig {
    StreamConfig {
        url: nats.url.clone(),
        stream: nats.stream.clone(),
        partitions: nats.partitions,
        replicas: nats.replicas,
        max_age_ms: nats.max_age,
        duplicate_window_ms: nats.duplicate_window,
    }
}

/// Applies one record to the engine and records its sequence, under the engine lock.
fn applier(
    engine: &Arc<Mutex<Engine>>,
    clock: ClockMode,
    applied: &Arc<AtomicU64>,
) -> perf_store::stream::Apply {
    let (engine, seen) = (Arc::clone(engine), Arc::clone(applied));
    Box::new(move |seq: u64, payload: &[u8]| {
        let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
        match decode_record(payload) {
            Ok((now, batch)) => {
                let now = match clock {
                    ClockMode::Wall => now,
                    ClockMode::Event => now.max(engine.watermark()),
                };
                match batch {
                    LogBatch::Events(events) => engine.ingest(&events, now),
                    LogBatch::Resources(samples) => engine.ingest_resources(&samples, now),
                }
            }
            Err(e) => {
                tracing::error!(seq, error = %e, "a stream record this binary cannot read was skipped")
            }
        }
        seen.store(seq, Ordering::Release);
    })
}

impl StreamIngest {
    /// Connects. With `ownership: all`, replays everything after `after` into `engine` and
    /// keeps following every partition; with `leases`, follows nothing until partitions
    /// are taken.
    pub fn open(
        nats: &NatsConfig,
        ownership: crate::config::Ownership,
        clock: ClockMode,
        engine: &Arc<Mutex<Engine>>,
        after: u64,
    ) -> anyhow::Result<StreamIngest> {
        let stream = EventStream::connect(stream_config(nats))
            .with_context(|| format!("opening the ingest stream at {}", nats.url))?;
        let followers = match ownership {
            crate::config::Ownership::All => {
                let applied = Arc::new(AtomicU64::new(after));
                let follower = stream
                    .follow(None, after, applier(engine, clock, &applied))
                    .context("replaying the ingest stream after the snapshot")?;
                tracing::info!(
                    snapshot_seq = after,
                    applied_seq = follower.applied(),
                    "aggregates restored from the ingest stream"
                );
                Followers::All {
                    follower: Arc::new(follower),
                    applied,
                }
            }
            crate::config::Ownership::Leases => Followers::Owned(BTreeMap::new()),
        };
        Ok(StreamIngest {
            stream,
            clock,
            engine: Arc::clone(engine),
            followers: Mutex::new(followers),
        })
    }

    fn followers(&self) -> std::sync::MutexGuard<'_, Followers> {
        self.followers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True with `ownership: leases`.
    pub fn by_lease(&self) -> bool {
        matches!(*self.followers(), Followers::Owned(_))
    }

    /// The partition of a service.
    pub fn partition(&self, service: &str) -> u32 {
        partition_of(service, self.stream.config().partitions)
    }

    /// The sequence the whole engine holds (`ownership: all`); read under the engine lock.
    pub fn applied_all(&self) -> Option<u64> {
        match &*self.followers() {
            Followers::All { applied, .. } => Some(applied.load(Ordering::Acquire)),
            Followers::Owned(_) => None,
        }
    }

    /// The owned partitions with their lease epochs and applied sequences (read them under
    /// the engine lock for a consistent snapshot).
    pub fn owned(&self) -> Vec<(u32, i64, u64)> {
        match &*self.followers() {
            Followers::All { .. } => Vec::new(),
            Followers::Owned(map) => map
                .iter()
                .map(|(p, o)| (*p, o.epoch, o.applied.load(Ordering::Acquire)))
                .collect(),
        }
    }

    /// Starts applying partition `p` (its lease just taken with `epoch`): its services'
    /// state from `snapshot` (an engine extract holding the records up to `after`) goes into
    /// the engine, then a follower replays the partition after `after` and keeps following.
    /// Blocking until caught up.
    pub fn take(
        &self,
        p: u32,
        epoch: i64,
        snapshot: Option<Engine>,
        after: u64,
    ) -> anyhow::Result<()> {
        let parts = self.stream.config().partitions;
        let mine = move |s: &str| partition_of(s, parts) == p;
        {
            let mut engine = self.engine.lock().unwrap_or_else(|e| e.into_inner());
            engine.forget_services(mine);
            if let Some(snap) = snapshot {
                engine
                    .absorb(&snap, mine)
                    .with_context(|| format!("loading partition {p}'s snapshot"))?;
            }
        }
        let applied = Arc::new(AtomicU64::new(after));
        let follower = self
            .stream
            .follow(Some(p), after, applier(&self.engine, self.clock, &applied))
            .with_context(|| format!("replaying partition {p} after sequence {after}"))?;
        if let Followers::Owned(map) = &mut *self.followers() {
            map.insert(
                p,
                Arc::new(OwnedPartition {
                    follower,
                    epoch,
                    applied,
                }),
            );
        }
        Ok(())
    }

    /// Stops applying partition `p`: its follower stops (waiting for a record being
    /// applied), then, under the engine lock, its services' state is extracted with the
    /// sequence it holds and forgotten. Answers (epoch, sequence, extract) for the final
    /// snapshot, or `None` when `p` was not owned.
    pub fn give_up(&self, p: u32) -> Option<(i64, u64, Engine)> {
        let owned = match &mut *self.followers() {
            Followers::Owned(map) => map.remove(&p)?,
            Followers::All { .. } => return None,
        };
        owned.follower.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !owned.follower.is_stopped() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let parts = self.stream.config().partitions;
        let mine = move |s: &str| partition_of(s, parts) == p;
        let mut engine = self.engine.lock().unwrap_or_else(|e| e.into_inner());
        let extract = engine.extract(mine);
        engine.forget_services(mine);
        Some((owned.epoch, owned.applied.load(Ordering::Acquire), extract))
    }

    /// Waits, bounded by `timeout`, until this replica applied the `stored` parts
    /// (partition, sequence) it follows; false when one is still missing.
    pub fn wait_applied(&self, stored: &[(u32, u64)], timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(std::time::Instant::now());
        enum Wait {
            All(Arc<Follower>, u64),
            Each(Vec<(Arc<OwnedPartition>, u64)>),
        }
        let wait = match &*self.followers() {
            Followers::All { follower, .. } => Wait::All(
                Arc::clone(follower),
                stored.iter().map(|s| s.1).max().unwrap_or(0),
            ),
            Followers::Owned(map) => Wait::Each(
                stored
                    .iter()
                    .filter_map(|(p, seq)| map.get(p).map(|o| (Arc::clone(o), *seq)))
                    .collect(),
            ),
        };
        match wait {
            Wait::All(follower, seq) => follower.wait_applied(seq, left()),
            Wait::Each(each) => each
                .iter()
                .all(|(o, seq)| o.follower.wait_applied(*seq, left())),
        }
    }

    /// Why a follower stopped for good, if one did.
    pub fn failure(&self) -> Option<String> {
        match &*self.followers() {
            Followers::All { follower, .. } => follower.failure(),
            Followers::Owned(map) => map.iter().find_map(|(p, o)| {
                o.follower
                    .failure()
                    .map(|why| format!("partition {p}: {why}"))
            }),
        }
    }

    /// Where the followers stand (asks NATS for the stream's end, and with `leases` for the
    /// last record of each owned partition).
    pub fn status(&self) -> StreamStatus {
        let c = self.stream.config();
        let connected = self.stream.connected();
        let bounds = if connected {
            self.stream.bounds()
        } else {
            Err(perf_store::StoreError::Stream(
                "not connected to NATS".into(),
            ))
        };
        let (ownership, applied, owned, lag) = match &*self.followers() {
            Followers::All { follower, .. } => {
                let applied = follower.applied();
                (
                    crate::config::Ownership::All,
                    applied,
                    (0..c.partitions).collect(),
                    bounds.as_ref().ok().map(|b| b.1.saturating_sub(applied)),
                )
            }
            Followers::Owned(map) => {
                let applied = map.values().map(|o| o.follower.applied()).max();
                let lag = if connected {
                    map.iter().try_fold(0u64, |sum, (p, o)| {
                        let last = self.stream.last_of(*p).ok()?;
                        Some(sum + last.saturating_sub(o.follower.applied()))
                    })
                } else {
                    None
                };
                (
                    crate::config::Ownership::Leases,
                    applied.unwrap_or(0),
                    map.keys().copied().collect(),
                    lag,
                )
            }
        };
        StreamStatus {
            stream: c.stream.clone(),
            partitions: c.partitions,
            replicas: c.replicas,
            ownership,
            connected,
            applied_sequence: applied,
            last_sequence: bounds.as_ref().ok().map(|b| b.1),
            lag_records: lag,
            error: bounds
                .err()
                .map(|e| e.to_string())
                .or_else(|| self.failure()),
            owned_partitions: owned,
        }
    }

    /// The batch's records, one per partition, each with the engine time `now` first.
    pub fn split(&self, batch: LogBatch, now: i64) -> anyhow::Result<Vec<(u32, Vec<u8>)>> {
        let parts: BTreeMap<u32, LogBatch> = match batch {
            LogBatch::Events(events) => {
                let mut by: BTreeMap<u32, Vec<_>> = BTreeMap::new();
                for e in events {
                    by.entry(self.stream.partition(&e.service))
                        .or_default()
                        .push(e);
                }
                by.into_iter()
                    .map(|(p, v)| (p, LogBatch::Events(v)))
                    .collect()
            }
            LogBatch::Resources(samples) => {
                let mut by: BTreeMap<u32, Vec<_>> = BTreeMap::new();
                for s in samples {
                    by.entry(self.stream.partition(&s.service))
                        .or_default()
                        .push(s);
                }
                by.into_iter()
                    .map(|(p, v)| (p, LogBatch::Resources(v)))
                    .collect()
            }
        };
        parts
            .into_iter()
            .map(|(p, part)| {
                let payload = postcard::to_extend(&part, now.to_le_bytes().to_vec())
                    .context("encoding the batch")?;
                Ok((p, payload))
            })
            .collect()
    }
}
