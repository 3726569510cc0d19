//! The engine snapshot is stored as chunks of at most [`CHUNK_BYTES`], each written in a short
//! transaction of its own, and made current by one last small transaction that points the
//! snapshot row at their generation. Written as one value in one transaction, a snapshot of
//! a few hundred MB held the database for a second and made the disk flush all of it at the
//! commit, and every ingest commit's fsync of the log queued behind that flush
//! (BENCHMARKS.md, "Snapshots and pauses": 100 ms commits at 140k series). Chunk by chunk,
//! the log's fsync waits for one chunk at most. Both backends use the same cut, so the two
//! stores hold the same rows.
//!
//! Crash safety: until the last transaction the previous generation stays current and whole;
//! chunks of a save that never finished are deleted by the next save. A snapshot row that
//! names a generation whose chunks are not all there is reported, never read short.

use crate::StoreError;

/// Bytes per chunk: small enough that SQLite keeps a chunk in its page cache until the commit
/// (2 MiB by default) and that one chunk's flush is a few milliseconds.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Cuts a value written piece by piece into chunks of at most `size` bytes, handing each
/// full chunk on as soon as it is full: a snapshot is stored while it is being encoded,
/// and never held whole (BENCHMARKS.md, "Memory accounted, and over days").
pub(crate) struct ChunkBuffer {
    chunk: Vec<u8>,
    size: usize,
    count: usize,
}

impl ChunkBuffer {
    /// An empty buffer cutting at `size` bytes.
    pub(crate) fn new(size: usize) -> Self {
        ChunkBuffer {
            chunk: Vec::new(),
            size,
            count: 0,
        }
    }

    /// Appends `bytes`, calling `each(index, chunk)` for every chunk they fill.
    pub(crate) fn write(
        &mut self,
        bytes: &[u8],
        mut each: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.chunk.capacity() == 0 {
                self.chunk
                    .reserve_exact(self.size.min(rest.len().max(4_096)));
            }
            let take = (self.size - self.chunk.len()).min(rest.len());
            self.chunk.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.chunk.len() == self.size {
                each(self.count, &self.chunk)?;
                self.count += 1;
                self.chunk.clear();
            }
        }
        Ok(())
    }

    /// Hands on the last, partly filled chunk; answers how many chunks there were.
    pub(crate) fn finish(
        mut self,
        mut each: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        if !self.chunk.is_empty() {
            each(self.count, &self.chunk)?;
            self.count += 1;
        }
        Ok(self.count)
    }
}

/// Calls `each(index, bytes)` with consecutive chunks of at most `size` bytes of the value
/// made of `parts` one after the other; answers how many chunks there were.
#[cfg(test)]
pub(crate) fn for_each_chunk(
    parts: &[&[u8]],
    size: usize,
    mut each: impl FnMut(usize, &[u8]) -> Result<(), StoreError>,
) -> Result<usize, StoreError> {
    let mut buffer = ChunkBuffer::new(size);
    for part in parts {
        buffer.write(part, &mut each)?;
    }
    buffer.finish(each)
}

/// Joins the chunks `(index, bytes)` read back in index order, checking that there are
/// exactly `expected` of them numbered from zero.
pub(crate) fn join_chunks(
    generation: i64,
    expected: usize,
    chunks: impl IntoIterator<Item = (i64, Vec<u8>)>,
) -> Result<Vec<u8>, StoreError> {
    let mut data = Vec::new();
    let mut next = 0i64;
    for (idx, bytes) in chunks {
        if idx != next {
            break;
        }
        if data.is_empty() {
            data.reserve(bytes.len().saturating_mul(expected));
        }
        data.extend_from_slice(&bytes);
        next += 1;
    }
    if next as usize != expected {
        return Err(StoreError::Integrity(format!(
            "the snapshot (generation {generation}) has {expected} chunks, but chunk {next} is missing"
        )));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(parts: &[&[u8]], size: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let n = for_each_chunk(parts, size, |i, c| {
            assert_eq!(i, out.len());
            out.push(c.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(n, out.len());
        out
    }

    #[test]
    fn chunks_cut_across_parts_and_join_back() {
        let parts: [&[u8]; 5] = [&[1, 2, 3], &[], &[4], &[5, 6, 7, 8, 9], &[10]];
        let chunks = cut(&parts, 4);
        assert_eq!(
            chunks,
            vec![vec![1, 2, 3, 4], vec![5, 6, 7, 8], vec![9, 10]]
        );
        let joined = join_chunks(
            1,
            3,
            chunks.into_iter().enumerate().map(|(i, c)| (i as i64, c)),
        );
        assert_eq!(joined.unwrap(), (1..=10).collect::<Vec<u8>>());
        assert!(cut(&[&[], &[]], 4).is_empty());
        assert_eq!(cut(&[&[1, 2, 3, 4]], 4), vec![vec![1, 2, 3, 4]]);
    }

    #[test]
    fn a_missing_chunk_is_an_error_not_a_short_snapshot() {
        let chunks = vec![(0, vec![1]), (2, vec![3])];
        let e = join_chunks(7, 3, chunks).unwrap_err();
        assert!(e.to_string().contains("chunk 1 is missing"), "{e}");
        assert!(join_chunks(7, 2, vec![(0, vec![1]), (1, vec![2]), (2, vec![3])]).is_err());
        assert!(join_chunks(7, 0, Vec::new()).unwrap().is_empty());
    }
}
