//! The cache records what it does, the recorder stays bounded, the reporter loses nothing
//! a failing sink refused while it fits, and the wire form is what the ingest API takes.

use crate::instrumented::key_hash;
use crate::reporter::MAX_BATCH;
use crate::*;
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

fn recorder(capacity: usize) -> Arc<Recorder> {
    Recorder::new(Identity::new("svc", "op", "n1"), capacity)
}

#[test]
fn get_with_records_a_miss_then_hits_with_the_key_hash() {
    let r = recorder(100);
    let c: InstrumentedCache<String, u32> = Builder::new("space").build(&r);
    let mut loads = 0;
    for _ in 0..3 {
        let v = c.get_with("k".to_string(), || {
            loads += 1;
            7
        });
        assert_eq!(v, 7);
    }
    assert_eq!(loads, 1);
    assert_eq!(c.get("k"), Some(7), "a borrowed key finds the owned one");
    assert_eq!(c.get("other"), None);
    let s = r.stats();
    assert_eq!((s.hits, s.misses, s.dropped), (3, 2, 0));
    let a = r.drain();
    assert_eq!(
        a.iter().map(|a| a.hit).collect::<Vec<_>>(),
        [false, true, true, true, false]
    );
    assert!(a[..4].iter().all(|a| a.key == key_hash("k")));
    assert_eq!(key_hash("k"), key_hash(&"k".to_string()));
    assert_ne!(a[4].key, a[0].key);
    assert!(a.iter().all(|a| a.space == 0 && a.latency_ms >= 0.0));
    assert_eq!(&*r.spaces()[0], "space");
    assert!(a.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms));
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (wall - a[4].ts_ms).abs() < 5_000,
        "stamped on the wall clock"
    );
    assert_eq!(r.pending(), 0);
}

#[test]
fn a_stale_entry_is_a_miss_and_is_replaced() {
    let r = recorder(100);
    let c: InstrumentedCache<&'static str, (u64, &'static str)> = Builder::new("answers").build(&r);
    let generation = 1;
    let v = c.get_fresh("q", |v| v.0 == generation, || (1, "first"));
    assert_eq!(v.1, "first");
    let v = c.get_fresh("q", |v| v.0 == generation, || (1, "again"));
    assert_eq!(v.1, "first", "fresh: served from the cache");
    let generation = 2;
    let v = c.get_fresh("q", |v| v.0 == generation, || (2, "second"));
    assert_eq!(v.1, "second", "stale: loaded again");
    assert_eq!(c.get("q"), Some((2, "second")), "and stored in its place");
    let s = r.stats();
    assert_eq!((s.hits, s.misses), (2, 2));
}

#[test]
fn concurrent_misses_of_one_key_load_once() {
    let r = recorder(100);
    let c: Arc<InstrumentedCache<u64, u64>> = Arc::new(Builder::new("s").build(&r));
    let loads = Arc::new(Mutex::new(0));
    let start = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (c, loads, start) = (c.clone(), loads.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                c.get_with(42, || {
                    *loads.lock().unwrap() += 1;
                    std::thread::sleep(Duration::from_millis(50));
                    99
                })
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 99);
    }
    assert_eq!(*loads.lock().unwrap(), 1);
    let s = r.stats();
    assert_eq!((s.misses, s.hits), (1, 7));
}

#[test]
fn the_cache_stays_within_its_capacity() {
    let r = recorder(100_000);
    let c: InstrumentedCache<u64, u64> = Builder::new("s").max_capacity(100).build(&r);
    for k in 0..5_000u64 {
        c.get_with(k % 1_000, || k);
    }
    c.run_pending_tasks();
    assert!(c.entry_count() <= 100, "{} entries", c.entry_count());
    assert_eq!(c.max_capacity(), Some(100));
    assert_eq!(r.stats().hits + r.stats().misses, 5_000);
}

