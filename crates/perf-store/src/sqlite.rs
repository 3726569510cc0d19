//! The embedded default store: one SQLite file in the data directory, WAL mode, migrations
//! applied in order at open and recorded in `PRAGMA user_version`; a database from a newer
//! binary is refused rather than touched.

use crate::snapshot_chunks::join_chunks;
use crate::{
    AlertRecord, Document, Lease, OutboxItem, PartitionSnapshot, Snapshot, Store, StoreError,
};
use rusqlite::{params, Connection, OptionalExtension, MAIN_DB};
use std::path::Path;
use std::sync::Mutex;

/// Migrations, in order; the schema version is their count.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_slos_alerts.sql"),
    include_str!("../migrations/sqlite/0003_webhook_outbox.sql"),
    include_str!("../migrations/sqlite/0004_documents.sql"),
    include_str!("../migrations/sqlite/0005_leases.sql"),
    include_str!("../migrations/sqlite/0006_partition_snapshots.sql"),
    include_str!("../migrations/sqlite/0007_snapshot_chunks.sql"),
];

/// The latest row of each (kind, subject) that is not resolved (index `alert_history_subject`).
const OPEN_ALERTS_SQL: &str = "SELECT h.at_ms, h.kind, h.subject, h.state, h.payload, h.id FROM alert_history h
     WHERE h.state <> 'resolved'
       AND h.id = (SELECT MAX(l.id) FROM alert_history l WHERE l.kind = h.kind AND l.subject = h.subject)
     ORDER BY h.id DESC";

/// Schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// SQLite implementation of [`Store`].
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A 512 KiB page cache instead of SQLite's 2 MB: the store's reads are small and
        // rare, and the connection is used from whichever thread holds it, so its pages end
        // up in several of glibc's per-thread arenas, which keep them once freed
        // (BENCHMARKS.md, "SQLite's page cache"; the binary has since made jemalloc C's
        // malloc, a process embedding this store may not have).
        conn.pragma_update(None, "cache_size", -512)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as u32)?;
            tx.commit()?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    /// SQLite's `PRAGMA integrity_check`: `Ok` when it answers `ok`, else its findings.
    pub fn integrity_check(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let findings: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if findings == ["ok"] {
            Ok(())
        } else {
            Err(StoreError::Integrity(findings.join("; ")))
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The chunk generation the saved snapshot row names, if any.
    fn current_generation(&self) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT generation FROM snapshot WHERE id = 1", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()?
            .flatten())
    }

    /// Deletes the chunks of every generation but `keep`, a few per transaction so that no
    /// delete holds the database for long.
    fn delete_chunks_except(&self, keep: Option<i64>) -> Result<(), StoreError> {
        loop {
            let deleted = self.conn().execute(
                "DELETE FROM snapshot_chunks WHERE rowid IN (SELECT rowid FROM snapshot_chunks WHERE generation IS NOT ?1 LIMIT 8)",
                [keep],
            )?;
            if deleted == 0 {
                return Ok(());
            }
        }
    }
}

impl Store for SqliteStore {
    fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn begin_snapshot_chunks(&self) -> Result<i64, StoreError> {
        // Chunks of an unfinished save first, then a generation past every one seen.
        let current = self.current_generation()?;
        self.delete_chunks_except(current)?;
        let conn = self.conn();
        let top: Option<i64> =
            conn.query_row("SELECT MAX(generation) FROM snapshot_chunks", [], |r| {
                r.get(0)
            })?;
        Ok(top.max(current).unwrap_or(0) + 1)
    }

