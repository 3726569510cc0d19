//! Snapshots that never stop ingest for long: the engine is copied out one slice of services
//! at a time (`hash(service) mod slices`, the cluster's partition function), each under its
//! own short hold of the engine lock and stamped with the log position it includes; the
//! copies are encoded with the lock released. A whole-engine snapshot held the lock while it
//! encoded everything (issue 2's note: about a second at 100k series).
//!
//! Every slice is exact at its own position, so the restore replays the log from the lowest
//! position and gives each event to the engine only when its record is past its service's
//! slice position: every acknowledged event is counted once. The state of a service moves
//! whole between engines ([`Engine::extract`], [`Engine::absorb`], tested exact).
//!
//! One state mixes services: a view's overflow series (events beyond the series limits).
//! While any view overflows, and for backups (which carry no log to replay), the snapshot is
//! taken whole under one hold instead. What stays inexact: a view that crosses its series
//! limit in the seconds between two slices' positions may, after a crash, count a few
//! requests in its overflow series instead of their own (none is lost or counted twice).

use super::snapshot_format::{encode_engine, write_slice_part, write_sliced_header};
use perf_core::{Engine, Event, ResourceSample};
use perf_store::stream::partition_of;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Series per slice the snapshot aims at: a slice's copy under the lock takes well under
/// 50 ms at this size (BENCHMARKS.md, "Snapshots").
const SERIES_PER_SLICE: usize = 1_024;
/// At most this many slices (each walks the series once to pick its own).
const MAX_SLICES: u32 = 256;
/// Snapshot bytes per slice the snapshot aims at: what is copied out of the engine and
/// encoded at once (BENCHMARKS.md, "Memory accounted, and over days").
const BYTES_PER_SLICE: u64 = 4 << 20;

/// A snapshot taken (its bytes handed to the writer), with the log positions it covers.
pub(super) struct Taken {
    /// Every record up to here is in every slice (the log is kept after it).
    pub min_seq: u64,
    /// The latest record some slice includes (must be durable before the snapshot is saved).
    pub max_seq: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Engine time when the last slice was taken.
    pub taken_at_ms: i64,
    /// The longest single hold of the engine lock.
    pub longest_hold: Duration,
}

fn lock(engine: &Mutex<Engine>) -> std::sync::MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many slices an engine of `series` series (summed over views) whose last snapshot
/// took `last_bytes` is cut into: a slice aims at [`SERIES_PER_SLICE`] series and at
/// [`BYTES_PER_SLICE`] of snapshot (a few fat series, as in the demo, would otherwise make
/// one slice of everything, copied and encoded at once).
fn slice_count(series: usize, last_bytes: u64) -> u32 {
    let by_bytes = usize::try_from(last_bytes.div_ceil(BYTES_PER_SLICE)).unwrap_or(usize::MAX);
    series
        .div_ceil(SERIES_PER_SLICE)
        .max(by_bytes)
        .clamp(1, MAX_SLICES as usize) as u32
}