#[test]
fn the_recorder_drops_past_its_capacity_and_counts_it() {
    let r = recorder(10);
    let c: InstrumentedCache<u64, u64> = Builder::new("s").build(&r);
    for k in 0..15 {
        c.get_with(k, || k);
    }
    let s = r.stats();
    assert_eq!((s.misses, s.dropped), (15, 5));
    assert_eq!(r.drain().len(), 10);
    // Put back: what fits ahead of the newer lookups, the rest dropped (oldest first).
    for k in 0..6 {
        c.get(&k);
    }
    let old: Vec<Access> = (0..8)
        .map(|i| Access {
            ts_ms: i,
            space: 0,
            key: i as u64,
            hit: false,
            latency_ms: 0.0,
        })
        .collect();
    r.put_back(old);
    let back = r.drain();
    assert_eq!(back.len(), 10);
    assert_eq!(back[0].ts_ms, 4, "the 4 oldest did not fit");
    assert!(back[4..].iter().all(|a| a.hit), "the newer lookups follow");
    assert_eq!(r.stats().dropped, 9);
}

type Sent = Arc<Mutex<Vec<Vec<Access>>>>;

fn collecting(sent: &Sent, fail_first: usize, refuse: usize) -> impl Sink {
    let sent = sent.clone();
    let mut failures = fail_first;
    move |batch: &Batch| {
        assert_eq!(batch.who.service, "svc");
        assert!(batch.accesses.iter().all(|a| batch.space_of(a) == "s"));
        if failures > 0 {
            failures -= 1;
            return Err("server down".to_string());
        }
        sent.lock().unwrap().push(batch.accesses.to_vec());
        Ok(refuse.min(batch.accesses.len()))
    }
}

#[test]
fn the_reporter_sends_in_bounded_batches_and_flushes_on_drop() {
    let r = recorder(1_000_000);
    let c: InstrumentedCache<u64, u64> = Builder::new("s").build(&r);
    let sent: Sent = Default::default();
    let reporter = Reporter::spawn(
        r.clone(),
        collecting(&sent, 0, 0),
        Duration::from_secs(3600),
    );
    for k in 0..(2 * MAX_BATCH as u64 + 7) {
        c.get_with(k % 500, || k);
    }
    reporter.flush();
    {
        let batches = sent.lock().unwrap();
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [MAX_BATCH, MAX_BATCH, 7]
        );
    }
    c.get(&1);
    drop(reporter);
    assert_eq!(
        sent.lock().unwrap().last().unwrap().len(),
        1,
        "sent on drop"
    );
    assert_eq!(r.stats().reported, 2 * MAX_BATCH as u64 + 8);
}

#[test]
fn a_refused_send_is_kept_and_sent_again() {
    let r = recorder(1_000);
    let c: InstrumentedCache<u64, u64> = Builder::new("s").build(&r);
    let sent: Sent = Default::default();
    let reporter = Reporter::spawn(
        r.clone(),
        collecting(&sent, 2, 1),
        Duration::from_secs(3600),
    );
    for k in 0..20 {
        c.get_with(k, || k);
    }
    reporter.flush();
    assert!(sent.lock().unwrap().is_empty());
    assert_eq!(r.pending(), 20, "kept");
    assert_eq!(r.last_error().as_deref(), Some("server down"));
    reporter.flush();
    reporter.flush();
    let batches = sent.lock().unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        batches[0].iter().map(|a| a.key).collect::<Vec<_>>(),
        (0..20u64).map(|k| key_hash(&k)).collect::<Vec<_>>(),
        "every lookup, in order"
    );
    let s = r.stats();
    assert_eq!((s.failed_sends, s.reported, s.refused), (2, 19, 1));
}

#[test]
fn the_wire_form_is_an_ingest_event() {
    let who = Identity::new("qindex", "search", "node-1");
    let a = Access {
        ts_ms: 1_700_000_000_000,
        space: 0,
        key: 0xab,
        hit: false,
        latency_ms: 1.5,
    };
    let json = serde_json::to_value(CacheEvent::of(&who, "results", &a)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "ts": 1_700_000_000_000i64, "service": "qindex", "operation": "search",
            "node": "node-1", "latencyMs": 1.5, "ok": true, "cache": "miss",
            "cacheSpace": "results", "cacheKey": "00000000000000ab"
        })
    );
}
