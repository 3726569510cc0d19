//! One resolution level of a [`Rollup`](super::Rollup): its sealed buckets packed end to end
//! in one byte buffer, the others as cells.
//!
//! Why: a sealed bucket in its own allocation cost its encoding, a 32-byte slot in the
//! level's deque, the allocator's rounding up to a size class, and the free room of slabs
//! that long-lived buckets share with short-lived objects (issue 19: at seven simulated
//! days the demo's allocator held ~20 MiB more than it had handed out). A level's buckets
//! settle in time order and leave it in time order, so they fit one buffer that grows at its
//! newest end and is consumed at its oldest: one allocation per level and 12 bytes of index
//! per bucket (its start, and where its bytes end). The consumed front is cut off once it is
//! a 32nd of the buffer (each byte is moved ~31 times over its life: a few hundred bytes a
//! minute per series), and the buffer grows by a 32nd at a time, so about a 16th of it is
//! slack.
//!
//! A late write into a packed bucket takes it out (its index entry is marked gone; its bytes
//! stay until the front passes them) and puts it among the cells, open. When it settles
//! again it is sealed in place as a cell ([`Cell::seal`]), since the buffer only grows at the
//! newest end; `Rollup::merge` unpacks a level first, so a merge of two rollups never leaves
//! a level made of such cells. Every read walks both parts in start order, so answers, the
//! snapshot's bytes and equality are what they were with every bucket a cell.

use super::cell::{encoded_with, Bucket, Cell};
use crate::stats::Stats;
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::VecDeque;

/// Marks an index entry whose bucket was taken out of the buffer.
const GONE: u32 = 1 << 31;

/// Sealed buckets end to end, oldest first.
#[derive(Debug, Clone, Default)]
struct Packed {
    /// The encodings; the bytes before `head` belong to buckets already gone.
    bytes: Vec<u8>,
    /// Where the oldest entry's bytes begin.
    head: usize,
    /// Each entry's start, strictly increasing.
    starts: VecDeque<i64>,
    /// Where each entry's bytes end in `bytes`, [`GONE`] set once taken out.
    ends: VecDeque<u32>,
    /// Entries taken out and not yet dropped.
    gone: usize,
}

impl Packed {
    fn last_start(&self) -> Option<i64> {
        self.starts.back().copied()
    }

    /// Entry `i`'s bytes, `None` when it was taken out.
    fn bytes_of(&self, i: usize) -> Option<&[u8]> {
        let end = self.ends[i];
        if end & GONE != 0 {
            return None;
        }
        let begin = match i {
            0 => self.head,
            _ => (self.ends[i - 1] & !GONE) as usize,
        };
        Some(&self.bytes[begin..end as usize])
    }

    /// Appends a bucket newer than every entry; `false` (nothing changed) when the buffer
    /// would outgrow its 31-bit offsets.
    fn push(&mut self, start: i64, encoded: &[u8]) -> bool {
        debug_assert!(self.last_start().is_none_or(|last| start > last));
        if self.bytes.len() + encoded.len() >= GONE as usize {
            return false;
        }
        if self.bytes.capacity() - self.bytes.len() < encoded.len() {
            self.bytes
                .reserve_exact(encoded.len().max(self.bytes.len() / 32));
        }
        self.bytes.extend_from_slice(encoded);
        if self.starts.len() == self.starts.capacity() {
            // Grown by an eighth, not doubled: the index of a full level stays near its size.
            let more = 4 + self.starts.len() / 8;
            self.starts.reserve_exact(more);
            self.ends.reserve_exact(more);
        }
        self.starts.push_back(start);
        self.ends.push_back(self.bytes.len() as u32);
        true
    }

    /// Forgets the oldest entry.
    fn drop_front(&mut self) {
        if let (Some(_), Some(end)) = (self.starts.pop_front(), self.ends.pop_front()) {
            debug_assert!(end & GONE == 0, "the oldest entry is a live one");
            self.head = (end & !GONE) as usize;
        }
        self.trim();
    }

    /// Drops gone entries at the front (so the oldest entry is a live one) and cuts the
    /// consumed bytes off once they are a 32nd of the buffer.
    fn trim(&mut self) {
        while self.ends.front().is_some_and(|e| e & GONE != 0) {
            self.gone -= 1;
            self.starts.pop_front();
            self.head = (self.ends.pop_front().unwrap_or(0) & !GONE) as usize;
        }
        if self.starts.is_empty() {
            self.bytes = Vec::new();
            self.head = 0;
        } else if self.head * 32 >= self.bytes.len() {
            self.bytes.drain(..self.head);
            let cut = self.head as u32;
            for end in &mut self.ends {
                *end -= cut;
            }
            self.head = 0;
            if self.bytes.capacity() > 2 * self.bytes.len() {
                self.bytes
                    .shrink_to(self.bytes.len() + self.bytes.len() / 16);
            }
            if self.starts.capacity() > 2 * self.starts.len() + 8 {
                let keep = self.starts.len() + self.starts.len() / 8;
                self.starts.shrink_to(keep);
                self.ends.shrink_to(keep);
            }
        }
    }

