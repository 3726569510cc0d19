//! The simulated caches' accounted heap bytes (what the demo reports as `simulator` in
//! `GET /v1/memory`) against what the allocator itself says they hold.

use perf_sim::{CacheSim, CacheSpec};

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn allocated() -> u64 {
    use tikv_jemalloc_ctl::{epoch, stats};
    epoch::advance().unwrap();
    stats::allocated::read().unwrap() as u64
}

#[test]
fn a_simulated_cache_accounts_for_its_memory_within_a_fifth() {
    for size in [2_000, 40_000] {
        let spec = CacheSpec {
            space: "s".into(),
            keys: 200_000,
            alpha: 0.8,
            drift_per_hour: 500,
            size,
            ttl_ms: 3_600_000,
        };
        let before = allocated();
        let mut sim = CacheSim::new(spec, 7);
        for i in 0..300_000i64 {
            sim.access(i * 20);
        }
        let held = allocated().saturating_sub(before) as f64;
        let counted = sim.heap_bytes() as f64;
        assert!(
            (counted - held).abs() <= held / 5.0,
            "size {size}: accounted {counted} bytes, the allocator holds {held}"
        );
        drop(sim);
    }
}
