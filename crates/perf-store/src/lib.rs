//! Storage of ecosystem-perf: the [`Store`] trait (configuration, engine snapshots and
//! metadata, SLO definitions, alert history, documents and the webhook outbox), its embedded
//! SQLite implementation and its shared PostgreSQL one, and the ingest log that makes
//! acknowledged events crash-safe.

pub mod backup;
mod bridge;
mod error;
mod journal;
pub mod log;
mod postgres;
mod snapshot_chunks;
mod sqlite;
pub mod stream;
#[cfg(test)]
mod suite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use error::StoreError;
pub use journal::Journal;
pub use log::IngestLog;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use stream::{EventStream, StreamConfig};

/// A saved engine state and the last ingest-log sequence number it includes.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Every log record up to and including this sequence number is in `data`.
    pub seq: u64,
    /// When it was taken (unix ms, engine time).
    pub taken_at_ms: i64,
    /// The serialised engine.
    pub data: Vec<u8>,
}

/// One alert state change, as kept in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// When (unix ms, engine time).
    pub at_ms: i64,
    /// `slo` (later: regression, anomaly, capacity…).
    pub kind: String,
    /// What it is about (SLO name, with `/tenant` for a tenant instance).
    pub subject: String,
    /// `pending`, `firing`, `resolved`.
    pub state: String,
    /// The alert as JSON.
    pub payload: String,
}

/// A notification waiting for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    /// Row id.
    pub id: i64,
    /// Receiver name.
    pub receiver: String,
    /// JSON body to send.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i64,
}

/// A JSON document kept by kind and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// e.g. `baseline`, `rollout`.
    pub kind: String,
    /// Unique within the kind.
    pub id: String,
    /// Service it belongs to.
    pub service: String,
    /// JSON body.
    pub body: String,
    /// Write time.
    pub at_ms: i64,
}

/// Who holds a lease, until when, and its epoch (it grows with every change of holder, so a
/// write stamped with an old epoch is known to come from a former holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// e.g. `leader`.
    pub name: String,
    /// The holder's replica id.
    pub holder: String,
    /// Grows with every change of holder.
    pub epoch: i64,
    /// Until when (unix ms of the holders' clocks).
    pub expires_at_ms: i64,
}

/// One statement for both backends: takes the lease when it is free or expired, renews it
/// for its holder, and otherwise leaves it; answers it as it stands.
pub(crate) const ACQUIRE_LEASE_SQL: &str =
    "INSERT INTO leases (name, holder, epoch, expires_at_ms) VALUES ($1, $2, 1, $3 + $4)
 ON CONFLICT (name) DO UPDATE SET
   epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch
                WHEN leases.expires_at_ms <= $3 THEN leases.epoch + 1
                ELSE leases.epoch END,
   expires_at_ms = CASE WHEN leases.holder = excluded.holder OR leases.expires_at_ms <= $3
                THEN excluded.expires_at_ms ELSE leases.expires_at_ms END,
   holder = CASE WHEN leases.holder = excluded.holder OR leases.expires_at_ms <= $3
                THEN excluded.holder ELSE leases.holder END
 RETURNING name, holder, epoch, expires_at_ms";

/// The engine state of one partition of the cluster's ingest stream.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionSnapshot {
    /// Partition number.
    pub partition: u32,
    /// The epoch of the lease `partition/<n>` its writer held.
    pub epoch: i64,
    /// Every record of the partition up to and including this stream sequence is in `data`.
    pub seq: u64,
    /// When it was taken (unix ms, engine time).
    pub taken_at_ms: i64,
    /// The serialised engine state of the partition's services.
    pub data: Vec<u8>,
}

/// The lease that makes a replica the owner of a partition.
pub fn partition_lease(partition: u32) -> String {
    format!("partition/{partition}")
}

/// One statement for both backends: stores a partition's snapshot only while its writer
/// holds the partition's lease with the snapshot's epoch, and never over a snapshot of a
/// later epoch. A former owner (paused, partitioned away) cannot overwrite its successor's
/// state, whatever its own clock says. Parameters: partition, epoch, seq, taken_at_ms,
/// data, lease name, holder.
pub(crate) const PARTITION_SNAPSHOT_SQL: &str =
    "INSERT INTO partition_snapshots (partition, epoch, seq, taken_at_ms, data)
 SELECT $1, $2, $3, $4, $5 WHERE EXISTS (
   SELECT 1 FROM leases WHERE name = $6 AND holder = $7 AND epoch = $2)
 ON CONFLICT (partition) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq,
   taken_at_ms = excluded.taken_at_ms, data = excluded.data
 WHERE partition_snapshots.epoch <= excluded.epoch";