    /// Takes entry `i` out, decoded (`None` when already gone).
    fn take(&mut self, i: usize) -> Option<Stats> {
        let stats = decode(self.bytes_of(i)?);
        self.ends[i] |= GONE;
        self.gone += 1;
        self.trim();
        Some(stats)
    }

    /// Live entries from the first whose start is at least `from`, as positions.
    fn live_from(&self, from: i64) -> impl Iterator<Item = usize> + '_ {
        (self.starts.partition_point(|&s| s < from)..self.starts.len())
            .filter(|&i| self.ends[i] & GONE == 0)
    }

    fn live_count(&self) -> usize {
        self.starts.len() - self.gone
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
            + crate::memory::deque(&self.starts)
            + crate::memory::deque(&self.ends)
    }
}

fn decode(bytes: &[u8]) -> Stats {
    // Encoded by this process; they cannot fail to decode unless memory is corrupt.
    super::compact::decode(bytes).expect("a packed bucket decodes")
}

/// One level's buckets: sealed ones packed, the rest (open, or reopened and sealed again)
/// as cells. A start is in one part or the other, never both.
#[derive(Debug, Clone, Default)]
pub(super) struct Level {
    packed: Packed,
    cells: VecDeque<Bucket>,
}

/// A bucket taken out of a level.
pub(super) type Taken = (i64, Stats);

impl Level {
    /// The cell of the bucket starting at `start`, created if missing (taken out of the
    /// buffer, open, if it was packed).
    #[inline]
    pub(super) fn slot(&mut self, start: i64) -> &mut Cell {
        if let Some(b) = self.cells.back() {
            if b.0 == start {
                let last = self.cells.len() - 1;
                return &mut self.cells[last].1;
            }
        }
        if self.packed.last_start().is_some_and(|last| start <= last) {
            if let Ok(i) = self.packed.starts.binary_search(&start) {
                if let Some(stats) = self.packed.take(i) {
                    let p = self.cells.partition_point(|b| b.0 < start);
                    self.cells.insert(p, (start, Cell::Open(Box::new(stats))));
                    return &mut self.cells[p].1;
                }
            }
        }
        cell_slot(&mut self.cells, start)
    }

    /// The oldest start held.
    pub(super) fn first_start(&self) -> Option<i64> {
        match (self.packed.starts.front(), self.cells.front()) {
            (Some(&p), Some(c)) => Some(p.min(c.0)),
            (Some(&p), None) => Some(p),
            (None, Some(c)) => Some(c.0),
            (None, None) => None,
        }
    }

    /// Takes the oldest bucket out.
    pub(super) fn pop_front(&mut self) -> Option<Taken> {
        let packed_first = match (self.packed.starts.front(), self.cells.front()) {
            (Some(&p), Some(c)) => p < c.0,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if packed_first {
            let start = *self.packed.starts.front()?;
            let stats = decode(self.packed.bytes_of(0)?);
            self.packed.drop_front();
            Some((start, stats))
        } else {
            let (start, cell) = self.cells.pop_front()?;
            Some((start, cell.into_stats()))
        }
    }

    /// Seals the cells whose buckets end at or before `settled_before`: packs them when
    /// they are newer than every packed bucket, seals them in place otherwise (a bucket a
    /// late write reopened). Returns how many were sealed.
    pub(super) fn seal_settled(&mut self, width: i64, settled_before: i64) -> usize {
        let settled = |start: i64| start + width <= settled_before;
        let mut sealed = 0;
        let mut i = 0;
        if let Some(last) = self.packed.last_start() {
            while i < self.cells.len() && self.cells[i].0 <= last {
                let (start, cell) = &mut self.cells[i];
                if settled(*start) && !cell.is_sealed() {
                    cell.seal();
                    sealed += 1;
                }
                i += 1;
            }
        }
        while i < self.cells.len() && settled(self.cells[i].0) {
            let (start, cell) = &self.cells[i];
            let (start, was_open) = (*start, !cell.is_sealed());
            if encoded_with(cell, |bytes| self.packed.push(start, bytes)) {
                self.cells.remove(i);
            } else {
                // The buffer is full (2 GiB): this one stays a cell, sealed in place.
                self.cells[i].1.seal();
                i += 1;
            }
            sealed += usize::from(was_open);
        }
        sealed
    }

    /// Merges every bucket whose start is in `[from, to)` into `out`, oldest first.
    pub(super) fn query_into(&self, from: i64, to: i64, out: &mut Stats) {
        let mut packed = self.packed.live_from(from).peekable();
        let mut cells = self
            .cells
            .range(self.cells.partition_point(|b| b.0 < from)..);
        let mut cell = cells.next();
        loop {
            let p = packed.peek().map(|&i| self.packed.starts[i]);
            match (p, cell) {
                (Some(ps), c) if c.is_none_or(|c| ps < c.0) => {
                    if ps >= to {
                        break;
                    }
                    if let Some(bytes) = packed.next().and_then(|i| self.packed.bytes_of(i)) {
                        out.merge(&decode(bytes));
                    }
                }
                (_, Some((start, c))) => {
                    if *start >= to {
                        break;
                    }
                    c.merge_into(out);
                    cell = cells.next();
                }
                (_, None) => break,
            }
        }
    }

    /// Every bucket, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (i64, Cow<'_, Stats>)> + '_ {
        let mut packed = self.packed.live_from(i64::MIN).peekable();
        let mut cells = self.cells.iter().peekable();
        std::iter::from_fn(move || {
            let p = packed.peek().map(|&i| self.packed.starts[i]);
            match (p, cells.peek()) {
                (Some(ps), c) if c.is_none_or(|c| ps < c.0) => {
                    let bytes = packed.next().and_then(|i| self.packed.bytes_of(i))?;
                    Some((ps, Cow::Owned(decode(bytes))))
                }
                (_, Some(_)) => cells.next().map(|(s, c)| (*s, c.stats())),
                (_, None) => None,
            }
        })
    }

