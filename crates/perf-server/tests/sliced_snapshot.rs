//! Snapshots taken in slices while ingest goes on (durable/sliced_snapshot.rs): after a crash
//! (no final snapshot) the restore answers exactly what the engine answered before it, every
//! acknowledged event counted once although each slice was copied at another log position —
//! the cache key samplers too, which two writers record after releasing the engine lock
//! (hand over hand), so each slice's samplers must be cut at the same batch as its views.

use perf_core::Event;
use perf_server::durable::{Durable, LogBatch};
use perf_server::Config;
use std::sync::atomic::{AtomicBool, Ordering};

/// 2,000 services × 4 operations × 2 nodes: several thousand series over the default views,
/// enough for the snapshot to be cut into several slices.
fn batch(i: usize, now: i64) -> Vec<Event> {
    (0..400)
        .map(|k| {
            let j = i * 400 + k;
            let mut e = Event::new(
                now - (j % 7) as i64 * 1_000,
                &format!("svc-{}", (j * 7919) % 2_000),
                &format!("op{}", j % 4),
                1.0 + (j % 97) as f64,
            );
            e.node = format!("n{}", j % 2);
            e.ok = !j.is_multiple_of(13);
            e.entity = Some(format!("caller-{}", j % 50));
            // Keys on a few services' searches: sampled in every slice that holds them.
            if (j * 7919) % 2_000 < 40 {
                e.cache_space = Some("search".into());
                e.cache_key = Some(perf_core::model::cache_key_hash(&format!("k{}", j % 5_000)));
            }
            e
        })
        .collect()
}

/// Every view's series with their requests, errors and latency sum, sorted.
fn answers(d: &Durable) -> Vec<String> {
    let engine = d.engine();
    let mut out = Vec::new();
    for v in engine.views() {
        let mut groups = engine
            .group(&v.def.name, &[], i64::MIN / 2, i64::MAX / 2)
            .unwrap();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, s) in groups {
            out.push(format!(
                "{} {key:?} {} {} {:?}",
                v.def.name, s.requests, s.errors, s.latency
            ));
        }
    }
    for (service, space, sampler) in engine.caches().iter() {
        out.push(format!(
            "cache {service} {space} keys {} rate {} {:?}",
            sampler.tracked_keys(),
            sampler.rate(),
            sampler.periods()
        ));
    }
    out
}

#[test]
fn a_crash_after_sliced_snapshots_taken_during_ingest_restores_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().display().to_string();
    let before = {
        let d = Durable::open(config.clone()).unwrap();
        let now = d.now();
        let done = AtomicBool::new(false);
        let writers_done = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for w in 0..2 {
                let (d, writers_done, done) = (&d, &writers_done, &done);
                s.spawn(move || {
                    for i in (w..120).step_by(2) {
                        d.commit_once(LogBatch::Events(batch(i, now)), None)
                            .unwrap();
                    }
                    if writers_done.fetch_add(1, Ordering::SeqCst) == 1 {
                        done.store(true, Ordering::Relaxed);
                    }
                });
            }
            s.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    d.snapshot().unwrap();
                }
            });
        });
        assert!(
            d.engine().caches().iter().count() >= 10,
            "keyed services are sampled"
        );
        let series: usize = d.engine().views().iter().map(|v| v.series_count()).sum();
        assert!(
            series > 4 * 1_024,
            "{series} series: too few to be cut in 5 slices"
        );
        assert!(d.metrics.snapshots.load(Ordering::Relaxed) >= 2);
        // More events after the last snapshot: the log tail is replayed too.
        d.commit_once(LogBatch::Events(batch(1_000, now)), None)
            .unwrap();
        answers(&d)
        // Dropped without a final snapshot: a crash.
    };
    let d = Durable::open(config).unwrap();
    let after = answers(&d);
    assert_eq!(after.len(), before.len());
    assert!(
        after == before,
        "the restore differs from the engine before the crash"
    );
}

/// The snapshot restored at start counts as the last one written until another is: its size
/// cuts the first snapshot after a restart into slices as it cuts every later one (that
/// first one was taken as a single slice, the whole engine copied and encoded at once).
#[test]
fn a_restart_keeps_the_size_of_the_snapshot_it_restored() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.data_dir = dir.path().display().to_string();
    let written = {
        let d = Durable::open(config.clone()).unwrap();
        assert_eq!(d.metrics.snapshot_bytes.load(Ordering::Relaxed), 0);
        let now = d.now();
        d.commit_once(LogBatch::Events(batch(0, now)), None)
            .unwrap();
        d.snapshot().unwrap();
        d.metrics.snapshot_bytes.load(Ordering::Relaxed)
    };
    assert!(written > 1_000, "{written} bytes");
    let d = Durable::open(config).unwrap();
    assert_eq!(d.metrics.snapshot_bytes.load(Ordering::Relaxed), written);
}
