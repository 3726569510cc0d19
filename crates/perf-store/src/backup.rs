//! The backup file: one self-checking file holding a consistent copy of a data directory's
//! database (the aggregates' snapshot with its log position, SLOs, baselines, rollouts,
//! alert history, webhook outbox).
//!
//! Layout: the line `ECOSYSTEM-PERF-BACKUP\n`, one JSON header line ([`BackupHeader`]: format,
//! creation time, the snapshot's log position and time, the database's length and SHA-256),
//! then the database bytes. Reading checks, in order, the magic (not a backup), the format
//! (made by a newer ecosystem-perf), the length (truncated) and the digest (altered), and
//! names which failed. The database needs no log: the snapshot inside covers every record up
//! to its position, and a data directory restored from it starts its log after it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

/// The first line of every backup.
pub const MAGIC: &[u8] = b"ECOSYSTEM-PERF-BACKUP\n";
/// The format this binary writes and the newest it reads.
pub const FORMAT: u32 = 1;
/// Longest header line accepted.
const MAX_HEADER: u64 = 64 * 1024;

/// What a backup says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupHeader {
    /// Format version.
    pub format: u32,
    /// When it was written (unix ms, wall clock).
    pub created_at_ms: i64,
    /// Every ingest-log record up to this one is in the aggregates.
    pub snapshot_seq: u64,
    /// Engine time of the snapshot (unix ms): the data's age is measured from it.
    pub snapshot_taken_at_ms: i64,
    /// Length of the database.
    pub db_bytes: u64,
    /// SHA-256 of the database, hex.
    pub sha256: String,
}

