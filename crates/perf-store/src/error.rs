//! Storage errors, each saying what to do.

use thiserror::Error;

/// Everything storage can fail with.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL store failed.
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] sqlx::Error),
    /// The NATS JetStream ingest stream failed.
    #[error("ingest stream: {0}")]
    Stream(String),
    /// The backend cannot do this.
    #[error("{0}")]
    Unsupported(String),
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
    #[error("ingest log segment {segment} is corrupt at byte {offset} and holds valid records after it; restore the data directory from a backup, or truncate the segment to {offset} bytes to keep only the records before the damage")]
    CorruptLog {
        /// Segment file.
        segment: String,
        /// Offset of the bad record.
        offset: u64,
    },
    /// Records are missing between two parts of the data directory, or appear twice.
    #[error("the ingest log is inconsistent: {0}; restore the data directory from a backup")]
    LogGap(String),
    /// An earlier write or sync failed in a way that could not be undone; the log takes no
    /// more records until the server restarts.
    #[error("the ingest log stopped taking records after a failed {0}; restart the server once the cause is fixed")]
    LogFailed(String),
    /// Another process holds the data directory.
    #[error("{0}")]
    Locked(String),
    /// The database file is damaged (SQLite's integrity check found problems).
    #[error("the database is damaged: {0}")]
    Integrity(String),
}

impl StoreError {
    /// True when the cause is a full disk (or a file-size limit): the write can succeed once
    /// space is freed, so callers answer "retry later" rather than "internal error".
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Io { source, .. } if is_full(source))
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }
}

/// ENOSPC, EDQUOT or EFBIG.
pub(crate) fn is_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}
