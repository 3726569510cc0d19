//! Window queries against a brute-force recomputation from the raw events, across
//! resolutions; series bounds; caller summaries.

use super::*;
use crate::config::{Resolution, ViewDef};
use crate::model::CacheOutcome;
use proptest::prelude::*;

/// An hour boundary, so that windows aligned to T0 are aligned to every bucket width.
const T0: i64 = 1_699_999_200_000;
const S: i64 = 1_000;
const M: i64 = 60 * S;

fn small_config() -> EngineConfig {
    EngineConfig {
        resolutions: vec![
            Resolution {
                width: 10 * S,
                keep: 2 * M,
            },
            Resolution {
                width: M,
                keep: 10 * M,
            },
            Resolution {
                width: 5 * M,
                keep: 60 * M,
            },
        ],
        ..EngineConfig::default()
    }
}

fn event(ts: i64, svc: u8, op: u8, node: u8, latency: f64, ok: bool, cost: f64) -> Event {
    let mut e = Event::new(ts, &format!("svc{svc}"), &format!("op{op}"), latency);
    e.node = format!("node{node}");
    e.ok = ok;
    e.cost = Some(cost);
    e.cache = if op.is_multiple_of(2) {
        Some(CacheOutcome::Hit)
    } else {
        Some(CacheOutcome::Miss)
    };
    e.tenant = (node != 0).then(|| format!("dao-{node}"));
    e
}

fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (
            0i64..50 * M,
            0u8..2,
            0u8..3,
            0u8..3,
            0.1f64..5_000.0,
            prop::bool::weighted(0.9),
            0.0f64..1.0,
        ),
        1..400,
    )
    .prop_map(|mut v| {
        v.sort_by_key(|x| x.0);
        v.into_iter()
            .map(|(t, s, o, n, l, ok, c)| event(T0 + t, s, o, n, l, ok, c))
            .collect()
    })
}

fn ingest_in_order(engine: &mut Engine, events: &[Event]) {
    for chunk in events.chunks(7) {
        let now = chunk.iter().map(|e| e.ts_ms).max().unwrap();
        engine.ingest(chunk, now);
    }
}

fn oracle(events: &[Event], from: i64, to: i64, pick: impl Fn(&Event) -> bool) -> Stats {
    let mut s = Stats::default();
    for e in events
        .iter()
        .filter(|e| e.ts_ms >= from && e.ts_ms < to && pick(e))
    {
        s.record(e, 200.0, &[]);
    }
    s
}

fn assert_same(got: &Stats, want: &Stats) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.requests, want.requests);
    prop_assert_eq!(got.errors, want.errors);
    prop_assert_eq!(got.cache_hits, want.cache_hits);
    prop_assert_eq!(got.cache_misses, want.cache_misses);
    prop_assert_eq!(got.slow, want.slow);
    prop_assert!((got.cost - want.cost).abs() < 1e-9);
    prop_assert_eq!(got.latency.min(), want.latency.min());
    prop_assert_eq!(got.latency.max(), want.latency.max());
    for q in [0.5, 0.95, 0.99] {
        prop_assert_eq!(got.latency.quantile(q), want.latency.quantile(q));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Windows aligned to the coarsest width: exact at every level the data has aged into.
    #[test]
    fn aligned_windows_equal_brute_force(events in arb_events(), a in 0i64..12, len in 1i64..12, svc in 0u8..3) {
        let mut engine = Engine::new(small_config()).unwrap();
        ingest_in_order(&mut engine, &events);
        let from = T0 + a * 5 * M;
        let to = from + len * 5 * M;
        let service = format!("svc{svc}");
        let got = engine.query("service_operation", &[(Dim::Service, &service)], from, to).unwrap();
        assert_same(&got, &oracle(&events, from, to, |e| e.service == service))?;
        let all = engine.query("service_node", &[], from, to).unwrap();
        assert_same(&all, &oracle(&events, from, to, |_| true))?;
        let tenants = engine.query("service_tenant", &[], from, to).unwrap();
        assert_same(&tenants, &oracle(&events, from, to, |e| e.tenant.is_some()))?;
    }

    /// Windows at the finest width, inside the finest level's retention.
    #[test]
    fn fine_windows_equal_brute_force(events in arb_events(), a in 0i64..12, len in 1i64..12, op in 0u8..3) {
        let mut engine = Engine::new(small_config()).unwrap();
        ingest_in_order(&mut engine, &events);
        let now = engine.watermark();
        let fine_start = (now - 2 * M).div_euclid(10 * S) * 10 * S + 10 * S;
        let from = fine_start + a * 10 * S;
        let to = from + len * 10 * S;
        let operation = format!("op{op}");
        let got = engine.query("service_operation", &[(Dim::Operation, &operation)], from, to).unwrap();
        assert_same(&got, &oracle(&events, from, to, |e| e.operation == operation))?;
    }

    /// Grouping conserves counts: the groups of a view add up to the whole.
    #[test]
    fn groups_add_up(events in arb_events()) {
        let mut engine = Engine::new(small_config()).unwrap();
        ingest_in_order(&mut engine, &events);
        let groups = engine.group("service_operation", &[], T0, T0 + 60 * M).unwrap();
        let total: u64 = groups.iter().map(|g| g.1.requests).sum();
        prop_assert_eq!(total, events.len() as u64);
    }
}

