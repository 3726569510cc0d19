//! The shared store on PostgreSQL (`store.url: postgres://…`): the same tables as the
//! SQLite store, from its own migration set (`migrations/postgres`), applied in order at open
//! under an advisory lock (replicas opening together migrate once) and recorded in
//! `perf_schema`; a database from a newer binary is refused rather than touched.
//!
//! The [`Store`] trait is synchronous (the SQLite store answers in microseconds and is called
//! from both threads and async handlers), and sqlx is async: every call goes through the
//! store's own runtime (`bridge.rs`).

use crate::bridge::Bridge;
use crate::snapshot_chunks::join_chunks;
use crate::{
    AlertRecord, Document, Lease, OutboxItem, PartitionSnapshot, Snapshot, Store, StoreError,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;
use std::future::Future;
use std::time::Duration;

/// Migrations, in order; the schema version is their count.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_slos_alerts.sql"),
    include_str!("../migrations/postgres/0003_webhook_outbox.sql"),
    include_str!("../migrations/postgres/0004_documents.sql"),
    include_str!("../migrations/postgres/0005_leases.sql"),
    include_str!("../migrations/postgres/0006_partition_snapshots.sql"),
    include_str!("../migrations/postgres/0007_snapshot_chunks.sql"),
];

/// Schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Key of the advisory lock held while migrating.
const MIGRATION_LOCK: i64 = 0x7065_7266_5f6d_6967; // "perf_mig"

/// PostgreSQL implementation of [`Store`].
pub struct PostgresStore {
    bridge: Bridge,
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or with `?host=` a
    /// socket directory) and migrates the database.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let bridge = Bridge::new("perf-store-pg", 1)?;
        let url = url.to_string();
        let pool = bridge.run(async move {
            PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(10))
                .connect(&url)
                .await
        })?;
        let store = PostgresStore { bridge, pool };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let found = self.run(apply_migrations(self.pool.clone()))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Runs a query future on the store's runtime and waits for it.
    /// The chunk generation the saved snapshot row names, if any.
    fn current_generation(&self) -> Result<Option<i64>, StoreError> {
        let pool = self.pool.clone();
        let found: Option<Option<i64>> = self.run(async move {
            sqlx::query_scalar("SELECT generation FROM snapshot WHERE id = 1")
                .fetch_optional(&pool)
                .await
        })?;
        Ok(found.flatten())
    }

    /// Deletes the chunks of every generation but `keep`, a few per transaction.
    fn delete_chunks_except(&self, keep: Option<i64>) -> Result<(), StoreError> {
        loop {
            let pool = self.pool.clone();
            let deleted = self.run(async move {
                sqlx::query(
                    "DELETE FROM snapshot_chunks WHERE (generation, idx) IN
                     (SELECT generation, idx FROM snapshot_chunks WHERE generation IS DISTINCT FROM $1 LIMIT 8)",
                )
                .bind(keep)
                .execute(&pool)
                .await
            })?;
            if deleted.rows_affected() == 0 {
                return Ok(());
            }
        }
    }

    fn run<T: Send + 'static>(
        &self,
        f: impl Future<Output = Result<T, sqlx::Error>> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.bridge.run(f)
    }
}

/// Applies the migrations this database lacks, in one transaction under the migration lock;
/// answers the version found (newer than this binary's: nothing applied).
async fn apply_migrations(pool: PgPool) -> Result<u32, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let conn: &mut sqlx::PgConnection = &mut tx;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS perf_schema (version INTEGER NOT NULL)")
        .execute(&mut *conn)
        .await?;
    let found: Option<i32> = sqlx::query_scalar("SELECT max(version) FROM perf_schema")
        .fetch_one(&mut *conn)
        .await?;
    let found = found.unwrap_or(0).max(0) as u32;
    if found > SCHEMA_VERSION {
        return Ok(found);
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        // Statement by statement (the migrations hold no `;` inside literals): `raw_sql`'s
        // future is not `Send` enough to be spawned (sqlx issue #3150).
        for statement in statements(sql) {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        sqlx::query("DELETE FROM perf_schema")
            .execute(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO perf_schema (version) VALUES ($1)")
            .bind((i + 1) as i32)
            .execute(&mut *conn)
            .await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Alert history rows (at_ms, kind, subject, state, payload, id) with their ids.
fn alert_rows_with_ids(
    rows: &[sqlx::postgres::PgRow],
) -> Result<Vec<(i64, AlertRecord)>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(5)?,
                AlertRecord {
                    at_ms: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    state: r.try_get(3)?,
                    payload: r.try_get(4)?,
                },
            ))
        })
        .collect()
}

