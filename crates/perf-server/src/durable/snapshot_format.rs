//! The bytes of a snapshot and of one journal record ([`LogBatch`]): a format version,
//! then postcard.
//! Postcard is positional, so any change to the engine's serialised fields must bump
//! [`SNAPSHOT_FORMAT`].

use anyhow::Context;
use perf_core::{Engine, Event, ResourceSample};
use serde::{Deserialize, Serialize};

/// What one ingest-log record holds.
#[derive(Debug, Serialize, Deserialize)]
pub enum LogBatch {
    /// Validated events.
    Events(Vec<Event>),
    /// Validated resource samples.
    Resources(Vec<ResourceSample>),
}

/// Format of the snapshot bytes: a little-endian `u32` version, then the postcard engine.
/// Postcard is positional, so any change to the engine's serialised fields must bump it.
const SNAPSHOT_FORMAT: u32 = 3;

pub(super) fn encode_snapshot(engine: &Engine) -> anyhow::Result<Vec<u8>> {
    postcard::to_extend(engine, SNAPSHOT_FORMAT.to_le_bytes().to_vec())
        .context("encoding the snapshot")
}

pub(super) fn decode_snapshot(data: &[u8]) -> anyhow::Result<Engine> {
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

pub(super) fn decode_record(payload: &[u8]) -> anyhow::Result<(i64, LogBatch)> {
    anyhow::ensure!(payload.len() >= 8, "record too short");
    let now = i64::from_le_bytes(payload[..8].try_into()?);
    Ok((now, postcard::from_bytes(&payload[8..])?))
}