#[test]
fn overflow_keeps_totals_and_is_counted() {
    let config = EngineConfig {
        views: vec![ViewDef {
            name: "service_operation".into(),
            dims: vec![Dim::Service, Dim::Operation],
        }],
        max_series_per_view: 3,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config).unwrap();
    let events: Vec<Event> = (0..10)
        .map(|i| Event::new(T0, "s", &format!("op{i}"), 1.0))
        .collect();
    engine.ingest(&events, T0);
    let v = engine.view("service_operation").unwrap();
    assert_eq!(v.series_count(), 3);
    assert_eq!(v.overflow_events, 7);
    assert_eq!(
        engine
            .query("service_operation", &[], T0 - M, T0 + M)
            .unwrap()
            .requests,
        10
    );
    assert_eq!(v.overflow_series().unwrap().rollup.bucket_count(), 1);
}

#[test]
fn data_past_retention_expires_and_is_counted() {
    let mut engine = Engine::new(small_config()).unwrap();
    engine.ingest(&[Event::new(T0, "s", "o", 1.0)], T0);
    engine.advance(T0 + 2 * 60 * M);
    assert_eq!(engine.counters.expired, 1);
    assert_eq!(
        engine
            .query("service_operation", &[], 0, i64::MAX)
            .unwrap()
            .requests,
        0
    );
}

#[test]
fn callers_are_summarised_per_service() {
    let mut engine = Engine::new(EngineConfig::default()).unwrap();
    let events: Vec<Event> = (0..100)
        .map(|i| {
            let mut e = Event::new(T0 + i, "s", "o", if i % 4 == 0 { 900.0 } else { 5.0 });
            e.entity = Some(if i % 4 == 0 {
                "scraper".into()
            } else {
                format!("user{i}")
            });
            e
        })
        .collect();
    engine.ingest(&events, T0 + 100);
    let slow = engine.top_callers("s", Measure::Slow, T0 - M, T0 + M, 1);
    assert_eq!((slow[0].key.as_str(), slow[0].count), ("scraper", 25.0));
}

#[test]
fn snapshot_round_trip_answers_alike() {
    let mut engine = Engine::new(small_config()).unwrap();
    let events: Vec<Event> = (0..50)
        .map(|i| event(T0 + i * S, 0, (i % 3) as u8, 1, i as f64, true, 0.1))
        .collect();
    engine.ingest(&events, T0 + 50 * S);
    let json = serde_json::to_string(&engine).unwrap();
    let mut back: Engine = serde_json::from_str(&json).unwrap();
    back.after_load();
    back.ingest(&events[..5], T0 + 50 * S);
    let got = back
        .query("service_operation", &[(Dim::Service, "svc0")], T0, T0 + M)
        .unwrap();
    assert_eq!(got.requests, 55);
    assert_eq!(back.view("service_operation").unwrap().series_count(), 3);
}
