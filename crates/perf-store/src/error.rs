//! Storage errors, each saying what to do.

use thiserror::Error;

/// Everything storage can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database was written by a newer ecosystem-perf.
    #[error("the database schema is version {found}, newer than this binary supports ({supported}); upgrade ecosystem-perf or use another data directory")]
    NewerSchema {
        /// Version found.
        found: u32,
        /// Highest version supported.
        supported: u32,
    },
    /// The ingest log is damaged somewhere other than its last, unacknowledged record.
    #[error("ingest log segment {segment} is corrupt at byte {offset}; restore the data directory from a backup or move the segment away to start without it")]
    CorruptLog {
        /// Segment file.
        segment: String,
        /// Offset of the bad record.
        offset: u64,
    },
}

impl StoreError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }
}
