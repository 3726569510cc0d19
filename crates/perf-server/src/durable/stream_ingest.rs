//! Ingest through the cluster's NATS JetStream stream (`cluster.nats.url` set) instead of
//! the local log.
//!
//! Order of an ingest in this mode: decode and validate; split the batch by partition
//! (`hash(service) mod P`), each part a log record of its own with the batch's engine time;
//! publish the parts and wait for JetStream's acknowledgements (the batch is durable on a
//! quorum of the stream's replicas); then wait, bounded by the request timeout, until this
//! replica's follower has applied them, so a read after the answer sees the batch. Only
//! the follower applies records to the engine, in stream order, and it records the stream
//! sequence of the last one applied *under the engine lock*: a snapshot taken under that
//! lock holds exactly the records up to its sequence, and a restart replays the stream
//! after it — every acknowledged event counted once, whatever the data directory holds.
//!
//! Until partition ownership exists (leases, the next step of issue 18), one replica
//! follows every partition.

use super::snapshot_format::{decode_record, LogBatch};
use crate::config::{ClockMode, NatsConfig};
use anyhow::Context;
use perf_core::Engine;
use perf_store::{EventStream, StreamConfig};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The ingest stream as `GET /v1/cluster` shows it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStatus {
    /// Stream name.
    pub stream: String,
    /// Partitions.
    pub partitions: u32,
    /// Copies JetStream keeps of each record.
    pub replicas: usize,
    /// Connected to a NATS server now.
    pub connected: bool,
    /// The last stream sequence applied to this replica's aggregates.
    pub applied_sequence: u64,
    /// The stream's last sequence (absent when NATS does not answer).
    pub last_sequence: Option<u64>,
    /// Records stored but not applied here yet.
    pub lag_records: Option<u64>,
    /// Why the stream's state is unknown, or why the follower stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Partitions this replica applies (all of them until ownership by leases exists).
    pub owned_partitions: Vec<u32>,
}

/// The stream and the last stream sequence applied to the engine.
pub(super) struct StreamIngest {
    pub stream: EventStream,
    /// Written under the engine lock by the follower.
    pub applied: Arc<AtomicU64>,
}

impl StreamIngest {
    /// Connects, then replays everything after `after` into `engine` and keeps following.
    pub fn open(
        nats: &NatsConfig,
        clock: ClockMode,
        engine: &Arc<Mutex<Engine>>,
        after: u64,
    ) -> anyhow::Result<StreamIngest> {
        let stream = EventStream::connect(StreamConfig {
            url: nats.url.clone(),
            stream: nats.stream.clone(),
            partitions: nats.partitions,
            replicas: nats.replicas,
            max_age_ms: nats.max_age,
            duplicate_window_ms: nats.duplicate_window,
        })
        .with_context(|| format!("opening the ingest stream at {}", nats.url))?;
        let applied = Arc::new(AtomicU64::new(after));
        let (engine, seen) = (Arc::clone(engine), Arc::clone(&applied));
        let apply = Box::new(move |seq: u64, payload: &[u8]| {
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
        });
        stream
            .follow(after, apply)
            .context("replaying the ingest stream after the snapshot")?;
        tracing::info!(
            snapshot_seq = after,
            applied_seq = stream.applied(),
            "aggregates restored from the ingest stream"
        );
        Ok(StreamIngest { stream, applied })
    }

    /// Where the follower stands (asks NATS for the stream's end).
    pub fn status(&self) -> StreamStatus {
        let c = self.stream.config();
        let applied = self.applied.load(Ordering::Acquire);
        let connected = self.stream.connected();
        let bounds = if connected {
            self.stream.bounds()
        } else {
            Err(perf_store::StoreError::Stream(
                "not connected to NATS".into(),
            ))
        };
        StreamStatus {
            stream: c.stream.clone(),
            partitions: c.partitions,
            replicas: c.replicas,
            connected,
            applied_sequence: applied,
            last_sequence: bounds.as_ref().ok().map(|b| b.1),
            lag_records: bounds.as_ref().ok().map(|b| b.1.saturating_sub(applied)),
            error: bounds
                .err()
                .map(|e| e.to_string())
                .or_else(|| self.stream.failure()),
            owned_partitions: (0..c.partitions).collect(),
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
