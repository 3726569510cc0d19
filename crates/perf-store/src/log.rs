//! The ingest log: what makes an acknowledged event safe against a process crash.
//!
//! Each accepted batch is one record `[len u32][crc32 u32][seq u64][payload]` appended to the
//! current segment file (`NNNNNNNNNNNNNNNNNNNN.seg`, named by its first sequence number).
//! [`IngestLog::wait_durable`] returns once the record is on disk: the first waiter becomes
//! the leader and fsyncs everything written so far, the others wait for it (group commit),
//! so one `fdatasync` covers all batches that arrived meanwhile. After a snapshot holds every
//! record up to `seq`, [`IngestLog::rotate`] starts a new segment and
//! [`IngestLog::remove_through`] deletes segments whose records are all in the snapshot.
//!
//! At open, a record that is cut short or fails its checksum at the end of the *last* segment
//! is a write that never completed (so it was never acknowledged): the file is truncated
//! there. Damage anywhere else is reported, never skipped.

use crate::StoreError;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

const HEADER: usize = 16;
/// Largest record accepted when reading (a corrupt length must not allocate gigabytes).
const MAX_RECORD: usize = 1 << 30;

struct Writer {
    file: Arc<File>,
    first_seq: u64,
    next_seq: u64,
    closed: Vec<(u64, PathBuf)>,
    bytes: u64,
}

struct SyncState {
    written: u64,
    synced: u64,
    leader: bool,
}

/// An append-only, checksummed, segmented log with group commit.
pub struct IngestLog {
    dir: PathBuf,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    synced_cv: Condvar,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io(format!("listing {}", dir.display())))? {
        let path = entry.map_err(StoreError::io("listing the log"))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some(num) = name
            .strip_suffix(".seg")
            .and_then(|n| n.parse::<u64>().ok())
        {
            out.push((num, path));
        }
    }
    out.sort();
    Ok(out)
}

/// What a segment holds: its valid records, the length of the valid prefix, the file length.
struct SegmentContent {
    records: Vec<(u64, Vec<u8>)>,
    valid: u64,
    total: u64,
}

/// Reads the valid records of a segment.
fn read_segment(path: &Path) -> Result<SegmentContent, StoreError> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(StoreError::io(format!("reading {}", path.display())))?;
    let mut records = Vec::new();
    let mut pos = 0usize;
    while pos < data.len() {
        if data.len() - pos < HEADER {
            break;
        }
        let len = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap_or_default());
        // `len` counts the sequence number and the payload.
        if !(8..=MAX_RECORD).contains(&len) || data.len() - pos - 8 < len {
            break;
        }
        let body = &data[pos + 8..pos + 8 + len];
        if crc32fast::hash(body) != crc {
            break;
        }
        let seq = u64::from_le_bytes(body[..8].try_into().unwrap_or_default());
        records.push((seq, body[8..].to_vec()));
        pos += 8 + len;
    }
    Ok(SegmentContent {
        records,
        valid: pos as u64,
        total: data.len() as u64,
    })
}