/// Takes a snapshot of `engine`, handing its bytes to `write` one slice at a time as they
/// are encoded; `last_seq` is read under the engine lock (appends and applies happen
/// together under it). `whole`: one hold for everything (backups). `last_bytes`: the size
/// of the previous snapshot, which sets the slices' number with the series'.
pub(super) fn take(
    engine: &Mutex<Engine>,
    last_seq: impl Fn() -> u64,
    whole: bool,
    last_bytes: u64,
    mut write: impl FnMut(&[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<Taken> {
    let mut bytes = 0u64;
    let mut write = |piece: &[u8]| {
        bytes += piece.len() as u64;
        write(piece)
    };
    let (slices, whole) = {
        let e = lock(engine);
        let series = e.views().iter().map(|v| v.series_count()).sum();
        let overflow = e.views().iter().any(|v| v.overflow_series().is_some());
        (slice_count(series, last_bytes), whole || overflow)
    };
    if whole {
        let (seq, encoded, counters, taken_at_ms, held) = {
            let e = lock(engine);
            let started = Instant::now();
            let seq = last_seq();
            (
                seq,
                encode_engine(&e)?,
                e.counters,
                e.watermark(),
                started.elapsed(),
            )
        };
        write_sliced_header(1, counters, &mut write)?;
        write_slice_part(seq, &encoded, &mut write)?;
        return Ok(Taken {
            min_seq: seq,
            max_seq: seq,
            bytes,
            taken_at_ms,
            longest_hold: held,
        });
    }
    let mut longest_hold = Duration::ZERO;
    let mut taken_at_ms = i64::MIN;
    let (mut min_seq, mut max_seq) = (u64::MAX, 0);
    for p in 0..slices {
        let (seq, part, counters, held) = {
            let e = lock(engine);
            let held = Instant::now();
            taken_at_ms = e.watermark();
            (
                last_seq(),
                e.extract(|s| partition_of(s, slices) == p),
                e.counters,
                held,
            )
        };
        longest_hold = longest_hold.max(held.elapsed());
        if p == 0 {
            // The first slice has the lowest position: the restore adds every event
            // replayed after it, kept or not.
            write_sliced_header(slices, counters, &mut write)?;
        }
        let encoded = encode_engine(&part)?;
        drop(part);
        write_slice_part(seq, &encoded, &mut write)?;
        (min_seq, max_seq) = (min_seq.min(seq), max_seq.max(seq));
    }
    Ok(Taken {
        min_seq,
        max_seq,
        bytes,
        taken_at_ms,
        longest_hold,
    })
}

/// Which events of a replayed record an engine restored from slices still needs.
#[derive(Debug, Clone)]
pub(super) struct ReplayFilter {
    slices: u32,
    seqs: Vec<u64>,
    /// The highest position: records past it go to every slice unfiltered.
    max_seq: u64,
}

impl ReplayFilter {
    /// Every slice at log position `seq` (a whole snapshot, or none).
    pub fn whole(seq: u64) -> Self {
        ReplayFilter::sliced(1, vec![seq])
    }

    /// Slice `p` of `slices` at `seqs[p]`.
    pub fn sliced(slices: u32, seqs: Vec<u64>) -> Self {
        let max_seq = seqs.iter().copied().max().unwrap_or(0);
        ReplayFilter {
            slices,
            seqs,
            max_seq,
        }
    }

    /// The lowest position: the log is replayed after it.
    pub fn min_seq(&self) -> u64 {
        self.seqs.iter().copied().min().unwrap_or(0)
    }

    fn wants(&self, record: u64, service: &str) -> bool {
        let p = if self.slices <= 1 {
            0
        } else {
            partition_of(service, self.slices)
        };
        record > self.seqs.get(p as usize).copied().unwrap_or(0)
    }

    /// The events of record `record` whose service's slice does not hold them yet.
    pub fn events(&self, record: u64, mut events: Vec<Event>) -> Vec<Event> {
        if record > self.max_seq {
            return events;
        }
        events.retain(|e| self.wants(record, &e.service));
        events
    }

    /// The resource samples of record `record` whose service's slice does not hold them yet.
    pub fn resources(&self, record: u64, mut samples: Vec<ResourceSample>) -> Vec<ResourceSample> {
        if record > self.max_seq {
            return samples;
        }
        samples.retain(|s| self.wants(record, &s.service));
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_grow_with_series_and_stop_at_the_cap() {
        assert_eq!(slice_count(0, 0), 1);
        assert_eq!(slice_count(SERIES_PER_SLICE, 0), 1);
        assert_eq!(slice_count(SERIES_PER_SLICE + 1, 0), 2);
        assert_eq!(slice_count(usize::MAX / 2, 0), MAX_SLICES);
        // A few fat series: the previous snapshot's size sets the number.
        assert_eq!(slice_count(300, BYTES_PER_SLICE * 5 / 2), 3);
        assert_eq!(slice_count(3 * SERIES_PER_SLICE, BYTES_PER_SLICE), 3);
        assert_eq!(slice_count(1, u64::MAX), MAX_SLICES);
    }

    #[test]
    fn a_record_reaches_only_the_slices_behind_it() {
        let f = ReplayFilter::sliced(2, vec![10, 20]);
        let svc = |p: u32| {
            (0..)
                .map(|i| format!("svc-{i}"))
                .find(|s| partition_of(s, 2) == p)
                .unwrap()
        };
        let (a, b) = (svc(0), svc(1));
        let ev = |s: &str| Event::new(0, s, "op", 1.0);
        let names = |v: Vec<Event>| v.into_iter().map(|e| e.service).collect::<Vec<_>>();
        assert_eq!(names(f.events(15, vec![ev(&a), ev(&b)])), vec![a.clone()]);
        assert_eq!(
            names(f.events(21, vec![ev(&a), ev(&b)])),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(f.min_seq(), 10);
        assert_eq!(ReplayFilter::whole(7).min_seq(), 7);
    }
}
