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
