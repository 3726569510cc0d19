//! The lookups of every cache of a process, buffered until the reporter takes them: bounded
//! (past its capacity a lookup is counted as dropped, never waited for) and counted (hits,
//! misses, dropped), so the caller of a cache never blocks on the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Who looks up: the service, the operation and the node the events are reported under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Service name.
    pub service: String,
    /// Operation the lookups belong to.
    pub operation: String,
    /// Instance.
    pub node: String,
}

impl Identity {
    /// An identity.
    pub fn new(service: &str, operation: &str, node: &str) -> Self {
        Identity {
            service: service.into(),
            operation: operation.into(),
            node: node.into(),
        }
    }
}

/// One lookup.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    /// When it ended, unix ms.
    pub ts_ms: i64,
    /// The cache space.
    pub space: Arc<str>,
    /// XXH3-64 of the key.
    pub key: u64,
    /// Found (and fresh) in the cache.
    pub hit: bool,
    /// How long it took, the load included on a miss, ms.
    pub latency_ms: f64,
}

/// Counts since the recorder was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecorderStats {
    /// Lookups found.
    pub hits: u64,
    /// Lookups not found, or found stale.
    pub misses: u64,
    /// Lookups not buffered because the buffer was full (counted in hits and misses).
    pub dropped: u64,
    /// Lookups sent and acknowledged by the sink.
    pub reported: u64,
    /// Lookups the receiver refused as invalid (not sent again).
    pub refused: u64,
    /// Sends that failed (their lookups are kept for the next send while they fit).
    pub failed_sends: u64,
}

/// The shared buffer of lookups. Clone the `Arc` into every cache and into the reporter.
#[derive(Debug)]
pub struct Recorder {
    identity: Identity,
    capacity: usize,
    buffer: Mutex<Vec<Access>>,
    hits: AtomicU64,
    misses: AtomicU64,
    dropped: AtomicU64,
    pub(crate) reported: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) failed_sends: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Recorder {
    /// A recorder reporting as `identity` that buffers at most `capacity` lookups between
    /// sends.
    pub fn new(identity: Identity, capacity: usize) -> Arc<Self> {
        Arc::new(Recorder {
            identity,
            capacity: capacity.max(1),
            buffer: Mutex::new(Vec::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            failed_sends: AtomicU64::new(0),
            last_error: Mutex::new(None),
        })
    }

    /// Who the lookups are reported as.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Most lookups buffered.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Access>> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a lookup of `key` (its hash) in `space`.
    pub fn record(&self, space: &Arc<str>, key: u64, hit: bool, latency_ms: f64) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        let access = Access {
            ts_ms: unix_ms(),
            space: space.clone(),
            key,
            hit,
            latency_ms,
        };
        let mut buffer = self.lock();
        if buffer.len() >= self.capacity {
            drop(buffer);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        buffer.push(access);
    }

    /// Takes every buffered lookup, oldest first.
    pub fn drain(&self) -> Vec<Access> {
        std::mem::take(&mut *self.lock())
    }

    /// Puts back lookups a sink refused, ahead of those recorded since, as far as they fit;
    /// the rest are counted as dropped.
    pub fn put_back(&self, mut unsent: Vec<Access>) {
        let mut buffer = self.lock();
        let room = self.capacity.saturating_sub(buffer.len());
        if unsent.len() > room {
            let lost = unsent.len() - room;
            // Keep the newest: the oldest are the likeliest to fall out of the server's
            // windows anyway.
            unsent.drain(..lost);
            self.dropped.fetch_add(lost as u64, Ordering::Relaxed);
        }
        unsent.append(&mut buffer);
        *buffer = unsent;
    }

    /// Lookups buffered now.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// Why the last send failed, if one did.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_last_error(&self, why: String) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    /// The counts so far.
    pub fn stats(&self) -> RecorderStats {
        RecorderStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reported: self.reported.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            failed_sends: self.failed_sends.load(Ordering::Relaxed),
        }
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
