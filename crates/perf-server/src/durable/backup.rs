//! Backups of the data directory while the server runs and ingests, and restores into an
//! empty directory (`perf_store::backup` is the file format).
//!
//! A backup takes a fresh snapshot (so everything acknowledged before it is in the
//! aggregates, with its log position), then copies the database with SQLite's online backup
//! (consistent as of one moment; ingest is not stopped — it only appends to the log) and
//! packs the copy with its digest. The header's position and time are read from the copy
//! itself, so a periodic snapshot racing the backup cannot make them disagree. A restore
//! checks the file whole, writes the database, opens it (schema version, integrity check,
//! the snapshot decodes) and leaves an empty log that continues after the snapshot's
//! position; on any failure the directory is left as empty as it was found.

use super::snapshot_format::decode_snapshot;
use super::Durable;
use anyhow::Context;
use perf_store::backup;
pub use perf_store::backup::{extract, read_header, BackupError, BackupHeader};
use perf_store::{SqliteStore, Store};
use std::path::Path;

/// Distinguishes concurrent backups' database copies.
static COPIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A database copy, removed with its SQLite side files when dropped.
struct Removed(std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Durable {
    /// Writes a backup of this data directory to `out`.
    pub fn backup(&self, out: &Path) -> anyhow::Result<BackupHeader> {
        self.snapshot_whole()
            .context("taking the snapshot the backup holds")?;
        let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let copy = Removed(
            Path::new(&self.config.server.data_dir)
                .join(format!("backup-{}-{n}.db.partial", std::process::id())),
        );
        let copy = &copy.0;
        self.store
            .backup_to(copy)
            .context("copying the database (SQLite online backup)")?;
        let (seq, taken_at) = {
            let store = SqliteStore::open(copy).context("opening the database copy")?;
            match store.load_snapshot()? {
                Some(s) => (s.seq, s.taken_at_ms),
                None => anyhow::bail!("the database copy holds no snapshot"),
            }
        };
        let header = backup::write(copy, out, self.wall_now(), seq, taken_at)
            .with_context(|| format!("writing {}", out.display()))?;
        self.metrics
            .backups
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(header)
    }
}

/// Restores `file` into `data_dir`, which must be missing or empty.
pub fn restore(file: &Path, data_dir: &Path) -> anyhow::Result<BackupHeader> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    if std::fs::read_dir(data_dir)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty: restore into a new or empty directory (nothing was changed)",
            data_dir.display()
        );
    }
    let db = data_dir.join("perf.db");
    let result = (|| {
        let header = backup::extract(file, &db)?;
        let store = SqliteStore::open(&db).context("opening the restored database")?;
        store
            .integrity_check()
            .context("the restored database fails SQLite's integrity check")?;
        let snapshot = store
            .load_snapshot()?
            .context("the restored database holds no snapshot")?;
        decode_snapshot(&snapshot.data).context("the snapshot in the backup does not decode")?;
        if snapshot.seq != header.snapshot_seq {
            anyhow::bail!(
                "the backup's header says log position {}, its database {}",
                header.snapshot_seq,
                snapshot.seq
            );
        }
        drop(store);
        std::fs::create_dir_all(data_dir.join("log"))?;
        Ok(header)
    })();
    if result.is_err() {
        // Leave the directory as empty as it was.
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
    result
}

/// One scheduled backup, then the oldest beyond `keep` deleted.
pub fn scheduled(
    d: &Durable,
    cfg: &crate::config::BackupConfig,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = std::path::Path::new(&cfg.dir);
    std::fs::create_dir_all(dir)?;
    let stamp = perf_core::time::format_rfc3339(d.wall_now()).replace([':', '-', '.'], "");
    let path = dir.join(format!("ecosystem-perf-{stamp}.backup"));
    d.backup(&path)?;
    let mut all: Vec<_> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("ecosystem-perf-") && n.ends_with(".backup"))
        })
        .collect();
    all.sort();
    let excess = all.len().saturating_sub(cfg.keep);
    for old in &all[..excess] {
        std::fs::remove_file(old)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BackupConfig, Config};

    #[test]
    fn scheduled_backups_keep_the_newest_and_each_restores() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().join("data").display().to_string();
        let clock = std::sync::Arc::new(super::super::clock::ManualClock::new(1_767_225_600_000));
        let d = Durable::open_with_clock(config, clock.clone()).unwrap();
        let cfg = BackupConfig {
            dir: dir.path().join("backups").display().to_string(),
            interval: 3_600_000,
            keep: 2,
        };
        let mut written = Vec::new();
        for _ in 0..3 {
            written.push(scheduled(&d, &cfg).unwrap());
            clock.advance(3_600_000);
        }
        let mut left: Vec<_> = std::fs::read_dir(&cfg.dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        left.sort();
        assert_eq!(left, written[1..], "the two newest are kept");
        for (i, f) in left.iter().enumerate() {
            let target = dir.path().join(format!("restored-{i}"));
            restore(f, &target).unwrap();
            assert!(target.join("perf.db").exists());
        }
        // Nothing is left in the data directory but its own files.
        let stray: Vec<_> = std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("backup") || n.ends_with(".partial"))
            .collect();
        assert!(stray.is_empty(), "{stray:?}");
    }
}
