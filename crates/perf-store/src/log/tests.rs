//! Replay, torn-tail repair, corruption detection and segment removal.

use super::*;

fn collect(dir: &Path, after: u64) -> (IngestLog, Vec<(u64, Vec<u8>)>) {
    let mut got = Vec::new();
    let log = IngestLog::open(dir, after, |s, p| got.push((s, p.to_vec()))).unwrap();
    (log, got)
}

#[test]
fn replays_records_after_a_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (log, got) = collect(dir.path(), 0);
        assert!(got.is_empty());
        for i in 0..5u8 {
            let seq = log.append(&[i; 3]).unwrap();
            log.wait_durable(seq).unwrap();
        }
    }
    let (log, got) = collect(dir.path(), 2);
    assert_eq!(got.iter().map(|r| r.0).collect::<Vec<_>>(), vec![3, 4, 5]);
    assert_eq!(got[0].1, vec![2; 3]);
    assert_eq!(log.append(b"x").unwrap(), 6);
}

#[test]
fn a_torn_last_record_is_cut_and_earlier_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (log, _) = collect(dir.path(), 0);
        log.append(b"first").unwrap();
        log.append(b"second").unwrap();
        log.wait_durable(2).unwrap();
    }
    let seg = segments(dir.path()).unwrap().pop().unwrap().1;
    let len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let (log, got) = collect(dir.path(), 0);
    assert_eq!(got, vec![(1, b"first".to_vec())]);
    assert_eq!(log.append(b"again").unwrap(), 2);
    drop(log);
    let (_, got) = collect(dir.path(), 0);
    assert_eq!(got.len(), 2);
}

#[test]
fn damage_in_an_older_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (log, _) = collect(dir.path(), 0);
        log.append(b"first").unwrap();
        log.rotate().unwrap();
        log.append(b"second").unwrap();
        log.wait_durable(2).unwrap();
    }
    let seg = segments(dir.path()).unwrap().remove(0).1;
    let mut bytes = fs::read(&seg).unwrap();
    bytes[18] ^= 0xff;
    fs::write(&seg, bytes).unwrap();
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(matches!(err, StoreError::CorruptLog { .. }), "{err}");
}

#[test]
fn segments_covered_by_a_snapshot_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = collect(dir.path(), 0);
    log.append(b"a").unwrap();
    log.append(b"b").unwrap();
    log.rotate().unwrap();
    log.append(b"c").unwrap();
    log.remove_through(1).unwrap();
    assert_eq!(segments(dir.path()).unwrap().len(), 2);
    log.remove_through(2).unwrap();
    assert_eq!(segments(dir.path()).unwrap().len(), 1);
    log.wait_durable(3).unwrap();
    drop(log);
    let (_, got) = collect(dir.path(), 2);
    assert_eq!(got, vec![(3, b"c".to_vec())]);
}

#[test]
fn concurrent_writers_all_become_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = collect(dir.path(), 0);
    let log = std::sync::Arc::new(log);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..50u32 {
                    let seq = log.append(&(t * 1000 + i).to_le_bytes()).unwrap();
                    log.wait_durable(seq).unwrap();
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    drop(log);
    let (_, got) = collect(dir.path(), 0);
    assert_eq!(got.len(), 400);
    assert!(got.windows(2).all(|w| w[1].0 == w[0].0 + 1));
}

/// Issue 14 (1): a full disk stores part of a record and fails; later appends that succeed
/// must not land behind the partial bytes, or the next open cuts them off as a torn tail.
#[test]
fn a_failed_append_leaves_no_partial_record_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = collect(dir.path(), 0);
    log.append(b"before").unwrap();
    log.set_space_left(Some(10));
    let err = log.append(&[7u8; 100]).unwrap_err();
    assert!(err.is_disk_full(), "{err}");
    // Still full: refused again, nothing written.
    assert!(log.append(b"still full").unwrap_err().is_disk_full());
    log.set_space_left(None);
    let after: Vec<u64> = (0..50u8).map(|i| log.append(&[i; 40]).unwrap()).collect();
    log.wait_durable(*after.last().unwrap()).unwrap();
    assert_eq!(after[0], 2, "failed appends take no sequence number");
    drop(log);
    let (_, got) = collect(dir.path(), 0);
    assert_eq!(got.len(), 51, "every acknowledged record is replayed");
    assert_eq!(got[0].1, b"before".to_vec());
    assert_eq!(got[50].1, vec![49u8; 40]);
}

