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
//! At open (see the `segment` module for the rules) a record that is cut short or fails its checksum at
//! the end of the *last* segment, with no valid record after it, is a write that never
//! completed (so it was never acknowledged): the file is truncated there. Anything else is
//! refused: damage followed by valid records, damage in an older segment, a segment whose
//! name does not match its first record, a gap or an overlap between segments, or a log that
//! starts after the snapshot's sequence number (records in neither).
//!
//! A failed append (a full disk: `write` stores part of the record, then fails) cuts the
//! segment back to its last whole record before returning the error, so the next append
//! starts on a record boundary and the partial bytes can never hide records written after
//! them. If even the cut fails, the log refuses appends until it succeeds. A failed fsync is
//! not retried (the kernel may have dropped the dirty pages it could not write): the log
//! refuses appends until the server restarts and re-reads what is really on disk.

mod segment;

use crate::error::is_full;
use crate::StoreError;
use segment::{read_segment, SegmentContent, Stop, HEADER};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

struct Writer {
    file: Arc<File>,
    first_seq: u64,
    next_seq: u64,
    closed: Vec<(u64, PathBuf)>,
    bytes: u64,
    /// Length of the current segment up to its last whole record.
    segment_len: u64,
    /// A failed append left bytes past `segment_len` that could not be cut yet.
    dirty_tail: bool,
    /// Why the log takes no more records (a failed fsync), if it does not.
    failed: Option<String>,
    /// Test hook: bytes the "disk" still takes before writes fail with ENOSPC.
    #[cfg(test)]
    space_left: Option<u64>,
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

/// What reading a segment's bytes finds, as the log sees it at open: the valid records
/// (sequence number, payload length), the length of the valid prefix, and whether the rest is
/// a torn tail (`Some(false)`), damage followed by valid records (`Some(true)`) or nothing
/// (`None`). For inspection tools and the fuzz targets.
pub fn inspect_segment(data: &[u8], first_seq: u64) -> (Vec<(u64, usize)>, u64, Option<bool>) {
    let content = segment::parse_segment(data, first_seq);
    let records = content
        .records
        .iter()
        .map(|(seq, payload)| (*seq, payload.len()))
        .collect();
    let damage = match content.stop {
        Stop::Clean => None,
        Stop::TornTail => Some(false),
        Stop::Damaged { .. } => Some(true),
    };
    (records, content.valid, damage)
}

/// Checks that a segment named `first` continues the log where the previous one ended.
fn check_continuity(
    path: &Path,
    first: u64,
    content: &SegmentContent,
    expected: Option<u64>,
    after_seq: u64,
) -> Result<(), StoreError> {
    let name = path.display();
    match expected {
        Some(next) if first != next => {
            return Err(StoreError::LogGap(if first > next {
                format!("records {next}..{} are missing before segment {name} (a segment was deleted)", first - 1)
            } else {
                format!("segment {name} repeats records from {first} on (a segment was copied or restored twice)")
            }))
        }
        None if first > after_seq + 1 => {
            return Err(StoreError::LogGap(format!(
                "the aggregate snapshot holds records through {after_seq} but the log starts at {first}: records {}..{} are in neither (perf.db was deleted or replaced by an older copy)",
                after_seq + 1,
                first - 1
            )))
        }
        _ => {}
    }
    for (want, (seq, _)) in (first..).zip(&content.records) {
        if *seq != want {
            return Err(StoreError::LogGap(format!(
                "segment {name} holds record {seq} where record {want} belongs"
            )));
        }
    }
    Ok(())
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
        let mut expected = None;
        for (i, (first, path)) in segs.iter().enumerate() {
            let content = read_segment(path, *first)?;
            let last = i + 1 == segs.len();
            match content.stop {
                Stop::Clean => {}
                Stop::TornTail if last => {
                    tracing::warn!(segment = %path.display(), dropped_bytes = content.total - content.valid, "truncating an incomplete last log record");
                    OpenOptions::new()
                        .write(true)
                        .open(path)
                        .and_then(|f| {
                            f.set_len(content.valid)?;
                            f.sync_all()
                        })
                        .map_err(StoreError::io(format!("truncating {}", path.display())))?;
                }
                Stop::TornTail | Stop::Damaged { .. } => {
                    return Err(StoreError::CorruptLog {
                        segment: path.display().to_string(),
                        offset: content.valid,
                    });
                }
            }
            check_continuity(path, *first, &content, expected, after_seq)?;
            expected = Some(*first + content.records.len() as u64);
            for (seq, payload) in &content.records {
                if *seq > after_seq {
                    replay(*seq, payload);
                }
                next_seq = next_seq.max(seq + 1);
            }
            bytes += content.valid;
            closed.push((*first, path.clone()));
        }
        let first_seq = next_seq;
        let path = dir.join(segment_name(first_seq));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(StoreError::io(format!("opening {}", path.display())))?;
        let segment_len = file
            .metadata()
            .map_err(StoreError::io(format!("reading {}", path.display())))?
            .len();
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
                segment_len,
                dirty_tail: false,
                failed: None,
                #[cfg(test)]
                space_left: None,
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

    /// Appends a record (not yet durable) and returns its sequence number. On failure
    /// nothing of the record stays in the log (see the module doc).
    pub fn append(&self, payload: &[u8]) -> Result<u64, StoreError> {
        let mut w = self.writer();
        if let Some(why) = &w.failed {
            return Err(StoreError::LogFailed(why.clone()));
        }
        if w.dirty_tail {
            cut_tail(&mut w)?;
        }
        let seq = w.next_seq;
        let mut record = Vec::with_capacity(HEADER + payload.len());
        record.extend_from_slice(&((payload.len() + 8) as u32).to_le_bytes());
        record.extend_from_slice(&[0; 4]);
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(payload);
        let crc = crc32fast::hash(&record[8..]);
        record[4..8].copy_from_slice(&crc.to_le_bytes());
        if let Err(e) = write_record(&mut w, &record) {
            w.dirty_tail = true;
            let full = is_full(&e);
            match cut_tail(&mut w) {
                // The caller reports the refusal; this is the log's own detail.
                Ok(()) => {
                    tracing::debug!(error = %e, disk_full = full, "appending to the ingest log failed; the partial record was cut off")
                }
                Err(cut) => {
                    tracing::error!(error = %e, cut_error = %cut, "appending to the ingest log failed and the partial record could not be cut yet; appends wait until it is")
                }
            }
            return Err(StoreError::Io {
                context: "appending to the ingest log".into(),
                source: e,
            });
        }
        w.next_seq += 1;
        w.bytes += record.len() as u64;
        w.segment_len += record.len() as u64;
        self.sync_state().written = seq;
        Ok(seq)
    }

    /// Why the log refuses appends until a restart, if it does.
    pub fn failure(&self) -> Option<String> {
        self.writer().failed.clone()
    }

    /// Bytes still free on the log's file system (for readiness after a full disk).
    pub fn available_bytes(&self) -> Result<u64, StoreError> {
        let st = rustix::fs::statvfs(&self.dir).map_err(|e| StoreError::Io {
            context: format!("reading free space of {}", self.dir.display()),
            source: e.into(),
        })?;
        Ok(st.f_bavail.saturating_mul(st.f_frsize))
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
                let (file, failed) = {
                    let w = self.writer();
                    (w.file.clone(), w.failed.clone())
                };
                if let Some(why) = failed {
                    self.sync_state().leader = false;
                    self.synced_cv.notify_all();
                    return Err(StoreError::LogFailed(why));
                }
                let result = file.sync_data();
                if let Err(e) = &result {
                    // The kernel may have dropped the pages it failed to write; a retry
                    // could "succeed" without them. Stop until a restart re-reads the disk.
                    tracing::error!(error = %e, "syncing the ingest log failed; it takes no more records until the server restarts");
                    self.writer().failed = Some(format!("fsync ({e})"));
                }
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
        if let Some(why) = &w.failed {
            return Err(StoreError::LogFailed(why.clone()));
        }
        if w.dirty_tail {
            cut_tail(&mut w)?;
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
        w.segment_len = 0;
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

/// Writes a whole record at the end of the current segment.
fn write_record(w: &mut Writer, record: &[u8]) -> std::io::Result<()> {
    #[cfg(test)]
    if let Some(left) = w.space_left {
        // A full disk as the kernel shows it: the bytes that fit are written, then ENOSPC.
        let fit = (left as usize).min(record.len());
        w.space_left = Some(left - fit as u64);
        (&*w.file).write_all(&record[..fit])?;
        if fit < record.len() {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        return Ok(());
    }
    (&*w.file).write_all(record)
}

/// Cuts the current segment back to its last whole record.
fn cut_tail(w: &mut Writer) -> Result<(), StoreError> {
    w.file.set_len(w.segment_len).map_err(StoreError::io(
        "cutting a partial record off the ingest log",
    ))?;
    w.dirty_tail = false;
    Ok(())
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
impl IngestLog {
    /// Makes the "disk" take only `bytes` more bytes (None: unlimited).
    fn set_space_left(&self, bytes: Option<u64>) {
        self.writer().space_left = bytes;
    }
}

#[cfg(test)]
mod tests;