/// The snapshot row: seq, taken_at_ms, data, chunk generation, chunk count.
type SnapshotRow = (i64, i64, Vec<u8>, Option<i64>, i64);

/// Outbox rows (id, receiver, payload, attempts) as items.
fn outbox_items(rows: Vec<(i64, String, String, i64)>) -> Vec<OutboxItem> {
    rows.into_iter()
        .map(|(id, receiver, payload, attempts)| OutboxItem {
            id,
            receiver,
            payload,
            attempts,
        })
        .collect()
}

/// The statements of a migration file: split at `;`, comment lines dropped.
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(';').map(str::trim).filter(|s| {
        s.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("--"))
    })
}

impl Store for PostgresStore {
    fn schema_version(&self) -> Result<u32, StoreError> {
        let pool = self.pool.clone();
        let v: Option<i32> = self.run(async move {
            sqlx::query_scalar("SELECT max(version) FROM perf_schema")
                .fetch_one(&pool)
                .await
        })?;
        Ok(v.unwrap_or(0).max(0) as u32)
    }

    fn begin_snapshot_chunks(&self) -> Result<i64, StoreError> {
        // Chunks of an unfinished save first, then a generation past every one seen.
        let current = self.current_generation()?;
        self.delete_chunks_except(current)?;
        let pool = self.pool.clone();
        let top: Option<i64> = self.run(async move {
            sqlx::query_scalar("SELECT MAX(generation) FROM snapshot_chunks")
                .fetch_one(&pool)
                .await
        })?;
        Ok(top.max(current).unwrap_or(0) + 1)
    }

    fn put_snapshot_chunk(
        &self,
        generation: i64,
        idx: usize,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let (pool, bytes) = (self.pool.clone(), bytes.to_vec());
        self.run(async move {
            sqlx::query("INSERT INTO snapshot_chunks (generation, idx, data) VALUES ($1, $2, $3)")
                .bind(generation)
                .bind(idx as i64)
                .bind(bytes)
                .execute(&pool)
                .await
                .map(drop)
        })
    }

