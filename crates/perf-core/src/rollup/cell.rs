//! One bucket's content, open or sealed. A bucket that no event or finer bucket will reach
//! any more is *sealed*: its [`Stats`] (≈ 160 bytes inline, plus its bins and stages on the
//! heap) is encoded into one byte string (rollup/compact.rs: flags for the fields that are
//! not zero, varints, exact float bits, bit-packed bin counts), and an encoding of up to [`INLINE`] bytes (a bucket
//! of a request or two) is kept inside the cell itself, with no allocation. Most buckets of
//! a rolling window are settled (all but the newest few of each level), so the engine's
//! steady-state memory is mostly sealed buckets. A late event or merge into a sealed bucket
//! opens it again (decoded exactly); reads decode on the fly. Snapshots and equality see the
//! same `Stats` either way: a cell serialises as its `Stats`, so the snapshot format does not
//! change.
//!
//! The codec was postcard until issue 19's measurements at 10,000 series per view, whose
//! buckets mostly hold one or two requests: postcard's 61 bytes for such a bucket, in its own
//! allocation, became 15 bytes in the slot (BENCHMARKS.md, "Memory per series over days").

use crate::stats::Stats;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sealed encodings up to this many bytes live inside the cell (which stays 24 bytes).
pub const INLINE: usize = 22;

/// One bucket: its start (unix ms) and content.
pub type Bucket = (i64, Cell);

/// A bucket's content.
#[derive(Debug, Clone)]
pub enum Cell {
    /// Still written to.
    Open(Box<Stats>),
    /// Settled: `Stats` encoded (rollup/compact.rs).
    Sealed(Box<[u8]>),
    /// Settled, and its encoding short enough to keep in place: `bytes[..len]`.
    Inline {
        /// Bytes of the encoding used.
        len: u8,
        /// The encoding, zero-padded.
        bytes: [u8; INLINE],
    },
}

impl Default for Cell {
    fn default() -> Self {
        Cell::Open(Box::default())
    }
}

fn decode(bytes: &[u8]) -> Stats {
    // The bytes were encoded by `seal` in this process; they cannot fail to decode unless
    // memory is corrupt.
    super::compact::decode(bytes).expect("a sealed bucket decodes")
}

thread_local! {
    /// The encoding buffer of [`Cell::seal`], kept between calls.
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Cell {
    /// The stats, opened for writing (decoded if sealed).
    #[inline]
    pub fn open(&mut self) -> &mut Stats {
        if let Some(bytes) = self.encoded() {
            *self = Cell::Open(Box::new(decode(bytes)));
        }
        match self {
            Cell::Open(stats) => stats,
            Cell::Sealed(_) | Cell::Inline { .. } => unreachable!("opened above"),
        }
    }

    /// The encoding of a sealed cell.
    #[inline]
    fn encoded(&self) -> Option<&[u8]> {
        match self {
            Cell::Open(_) => None,
            Cell::Sealed(bytes) => Some(bytes),
            Cell::Inline { len, bytes } => Some(&bytes[..usize::from(*len)]),
        }
    }

    /// Encodes an open cell (no-op when sealed).
    pub fn seal(&mut self) {
        if let Cell::Open(stats) = self {
            // Encoded into a reused buffer, then copied into one exact allocation: growing a
            // fresh vector reallocated several times per bucket, and the allocator's work
            // dominated a sweep that seals many (engine/sweep.rs).
            *self = encode_with(stats, Cell::from_encoded);
        }
    }

    /// A sealed cell holding an encoding made by [`Cell::seal`] (or `compact::encode`).
    pub(super) fn from_encoded(encoded: &[u8]) -> Cell {
        if encoded.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..encoded.len()].copy_from_slice(encoded);
            Cell::Inline {
                len: encoded.len() as u8,
                bytes,
            }
        } else {
            Cell::Sealed(Box::from(encoded))
        }
    }

    /// The stats, owned (decoded if sealed).
    pub(super) fn into_stats(self) -> Stats {
        match self {
            Cell::Open(stats) => *stats,
            sealed => decode(sealed.encoded().unwrap_or_default()),
        }
    }

    /// Whether the cell is sealed.
    pub fn is_sealed(&self) -> bool {
        !matches!(self, Cell::Open(_))
    }

    /// Adds this cell's content into `out`.
    #[inline]
    pub fn merge_into(&self, out: &mut Stats) {
        match self {
            Cell::Open(stats) => out.merge(stats),
            sealed => out.merge(&decode(sealed.encoded().unwrap_or_default())),
        }
    }

    /// The stats, decoded when sealed.
    pub fn stats(&self) -> std::borrow::Cow<'_, Stats> {
        match self {
            Cell::Open(stats) => std::borrow::Cow::Borrowed(stats),
            sealed => std::borrow::Cow::Owned(decode(sealed.encoded().unwrap_or_default())),
        }
    }

    /// Heap bytes: the boxed stats and what they own, or the encoded bytes (none inline).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Cell::Open(stats) => std::mem::size_of::<Stats>() + stats.heap_bytes(),
            Cell::Sealed(bytes) => bytes.len(),
            Cell::Inline { .. } => 0,
        }
    }
}

/// Calls `f` with the encoding of `stats`, made in a buffer reused between calls.
fn encode_with<R>(stats: &Stats, f: impl FnOnce(&[u8]) -> R) -> R {
    SCRATCH.with(|scratch| {
        let mut buf = scratch.take();
        buf.clear();
        super::compact::encode(stats, &mut buf);
        let out = f(&buf);
        scratch.set(buf);
        out
    })
}

/// Calls `f` with the encoding of a cell's content: its own bytes when sealed, encoded for
/// the call when open.
pub(super) fn encoded_with<R>(cell: &Cell, f: impl FnOnce(&[u8]) -> R) -> R {
    match cell {
        Cell::Open(stats) => encode_with(stats, f),
        sealed => f(sealed.encoded().unwrap_or_default()),
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
    fn a_small_bucket_seals_in_place_and_the_cell_stays_a_pointer_and_a_half() {
        assert_eq!(std::mem::size_of::<Cell>(), 24);
        let mut one = Stats::default();
        one.record(&Event::new(0, "svc", "op", 42.5), 200.0, &[]);
        let mut cell = Cell::Open(Box::new(one.clone()));
        cell.seal();
        assert!(matches!(cell, Cell::Inline { .. }), "{cell:?}");
        assert_eq!(cell.heap_bytes(), 0);
        assert_eq!(*cell.stats(), one);
        let mut merged = Stats::default();
        cell.merge_into(&mut merged);
        assert_eq!(merged, one);
        // A late event opens it again, exactly.
        cell.open()
            .record(&Event::new(0, "svc", "op", 7.0), 200.0, &[]);
        one.record(&Event::new(0, "svc", "op", 7.0), 200.0, &[]);
        assert_eq!(*cell.stats(), one);
        cell.seal();
        assert_eq!(*cell.stats(), one);
        let mut big = Cell::Open(Box::new(busy()));
        big.seal();
        assert!(matches!(big, Cell::Sealed(_)));
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
