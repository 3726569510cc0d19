//! The bytes of a snapshot and of one journal record ([`LogBatch`]): a format version,
//! then postcard.
//! Postcard is positional, so any change to the engine's serialised fields must bump
//! [`SNAPSHOT_FORMAT`].

use anyhow::Context;
use perf_core::{Engine, Event, ResourceSample};
use perf_store::stream::partition_of;
use serde::{Deserialize, Serialize};

/// What one ingest-log record holds (its bytes: `log_wire`).
#[derive(Debug)]
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
    let bytes = postcard::to_extend(engine, SNAPSHOT_FORMAT.to_le_bytes().to_vec())
        .context("encoding the snapshot")?;
    encode_trailer(engine, bytes)
}

/// What rides after the engine's postcard bytes: its cache key samplers, the SLO budget
/// corrections its counters were counted with, then the alert states of its journeys. Each was added after the format was
/// fixed; a snapshot written before one simply ends earlier.
fn encode_trailer(engine: &Engine, bytes: Vec<u8>) -> anyhow::Result<Vec<u8>> {
    let bytes = postcard::to_extend(&*engine.caches(), bytes).context("encoding the snapshot")?;
    let bytes = postcard::to_extend(&engine.slos().corrections(), bytes)
        .context("encoding the snapshot")?;
    postcard::to_extend(&engine.slos().composite_tiers(), bytes).context("encoding the snapshot")
}

/// Format of a snapshot taken in slices (sliced_snapshot.rs): the version, then a postcard
/// [`SlicedSnapshot`] whose parts are postcard engines.
const SLICED_FORMAT: u32 = 4;

/// One slice of the services: its engine and the log position it includes.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SlicePart {
    /// Every record up to and including this position is in `engine`, for this slice.
    pub seq: u64,
    /// The postcard engine of the slice's services.
    pub engine: Vec<u8>,
}

/// A snapshot in slices: part `p` holds the services with `partition_of(service, slices) == p`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SlicedSnapshot {
    /// Number of slices.
    pub slices: u32,
    /// The engine's own counters at the first slice's position.
    pub counters: perf_core::engine::EngineCounters,
    /// One per slice, in slice order.
    pub parts: Vec<SlicePart>,
}

impl SlicedSnapshot {
    /// The snapshot bytes in one buffer.
    #[cfg(test)]
    pub fn encode(&self) -> anyhow::Result<Vec<u8>> {
        postcard::to_extend(self, SLICED_FORMAT.to_le_bytes().to_vec())
            .context("encoding the snapshot")
    }

    /// The same bytes as pieces to be written one after the other: the pieces
    /// [`write_sliced_header`] and [`write_slice_part`] write (tested equal to `encode`).
    #[cfg(test)]
    pub fn into_pieces(self) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut pieces = Vec::new();
        let mut write = |bytes: &[u8]| {
            pieces.push(bytes.to_vec());
            Ok(())
        };
        write_sliced_header(self.slices, self.counters, &mut write)?;
        for part in self.parts {
            write_slice_part(part.seq, &part.engine, &mut write)?;
        }
        Ok(pieces)
    }
}

/// Writes the head of a [`SlicedSnapshot`] of `slices` parts, which must follow in slice
/// order ([`write_slice_part`]): a snapshot is written as it is taken, slice by slice, and no
/// buffer ever holds all of it. Postcard writes a struct as its fields in order and a length
/// as a varint, so the head is `(slices, counters, number of parts)` and each part `(seq,
/// length)` then its bytes.
pub(super) fn write_sliced_header(
    slices: u32,
    counters: perf_core::engine::EngineCounters,
    write: &mut impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    write(
        &postcard::to_extend(
            &(slices, counters, slices as usize),
            SLICED_FORMAT.to_le_bytes().to_vec(),
        )
        .context("encoding the snapshot")?,
    )
}

/// Writes one part of a [`SlicedSnapshot`]: its log position and its engine's bytes.
pub(super) fn write_slice_part(
    seq: u64,
    engine: &[u8],
    write: &mut impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    write(&postcard::to_stdvec(&(seq, engine.len())).context("encoding the snapshot")?)?;
    write(engine)
}

/// An engine as restored from a snapshot, with the position of each slice.
pub(super) struct Restored {
    pub engine: Engine,
    /// Number of slices (1: a whole-engine snapshot).
    pub slices: u32,
    /// The log position of each slice.
    pub seqs: Vec<u64>,
}

/// A postcard engine, without a format header (a slice of a [`SlicedSnapshot`]), followed
/// by its cache key samplers, its SLOs' budget corrections and its journeys' alert states.
///
/// Those ride after the engine instead of inside it so that snapshots written before them
/// (no bytes after the engine, or only the samplers) still read, without a format change:
/// the engine is decoded with `take_from_bytes` and whatever follows, if anything, is the
/// samplers, then the corrections, then the journeys' alert states.
pub(super) fn encode_engine(engine: &Engine) -> anyhow::Result<Vec<u8>> {
    let bytes = postcard::to_stdvec(engine).context("encoding a slice of the snapshot")?;
    encode_trailer(engine, bytes)
}