    fn finish_snapshot_chunks(
        &self,
        generation: i64,
        chunks: usize,
        seq: u64,
        taken_at_ms: i64,
    ) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            sqlx::query(
                "INSERT INTO snapshot (id, seq, taken_at_ms, data, generation, chunks) VALUES (1, $1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, taken_at_ms = excluded.taken_at_ms,
                 data = excluded.data, generation = excluded.generation, chunks = excluded.chunks",
            )
            .bind(seq as i64)
            .bind(taken_at_ms)
            .bind(Vec::<u8>::new())
            .bind(generation)
            .bind(chunks as i64)
            .execute(&pool)
            .await
            .map(drop)
        })?;
        self.delete_chunks_except(Some(generation))
    }

    fn load_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let pool = self.pool.clone();
        let row: Option<SnapshotRow> = self.run(async move {
            sqlx::query_as(
                "SELECT seq, taken_at_ms, data, generation, chunks FROM snapshot WHERE id = 1",
            )
            .fetch_optional(&pool)
            .await
        })?;
        let Some((seq, taken_at_ms, mut data, generation, chunks)) = row else {
            return Ok(None);
        };
        if let Some(generation) = generation {
            let pool = self.pool.clone();
            let rows: Vec<(i64, Vec<u8>)> = self.run(async move {
                sqlx::query_as(
                    "SELECT idx, data FROM snapshot_chunks WHERE generation = $1 ORDER BY idx",
                )
                .bind(generation)
                .fetch_all(&pool)
                .await
            })?;
            data = join_chunks(generation, chunks.max(0) as usize, rows)?;
        }
        Ok(Some(Snapshot {
            seq: seq as u64,
            taken_at_ms,
            data,
        }))
    }

    fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (pool, key, value) = (self.pool.clone(), key.to_string(), value.to_string());
        self.run(async move {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (pool, key) = (self.pool.clone(), key.to_string());
        self.run(async move {
            sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
                .bind(key)
                .fetch_optional(&pool)
                .await
        })
    }

    fn put_document(&self, doc: &Document) -> Result<(), StoreError> {
        let (pool, doc) = (self.pool.clone(), doc.clone());
        self.run(async move {
            sqlx::query(
                "INSERT INTO documents (kind, id, service, body, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $5)
                 ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, service = excluded.service, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(doc.kind)
            .bind(doc.id)
            .bind(doc.service)
            .bind(doc.body)
            .bind(doc.at_ms)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn get_document(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError> {
        let (pool, kind, id) = (self.pool.clone(), kind.to_string(), id.to_string());
        self.run(async move {
            sqlx::query_scalar("SELECT body FROM documents WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(id)
                .fetch_optional(&pool)
                .await
        })
    }

    fn list_documents(&self, kind: &str) -> Result<Vec<String>, StoreError> {
        let (pool, kind) = (self.pool.clone(), kind.to_string());
        self.run(async move {
            sqlx::query_scalar(
                "SELECT body FROM documents WHERE kind = $1 ORDER BY created_at_ms, id",
            )
            .bind(kind)
            .fetch_all(&pool)
            .await
        })
    }

    fn delete_document(&self, kind: &str, id: &str) -> Result<bool, StoreError> {
        let (pool, kind, id) = (self.pool.clone(), kind.to_string(), id.to_string());
        self.run(async move {
            sqlx::query("DELETE FROM documents WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(id)
                .execute(&pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    fn put_slo(&self, name: &str, definition: &str, at_ms: i64) -> Result<(), StoreError> {
        let (pool, name, definition) =
            (self.pool.clone(), name.to_string(), definition.to_string());
        self.run(async move {
            sqlx::query(
                "INSERT INTO slos (name, definition, updated_at_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at_ms = excluded.updated_at_ms",
            )
            .bind(name)
            .bind(definition)
            .bind(at_ms)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn delete_slo(&self, name: &str) -> Result<bool, StoreError> {
        let (pool, name) = (self.pool.clone(), name.to_string());
        self.run(async move {
            sqlx::query("DELETE FROM slos WHERE name = $1")
                .bind(name)
                .execute(&pool)
                .await
                .map(|r| r.rows_affected() > 0)
        })
    }

    fn list_slos(&self) -> Result<Vec<(String, String)>, StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            sqlx::query_as("SELECT name, definition FROM slos ORDER BY name")
                .fetch_all(&pool)
                .await
        })
    }

    fn append_alert(&self, record: &AlertRecord) -> Result<(), StoreError> {
        let (pool, r) = (self.pool.clone(), record.clone());
        self.run(async move {
            sqlx::query(
                "INSERT INTO alert_history (at_ms, kind, subject, state, payload) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(r.at_ms)
            .bind(r.kind)
            .bind(r.subject)
            .bind(r.state)
            .bind(r.payload)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn alert_page(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, AlertRecord)>, StoreError> {
        let pool = self.pool.clone();
        let rows = self.run(async move {
            sqlx::query(
                "SELECT at_ms, kind, subject, state, payload, id FROM alert_history WHERE id < $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit as i64)
            .fetch_all(&pool)
            .await
        })?;
        alert_rows_with_ids(&rows).map_err(Into::into)
    }

    fn open_alerts(&self) -> Result<Vec<(i64, AlertRecord)>, StoreError> {
        let pool = self.pool.clone();
        let rows = self.run(async move {
            sqlx::query(
                "SELECT h.at_ms, h.kind, h.subject, h.state, h.payload, h.id FROM alert_history h
                 WHERE h.state <> 'resolved'
                   AND h.id = (SELECT MAX(l.id) FROM alert_history l WHERE l.kind = h.kind AND l.subject = h.subject)
                 ORDER BY h.id DESC",
            )
            .fetch_all(&pool)
            .await
        })?;
        alert_rows_with_ids(&rows).map_err(Into::into)
    }

    fn prune_alerts(&self, before_ms: i64) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        let done = self.run(async move {
            sqlx::query("DELETE FROM alert_history WHERE at_ms < $1")
                .bind(before_ms)
                .execute(&pool)
                .await
        })?;
        Ok(done.rows_affected())
    }

    fn recent_alerts(&self, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        let pool = self.pool.clone();
        let rows = self.run(async move {
            sqlx::query(
                "SELECT at_ms, kind, subject, state, payload FROM alert_history ORDER BY id DESC LIMIT $1",
            )
            .bind(limit as i64)
            .fetch_all(&pool)
            .await
        })?;
        rows.iter()
            .map(|r| {
                Ok(AlertRecord {
                    at_ms: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    state: r.try_get(3)?,
                    payload: r.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    fn backup_to(&self, _path: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "a backup file holds a SQLite store; back a PostgreSQL store up with the database's own tools (pg_dump, or continuous archiving)".into(),
        ))
    }

    fn enqueue_webhook(
        &self,
        receiver: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let (pool, receiver, payload) =
            (self.pool.clone(), receiver.to_string(), payload.to_string());
        self.run(async move {
            sqlx::query_scalar(
                "INSERT INTO webhook_outbox (receiver, payload, created_at_ms, next_at_ms) VALUES ($1, $2, $3, $3) RETURNING id",
            )
            .bind(receiver)
            .bind(payload)
            .bind(now_ms)
            .fetch_one(&pool)
            .await
        })
    }

    fn due_webhooks(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxItem>, StoreError> {
        let pool = self.pool.clone();
        let rows: Vec<(i64, String, String, i64)> = self.run(async move {
            sqlx::query_as(
                "SELECT id, receiver, payload, attempts FROM webhook_outbox
                 WHERE delivered_at_ms IS NULL AND next_at_ms <= $1 ORDER BY id LIMIT $2",
            )
            .bind(now_ms)
            .bind(limit as i64)
            .fetch_all(&pool)
            .await
        })?;
        Ok(outbox_items(rows))
    }

    fn claim_webhooks(
        &self,
        now_ms: i64,
        limit: usize,
        hold_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let pool = self.pool.clone();
        let mut rows: Vec<(i64, String, String, i64)> = self.run(async move {
            sqlx::query_as(
                "UPDATE webhook_outbox SET next_at_ms = $1 + $3
                 WHERE id IN (SELECT id FROM webhook_outbox
                              WHERE delivered_at_ms IS NULL AND next_at_ms <= $1
                              ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
                 RETURNING id, receiver, payload, attempts",
            )
            .bind(now_ms)
            .bind(limit as i64)
            .bind(hold_ms)
            .fetch_all(&pool)
            .await
        })?;
        rows.sort_by_key(|r| r.0);
        Ok(outbox_items(rows))
    }

    fn webhook_delivered(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        self.run(async move {
            sqlx::query(
                "UPDATE webhook_outbox SET delivered_at_ms = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1",
            )
            .bind(id)
            .bind(now_ms)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn webhook_failed(&self, id: i64, next_at_ms: i64, error: &str) -> Result<(), StoreError> {
        let (pool, error) = (self.pool.clone(), error.to_string());
        self.run(async move {
            sqlx::query(
                "UPDATE webhook_outbox SET attempts = attempts + 1, next_at_ms = $2, last_error = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(next_at_ms)
            .bind(error)
            .execute(&pool)
            .await
            .map(drop)
        })
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Lease, StoreError> {
        let (pool, name, holder) = (self.pool.clone(), name.to_string(), holder.to_string());
        let (name, holder, epoch, expires_at_ms) = self.run(async move {
            sqlx::query_as::<_, (String, String, i64, i64)>(crate::ACQUIRE_LEASE_SQL)
                .bind(name)
                .bind(holder)
                .bind(now_ms)
                .bind(ttl_ms)
                .fetch_one(&pool)
                .await
        })?;
        Ok(Lease {
            name,
            holder,
            epoch,
            expires_at_ms,
        })
    }

    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (pool, name, holder) = (self.pool.clone(), name.to_string(), holder.to_string());
        self.run(async move {
            sqlx::query("UPDATE leases SET expires_at_ms = 0 WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(&pool)
                .await
                .map(drop)
        })
    }

    fn leases(&self) -> Result<Vec<Lease>, StoreError> {
        let pool = self.pool.clone();
        let rows: Vec<(String, String, i64, i64)> = self.run(async move {
            sqlx::query_as("SELECT name, holder, epoch, expires_at_ms FROM leases ORDER BY name")
                .fetch_all(&pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(name, holder, epoch, expires_at_ms)| Lease {
                name,
                holder,
                epoch,
                expires_at_ms,
            })
            .collect())
    }

    fn last_alert(&self, kind: &str, subject: &str) -> Result<Option<AlertRecord>, StoreError> {
        let (pool, kind, subject) = (self.pool.clone(), kind.to_string(), subject.to_string());
        let row: Option<(i64, String, String, String, String)> = self.run(async move {
            sqlx::query_as(
                "SELECT at_ms, kind, subject, state, payload FROM alert_history WHERE kind = $1 AND subject = $2 ORDER BY id DESC LIMIT 1",
            )
            .bind(kind)
            .bind(subject)
            .fetch_optional(&pool)
            .await
        })?;
        Ok(
            row.map(|(at_ms, kind, subject, state, payload)| AlertRecord {
                at_ms,
                kind,
                subject,
                state,
                payload,
            }),
        )
    }

    fn forget_lease(&self, name: &str, before_ms: i64) -> Result<bool, StoreError> {
        let (pool, name) = (self.pool.clone(), name.to_string());
        let done = self.run(async move {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND expires_at_ms < $2")
                .bind(name)
                .bind(before_ms)
                .execute(&pool)
                .await
        })?;
        Ok(done.rows_affected() == 1)
    }

    fn save_partition_snapshot(
        &self,
        p: &PartitionSnapshot,
        holder: &str,
    ) -> Result<bool, StoreError> {
        let (pool, p, holder) = (self.pool.clone(), p.clone(), holder.to_string());
        let done = self.run(async move {
            sqlx::query(crate::PARTITION_SNAPSHOT_SQL)
                .bind(p.partition as i32)
                .bind(p.epoch)
                .bind(p.seq as i64)
                .bind(p.taken_at_ms)
                .bind(p.data)
                .bind(crate::partition_lease(p.partition))
                .bind(holder)
                .execute(&pool)
                .await
        })?;
        Ok(done.rows_affected() == 1)
    }

    fn load_partition_snapshot(
        &self,
        partition: u32,
    ) -> Result<Option<PartitionSnapshot>, StoreError> {
        let pool = self.pool.clone();
        let row: Option<(i64, i64, i64, Vec<u8>)> = self.run(async move {
            sqlx::query_as(
                "SELECT epoch, seq, taken_at_ms, data FROM partition_snapshots WHERE partition = $1",
            )
            .bind(partition as i32)
            .fetch_optional(&pool)
            .await
        })?;
        Ok(
            row.map(|(epoch, seq, taken_at_ms, data)| PartitionSnapshot {
                partition,
                epoch,
                seq: seq as u64,
                taken_at_ms,
                data,
            }),
        )
    }

    fn webhook_backlog(&self) -> Result<u64, StoreError> {
        let pool = self.pool.clone();
        let n: i64 = self.run(async move {
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_outbox WHERE delivered_at_ms IS NULL")
                .fetch_one(&pool)
                .await
        })?;
        Ok(n as u64)
    }
}