    fn put_snapshot_chunk(
        &self,
        generation: i64,
        idx: usize,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        // One short transaction per chunk; the connection is free in between. The bytes go
        // in through incremental blob I/O, into a zero-filled value of their length: bound
        // as a parameter, SQLite copied each chunk twice (the bound value, then the record)
        // into buffers from C's malloc, glibc's, whose arenas kept the freed megabytes
        // (BENCHMARKS.md, "SQLite's copies of the snapshot").
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO snapshot_chunks (generation, idx, data) VALUES (?1, ?2, zeroblob(?3))",
            params![generation, idx as i64, bytes.len() as i64],
        )?;
        let row = tx.last_insert_rowid();
        tx.blob_open(MAIN_DB, c"snapshot_chunks", c"data", row, false)?
            .write_at(bytes, 0)?;
        tx.commit()?;
        Ok(())
    }

    fn finish_snapshot_chunks(
        &self,
        generation: i64,
        chunks: usize,
        seq: u64,
        taken_at_ms: i64,
    ) -> Result<(), StoreError> {
        {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            // Delete, then insert: an upsert's UPDATE branch would expand a large old `data`
            // (a version-6 row) into a buffer of its size (sqlite3VdbeMemExpandBlob).
            tx.execute("DELETE FROM snapshot WHERE id = 1", [])?;
            tx.execute(
                "INSERT INTO snapshot (id, seq, taken_at_ms, data, generation, chunks) VALUES (1, ?1, ?2, x'', ?3, ?4)",
                params![seq as i64, taken_at_ms, generation, chunks as i64],
            )?;
            tx.commit()?;
        }
        self.delete_chunks_except(Some(generation))
    }

    fn load_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let conn = self.conn();
        let row = conn
            .query_row(
                "SELECT seq, taken_at_ms, data, generation, chunks FROM snapshot WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((seq, taken_at_ms, mut data, generation, chunks)) = row else {
            return Ok(None);
        };
        if let Some(generation) = generation {
            let mut stmt = conn.prepare(
                "SELECT idx, rowid, length(data) FROM snapshot_chunks WHERE generation = ?1 ORDER BY idx",
            )?;
            let found = stmt
                .query_map([generation], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            // Read through incremental blob I/O straight into buffers of ours (a query of
            // `data` would assemble each chunk in a buffer of SQLite's first).
            let mut rows = Vec::with_capacity(found.len());
            for (idx, row, len) in found {
                let mut bytes = vec![0; len.max(0) as usize];
                conn.blob_open(MAIN_DB, c"snapshot_chunks", c"data", row, true)?
                    .read_at_exact(&mut bytes, 0)?;
                rows.push((idx, bytes));
            }
            data = join_chunks(generation, chunks.max(0) as usize, rows)?;
        }
        Ok(Some(Snapshot {
            seq: seq as u64,
            taken_at_ms,
            data,
        }))
    }

    fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    fn put_document(&self, doc: &Document) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO documents (kind, id, service, body, created_at_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, service = excluded.service, updated_at_ms = excluded.updated_at_ms",
            params![doc.kind, doc.id, doc.service, doc.body, doc.at_ms],
        )?;
        Ok(())
    }

    fn get_document(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT body FROM documents WHERE kind = ?1 AND id = ?2")?;
        let mut rows = stmt.query_map(params![kind, id], |r| r.get(0))?;
        Ok(rows.next().transpose()?)
    }

    fn list_documents(&self, kind: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT body FROM documents WHERE kind = ?1 ORDER BY created_at_ms, id")?;
        let rows = stmt.query_map([kind], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn delete_document(&self, kind: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM documents WHERE kind = ?1 AND id = ?2",
            params![kind, id],
        )? > 0)
    }

    fn put_slo(&self, name: &str, definition: &str, at_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO slos (name, definition, updated_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at_ms = excluded.updated_at_ms",
            params![name, definition, at_ms],
        )?;
        Ok(())
    }

    fn delete_slo(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM slos WHERE name = ?1", [name])?
            > 0)
    }

    fn list_slos(&self) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, definition FROM slos ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn append_alert(&self, record: &AlertRecord) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO alert_history (at_ms, kind, subject, state, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![record.at_ms, record.kind, record.subject, record.state, record.payload],
        )?;
        Ok(())
    }

    fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let conn = self.conn();
        let mut dst = Connection::open(path)?;
        let backup = rusqlite::backup::Backup::new(&conn, &mut dst)?;
        backup.run_to_completion(256, std::time::Duration::ZERO, None)?;
        Ok(())
    }

    fn alert_page(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, AlertRecord)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at_ms, kind, subject, state, payload, id FROM alert_history WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit as i64], |r| {
            Ok((r.get(5)?, alert_row(r)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn open_alerts(&self) -> Result<Vec<(i64, AlertRecord)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(OPEN_ALERTS_SQL)?;
        let rows = stmt.query_map([], |r| Ok((r.get(5)?, alert_row(r)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn prune_alerts(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM alert_history WHERE at_ms < ?1", [before_ms])? as u64)
    }

    fn recent_alerts(&self, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT at_ms, kind, subject, state, payload FROM alert_history ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], alert_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn enqueue_webhook(
        &self,
        receiver: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO webhook_outbox (receiver, payload, created_at_ms, next_at_ms) VALUES (?1, ?2, ?3, ?3)",
            params![receiver, payload, now_ms],
        )?;
        Ok(conn.last_insert_rowid())
    }

    fn due_webhooks(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        due_in(&self.conn(), now_ms, limit)
    }

    fn claim_webhooks(
        &self,
        now_ms: i64,
        limit: usize,
        hold_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        // BEGIN IMMEDIATE takes the write lock before the select: another connection's
        // claim (another process on the same file) waits instead of reading the same rows.
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let items = due_in(&tx, now_ms, limit)?;
        for item in &items {
            tx.execute(
                "UPDATE webhook_outbox SET next_at_ms = ?2 WHERE id = ?1",
                params![item.id, now_ms + hold_ms],
            )?;
        }
        tx.commit()?;
        Ok(items)
    }

    fn webhook_delivered(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE webhook_outbox SET delivered_at_ms = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, now_ms],
        )?;
        Ok(())
    }

    fn webhook_failed(&self, id: i64, next_at_ms: i64, error: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE webhook_outbox SET attempts = attempts + 1, next_at_ms = ?2, last_error = ?3 WHERE id = ?1",
            params![id, next_at_ms, error],
        )?;
        Ok(())
    }

    fn webhook_backlog(&self) -> Result<u64, StoreError> {
        Ok(self.conn().query_row(
            "SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at_ms IS NULL",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        Ok(self.conn().query_row(
            crate::ACQUIRE_LEASE_SQL,
            params![name, holder, now_ms, ttl_ms],
            lease_row,
        )?)
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE leases SET expires_at_ms = 0 WHERE name = ?1 AND holder = ?2",
            params![name, holder],
        )?;
        Ok(())
    }

    fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT name, holder, epoch, expires_at_ms FROM leases ORDER BY name")?;
        let rows = stmt.query_map([], lease_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn last_alert(&self, kind: &str, subject: &str) -> Result<Option<AlertRecord>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT at_ms, kind, subject, state, payload FROM alert_history WHERE kind = ?1 AND subject = ?2 ORDER BY id DESC LIMIT 1",
                params![kind, subject],
                alert_row,
            )
            .optional()?)
    }

    fn forget_lease(&self, name: &str, before_ms: i64) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM leases WHERE name = ?1 AND expires_at_ms < ?2",
            params![name, before_ms],
        )?;
        Ok(n == 1)
    }

    fn save_partition_snapshot(
        &self,
        p: &PartitionSnapshot,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            crate::PARTITION_SNAPSHOT_SQL,
            params![
                p.partition,
                p.epoch,
                p.seq as i64,
                p.taken_at_ms,
                p.data,
                crate::partition_lease(p.partition),
                holder
            ],
        )?;
        Ok(n == 1)
    }

    fn load_partition_snapshot(
        &self,
        partition: u32,
    ) -> Result<Option<PartitionSnapshot>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT epoch, seq, taken_at_ms, data FROM partition_snapshots WHERE partition = ?1",
                [partition],
                |r| {
                    Ok(PartitionSnapshot {
                        partition,
                        epoch: r.get(0)?,
                        seq: r.get::<_, i64>(1)? as u64,
                        taken_at_ms: r.get(2)?,
                        data: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }
}

/// The notifications due at `now_ms`, oldest first.
fn due_in(conn: &Connection, now_ms: i64, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, receiver, payload, attempts FROM webhook_outbox
         WHERE delivered_at_ms IS NULL AND next_at_ms <= ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now_ms, limit as i64], |r| {
        Ok(OutboxItem {
            id: r.get(0)?,
            receiver: r.get(1)?,
            payload: r.get(2)?,
            attempts: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A row of `alert_history` (at_ms, kind, subject, state, payload).
fn alert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertRecord> {
    Ok(AlertRecord {
        at_ms: r.get(0)?,
        kind: r.get(1)?,
        subject: r.get(2)?,
        state: r.get(3)?,
        payload: r.get(4)?,
    })
}

fn lease_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease {
        name: r.get(0)?,
        holder: r.get(1)?,
        epoch: r.get(2)?,
        expires_at_ms: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("perf.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = SqliteStore::open(&path).err().unwrap();
        assert!(
            matches!(err, StoreError::NewerSchema { found: 99, .. }),
            "{err}"
        );
    }

    /// A snapshot's chunk that does not fit the disk fails its save; the previous snapshot
    /// stays current and whole, and once there is room again the next save succeeds.
    #[test]
    fn a_snapshot_that_fills_the_disk_fails_and_leaves_the_previous_one() {
        let Some(disk) = crate::testing::Tmpfs::mount(16 << 20) else {
            eprintln!("skipped: mounting a tmpfs needs root");
            return;
        };
        let store = SqliteStore::open(&disk.path().join("perf.db")).unwrap();
        let small: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        store.save_snapshot_parts(7, 1_000, &[&small]).unwrap();
        // A filler file leaves ~3 MiB, well under the next snapshot's 4 MiB (SQLite writes
        // them to its write-ahead log first).
        let filler = disk.path().join("filler");
        std::fs::write(&filler, vec![1u8; 12 << 20]).unwrap();
        let big: Vec<u8> = (0..4u32 << 20).map(|i| (i % 253) as u8).collect();
        let err = store.save_snapshot_parts(9, 2_000, &[&big]).unwrap_err();
        assert!(err.to_string().contains("full"), "{err}");
        let kept = store.load_snapshot().unwrap().unwrap();
        assert_eq!((kept.seq, kept.taken_at_ms), (7, 1_000));
        assert!(kept.data == small, "the previous snapshot, byte for byte");
        std::fs::remove_file(&filler).unwrap();
        store.save_snapshot_parts(9, 2_000, &[&big]).unwrap();
        let saved = store.load_snapshot().unwrap().unwrap();
        assert_eq!((saved.seq, saved.taken_at_ms), (9, 2_000));
        assert!(saved.data == big);
    }
}