impl IngestLog {
    /// Opens the log in `dir` (created if missing), repairing a torn last record, and calls
    /// `replay` with every record whose sequence number is above `after_seq`, in order.
    pub fn open(
        dir: &Path,
        after_seq: u64,
        mut replay: impl FnMut(u64, &[u8]),
    ) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(StoreError::io(format!("creating {}", dir.display())))?;
        let segs = segments(dir)?;
        let mut next_seq = after_seq + 1;
        let mut bytes = 0;
        let mut closed = Vec::new();
        for (i, (first, path)) in segs.iter().enumerate() {
            let SegmentContent {
                records,
                valid,
                total,
            } = read_segment(path)?;
            let last = i + 1 == segs.len();
            if valid < total {
                if !last {
                    return Err(StoreError::CorruptLog {
                        segment: path.display().to_string(),
                        offset: valid,
                    });
                }
                tracing::warn!(segment = %path.display(), dropped_bytes = total - valid, "truncating an incomplete last log record");
                OpenOptions::new()
                    .write(true)
                    .open(path)
                    .and_then(|f| {
                        f.set_len(valid)?;
                        f.sync_all()
                    })
                    .map_err(StoreError::io(format!("truncating {}", path.display())))?;
            }
            for (seq, payload) in &records {
                if *seq > after_seq {
                    replay(*seq, payload);
                }
                next_seq = next_seq.max(seq + 1);
            }
            bytes += valid;
            closed.push((*first, path.clone()));
        }
        let first_seq = next_seq;
        let path = dir.join(segment_name(first_seq));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(StoreError::io(format!("opening {}", path.display())))?;
        closed.retain(|(f, _)| *f != first_seq);
        sync_dir(dir)?;
        Ok(IngestLog {
            dir: dir.to_path_buf(),
            writer: Mutex::new(Writer {
                file: Arc::new(file),
                first_seq,
                next_seq,
                closed,
                bytes,
            }),
            sync: Mutex::new(SyncState {
                written: next_seq - 1,
                synced: next_seq - 1,
                leader: false,
            }),
            synced_cv: Condvar::new(),
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sync_state(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a record (not yet durable) and returns its sequence number.
    pub fn append(&self, payload: &[u8]) -> Result<u64, StoreError> {
        let mut w = self.writer();
        let seq = w.next_seq;
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&((payload.len() + 8) as u32).to_le_bytes());
        record.extend_from_slice(&[0; 4]);
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(payload);
        let crc = crc32fast::hash(&record[8..]);
        record[4..8].copy_from_slice(&crc.to_le_bytes());
        (&*w.file)
            .write_all(&record)
            .map_err(StoreError::io("appending to the ingest log"))?;
        w.next_seq += 1;
        w.bytes += record.len() as u64;
        self.sync_state().written = seq;
        Ok(seq)
    }

    /// The sequence number of the last record appended.
    pub fn last_seq(&self) -> u64 {
        self.writer().next_seq - 1
    }

    /// Bytes held in segment files.
    pub fn bytes(&self) -> u64 {
        self.writer().bytes
    }

    /// Blocks until every record up to `seq` is on disk (group commit).
    pub fn wait_durable(&self, seq: u64) -> Result<(), StoreError> {
        let mut st = self.sync_state();
        loop {
            if st.synced >= seq {
                return Ok(());
            }
            if !st.leader {
                st.leader = true;
                let target = st.written;
                drop(st);
                let file = self.writer().file.clone();
                let result = file.sync_data();
                st = self.sync_state();
                st.leader = false;
                if result.is_ok() {
                    st.synced = st.synced.max(target);
                }
                self.synced_cv.notify_all();
                result.map_err(StoreError::io("syncing the ingest log"))?;
                continue;
            }
            st = self.synced_cv.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Syncs the current segment and starts a new one.
    pub fn rotate(&self) -> Result<(), StoreError> {
        let mut w = self.writer();
        if w.next_seq == w.first_seq {
            return Ok(());
        }
        w.file
            .sync_data()
            .map_err(StoreError::io("syncing the ingest log"))?;
        {
            let mut st = self.sync_state();
            st.synced = st.synced.max(w.next_seq - 1);
        }
        self.synced_cv.notify_all();
        let old = (w.first_seq, self.dir.join(segment_name(w.first_seq)));
        let first_seq = w.next_seq;
        let path = self.dir.join(segment_name(first_seq));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(StoreError::io(format!("opening {}", path.display())))?;
        w.closed.push(old);
        w.file = Arc::new(file);
        w.first_seq = first_seq;
        sync_dir(&self.dir)
    }

    /// Deletes closed segments whose records all have sequence numbers `<= seq`.
    pub fn remove_through(&self, seq: u64) -> Result<(), StoreError> {
        let mut w = self.writer();
        let current_first = w.first_seq;
        let closed = std::mem::take(&mut w.closed);
        let mut keep = Vec::new();
        for (i, (first, path)) in closed.iter().enumerate() {
            let next_first = closed.get(i + 1).map(|c| c.0).unwrap_or(current_first);
            if next_first - 1 <= seq {
                let len = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                fs::remove_file(path)
                    .map_err(StoreError::io(format!("removing {}", path.display())))?;
                w.bytes = w.bytes.saturating_sub(len);
            } else {
                keep.push((*first, path.clone()));
            }
        }
        w.closed = keep;
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(format!(
            "syncing directory {}",
            dir.display()
        )))
}

#[cfg(test)]
mod tests;