    /// Moves every packed bucket back among the cells (sealed, in place), so that many
    /// writes to old buckets (a merge, a rename) do not reopen them one by one.
    pub(super) fn unpack(&mut self) {
        if self.packed.starts.is_empty() {
            return;
        }
        let packed = std::mem::take(&mut self.packed);
        let mut merged = VecDeque::with_capacity(packed.live_count() + self.cells.len());
        let mut cells = std::mem::take(&mut self.cells).into_iter().peekable();
        for i in packed.live_from(i64::MIN) {
            let start = packed.starts[i];
            while let Some(c) = cells.next_if(|c| c.0 < start) {
                merged.push_back(c);
            }
            if let Some(bytes) = packed.bytes_of(i) {
                merged.push_back((start, Cell::from_encoded(bytes)));
            }
        }
        merged.extend(cells);
        self.cells = merged;
    }

    /// The cells, every bucket among them (unpacked first).
    pub(super) fn cells_mut(&mut self) -> &mut VecDeque<Bucket> {
        self.unpack();
        &mut self.cells
    }

    /// Buckets held.
    pub(super) fn len(&self) -> usize {
        self.packed.live_count() + self.cells.len()
    }

    /// Whether no bucket is held.
    pub(super) fn is_empty(&self) -> bool {
        self.cells.is_empty() && self.packed.starts.is_empty()
    }

    /// Buckets packed.
    #[cfg(test)]
    pub(super) fn packed_count(&self) -> usize {
        self.packed.live_count()
    }

    /// The packed buffer's capacity, and the bytes of its live buckets.
    #[cfg(test)]
    pub(super) fn packed_bytes(&self) -> (usize, usize) {
        let live = self.packed.live_from(i64::MIN);
        let live = live
            .filter_map(|i| self.packed.bytes_of(i))
            .map(<[u8]>::len)
            .sum();
        (self.packed.bytes.capacity(), live)
    }

    /// Heap bytes of the packed buckets, and what the same buckets take as sealed cells.
    #[cfg(test)]
    pub(super) fn packed_heap_against_cells(&self) -> (usize, usize) {
        let live = self
            .packed
            .live_from(i64::MIN)
            .filter_map(|i| self.packed.bytes_of(i));
        let as_cells = live
            .map(|b| std::mem::size_of::<Bucket>() + Cell::from_encoded(b).heap_bytes())
            .sum();
        (self.packed.heap_bytes(), as_cells)
    }

    /// Sealed buckets held (packed, or sealed in place).
    #[cfg(test)]
    pub(super) fn sealed_count(&self) -> usize {
        self.packed.live_count() + self.cells.iter().filter(|b| b.1.is_sealed()).count()
    }

    /// Heap bytes: the buffer and its index, the cells' deque and their own heap.
    pub(super) fn heap_bytes(&self) -> usize {
        self.packed.heap_bytes()
            + crate::memory::deque(&self.cells)
            + self.cells.iter().map(|b| b.1.heap_bytes()).sum::<usize>()
    }
}

/// The cell starting at `start` in a sorted deque, created if missing.
#[inline]
fn cell_slot(level: &mut VecDeque<Bucket>, start: i64) -> &mut Cell {
    let pos = match level.back() {
        Some(b) if b.0 == start => level.len() - 1,
        Some(b) if b.0 < start => {
            level.push_back((start, Cell::default()));
            level.len() - 1
        }
        None => {
            level.push_back((start, Cell::default()));
            0
        }
        Some(_) => match level.binary_search_by_key(&start, |b| b.0) {
            Ok(p) => p,
            Err(p) => {
                level.insert(p, (start, Cell::default()));
                p
            }
        },
    };
    &mut level[pos].1
}

impl PartialEq for Level {
    fn eq(&self, other: &Level) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// A level serialises as the sequence of its buckets, `(start, stats)`, oldest first: the
/// form it had when every bucket was a cell, so snapshots keep their format.
impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for (start, stats) in self.iter() {
            seq.serialize_element(&(start, &*stats))?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        Ok(Level {
            packed: Packed::default(),
            cells: VecDeque::deserialize(d)?,
        })
    }
}
