//! Adaptive Golomb–Rice codes for the bin counts of sealed buckets (sketch/compact.rs).
//!
//! A bucket's latency sketch is a run of a few hundred bin counts that rise smoothly from
//! the fast tail to the body and fall off into the slow tail: counts of 0–3 in the tails
//! beside hundreds in the body. A varint spends a byte on each tail count and two on every
//! body count of 128 or more. A Rice code spends `k` low bits plus a unary quotient, and
//! chooses `k` from the running mean of the last few counts, as LOCO-I / JPEG-LS do for
//! image residuals: ~1–2 bits in the tails, ~log₂(count) + 2 in the body. Measured on the
//! demo's sealed minute and ten-minute buckets (BENCHMARKS.md, "Memory accounted, and over
//! days") before choosing it, against the best single `k` per bucket and adaptive
//! exponential-Golomb codes.
//!
//! Written here rather than taken from a crate: the bit packing is a few lines, and the
//! adaptive parameter, the escape and the exact byte accounting (the reader must know where
//! the bit stream ends, because the bucket's stages follow it) are this codec's own.
//!
//! Bits are packed least-significant first. A value `v` with parameter `k` is its quotient
//! `q = v >> k` in unary (`q` ones and a zero) and then its `k` low bits; a quotient of
//! [`ESCAPE`] or more is written as [`ESCAPE`] ones and the value's 32 bits, so no value
//! costs more than 56 bits. A stream ends on a byte boundary (zero padding).

/// Quotients from this size on are written raw.
const ESCAPE: u32 = 24;
/// The running mean forgets by halving once it has this many values.
const RESET: u32 = 4;

/// The adaptive parameter of one stream of values: the running sum and count of the values
/// seen (halved every [`RESET`] values), whose ratio is the mean `k` follows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    sum: u64,
    count: u32,
}

impl Default for Context {
    fn default() -> Self {
        // Starts as if it had seen a 4: k = 2.
        Context { sum: 4, count: 1 }
    }
}

impl Context {
    /// The smallest `k` with count · 2^k ≥ sum.
    #[inline]
    fn k(&self) -> u32 {
        // count · 2^k ≥ sum  ⇔  2^k ≥ ⌈sum / count⌉.
        let mean_up = self.sum.div_ceil(u64::from(self.count));
        if mean_up <= 1 {
            0
        } else {
            (64 - (mean_up - 1).leading_zeros()).min(31)
        }
    }

    #[inline]
    fn learn(&mut self, v: u32) {
        self.sum += u64::from(v);
        self.count += 1;
        if self.count >= RESET {
            self.sum >>= 1;
            self.count >>= 1;
        }
    }
}

/// Appends Rice-coded values to a byte vector.
pub(crate) struct RiceWriter<'a> {
    out: &'a mut Vec<u8>,
    bits: u64,
    used: u32,
}

impl<'a> RiceWriter<'a> {
    /// A writer appending to `out`.
    pub(crate) fn new(out: &'a mut Vec<u8>) -> Self {
        RiceWriter {
            out,
            bits: 0,
            used: 0,
        }
    }

    /// Writes the `n` (≤ 32) low bits of `v`.
    #[inline]
    fn put_bits(&mut self, v: u64, n: u32) {
        self.bits |= v << self.used;
        self.used += n;
        while self.used >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.used -= 8;
        }
    }

    /// Writes `v` with the parameter of `ctx`, then lets `ctx` learn it.
    #[inline]
    pub(crate) fn put(&mut self, ctx: &mut Context, v: u32) {
        let k = ctx.k();
        let q = v >> k;
        if q < ESCAPE {
            // q ones, then the zero above them.
            self.put_bits((1u64 << q) - 1, q + 1);
            self.put_bits(u64::from(v) & ((1u64 << k) - 1), k);
        } else {
            self.put_bits((1u64 << ESCAPE) - 1, ESCAPE);
            self.put_bits(u64::from(v), 32);
        }
        ctx.learn(v);
    }

    /// Pads the last byte with zeros.
    pub(crate) fn finish(mut self) {
        if self.used > 0 {
            self.put_bits(0, 8 - self.used);
        }
    }
}

/// Reads what a [`RiceWriter`] wrote, with the same sequence of contexts.
pub(crate) struct RiceReader<'a> {
    bytes: &'a [u8],
    next: usize,
    bits: u64,
    avail: u32,
    consumed: usize,
}

impl<'a> RiceReader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        RiceReader {
            bytes,
            next: 0,
            bits: 0,
            avail: 0,
            consumed: 0,
        }
    }

    #[inline]
    fn refill(&mut self) {
        while self.avail <= 56 && self.next < self.bytes.len() {
            self.bits |= u64::from(self.bytes[self.next]) << self.avail;
            self.next += 1;
            self.avail += 8;
        }
    }

    #[inline]
    fn take(&mut self, n: u32) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        self.refill();
        if self.avail < n {
            return None;
        }
        let v = self.bits & ((1u64 << n) - 1);
        self.bits >>= n;
        self.avail -= n;
        self.consumed += n as usize;
        Some(v)
    }

    /// The next value, read with the parameter of `ctx`, which then learns it; `None` past
    /// the end of the bytes.
    #[inline]
    pub(crate) fn get(&mut self, ctx: &mut Context) -> Option<u32> {
        let k = ctx.k();
        self.refill();
        let ones = (!self.bits).trailing_zeros().min(self.avail);
        let v = if ones >= ESCAPE {
            self.take(ESCAPE)?;
            u32::try_from(self.take(32)?).ok()?
        } else if ones < self.avail {
            self.take(ones + 1)?;
            let low = self.take(k)?;
            u32::try_from((u64::from(ones) << k) | low).ok()?
        } else {
            return None;
        };
        ctx.learn(v);
        Some(v)
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

    fn round_trip(values: &[u32]) -> (Vec<u8>, Vec<u32>, usize) {
        let mut out = vec![0xAB];
        let mut ctx = Context::default();
        let mut w = RiceWriter::new(&mut out);
        for &v in values {
            w.put(&mut ctx, v);
        }
        w.finish();
        // Something after the stream, as the bucket's stages follow the bins.
        out.push(0xCD);
        let mut ctx = Context::default();
        let mut r = RiceReader::new(&out[1..]);
        let back: Vec<u32> = values.iter().map(|_| r.get(&mut ctx).unwrap()).collect();
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
        fn a_truncated_stream_is_refused(values in proptest::collection::vec(0u32..5000, 1..200), cut in 1usize..4) {
            let mut out = Vec::new();
            let mut ctx = Context::default();
            let mut w = RiceWriter::new(&mut out);
            for &v in &values {
                w.put(&mut ctx, v);
            }
            w.finish();
            let keep = out.len().saturating_sub(cut);
            let mut ctx = Context::default();
            let mut r = RiceReader::new(&out[..keep]);
            let all = values.iter().map(|_| r.get(&mut ctx)).collect::<Option<Vec<u32>>>();
            prop_assert!(all.is_none());
        }
    }

    #[test]
    fn a_smooth_run_of_counts_costs_a_few_bits_each() {
        // A sketch's shape: a sparse fast tail, a body of hundreds, a long thin slow tail.
        let mut counts: Vec<u32> = (0..40).map(|i| (i % 3 == 0) as u32).collect();
        counts.extend((0..60).map(|i| 150 + (i * 37 % 90)));
        counts.extend((0..200).map(|i| (i % 5 == 0) as u32 + (i % 7 == 0) as u32));
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
