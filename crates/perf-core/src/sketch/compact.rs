//! The sketch's part of the sealed-bucket codec (rollup/compact.rs): a flag byte says which
//! values are implied by others (the count equal to the bucket's requests, the minimum equal
//! to the sum — one value —, the maximum equal to the minimum, no zeros, a zero sum), then
//! varints for the counts outside the bins and exact float bits for the rest. The bins are
//! bit-packed in blocks (crate::bitpack): a dense store's counts, or a sparse store's first
//! index as a varint and then its gaps and its counts. A one-request bucket's sketch takes
//! 13 bytes instead of postcard's 31; a busy bucket's bins 31–58 % of what varints took
//! (BENCHMARKS.md, "Memory accounted, and over days").

use super::store::BinStore;
use super::LatencySketch;
use crate::bitpack::{BitReader, BitWriter};
use crate::varint::{put_f64, put_i64, put_u64, Reader};

const COUNT_IMPLIED: u8 = 1;
const HAS_ZEROS: u8 = 2;
const MIN_IS_SUM: u8 = 4;
const MAX_IS_MIN: u8 = 8;
const DENSE: u8 = 16;
const SUM_ZERO: u8 = 32;

impl LatencySketch {
    /// Appends the sketch; `implied_count` is a count the reader will know (the bucket's
    /// requests), written only when the sketch's differs.
    pub(crate) fn write_compact(&self, out: &mut Vec<u8>, implied_count: u64) {
        let bits = |v: f64| v.to_bits();
        let mut flags = 0;
        if self.count == implied_count {
            flags |= COUNT_IMPLIED;
        }
        if self.zero_count != 0 {
            flags |= HAS_ZEROS;
        }
        if bits(self.sum) == 0 {
            flags |= SUM_ZERO;
        }
        if bits(self.min) == bits(self.sum) {
            flags |= MIN_IS_SUM;
        }
        if bits(self.max) == bits(self.min) {
            flags |= MAX_IS_MIN;
        }
        if matches!(self.bins, BinStore::Dense { .. }) {
            flags |= DENSE;
        }
        out.push(flags);
        if flags & COUNT_IMPLIED == 0 {
            put_u64(out, self.count);
        }
        if flags & HAS_ZEROS != 0 {
            put_u64(out, self.zero_count);
        }
        if flags & SUM_ZERO == 0 {
            put_f64(out, self.sum);
        }
        if flags & MIN_IS_SUM == 0 {
            put_f64(out, self.min);
        }
        if flags & MAX_IS_MIN == 0 {
            put_f64(out, self.max);
        }
        match &self.bins {
            BinStore::Sparse(pairs) => {
                put_u64(out, pairs.len() as u64);
                if let Some(&(first, _)) = pairs.first() {
                    put_i64(out, i64::from(first));
                    let mut w = BitWriter::new(out);
                    // Sorted without duplicates: every gap is at least 1.
                    w.pack(pairs.windows(2).map(|p| p[1].0.abs_diff(p[0].0) - 1));
                    w.pack(pairs.iter().map(|p| p.1));
                    w.finish();
                }
            }
            BinStore::Dense { offset, counts } => {
                put_i64(out, i64::from(*offset));
                put_u64(out, counts.len() as u64);
                let mut w = BitWriter::new(out);
                w.pack(counts.iter().copied());
                w.finish();
            }
        }
    }

    /// Reads what [`LatencySketch::write_compact`] wrote with the same `implied_count`.
    pub(crate) fn read_compact(r: &mut Reader<'_>, implied_count: u64) -> Option<Self> {
        let flags = r.u8()?;
        let count = if flags & COUNT_IMPLIED != 0 {
            implied_count
        } else {
            r.u64()?
        };
        let zero_count = if flags & HAS_ZEROS != 0 { r.u64()? } else { 0 };
        let sum = if flags & SUM_ZERO != 0 { 0.0 } else { r.f64()? };
        let min = if flags & MIN_IS_SUM != 0 {
            sum
        } else {
            r.f64()?
        };
        let max = if flags & MAX_IS_MIN != 0 {
            min
        } else {
            r.f64()?
        };
        let bins = if flags & DENSE != 0 {
            let offset = i32::try_from(r.i64()?).ok()?;
            let len = r.u64()? as usize;
            let mut counts = Vec::with_capacity(len.min(4_096));
            let mut bits = BitReader::new(r.rest());
            bits.unpack(len, |c| counts.push(c))?;
            r.skip(bits.bytes_used());
            BinStore::Dense { offset, counts }
        } else {
            let len = r.u64()? as usize;
            let mut pairs = Vec::with_capacity(len.min(4_096));
            if len > 0 {
                let mut index = r.i64()?;
                let mut bits = BitReader::new(r.rest());
                pairs.push((i32::try_from(index).ok()?, 0));
                bits.unpack(len - 1, |gap| {
                    index += i64::from(gap) + 1;
                    // An index past i32 ends the read below.
                    pairs.push((i32::try_from(index).unwrap_or(i32::MAX), 0));
                })?;
                if i32::try_from(index).is_err() {
                    return None;
                }
                let mut pair = pairs.iter_mut();
                bits.unpack(len, |c| {
                    if let Some(p) = pair.next() {
                        p.1 = c;
                    }
                })?;
                r.skip(bits.bytes_used());
            }
            BinStore::Sparse(pairs)
        };
        Some(LatencySketch {
            bins,
            zero_count,
            count,
            sum,
            min,
            max,
        })
    }
}
