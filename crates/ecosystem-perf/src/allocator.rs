//! The process's allocator: jemalloc instead of glibc's. With millions of small buckets
//! sealed and freed, glibc's `malloc_consolidate` stopped ingest for 0.2–0.5 s at a time at
//! 140k series, and ingest ran at half the speed (BENCHMARKS.md, "Snapshots"). Also what
//! the allocator itself says it holds, for the memory figures of `demo --fast-forward`.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Bytes the allocator has handed out and not had back, and bytes of its pages resident in
/// memory (`None` when its statistics cannot be read).
pub fn heap() -> Option<(u64, u64)> {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().ok()?;
    let allocated = stats::allocated::read().ok()?;
    let resident = stats::resident::read().ok()?;
    Some((allocated as u64, resident as u64))
}
