//! Reading one segment file and telling a torn tail from damage.
//!
//! A record is `[len u32][crc32 u32][seq u64][payload]`, `len` counting the sequence number
//! and the payload, the CRC covering the same bytes. Reading stops at the first record that is
//! short, has an impossible length or fails its checksum. What that stop means depends on what
//! follows it:
//!
//! - **nothing valid** after it: a write that never completed (a crash mid-append, or the
//!   unsynced tail the kernel had not written out). It was never acknowledged, because a record
//!   is acknowledged only after an fsync that covers it and every record before it; the reader
//!   reports it as a torn tail, and the log cuts it off (only in the last segment).
//! - **a valid record with a later sequence number** after it: the bad bytes sit in the middle
//!   of acknowledged data (a flipped bit, a bad sector). Cutting there would silently drop the
//!   acknowledged records that follow, so it is damage and the log refuses to open.
//!
//! The search for a later record scans every offset after the stop for a header whose sequence
//! number lies just above the last good one and whose checksum holds (a false match needs a
//! 32-bit CRC collision at a position that also carries a plausible sequence number).

use crate::StoreError;
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Bytes before the payload: length, checksum, sequence number.
pub(super) const HEADER: usize = 16;
/// Largest record accepted when reading (a corrupt length must not allocate gigabytes).
pub(super) const MAX_RECORD: usize = 1 << 30;
/// How far above the last good sequence number a record found after a bad one may be and
/// still count as the continuation of the log.
const MAX_SEQ_JUMP: u64 = 1 << 20;

/// Why reading a segment stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// Every byte was a valid record.
    Clean,
    /// The bytes from `valid` on hold no valid record: an incomplete, unacknowledged write.
    TornTail,
    /// A bad record at `valid` is followed by a valid record at `next_valid`.
    Damaged {
        /// Offset of the first valid record after the damage.
        next_valid: u64,
    },
}

/// What a segment holds.
pub(super) struct SegmentContent {
    /// Its valid records, in file order.
    pub records: Vec<(u64, Vec<u8>)>,
    /// Length of the valid prefix.
    pub valid: u64,
    /// File length.
    pub total: u64,
    /// Why reading stopped.
    pub stop: Stop,
}

/// The record at `pos`, if one is complete and its checksum holds: (seq, payload range end).
fn record_at(data: &[u8], pos: usize) -> Option<(u64, usize)> {
    if data.len().saturating_sub(pos) < HEADER {
        return None;
    }
    let len = u32::from_le_bytes(data[pos..pos + 4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().ok()?);
    if !(8..=MAX_RECORD).contains(&len) || data.len() - pos - 8 < len {
        return None;
    }
    let body = &data[pos + 8..pos + 8 + len];
    if crc32fast::hash(body) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(body[..8].try_into().ok()?);
    Some((seq, pos + 8 + len))
}

/// The offset of the first valid record after `from` whose sequence number lies in
/// `(after_seq, after_seq + MAX_SEQ_JUMP]`.
fn later_record(data: &[u8], from: usize, after_seq: u64) -> Option<usize> {
    let last = data.len().checked_sub(HEADER)?;
    (from..=last).find(|&p| {
        let seq = u64::from_le_bytes(data[p + 8..p + 16].try_into().unwrap_or_default());
        seq > after_seq
            && seq - after_seq <= MAX_SEQ_JUMP
            && record_at(data, p).is_some_and(|(s, _)| s == seq)
    })
}

/// Reads the valid records of a segment whose first record should carry `first_seq`.
pub(super) fn read_segment(path: &Path, first_seq: u64) -> Result<SegmentContent, StoreError> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(StoreError::io(format!("reading {}", path.display())))?;
    Ok(parse_segment(&data, first_seq))
}

/// [`read_segment`] on bytes already read.
pub(super) fn parse_segment(data: &[u8], first_seq: u64) -> SegmentContent {
    let mut records = Vec::new();
    let mut pos = 0usize;
    let mut last_seq = first_seq.saturating_sub(1);
    while pos < data.len() {
        let Some((seq, end)) = record_at(data, pos) else {
            break;
        };
        records.push((seq, data[pos + 8 + 8..end].to_vec()));
        last_seq = seq;
        pos = end;
    }
    let stop = if pos == data.len() {
        Stop::Clean
    } else {
        match later_record(data, pos + 1, last_seq) {
            Some(next) => Stop::Damaged {
                next_valid: next as u64,
            },
            None => Stop::TornTail,
        }
    };
    SegmentContent {
        records,
        valid: pos as u64,
        total: data.len() as u64,
        stop,
    }
}