/// The same on a real full file system (a 1 MiB tmpfs; needs root to mount, skipped
/// otherwise: the fault-injecting test above covers the logic).
#[test]
fn a_full_tmpfs_loses_no_acknowledged_record() {
    let Some(mount) = crate::testing::Tmpfs::mount(1 << 20) else {
        eprintln!("skipped: cannot mount a tmpfs (not root?)");
        return;
    };
    let dir = mount.path().join("log");
    let (log, _) = collect(&dir, 0);
    let mut acknowledged = 0u64;
    let mut full = false;
    for i in 0..4000u32 {
        match log.append(&[i as u8; 1000]) {
            Ok(seq) => {
                log.wait_durable(seq).unwrap();
                acknowledged = seq;
            }
            Err(e) => {
                assert!(e.is_disk_full(), "{e}");
                full = true;
                break;
            }
        }
    }
    assert!(full, "the 1 MiB disk filled up");
    assert!(log.append(&[0; 1000]).unwrap_err().is_disk_full());
    // Space comes back (the mount grows, as when an operator frees a disk).
    mount.resize(4 << 20);
    for i in 0..100u32 {
        let seq = log.append(&[i as u8; 500]).unwrap();
        log.wait_durable(seq).unwrap();
        acknowledged = seq;
    }
    drop(log);
    let (_, got) = collect(&dir, 0);
    assert_eq!(got.len() as u64, acknowledged);
    assert_eq!(got.last().unwrap().1, vec![99u8; 500]);
}

fn two_segments_of_three(dir: &Path) -> Vec<(u64, PathBuf)> {
    let (log, _) = collect(dir, 0);
    log.append(b"one").unwrap();
    log.rotate().unwrap();
    for r in [b"two", b"six", b"ten"] {
        log.append(r).unwrap();
    }
    log.wait_durable(4).unwrap();
    drop(log);
    segments(dir).unwrap()
}

/// Issue 14 (2): a flipped byte in the last segment with valid records after it is damage,
/// not a torn tail.
#[test]
fn a_flipped_byte_before_valid_records_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let segs = two_segments_of_three(dir.path());
    let last = &segs.last().unwrap().1;
    let mut bytes = fs::read(last).unwrap();
    bytes[HEADER + 1] ^= 0x01; // the first record's payload
    fs::write(last, &bytes).unwrap();
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(
        matches!(err, StoreError::CorruptLog { offset: 0, .. }),
        "{err}"
    );
    // Nothing was cut: the file is as it was.
    assert_eq!(fs::read(last).unwrap(), bytes);
    // A flipped length byte is found too (the next record is searched for, not jumped to).
    bytes[HEADER + 1] ^= 0x01;
    bytes[HEADER + 3 + 1] ^= 0x40;
    bytes[0] ^= 0x04;
    fs::write(last, &bytes).unwrap();
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(matches!(err, StoreError::CorruptLog { .. }), "{err}");
}

#[test]
fn a_bad_checksum_on_the_very_last_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let segs = two_segments_of_three(dir.path());
    let last = &segs.last().unwrap().1;
    let mut bytes = fs::read(last).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x01;
    fs::write(last, &bytes).unwrap();
    let (_, got) = collect(dir.path(), 0);
    assert_eq!(got.len(), 3);
}

#[test]
fn a_deleted_segment_is_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = collect(dir.path(), 0);
    for r in [b"a", b"b", b"c"] {
        log.append(r).unwrap();
        log.rotate().unwrap();
    }
    log.append(b"d").unwrap();
    log.wait_durable(4).unwrap();
    drop(log);
    let segs = segments(dir.path()).unwrap();
    fs::remove_file(&segs[1].1).unwrap();
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(
        matches!(&err, StoreError::LogGap(m) if m.contains("records 2..2 are missing")),
        "{err}"
    );
}

#[test]
fn a_copied_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let segs = two_segments_of_three(dir.path());
    // Restored twice: a copy of the first segment under a later name.
    fs::copy(&segs[0].1, dir.path().join(segment_name(5))).unwrap();
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(
        matches!(&err, StoreError::LogGap(m) if m.contains("record 1 where record 5")),
        "{err}"
    );
    fs::remove_file(dir.path().join(segment_name(5))).unwrap();
    // Renamed: the second segment's records under a name that overlaps the first's.
    let second = fs::read(&segs[1].1).unwrap();
    fs::remove_file(&segs[1].1).unwrap();
    fs::write(dir.path().join(segment_name(0)), &second).unwrap();
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(matches!(err, StoreError::LogGap(_)), "{err}");
}

/// A log that starts after the snapshot's sequence number: the snapshot (perf.db) was
/// deleted or replaced by an older one, and the records between are in neither.
#[test]
fn a_log_starting_after_the_snapshot_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (log, _) = collect(dir.path(), 0);
        log.append(b"a").unwrap();
        log.append(b"b").unwrap();
        log.rotate().unwrap();
        log.append(b"c").unwrap();
        log.wait_durable(3).unwrap();
        log.remove_through(2).unwrap();
    }
    // The snapshot through 2 is what the caller has: fine.
    let (_, got) = collect(dir.path(), 2);
    assert_eq!(got, vec![(3, b"c".to_vec())]);
    // No snapshot at all (perf.db deleted): records 1..2 are lost, and opening says so.
    let err = IngestLog::open(dir.path(), 0, |_, _| {}).err().unwrap();
    assert!(
        matches!(&err, StoreError::LogGap(m) if m.contains("records 1..2 are in neither")),
        "{err}"
    );
}
