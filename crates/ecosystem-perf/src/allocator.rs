//! The process's allocator: jemalloc instead of glibc's. With millions of small buckets
//! sealed and freed, glibc's `malloc_consolidate` stopped ingest for 0.2–0.5 s at a time at
//! 140k series, and ingest ran at half the speed (BENCHMARKS.md, "Snapshots"). It is C's
//! `malloc` as well (the crate's `unprefixed_malloc_on_supported_platforms` feature): SQLite
//! is C, and glibc's per-thread arenas kept the pages it freed, 3.6 MB held for 0.7 MB in use
//! after a demo day and more over days (BENCHMARKS.md, "Memory accounted, and over days").
//! Also what the allocator itself says it holds, for the memory figures of
//! `demo --fast-forward`.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// What the allocator says it holds, in bytes.
pub struct Heap {
    /// Handed out and not had back.
    pub allocated: u64,
    /// In pages of extents in use (allocated plus the free room of partly used slabs).
    pub active: u64,
    /// Its own bookkeeping.
    pub metadata: u64,
    /// Its pages resident in memory (active, dirty pages not yet returned, metadata).
    pub resident: u64,
}

/// The allocator's statistics now (`None` when they cannot be read).
pub fn heap() -> Option<Heap> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    Some(Heap {
        allocated: stats::allocated::read().ok()? as u64,
        active: stats::active::read().ok()? as u64,
        metadata: stats::metadata::read().ok()? as u64,
        resident: stats::resident::read().ok()? as u64,
    })
}
