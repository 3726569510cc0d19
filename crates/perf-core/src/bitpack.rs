//! Bit-packed runs of small integers for the bin counts of sealed buckets
//! (sketch/compact.rs): "binary packing" as in Lemire and Boytsov's integer codecs. Values go
//! in blocks of [`BLOCK`]; each block stores the bit width of its largest value (6 bits)
//! and then every value in that many bits.
//!
//! A bucket's latency sketch is a run of a few hundred bin counts that rise smoothly from
//! the fast tail to the body and fall off into the slow tail: counts of 0–3 in the tails
//! beside hundreds in the body. A varint spends a byte on each tail count and two on every
//! body count of 128 or more; neighbouring bins are alike, so a block's width fits all of
//! them to within a bit or two. Measured on sketches of 120 to 24,000 requests (lognormal,
//! with and without a Pareto tail): 31–58 % of the varints' bytes. An adaptive Rice code
//! (LOCO-I's) was 2–24 % smaller still but decoded at a third of the speed, and every query
//! over settled buckets decodes them: the `profile` of 100 operations went from 3.8 to
//! 11.2 ms with it (BENCHMARKS.md, "Memory accounted, and over days").
//!
//! Written here rather than taken from a crate: the SIMD packers (`bitpacking`) want blocks
//! of 32 or 128 values and their own framing, where a sketch has a few hundred values that
//! share a byte stream with the rest of the bucket; this is a few lines over a 64-bit word.
//! Bits are packed least-significant first; a stream ends on a byte boundary (zero padding)
//! and its reader knows where, because the bucket's other fields follow it.

/// Values per block.
const BLOCK: usize = 16;
/// Bits of a block's width (0–32).
const WIDTH_BITS: u32 = 6;

/// Appends bits to a byte vector.
pub(crate) struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    bits: u64,
    used: u32,
}

impl<'a> BitWriter<'a> {
    /// A writer appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            out,
            bits: 0,
            used: 0,
        }
    }

    /// Writes the `n` (≤ 32) low bits of `v` (no higher bits set).
    #[inline]
    fn put(&mut self, v: u64, n: u32) {
        self.bits |= v << self.used;
        self.used += n;
        if self.used >= 32 {
            self.out
                .extend_from_slice(&(self.bits as u32).to_le_bytes());
            self.bits >>= 32;
            self.used -= 32;
        }
    }

    /// Writes `values` in blocks.
    pub(crate) fn pack(&mut self, values: impl IntoIterator<Item = u32>) {
        let mut values = values.into_iter().peekable();
        let mut block = [0u32; BLOCK];
        while values.peek().is_some() {
            let mut n = 0;
            while n < BLOCK {
                match values.next() {
                    Some(v) => {
                        block[n] = v;
                        n += 1;
                    }
                    None => break,
                }
            }
            let width = 32 - block[..n].iter().fold(0, |a, &v| a | v).leading_zeros();
            self.put(u64::from(width), WIDTH_BITS);
            if width > 0 {
                for &v in &block[..n] {
                    self.put(u64::from(v), width);
                }
            }
        }
    }

    /// Writes out the last bits, the last byte padded with zeros.
    pub(crate) fn finish(self) {
        let bytes = self.bits.to_le_bytes();
        self.out
            .extend_from_slice(&bytes[..self.used.div_ceil(8) as usize]);
    }
}

/// Reads what a [`BitWriter`] wrote.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    /// The next byte to load into `bits`.
    next: usize,
    /// Loaded bits not read yet, the oldest lowest; nothing above `avail`.
    bits: u64,
    avail: u32,
    consumed: usize,
}

