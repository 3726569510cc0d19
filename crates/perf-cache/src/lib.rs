//! An instrumented cache for Rust services, reported to ecosystem-perf.
//!
//! [`InstrumentedCache`] is [moka](https://docs.rs/moka)'s synchronous cache (W-TinyLFU
//! admission, size and time bounds) whose lookups are recorded: hit or miss, how long the
//! lookup took (the load included on a miss) and a 64-bit hash of the key — the key itself
//! never leaves the process. A [`Recorder`] shared by every cache of a process buffers the
//! lookups (bounded: past its capacity they are counted as dropped, the caller never waits
//! on the network), and a [`Reporter`] thread sends them in batches to a [`Sink`]: the
//! [`HttpSink`] posts them to a server's `POST /v1/events` as events with `cache`,
//! `cacheSpace` and `cacheKey`, where the caching service (`GET /v1/cache/{space}`) turns
//! them into hit rates, a miss-ratio curve, the size a hit ratio needs, TTL and policy
//! advice.
//!
//! ```no_run
//! use perf_cache::{Builder, HttpSink, Identity, InstrumentedCache, Recorder, Reporter};
//! use std::time::Duration;
//!
//! let recorder = Recorder::new(Identity::new("qindex", "search", "node-1"), 100_000);
//! let cache: InstrumentedCache<String, Vec<u8>> = Builder::new("search")
//!     .max_capacity(10_000)
//!     .time_to_live(Duration::from_secs(300))
//!     .build(&recorder);
//! let _reporter = Reporter::spawn(
//!     recorder.clone(),
//!     HttpSink::new("http://127.0.0.1:9470", None),
//!     Duration::from_secs(1),
//! );
//! let page = cache.get_with("rust".to_string(), || b"results".to_vec());
//! # drop(page);
//! ```
//!
//! Every lookup is one event: the server counts requests and hit rates exactly and samples
//! the keys itself (SHARDS), so nothing is sampled here. The recorder costs one short lock
//! per lookup (a push onto a vector); at rates where that matters, give the recorder a
//! capacity that one reporting interval fills and read [`RecorderStats::dropped`].

pub mod event;
#[cfg(feature = "http")]
pub mod http_sink;
pub mod instrumented;
pub mod recorder;
pub mod reporter;

pub use event::CacheEvent;
#[cfg(feature = "http")]
pub use http_sink::HttpSink;
pub use instrumented::{Builder, InstrumentedCache};
pub use recorder::{Access, Identity, Recorder, RecorderStats};
pub use reporter::{Batch, Reporter, Sink};

#[cfg(test)]
mod tests;
