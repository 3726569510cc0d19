//! Bin counts of a sketch: sparse (sorted `(index, count)` pairs) while few bins are used,
//! dense (one `u32` per bin over the used index range) once that is smaller. Most sketches
//! in a rolling window belong to small buckets, so the sparse form keeps them tiny.

use serde::{Deserialize, Serialize};

/// Above this many distinct bins a sparse store becomes dense (if that is not larger).
const SPARSE_LIMIT: usize = 48;

/// Counts per bin index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BinStore {
    /// Sorted by index, no duplicates.
    Sparse(Vec<(i32, u32)>),
    /// `counts[k]` is the count of bin `offset + k`.
    Dense {
        /// Index of the first slot.
        offset: i32,
        /// Counts, one per consecutive index.
        counts: Vec<u32>,
    },
}

impl Default for BinStore {
    fn default() -> Self {
        BinStore::Sparse(Vec::new())
    }
}

impl BinStore {
    /// Adds `n` to bin `index`.
    #[inline]
    pub fn add(&mut self, index: i32, n: u32) {
        match self {
            BinStore::Sparse(pairs) => {
                match pairs.binary_search_by_key(&index, |p| p.0) {
                    Ok(pos) => pairs[pos].1 += n,
                    Err(pos) => pairs.insert(pos, (index, n)),
                }
                if pairs.len() > SPARSE_LIMIT {
                    self.densify_if_smaller();
                }
            }
            BinStore::Dense { offset, counts } => {
                grow_to_cover(offset, counts, index);
                counts[(index - *offset) as usize] += n;
            }
        }
    }

    fn densify_if_smaller(&mut self) {
        let BinStore::Sparse(pairs) = self else {
            return;
        };
        let (lo, hi) = (pairs[0].0, pairs[pairs.len() - 1].0);
        let dense_len = (hi - lo + 1) as usize;
        // A pair costs 8 bytes, a dense slot 4.
        if dense_len * 4 > pairs.len() * 8 {
            return;
        }
        let mut counts = vec![0u32; dense_len];
        for &(i, c) in pairs.iter() {
            counts[(i - lo) as usize] = c;
        }
        *self = BinStore::Dense { offset: lo, counts };
    }

    /// Adds every count of `other`. A sparse store that would grow past the sparse limit
    /// turns dense first (query accumulators then merge with slice adds).
    pub fn merge(&mut self, other: &BinStore) {
        if let BinStore::Sparse(mine) = self {
            match other {
                BinStore::Sparse(theirs) if mine.len() + theirs.len() <= SPARSE_LIMIT => {
                    for &(i, c) in theirs {
                        self.add(i, c);
                    }
                    return;
                }
                _ => self.force_dense(),
            }
        }
        let BinStore::Dense { offset, counts } = self else {
            return;
        };
        match other {
            BinStore::Sparse(pairs) => {
                let (Some(first), Some(last)) = (pairs.first(), pairs.last()) else {
                    return;
                };
                grow_to_cover(offset, counts, first.0);
                grow_to_cover(offset, counts, last.0);
                for &(i, c) in pairs {
                    counts[(i - *offset) as usize] += c;
                }
            }
            BinStore::Dense {
                offset: o_off,
                counts: o_counts,
            } => {
                if o_counts.is_empty() {
                    return;
                }
                grow_to_cover(offset, counts, *o_off);
                grow_to_cover(offset, counts, *o_off + o_counts.len() as i32 - 1);
                let start = (*o_off - *offset) as usize;
                for (dst, src) in counts[start..start + o_counts.len()]
                    .iter_mut()
                    .zip(o_counts)
                {
                    *dst += *src;
                }
            }
        }
    }

    /// Turns a sparse store dense whatever the sizes.
    fn force_dense(&mut self) {
        let BinStore::Sparse(pairs) = self else {
            return;
        };
        let mut offset = 0;
        let mut counts = Vec::new();
        if let (Some(first), Some(last)) = (pairs.first(), pairs.last()) {
            offset = first.0;
            counts = vec![0u32; (last.0 - first.0 + 1) as usize];
            for &(i, c) in pairs.iter() {
                counts[(i - offset) as usize] = c;
            }
        }
        *self = BinStore::Dense { offset, counts };
    }

    /// The bin index holding the value of zero-based rank `rank` among the binned values.
    pub fn index_at_rank(&self, rank: u64) -> Option<i32> {
        let mut seen = 0u64;
        match self {
            BinStore::Sparse(pairs) => {
                for &(i, c) in pairs {
                    seen += c as u64;
                    if seen > rank {
                        return Some(i);
                    }
                }
            }
            BinStore::Dense { offset, counts } => {
                for (k, &c) in counts.iter().enumerate() {
                    seen += c as u64;
                    if seen > rank {
                        return Some(*offset + k as i32);
                    }
                }
            }
        }
        None
    }

    /// Total count of bins with index `<= index`.
    pub fn count_at_most(&self, index: i32) -> u64 {
        match self {
            BinStore::Sparse(pairs) => pairs
                .iter()
                .take_while(|p| p.0 <= index)
                .map(|p| p.1 as u64)
                .sum(),
            BinStore::Dense { offset, counts } => {
                if index < *offset {
                    return 0;
                }
                let end = ((index - *offset) as usize + 1).min(counts.len());
                counts[..end].iter().map(|&c| c as u64).sum()
            }
        }
    }

    /// Non-empty bins as `(index, count)`, ascending by index.
    pub fn nonzero(&self) -> Vec<(i32, u64)> {
        match self {
            BinStore::Sparse(pairs) => pairs.iter().map(|&(i, c)| (i, u64::from(c))).collect(),
            BinStore::Dense { offset, counts } => counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(k, &c)| (*offset + k as i32, u64::from(c)))
                .collect(),
        }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        match self {
            BinStore::Sparse(pairs) => pairs.capacity() * 8,
            BinStore::Dense { counts, .. } => counts.capacity() * 4,
        }
    }
}

/// Extends a dense range so that it covers `index`.
fn grow_to_cover(offset: &mut i32, counts: &mut Vec<u32>, index: i32) {
    if counts.is_empty() {
        *offset = index;
        counts.push(0);
        return;
    }
    if index < *offset {
        let extra = (*offset - index) as usize;
        counts.splice(0..0, std::iter::repeat_n(0, extra));
        *offset = index;
    } else {
        let last = *offset + counts.len() as i32 - 1;
        if index > last {
            counts.resize(counts.len() + (index - last) as usize, 0);
        }
    }
}
