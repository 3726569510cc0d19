//! LEB128 varints, zigzag for signed values, and raw little-endian floats: the pieces of the
//! sealed-bucket codec (rollup/compact.rs), which writes millions of small values per sweep.
//! Hand-written because the codec needs field-level control (presence bits, values implied
//! by others) that a serde format does not give; the primitives are a few lines each.

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded (small magnitudes of either sign stay short).
#[inline]
pub(crate) fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends the exact bits of `v`.
#[inline]
pub(crate) fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// Reads what the `put_*` functions wrote; every read answers `None` past the end or on an
/// overlong varint.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// One byte.
    #[inline]
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    /// An unsigned varint.
    #[inline]
    pub(crate) fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// A zigzag varint.
    #[inline]
    pub(crate) fn i64(&mut self) -> Option<i64> {
        let u = self.u64()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    /// Passes over `n` bytes (all that are left, if fewer).
    pub(crate) fn skip(&mut self, n: usize) {
        self.bytes = &self.bytes[n.min(self.bytes.len())..];
    }

    /// Exact float bits.
    #[inline]
    pub(crate) fn f64(&mut self) -> Option<f64> {
        let (head, rest) = self.bytes.split_first_chunk::<8>()?;
        self.bytes = rest;
        Some(f64::from_bits(u64::from_le_bytes(*head)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn values_read_back_exactly(u in any::<u64>(), i in any::<i64>(), bits in any::<u64>()) {
            let mut out = Vec::new();
            put_u64(&mut out, u);
            put_i64(&mut out, i);
            put_f64(&mut out, f64::from_bits(bits));
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.u64(), Some(u));
            prop_assert_eq!(r.i64(), Some(i));
            prop_assert_eq!(r.f64().map(f64::to_bits), Some(bits));
            prop_assert!(r.is_empty());
            prop_assert_eq!(r.u8(), None);
        }
    }

    #[test]
    fn small_values_are_short_and_truncation_is_none() {
        let mut out = Vec::new();
        put_u64(&mut out, 127);
        put_i64(&mut out, -64);
        assert_eq!(out.len(), 2);
        put_u64(&mut out, 300);
        assert_eq!(out.len(), 4);
        let mut r = Reader::new(&out[..3]);
        assert_eq!((r.u64(), r.i64(), r.u64()), (Some(127), Some(-64), None));
        assert_eq!(Reader::new(&[0xff; 11]).u64(), None);
    }
}
