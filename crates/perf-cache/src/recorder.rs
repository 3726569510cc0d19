//! The lookups of every cache of a process, buffered until the reporter takes them: bounded
//! (past its capacity a lookup is counted as dropped, never waited for) and counted (hits,
//! misses, dropped), so the caller of a cache never blocks on the network.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
    /// XXH64 of the key.
    pub key: u64,
    /// How long it took, the load included on a miss, ms.
    pub latency_ms: f64,
    /// The cache space, by its number in the recorder ([`Recorder::space_id`]).
    pub space: u32,
    /// Found (and fresh) in the cache.
    pub hit: bool,
}

/// The buffer and the clock anchor lookups are stamped from: one monotonic clock read per
/// lookup gives both its duration and (from the anchor, renewed at every drain so the wall
/// clock's adjustments are followed) its wall time.
#[derive(Debug)]
struct Buffer {
    accesses: Vec<Access>,
    anchor: Instant,
    anchor_ms: i64,
    // Counted under the lock a lookup takes anyway: atomics beside it would be one more
    // cache line for the threads of a busy cache to pass around.
    hits: u64,
    misses: u64,
    dropped: u64,
}

impl Buffer {
    fn new() -> Self {
        Buffer {
            accesses: Vec::new(),
            anchor: Instant::now(),
            anchor_ms: unix_ms(),
            hits: 0,
            misses: 0,
            dropped: 0,
        }
    }
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
    buffer: Mutex<Buffer>,
    spaces: Mutex<Vec<Arc<str>>>,
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
            buffer: Mutex::new(Buffer::new()),
            spaces: Mutex::new(Vec::new()),
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

    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The number of the space `name` (registered on first use).
    pub fn space_id(&self, name: &str) -> u32 {
        let mut spaces = self.spaces.lock().unwrap_or_else(|p| p.into_inner());
        match spaces.iter().position(|s| &**s == name) {
            Some(i) => i as u32,
            None => {
                spaces.push(name.into());
                (spaces.len() - 1) as u32
            }
        }
    }

    /// The names of the spaces, by number.
    pub fn spaces(&self) -> Vec<Arc<str>> {
        self.spaces
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records a lookup of `key` (its hash) in space number `space` that began at `started`
    /// and ends now.
    pub fn record(&self, space: u32, key: u64, hit: bool, started: Instant) {
        let ended = Instant::now();
        let latency_ms = ended.saturating_duration_since(started).as_secs_f64() * 1000.0;
        let mut buffer = self.lock();
        if hit {
            buffer.hits += 1;
        } else {
            buffer.misses += 1;
        }
        if buffer.accesses.len() >= self.capacity {
            buffer.dropped += 1;
            return;
        }
        let ts_ms =
            buffer.anchor_ms + ended.saturating_duration_since(buffer.anchor).as_millis() as i64;
        buffer.accesses.push(Access {
            ts_ms,
            key,
            latency_ms,
            space,
            hit,
        });
    }

    /// Takes every buffered lookup, oldest first.
    pub fn drain(&self) -> Vec<Access> {
        let mut buffer = self.lock();
        buffer.anchor = Instant::now();
        buffer.anchor_ms = unix_ms();
        // The next interval likely records as many: room for them now, not by doubling.
        let room = buffer.accesses.len().min(self.capacity);
        std::mem::replace(&mut buffer.accesses, Vec::with_capacity(room))
    }

    /// Puts back lookups a sink refused, ahead of those recorded since, as far as they fit;
    /// the rest are counted as dropped.
    pub fn put_back(&self, mut unsent: Vec<Access>) {
        let mut buffer = self.lock();
        let room = self.capacity.saturating_sub(buffer.accesses.len());
        if unsent.len() > room {
            let lost = unsent.len() - room;
            // Keep the newest: the oldest are the likeliest to fall out of the server's
            // windows anyway.
            unsent.drain(..lost);
            buffer.dropped += lost as u64;
        }
        unsent.append(&mut buffer.accesses);
        buffer.accesses = unsent;
    }

    /// Lookups buffered now.
    pub fn pending(&self) -> usize {
        self.lock().accesses.len()
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
        let buffer = self.lock();
        RecorderStats {
            hits: buffer.hits,
            misses: buffer.misses,
            dropped: buffer.dropped,
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