/// Why a file is not a usable backup.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No magic line.
    #[error("not an ecosystem-perf backup (it does not start with ECOSYSTEM-PERF-BACKUP)")]
    NotABackup,
    /// A newer format.
    #[error("the backup is format {found}, written by a newer ecosystem-perf; this binary reads format {FORMAT} and older: restore it with a newer binary")]
    NewerFormat {
        /// Format found.
        found: u32,
    },
    /// The header line does not parse.
    #[error("the backup's header is damaged: {0}")]
    BadHeader(String),
    /// Fewer database bytes than the header says (or more).
    #[error("the backup is truncated: the header promises {expected} database bytes, the file holds {found}")]
    Truncated {
        /// Promised.
        expected: u64,
        /// Present.
        found: u64,
    },
    /// The bytes do not match the digest.
    #[error(
        "the backup was altered: its database's SHA-256 is {found}, the header says {expected}"
    )]
    Altered {
        /// In the header.
        expected: String,
        /// Computed.
        found: String,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 and length of a file.
fn digest_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

/// Writes a backup of the database file `db` to `out` (through a temporary file in the same
/// directory, renamed when complete and synced). Returns its header.
pub fn write(
    db: &Path,
    out: &Path,
    created_at_ms: i64,
    snapshot_seq: u64,
    snapshot_taken_at_ms: i64,
) -> Result<BackupHeader, BackupError> {
    let (sha256, db_bytes) = digest_file(db)?;
    let header = BackupHeader {
        format: FORMAT,
        created_at_ms,
        snapshot_seq,
        snapshot_taken_at_ms,
        db_bytes,
        sha256,
    };
    let tmp = out.with_extension("partial");
    let written = (|| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        f.write_all(MAGIC)?;
        serde_json::to_writer(&mut f, &header).map_err(std::io::Error::other)?;
        f.write_all(b"\n")?;
        std::io::copy(&mut std::fs::File::open(db)?, &mut f)?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(header)
}

/// Reads and checks a backup's header, magic and format only.
pub fn read_header(path: &Path) -> Result<(BackupHeader, u64), BackupError> {
    let mut r = BufReader::new(std::fs::File::open(path)?);
    let mut magic = vec![0u8; MAGIC.len()];
    if r.read_exact(&mut magic).is_err() || magic != MAGIC {
        return Err(BackupError::NotABackup);
    }
    let mut line = String::new();
    (&mut r).take(MAX_HEADER).read_line(&mut line)?;
    if !line.ends_with('\n') {
        return Err(BackupError::BadHeader("the header line is cut off".into()));
    }
    // The format first, so a newer header with other fields is named as newer.
    let raw: serde_json::Value =
        serde_json::from_str(&line).map_err(|e| BackupError::BadHeader(e.to_string()))?;
    let format = raw["format"].as_u64().unwrap_or(0) as u32;
    if format > FORMAT {
        return Err(BackupError::NewerFormat { found: format });
    }
    let header: BackupHeader =
        serde_json::from_value(raw).map_err(|e| BackupError::BadHeader(e.to_string()))?;
    Ok((header, (MAGIC.len() + line.len()) as u64))
}

/// Checks a backup whole and writes its database to `db_out`. Nothing is left at `db_out`
/// when a check fails.
pub fn extract(path: &Path, db_out: &Path) -> Result<BackupHeader, BackupError> {
    let (header, offset) = read_header(path)?;
    let total = std::fs::metadata(path)?.len();
    let found = total.saturating_sub(offset);
    if found != header.db_bytes {
        return Err(BackupError::Truncated {
            expected: header.db_bytes,
            found,
        });
    }
    let mut src = std::fs::File::open(path)?;
    std::io::copy(&mut (&mut src).take(offset), &mut std::io::sink())?;
    let tmp = db_out.with_extension("partial");
    let result = (|| {
        let mut dst = std::fs::File::create(&tmp)?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let k = src.read(&mut buf)?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            dst.write_all(&buf[..k])?;
        }
        dst.sync_all()?;
        let digest = hex(&h.finalize());
        if digest != header.sha256 {
            return Err(BackupError::Altered {
                expected: header.sha256.clone(),
                found: digest,
            });
        }
        std::fs::rename(&tmp, db_out)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> (std::path::PathBuf, Vec<u8>) {
        let db = dir.join("perf.db");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&db, &bytes).unwrap();
        let out = dir.join("b.backup");
        let h = write(&db, &out, 1_000, 42, 900).unwrap();
        assert_eq!((h.snapshot_seq, h.db_bytes), (42, 100_000));
        (out, bytes)
    }

    #[test]
    fn a_backup_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let (out, bytes) = sample(dir.path());
        let restored = dir.path().join("restored.db");
        let h = extract(&out, &restored).unwrap();
        assert_eq!(h.snapshot_taken_at_ms, 900);
        assert_eq!(std::fs::read(&restored).unwrap(), bytes);
    }

    #[test]
    fn every_damage_is_named_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (out, _) = sample(dir.path());
        let good = std::fs::read(&out).unwrap();
        let restored = dir.path().join("r.db");
        let check = |bytes: &[u8]| {
            let p = dir.path().join("damaged.backup");
            std::fs::write(&p, bytes).unwrap();
            let e = extract(&p, &restored).unwrap_err().to_string();
            assert!(!restored.exists(), "{e}");
            assert!(!restored.with_extension("partial").exists(), "{e}");
            e
        };
        // Truncated: the last kilobyte missing.
        let e = check(&good[..good.len() - 1024]);
        assert!(e.contains("truncated") && e.contains("98976"), "{e}");
        // One flipped byte in the database.
        let mut flipped = good.clone();
        let at = good.len() - 5_000;
        flipped[at] ^= 0x40;
        assert!(check(&flipped).contains("altered"));
        // Not a backup at all.
        assert!(check(b"SQLite format 3\0").contains("not an ecosystem-perf backup"));
        // A newer format.
        let text = String::from_utf8_lossy(&good[..200]).to_string();
        let newer = text.replacen("\"format\":1", "\"format\":7", 1);
        let mut bytes = newer.into_bytes();
        bytes.extend_from_slice(&good[200..]);
        let e = check(&bytes);
        assert!(e.contains("format 7") && e.contains("newer"), "{e}");
        // A cut-off header.
        assert!(check(&good[..MAGIC.len() + 10]).contains("header"));
    }
}
