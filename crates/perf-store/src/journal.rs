//! The [`Journal`] trait: what the server needs of an ingest log, so that a second
//! implementation (a replicated stream, see issue 18) plugs in beside the local
//! [`IngestLog`] without touching the server's durability protocol or its handlers.
//!
//! The contract is the one the local log keeps: `append` gives each record the next sequence
//! number and leaves nothing of a record it refuses; `wait_durable(seq)` returns once every
//! record up to `seq` survives a crash; `remove_through(seq)` drops records a snapshot
//! covers. Replay happens at open and is the implementation's own constructor's business.

use crate::{IngestLog, StoreError};

/// A durable, ordered log of opaque records.
pub trait Journal: Send + Sync {
    /// Appends a record (not yet durable) and returns its sequence number.
    fn append(&self, payload: &[u8]) -> Result<u64, StoreError>;
    /// Blocks until every record up to `seq` is durable.
    fn wait_durable(&self, seq: u64) -> Result<(), StoreError>;
    /// The sequence number of the last record appended.
    fn last_seq(&self) -> u64;
    /// Bytes the log holds (for snapshot scheduling).
    fn bytes(&self) -> u64;
    /// Starts a new segment (before dropping covered ones).
    fn rotate(&self) -> Result<(), StoreError>;
    /// Drops every record up to and including `seq`.
    fn remove_through(&self, seq: u64) -> Result<(), StoreError>;
    /// Why the log refuses appends until a restart, if it does.
    fn failure(&self) -> Option<String>;
    /// Room left for records, in bytes (readiness after a full disk).
    fn available_bytes(&self) -> Result<u64, StoreError>;
}

impl Journal for IngestLog {
    fn append(&self, payload: &[u8]) -> Result<u64, StoreError> {
        IngestLog::append(self, payload)
    }
    fn wait_durable(&self, seq: u64) -> Result<(), StoreError> {
        IngestLog::wait_durable(self, seq)
    }
    fn last_seq(&self) -> u64 {
        IngestLog::last_seq(self)
    }
    fn bytes(&self) -> u64 {
        IngestLog::bytes(self)
    }
    fn rotate(&self) -> Result<(), StoreError> {
        IngestLog::rotate(self)
    }
    fn remove_through(&self, seq: u64) -> Result<(), StoreError> {
        IngestLog::remove_through(self, seq)
    }
    fn failure(&self) -> Option<String> {
        IngestLog::failure(self)
    }
    fn available_bytes(&self) -> Result<u64, StoreError> {
        IngestLog::available_bytes(self)
    }
}