/// A snapshot saved while it is being encoded: the bytes written go to the store in 1 MiB
/// chunks, each in a short transaction of its own, and
/// [`SnapshotWriter::finish`] makes them current in a last one (snapshot_chunks.rs). No
/// transaction holds the database, nor a flush the disk, for long; the whole snapshot is
/// never in memory at once; a crash at any point, or a writer dropped unfinished, leaves the
/// previous snapshot whole (the next save deletes the orphaned chunks). One saver at a time.
pub struct SnapshotWriter<'a, S: Store + ?Sized> {
    store: &'a S,
    generation: i64,
    buffer: snapshot_chunks::ChunkBuffer,
}

impl<'a, S: Store + ?Sized> SnapshotWriter<'a, S> {
    /// Starts a save into `store`.
    pub fn begin(store: &'a S) -> Result<Self, StoreError> {
        Ok(SnapshotWriter {
            generation: store.begin_snapshot_chunks()?,
            store,
            buffer: snapshot_chunks::ChunkBuffer::new(snapshot_chunks::CHUNK_BYTES),
        })
    }

    /// Appends bytes to the snapshot, storing every chunk they fill.
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let (store, generation) = (self.store, self.generation);
        self.buffer.write(bytes, |idx, chunk| {
            store.put_snapshot_chunk(generation, idx, chunk)
        })
    }

    /// Stores the last chunk and makes the snapshot current, at log position `seq`.
    pub fn finish(self, seq: u64, taken_at_ms: i64) -> Result<(), StoreError> {
        let (store, generation) = (self.store, self.generation);
        let chunks = self
            .buffer
            .finish(|idx, chunk| store.put_snapshot_chunk(generation, idx, chunk))?;
        store.finish_snapshot_chunks(generation, chunks, seq, taken_at_ms)
    }
}

