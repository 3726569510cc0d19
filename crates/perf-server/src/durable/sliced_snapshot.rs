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

use super::snapshot_format::{encode_engine, SlicePart, SlicedSnapshot};
use perf_core::{Engine, Event, ResourceSample};
use perf_store::stream::partition_of;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Series per slice the snapshot aims at: a slice's copy under the lock takes well under
/// 50 ms at this size (BENCHMARKS.md, "Snapshots").
const SERIES_PER_SLICE: usize = 1_024;
/// At most this many slices (each walks the series once to pick its own).
const MAX_SLICES: u32 = 256;

/// A snapshot taken, with the log positions it covers.
pub(super) struct Taken {
    /// Every record up to here is in every slice (the log is kept after it).
    pub min_seq: u64,
    /// The latest record some slice includes (must be durable before the snapshot is saved).
    pub max_seq: u64,
    /// The snapshot bytes, in pieces to be written one after the other.
    pub pieces: Vec<Vec<u8>>,
    /// Engine time when the last slice was taken.
    pub taken_at_ms: i64,
    /// The longest single hold of the engine lock.
    pub longest_hold: Duration,
}

fn lock(engine: &Mutex<Engine>) -> std::sync::MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many slices an engine of `series` series (summed over views) is cut into.
fn slice_count(series: usize) -> u32 {
    series
        .div_ceil(SERIES_PER_SLICE)
        .clamp(1, MAX_SLICES as usize) as u32
}

/// Takes a snapshot of `engine`; `last_seq` is read under the engine lock (appends and
/// applies happen together under it). `whole`: one hold for everything (backups).
pub(super) fn take(
    engine: &Mutex<Engine>,
    last_seq: impl Fn() -> u64,
    whole: bool,
) -> anyhow::Result<Taken> {
    let (slices, whole) = {
        let e = lock(engine);
        let series = e.views().iter().map(|v| v.series_count()).sum();
        let overflow = e.views().iter().any(|v| v.overflow_series().is_some());
        (slice_count(series), whole || overflow)
    };
    if whole {
        let e = lock(engine);
        let started = Instant::now();
        let seq = last_seq();
        let parts = vec![SlicePart {
            seq,
            engine: encode_engine(&e)?,
        }];
        let pieces = SlicedSnapshot {
            slices: 1,
            counters: e.counters,
            parts,
        }
        .into_pieces()?;
        return Ok(Taken {
            min_seq: seq,
            max_seq: seq,
            pieces,
            taken_at_ms: e.watermark(),
            longest_hold: started.elapsed(),
        });
    }
    let mut parts = Vec::with_capacity(slices as usize);
    let mut longest_hold = Duration::ZERO;
    let mut counters = Default::default();
    let mut taken_at_ms = i64::MIN;
    for p in 0..slices {
        let (seq, part, held) = {
            let e = lock(engine);
            let held = Instant::now();
            if p == 0 {
                // The first slice has the lowest position: the restore adds every event
                // replayed after it, kept or not.
                counters = e.counters;
            }
            taken_at_ms = e.watermark();
            (
                last_seq(),
                e.extract(|s| partition_of(s, slices) == p),
                held,
            )
        };
        longest_hold = longest_hold.max(held.elapsed());
        parts.push(SlicePart {
            seq,
            engine: encode_engine(&part)?,
        });
    }
    let min_seq = parts.iter().map(|p| p.seq).min().unwrap_or(0);
    let max_seq = parts.iter().map(|p| p.seq).max().unwrap_or(0);
    let pieces = SlicedSnapshot {
        slices,
        counters,
        parts,
    }
    .into_pieces()?;
    Ok(Taken {
        min_seq,
        max_seq,
        pieces,
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
        assert_eq!(slice_count(0), 1);
        assert_eq!(slice_count(SERIES_PER_SLICE), 1);
        assert_eq!(slice_count(SERIES_PER_SLICE + 1), 2);
        assert_eq!(slice_count(usize::MAX / 2), MAX_SLICES);
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
