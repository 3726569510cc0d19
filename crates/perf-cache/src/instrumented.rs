//! [`InstrumentedCache`]: moka's synchronous cache with every lookup recorded in a
//! [`Recorder`] — hit or miss, its duration (a miss's load included) and the XXH64 of the
//! key, taken through the key's `Hash` so a borrowed form (`&str` for `String`) hashes the
//! same as the owned key.

use crate::recorder::Recorder;
use moka::sync::Cache;
use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A cache of one space whose lookups are recorded.
pub struct InstrumentedCache<K, V> {
    inner: Cache<K, V>,
    space: String,
    space_id: u32,
    recorder: Arc<Recorder>,
}

/// How an [`InstrumentedCache`] is bounded.
pub struct Builder {
    space: String,
    max_capacity: Option<u64>,
    time_to_live: Option<Duration>,
    time_to_idle: Option<Duration>,
}

impl Builder {
    /// A builder for the cache of `space` (the `cacheSpace` its lookups are reported in).
    pub fn new(space: &str) -> Self {
        Builder {
            space: space.into(),
            max_capacity: None,
            time_to_live: None,
            time_to_idle: None,
        }
    }

    /// Entries held at most (moka evicts by W-TinyLFU past it).
    pub fn max_capacity(mut self, entries: u64) -> Self {
        self.max_capacity = Some(entries);
        self
    }

    /// An entry expires this long after it was inserted.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// An entry expires this long after it was last read or written.
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.time_to_idle = Some(tti);
        self
    }

    /// The cache, recording into `recorder`.
    pub fn build<K, V>(self, recorder: &Arc<Recorder>) -> InstrumentedCache<K, V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let mut b = Cache::builder();
        if let Some(n) = self.max_capacity {
            b = b.max_capacity(n);
        }
        if let Some(t) = self.time_to_live {
            b = b.time_to_live(t);
        }
        if let Some(t) = self.time_to_idle {
            b = b.time_to_idle(t);
        }
        InstrumentedCache {
            inner: b.build(),
            space_id: recorder.space_id(&self.space),
            space: self.space,
            recorder: recorder.clone(),
        }
    }
}

/// The XXH64 of a key, through its `Hash` (XXH64's streaming state is a fraction of
/// XXH3's, which is what a key of a few bytes pays for; the server hashes what it is sent
/// again, so only stability matters here).
pub fn key_hash<Q: Hash + ?Sized>(key: &Q) -> u64 {
    let mut h = xxhash_rust::xxh64::Xxh64::new(0);
    key.hash(&mut h);
    h.finish()
}

impl<K, V> InstrumentedCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The space.
    pub fn space(&self) -> &str {
        &self.space
    }

    /// The value of `key`, recorded as a hit or a miss.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let started = Instant::now();
        let found = self.inner.get(key);
        self.recorder
            .record(self.space_id, key_hash(key), found.is_some(), started);
        found
    }

    /// The value of `key`, loaded by `init` and inserted when absent. Concurrent misses of
    /// one key run `init` once: the caller that ran it records a miss, the others (served
    /// the value it loaded) a hit.
    pub fn get_with(&self, key: K, init: impl FnOnce() -> V) -> V {
        let started = Instant::now();
        let hash = key_hash(&key);
        let entry = self.inner.entry(key).or_insert_with(init);
        self.recorder
            .record(self.space_id, hash, !entry.is_fresh(), started);
        entry.into_value()
    }

    /// The value of `key` if `fresh` accepts it, else loaded by `init` and stored in its
    /// place: a stale entry (its data changed since it was computed) is a miss.
    pub fn get_fresh(&self, key: K, fresh: impl Fn(&V) -> bool, init: impl FnOnce() -> V) -> V {
        let started = Instant::now();
        let hash = key_hash(&key);
        if let Some(v) = self.inner.get(&key).filter(|v| fresh(v)) {
            self.recorder.record(self.space_id, hash, true, started);
            return v;
        }
        let v = init();
        self.inner.insert(key, v.clone());
        self.recorder.record(self.space_id, hash, false, started);
        v
    }

    /// Stores a value (not a lookup: nothing is recorded).
    pub fn insert(&self, key: K, value: V) {
        self.inner.insert(key, value);
    }

    /// Removes a key.
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.invalidate(key);
    }

    /// Entries held (moka counts lazily: after [`InstrumentedCache::run_pending_tasks`] it
    /// is exact).
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// The configured capacity, if any.
    pub fn max_capacity(&self) -> Option<u64> {
        self.inner.policy().max_capacity()
    }

    /// Every entry (not lookups: nothing is recorded), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Arc<K>, V)> + '_ {
        self.inner.iter()
    }

    /// Runs moka's pending evictions and expirations now.
    pub fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks();
    }

    /// The recorder lookups go to.
    pub fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }
}
