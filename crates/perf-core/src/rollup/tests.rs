//! Sealing never changes an answer: events (some late) go through a rollup that seals its
//! settled buckets, and every aligned window answers what the events in it make.

use super::*;
use crate::model::Event;
use proptest::prelude::*;

const S: i64 = 1_000;
const M: i64 = 60 * S;

fn resolutions() -> Vec<Resolution> {
    vec![
        Resolution {
            width: 10 * S,
            keep: M,
        },
        Resolution {
            width: M,
            keep: 5 * M,
        },
        Resolution {
            width: 5 * M,
            keep: 30 * M,
        },
    ]
}

fn sealed(r: &Rollup) -> usize {
    r.levels
        .iter()
        .flatten()
        .filter(|b| b.1.is_sealed())
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn sealed_buckets_answer_what_their_events_make(
        events in prop::collection::vec((0i64..1_200, 0u32..3, 1.0f64..900.0, any::<bool>()), 50..400),
    ) {
        let res = resolutions();
        let mut rollup = Rollup::new(res.len());
        let mut kept: Vec<(i64, Event)> = Vec::new();
        let mut now = 0;
        for (i, (step, late, latency, ok)) in events.iter().enumerate() {
            // Time moves on by `step` ms per event on average ~0.6 s; every third event
            // with `late` > 0 is up to four minutes late.
            now += *step + 500;
            let ts = if *late > 0 && i % 3 == 0 { now - 80 * S * i64::from(*late) } else { now };
            let mut e = Event::new(ts, "svc", "op", *latency);
            e.ok = *ok;
            let start = ts.div_euclid(10 * S) * 10 * S;
            if res.iter().any(|r| start + r.width > now - r.keep) {
                if let Some(stats) = rollup.bucket_for(&res, ts, now) {
                    stats.record(&e, 200.0, &[]);
                    kept.push((ts, e));
                }
            }
            rollup.advance(&res, now);
        }
        prop_assert!(sealed(&rollup) > 0, "settled buckets are sealed");
        let horizon = now - 30 * M;
        let first = horizon.div_euclid(5 * M) * 5 * M + 5 * M;
        let mut from = first;
        while from < now {
            let to = from + 5 * M;
            let mut got = Stats::default();
            rollup.query_into(from, to, &mut got);
            let mut want = Stats::default();
            for (_, e) in kept.iter().filter(|(ts, _)| (from..to).contains(ts)) {
                want.record(e, 200.0, &[]);
            }
            prop_assert_eq!(got.requests, want.requests);
            prop_assert_eq!(got.errors, want.errors);
            prop_assert_eq!(got.slow, want.slow);
            prop_assert_eq!(got.latency.histogram(), want.latency.histogram());
            prop_assert_eq!(got.latency.quantile(0.99), want.latency.quantile(0.99));
            from = to;
        }
    }
}

#[test]
fn a_late_event_opens_a_sealed_bucket_and_is_counted() {
    let res = resolutions();
    let mut rollup = Rollup::new(res.len());
    let e = Event::new(0, "svc", "op", 5.0);
    rollup
        .bucket_for(&res, 0, 0)
        .unwrap()
        .record(&e, 200.0, &[]);
    rollup.advance(&res, 2 * M);
    assert_eq!(
        sealed(&rollup),
        1,
        "the first bucket ended over a minute ago"
    );
    rollup
        .bucket_for(&res, 1, 2 * M)
        .unwrap()
        .record(&e, 200.0, &[]);
    assert_eq!(sealed(&rollup), 0, "the late event opened it");
    rollup.advance(&res, 2 * M + 10 * S);
    assert_eq!(sealed(&rollup), 1, "and the next pass seals it again");
    let mut all = Stats::default();
    rollup.query_into(i64::MIN, i64::MAX, &mut all);
    assert_eq!(all.requests, 2);
}

#[test]
fn a_bucket_is_a_start_and_a_pointer_sized_cell() {
    assert!(
        std::mem::size_of::<Bucket>() <= 32,
        "{}",
        std::mem::size_of::<Bucket>()
    );
}
