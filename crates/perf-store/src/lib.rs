//! Storage of ecosystem-perf: the [`Store`] trait (configuration, engine snapshots and
//! metadata; later SLOs, baselines, decisions and alert history), its embedded SQLite
//! implementation, and the ingest log that makes acknowledged events crash-safe.

mod error;
pub mod log;
mod sqlite;

pub use error::StoreError;
pub use log::IngestLog;
pub use sqlite::SqliteStore;

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

/// What every storage backend provides.
pub trait Store: Send + Sync {
    /// The schema version of the open database.
    fn schema_version(&self) -> Result<u32, StoreError>;
    /// Replaces the saved snapshot.
    fn save_snapshot(&self, snapshot: &Snapshot) -> Result<(), StoreError>;
    /// The saved snapshot, if any.
    fn load_snapshot(&self) -> Result<Option<Snapshot>, StoreError>;
    /// Sets a metadata value.
    fn put_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Reads a metadata value.
    fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
}