fn decode_engine(bytes: &[u8]) -> anyhow::Result<Engine> {
    let (mut engine, rest): (Engine, &[u8]) =
        postcard::take_from_bytes(bytes).context("decoding the aggregate snapshot")?;
    engine.after_load();
    if !rest.is_empty() {
        let (caches, rest) = postcard::take_from_bytes(rest)
            .context("decoding the cache samplers of the snapshot")?;
        engine.set_caches(caches);
        if !rest.is_empty() {
            let (corrections, rest) = postcard::take_from_bytes(rest)
                .context("decoding the SLO budget corrections of the snapshot")?;
            engine.slos_mut().restore_corrections(corrections);
            if !rest.is_empty() {
                engine.slos_mut().restore_composite_tiers(
                    postcard::from_bytes(rest)
                        .context("decoding the journeys' alert states of the snapshot")?,
                );
            }
        }
    }
    Ok(engine)
}

/// The engine of a snapshot of either format, slices merged (their positions are dropped:
/// for a whole snapshot, or one whose positions the caller does not need).
pub(super) fn decode_snapshot(data: &[u8]) -> anyhow::Result<Engine> {
    Ok(decode_restored(data, 0)?.engine)
}

/// A snapshot of either format; `seq` is the stored position (a whole snapshot's).
pub(super) fn decode_restored(data: &[u8], seq: u64) -> anyhow::Result<Restored> {
    anyhow::ensure!(data.len() >= 4, "the aggregate snapshot is truncated");
    let format = u32::from_le_bytes(data[..4].try_into()?);
    match format {
        SNAPSHOT_FORMAT => Ok(Restored {
            engine: decode_engine(&data[4..])?,
            slices: 1,
            seqs: vec![seq],
        }),
        SLICED_FORMAT => {
            let sliced: SlicedSnapshot =
                postcard::from_bytes(&data[4..]).context("decoding the aggregate snapshot")?;
            anyhow::ensure!(
                sliced.slices as usize == sliced.parts.len() && sliced.slices >= 1,
                "the aggregate snapshot says {} slices and holds {}",
                sliced.slices,
                sliced.parts.len()
            );
            let slices = sliced.slices;
            let mut engine = decode_engine(&sliced.parts[0].engine)?;
            for (p, part) in sliced.parts.iter().enumerate().skip(1) {
                let other = decode_engine(&part.engine)?;
                // Only the slice's own services: its SLO set carries empty counts for the rest.
                engine
                    .absorb(&other, |s| partition_of(s, slices) == p as u32)
                    .context("merging the slices of the aggregate snapshot")?;
            }
            engine.counters = sliced.counters;
            Ok(Restored {
                engine,
                slices: sliced.slices,
                seqs: sliced.parts.iter().map(|p| p.seq).collect(),
            })
        }
        _ => anyhow::bail!(
            "the aggregate snapshot has format {format}, this binary reads formats {SNAPSHOT_FORMAT} and {SLICED_FORMAT}; start the version that wrote it, or move the data directory away to start empty"
        ),
    }
}

pub(super) fn decode_record(payload: &[u8]) -> anyhow::Result<(i64, LogBatch)> {
    anyhow::ensure!(payload.len() >= 8, "record too short");
    let now = i64::from_le_bytes(payload[..8].try_into()?);
    Ok((now, postcard::from_bytes(&payload[8..])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_samplers_ride_after_the_engine_and_older_snapshots_still_read() {
        let mut engine = Engine::new(perf_core::config::EngineConfig::default()).unwrap();
        let mut e = Event::new(1_767_225_600_000, "qindex", "search", 3.0);
        e.cache_space = Some("qindex:search".into());
        for k in 0..50u64 {
            e.cache_key = Some(perf_core::model::cache_key_hash(&format!("k{}", k % 20)));
            engine.ingest(std::slice::from_ref(&e), e.ts_ms);
        }
        let keys = |e: &Engine| {
            e.caches()
                .get(None, "qindex:search")
                .map(|(_, s)| s.tracked_keys())
        };
        assert_eq!(keys(&engine), Some(20));
        let whole = encode_snapshot(&engine).unwrap();
        assert_eq!(keys(&decode_snapshot(&whole).unwrap()), Some(20));
        let slice = encode_engine(&engine).unwrap();
        assert_eq!(keys(&decode_engine(&slice).unwrap()), Some(20));
        // As an older binary wrote it: the engine alone.
        let old = postcard::to_extend(&engine, SNAPSHOT_FORMAT.to_le_bytes().to_vec()).unwrap();
        let restored = decode_snapshot(&old).unwrap();
        assert_eq!(keys(&restored), None);
        assert_eq!(restored.counters.events, 50);
        // A torn trailer is an error, not an empty sampler set.
        assert!(decode_engine(&slice[..slice.len() - 3]).is_err());
    }

    #[test]
    fn pieces_are_the_encoding_cut_in_parts() {
        let snapshot = || SlicedSnapshot {
            slices: 3,
            counters: perf_core::engine::EngineCounters {
                events: 300,
                too_old: 1,
                expired: 70_000,
            },
            parts: vec![
                SlicePart {
                    seq: 5,
                    engine: vec![1, 2, 3],
                },
                SlicePart {
                    seq: 1 << 40,
                    engine: vec![],
                },
                SlicePart {
                    seq: 0,
                    engine: vec![7; 200],
                },
            ],
        };
        let whole = snapshot().encode().unwrap();
        assert_eq!(snapshot().into_pieces().unwrap().concat(), whole);
    }
}