impl<'a> BitReader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        BitReader {
            bytes,
            next: 0,
            bits: 0,
            avail: 0,
            consumed: 0,
        }
    }

    /// Loads whole bytes until at least 56 bits are available (or the bytes end).
    #[inline]
    fn refill(&mut self) {
        if let Some(word) = self.bytes.get(self.next..self.next + 8) {
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            // At most 7 whole bytes fit (avail ≤ 63), so the mask never shifts by 64.
            let whole = (63 - self.avail) / 8;
            self.bits |= (word & ((1u64 << (whole * 8)) - 1)) << self.avail;
            self.next += whole as usize;
            self.avail += whole * 8;
        } else {
            while self.avail <= 56 && self.next < self.bytes.len() {
                self.bits |= u64::from(self.bytes[self.next]) << self.avail;
                self.next += 1;
                self.avail += 8;
            }
        }
    }

    /// The next `n` (≤ 32) bits, `None` past the end of the bytes.
    #[inline]
    fn take(&mut self, n: u32) -> Option<u32> {
        if self.avail < n {
            self.refill();
            if self.avail < n {
                return None;
            }
        }
        let v = self.bits & ((1u64 << n) - 1);
        self.bits >>= n;
        self.avail -= n;
        self.consumed += n as usize;
        Some(v as u32)
    }

    /// Reads `n` values written by [`BitWriter::pack`], giving each to `each`.
    #[inline]
    pub(crate) fn unpack(&mut self, n: usize, mut each: impl FnMut(u32)) -> Option<()> {
        let mut left = n;
        while left > 0 {
            let in_block = left.min(BLOCK);
            let width = self.take(WIDTH_BITS)?;
            if width > 32 {
                return None;
            }
            if width == 0 {
                (0..in_block).for_each(|_| each(0));
            } else {
                for _ in 0..in_block {
                    each(self.take(width)?);
                }
            }
            left -= in_block;
        }
        Some(())
    }

    /// Bytes the values read so far occupy, the padding of the last one included.
    pub(crate) fn bytes_used(&self) -> usize {
        self.consumed.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Packs `values` after a byte, then a byte after the stream (as the bucket's stages
    /// follow its bins); reads them back.
    fn round_trip(values: &[u32]) -> (Vec<u8>, Vec<u32>, usize) {
        let mut out = vec![0xAB];
        let mut w = BitWriter::new(&mut out);
        w.pack(values.iter().copied());
        w.finish();
        out.push(0xCD);
        let mut r = BitReader::new(&out[1..]);
        let mut back = Vec::new();
        r.unpack(values.len(), |v| back.push(v)).unwrap();
        let used = r.bytes_used();
        (out, back, used)
    }

    proptest! {
        /// Any values, small or up to u32::MAX, read back exactly, and the reader knows
        /// where the stream ended.
        #[test]
        fn values_read_back_exactly_and_the_end_is_known(
            values in proptest::collection::vec(prop_oneof![0u32..4, 0u32..300, any::<u32>()], 0..400),
        ) {
            let (out, back, used) = round_trip(&values);
            prop_assert_eq!(&back, &values);
            prop_assert_eq!(used, out.len() - 2);
            prop_assert_eq!(out[1 + used], 0xCD);
        }

        /// A stream cut short is refused, never misread as shorter values.
        #[test]
        fn a_truncated_stream_is_refused(values in proptest::collection::vec(1u32..5000, 1..200), cut in 1usize..4) {
            let mut out = Vec::new();
            let mut w = BitWriter::new(&mut out);
            w.pack(values.iter().copied());
            w.finish();
            let keep = out.len().saturating_sub(cut);
            let mut r = BitReader::new(&out[..keep]);
            let read = r.unpack(values.len(), |_| ());
            prop_assert!(read.is_none());
        }
    }

    #[test]
    fn a_sketch_shaped_run_takes_under_half_its_varints() {
        // A sparse fast tail, a body of hundreds, a long thin slow tail.
        let mut counts: Vec<u32> = (0..40).map(|i| u32::from(i % 3 == 0)).collect();
        counts.extend((0..60).map(|i| 150 + (i * 37 % 90)));
        counts.extend((0..200).map(|i| u32::from(i % 5 == 0) + u32::from(i % 7 == 0)));
        let (out, back, _) = round_trip(&counts);
        assert_eq!(back, counts);
        let varint: usize = counts.iter().map(|&c| if c < 128 { 1 } else { 2 }).sum();
        assert!(
            (out.len() - 2) * 2 < varint,
            "{} bytes against {varint} as varints",
            out.len() - 2
        );
    }
}