/// What every storage backend provides.
pub trait Store: Send + Sync {
    /// The schema version of the open database.
    fn schema_version(&self) -> Result<u32, StoreError>;
    /// Replaces the saved snapshot.
    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.save_snapshot_parts(snapshot.seq, snapshot.taken_at_ms, &[&snapshot.data])
    }
    /// Replaces the saved snapshot with one whose bytes are `parts` one after the other
    /// (a [`SnapshotWriter`] given every part). One saver at a time.
    fn save_snapshot_parts(
        &self,
        seq: u64,
        taken_at_ms: i64,
        parts: &[&[u8]],
    ) -> Result<(), StoreError> {
        let mut writer = SnapshotWriter::begin(self)?;
        for part in parts {
            writer.write(part)?;
        }
        writer.finish(seq, taken_at_ms)
    }
    /// Starts saving a snapshot ([`SnapshotWriter`]): deletes the chunks of a save that
    /// never finished and answers the generation the new chunks belong to.
    fn begin_snapshot_chunks(&self) -> Result<i64, StoreError>;
    /// Stores chunk `idx` of snapshot generation `generation`, in a transaction of its own.
    fn put_snapshot_chunk(
        &self,
        generation: i64,
        idx: usize,
        bytes: &[u8],
    ) -> Result<(), StoreError>;
    /// Makes generation `generation`, of `chunks` chunks, the saved snapshot in one last
    /// transaction, then deletes every other generation's chunks.
    fn finish_snapshot_chunks(
        &self,
        generation: i64,
        chunks: usize,
        seq: u64,
        taken_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// The saved snapshot, if any.
    fn load_snapshot(&self) -> Result<Option<Snapshot>, StoreError>;
    /// Sets a metadata value.
    fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Alert history rows older than row `before` (all when `None`), newest first, at most
    /// `limit`, each with its row id (the cursor of the next page).
    fn alert_page(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<(i64, AlertRecord)>, StoreError>;
    /// The latest row of every (kind, subject) whose state is not `resolved`: the alerts
    /// open now, of every kind, newest first.
    fn open_alerts(&self) -> Result<Vec<(i64, AlertRecord)>, StoreError>;
    /// Deletes alert history rows from before `before_ms`; answers how many.
    fn prune_alerts(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Reads a metadata value.
    fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Inserts or replaces a JSON document (baselines, rollouts).
    fn put_document(&self, doc: &Document) -> Result<(), StoreError>;
    /// One document's body.
    fn get_document(&self, kind: &str, id: &str) -> Result<Option<String>, StoreError>;
    /// Every document of a kind, oldest first.
    fn list_documents(&self, kind: &str) -> Result<Vec<String>, StoreError>;
    /// Deletes a document; false when it did not exist.
    fn delete_document(&self, kind: &str, id: &str) -> Result<bool, StoreError>;
    /// Saves an SLO definition made over the API (JSON).
    fn put_slo(&self, name: &str, definition: &str, at_ms: i64) -> Result<(), StoreError>;
    /// Deletes an SLO definition; false if there was none.
    fn delete_slo(&self, name: &str) -> Result<bool, StoreError>;
    /// All SLO definitions made over the API, by name.
    fn list_slos(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Appends to the alert history.
    fn append_alert(&self, record: &AlertRecord) -> Result<(), StoreError>;
    /// The newest `limit` history records, newest first.
    fn recent_alerts(&self, limit: usize) -> Result<Vec<AlertRecord>, StoreError>;
    /// Copies the whole database, consistent as of one moment, to a new file at `path`
    /// (SQLite's online backup: writers wait only while pages are copied).
    fn backup_to(&self, path: &std::path::Path) -> Result<(), StoreError>;
    /// Queues a notification for a webhook receiver (durably, before anyone is told).
    fn enqueue_webhook(
        &self,
        receiver: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError>;
    /// Undelivered notifications due at `now_ms`, oldest first.
    fn due_webhooks(&self, now_ms: i64, limit: usize) -> Result<Vec<OutboxItem>, StoreError>;
    /// Takes up to `limit` due notifications for delivery, oldest first: each is put off by
    /// `hold_ms` in the same statement, so another deliverer (a second replica that believes
    /// it leads, for a moment) does not take it too; [`Store::webhook_delivered`] or
    /// [`Store::webhook_failed`] settles it, and one whose deliverer died is due again after
    /// `hold_ms`. On PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`.
    fn claim_webhooks(
        &self,
        now_ms: i64,
        limit: usize,
        hold_ms: i64,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Marks a notification delivered.
    fn webhook_delivered(&self, id: i64, now_ms: i64) -> Result<(), StoreError>;
    /// Records a failed attempt and when to try again.
    fn webhook_failed(&self, id: i64, next_at_ms: i64, error: &str) -> Result<(), StoreError>;
    /// Notifications not delivered yet.
    fn webhook_backlog(&self) -> Result<u64, StoreError>;
    /// Takes lease `name` for `holder` until `now_ms + ttl_ms` when it is free or expired,
    /// renews it when `holder` has it, and otherwise leaves it: answers the lease as it
    /// stands (the caller holds it when `holder` and `expires_at_ms` say so). Holders'
    /// clocks must agree to well within `ttl_ms`.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: i64,
        now_ms: i64,
    ) -> Result<Lease, StoreError>;
    /// Gives lease `name` up if `holder` has it (it expires at once).
    fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
    /// Every lease.
    fn leases(&self) -> Result<Vec<Lease>, StoreError>;
    /// The last history record of alert `kind`/`subject`, if any.
    fn last_alert(&self, kind: &str, subject: &str) -> Result<Option<AlertRecord>, StoreError>;
    /// Deletes lease `name` if it expired before `before_ms` (a replica gone for good);
    /// answers whether it did.
    fn forget_lease(&self, name: &str, before_ms: i64) -> Result<bool, StoreError>;
    /// Stores a partition's snapshot when `holder` holds its lease with the snapshot's epoch
    /// and no later epoch's snapshot is stored; answers whether it was stored.
    fn save_partition_snapshot(
        &self,
        snapshot: &PartitionSnapshot,
        holder: &str,
    ) -> Result<bool, StoreError>;
    /// The stored snapshot of a partition.
    fn load_partition_snapshot(
        &self,
        partition: u32,
    ) -> Result<Option<PartitionSnapshot>, StoreError>;
}
