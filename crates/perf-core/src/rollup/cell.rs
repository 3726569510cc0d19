//! One bucket's content, open or sealed. A bucket that no event or finer bucket will reach
//! any more is *sealed*: its [`Stats`] (≈ 160 bytes inline, plus its bins and stages on the
//! heap) is encoded into one byte string with postcard — varint counts and bin pairs, exact
//! floats — about a third of the size. Most buckets of a rolling window are settled (all
//! but the newest few of each level), so the engine's steady-state memory is mostly sealed
//! buckets. A late event or merge into a sealed bucket opens it again (decoded exactly);
//! reads decode on the fly. Snapshots and equality see the same `Stats` either way: a cell
//! serialises as its `Stats`, so the snapshot format does not change.
//!
//! postcard (already how the ingest log encodes batches) rather than a hand-written codec:
//! measured on the demo's buckets, a varint codec with delta-coded bins and zero-skipping
//! would save about a fifth more, not worth a second format to keep exact.

use crate::stats::Stats;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A bucket's content.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Still written to.
    Open(Box<Stats>),
    /// Settled: `Stats` encoded with postcard.
    Sealed(Box<[u8]>),
}

impl Default for Cell {
    fn default() -> Self {
        Cell::Open(Box::default())
    }
}

fn decode(bytes: &[u8]) -> Stats {
    // The bytes were encoded by `seal` in this process; they cannot fail to decode unless
    // memory is corrupt.
    postcard::from_bytes(bytes).expect("a sealed bucket decodes")
}

thread_local! {
    /// The encoding buffer of [`Cell::seal`], kept between calls.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Cell {
    /// The stats, opened for writing (decoded if sealed).
    #[inline]
    pub fn open(&mut self) -> &mut Stats {
        if let Cell::Sealed(bytes) = self {
            *self = Cell::Open(Box::new(decode(bytes)));
        }
        match self {
            Cell::Open(stats) => stats,
            Cell::Sealed(_) => unreachable!("opened above"),
        }
    }

    /// Encodes an open cell (no-op when sealed).
    pub fn seal(&mut self) {
        if let Cell::Open(stats) = self {
            // Encoded into a reused buffer, then copied into one exact allocation: growing a
            // fresh vector reallocated several times per bucket, and the allocator's work
            // dominated a sweep that seals many (engine/sweep.rs).
            let sealed = SCRATCH.with(|scratch| {
                let mut buf = scratch.take();
                buf.clear();
                let buf = postcard::to_extend(&**stats, buf).expect("stats encode");
                let sealed: Box<[u8]> = Box::from(&buf[..]);
                scratch.set(buf);
                sealed
            });
            *self = Cell::Sealed(sealed);
        }
    }

    /// Whether the cell is sealed.
    pub fn is_sealed(&self) -> bool {
        matches!(self, Cell::Sealed(_))
    }

    /// Adds this cell's content into `out`.
    #[inline]
    pub fn merge_into(&self, out: &mut Stats) {
        match self {
            Cell::Open(stats) => out.merge(stats),
            Cell::Sealed(bytes) => out.merge(&decode(bytes)),
        }
    }

    /// The stats, decoded when sealed.
    pub fn stats(&self) -> std::borrow::Cow<'_, Stats> {
        match self {
            Cell::Open(stats) => std::borrow::Cow::Borrowed(stats),
            Cell::Sealed(bytes) => std::borrow::Cow::Owned(decode(bytes)),
        }
    }

    /// Heap bytes: the boxed stats and what they own, or the encoded bytes.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Cell::Open(stats) => std::mem::size_of::<Stats>() + stats.heap_bytes(),
            Cell::Sealed(bytes) => bytes.len(),
        }
    }
}

impl PartialEq for Cell {
    fn eq(&self, other: &Cell) -> bool {
        *self.stats() == *other.stats()
    }
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.stats().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cell, D::Error> {
        Stats::deserialize(d).map(|s| Cell::Open(Box::new(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;

    fn busy() -> Stats {
        let mut s = Stats::default();
        for i in 0..500 {
            let mut e = Event::new(0, "svc", "op", 1.0 + (i % 97) as f64 * 3.7);
            e.ok = i % 13 != 0;
            e.cost = Some(0.25 * (i % 5) as f64);
            s.record(&e, 200.0, &[]);
        }
        s
    }

    #[test]
    fn a_sealed_cell_answers_exactly_what_it_held_and_opens_back_to_it() {
        for stats in [Stats::default(), busy()] {
            let mut cell = Cell::Open(Box::new(stats.clone()));
            cell.seal();
            assert!(cell.is_sealed());
            assert_eq!(*cell.stats(), stats);
            let mut merged = Stats::default();
            cell.merge_into(&mut merged);
            let mut expected = Stats::default();
            expected.merge(&stats);
            assert_eq!(merged, expected);
            assert_eq!(*cell.open(), stats);
            assert!(!cell.is_sealed());
        }
    }

    #[test]
    fn sealing_a_busy_bucket_takes_less_than_half_its_open_size() {
        let mut cell = Cell::Open(Box::new(busy()));
        let open = cell.heap_bytes();
        cell.seal();
        assert!(
            cell.heap_bytes() * 2 < open,
            "{} of {open}",
            cell.heap_bytes()
        );
    }

    #[test]
    fn a_cell_serialises_as_its_stats_so_snapshots_keep_their_format() {
        let stats = busy();
        let mut cell = Cell::Open(Box::new(stats.clone()));
        cell.seal();
        assert_eq!(
            postcard::to_allocvec(&cell).unwrap(),
            postcard::to_allocvec(&stats).unwrap()
        );
        let back: Cell = postcard::from_bytes(&postcard::to_allocvec(&stats).unwrap()).unwrap();
        assert_eq!(*back.stats(), stats);
    }
}
