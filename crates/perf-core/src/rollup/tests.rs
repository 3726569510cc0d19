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
    r.levels.iter().map(Level::sealed_count).sum()
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

/// A rollup read back from its serialised form: every bucket a cell, none packed (the form
/// every level had before rollup/level.rs), the reference the packed form must match.
fn as_cells(r: &Rollup) -> Rollup {
    postcard::from_bytes(&postcard::to_allocvec(r).unwrap()).unwrap()
}

fn feed(events: &[(i64, u32, f64)], res: &[Resolution], rollup: &mut Rollup) -> i64 {
    let mut now = 0;
    for (i, (step, late, latency)) in events.iter().enumerate() {
        now += *step + 500;
        let ts = if *late > 0 && i % 3 == 0 {
            now - 70 * S * i64::from(*late)
        } else {
            now
        };
        if let Some(stats) = rollup.bucket_for(res, ts, now) {
            stats.record(&Event::new(ts, "svc", "op", *latency), 200.0, &[]);
        }
        rollup.advance(res, now);
    }
    now
}

fn every_window(a: &Rollup, b: &Rollup, now: i64) -> Result<(), TestCaseError> {
    let mut from = -M;
    while from < now + M {
        for width in [10 * S, M, 5 * M, 7 * M] {
            let (mut x, mut y) = (Stats::default(), Stats::default());
            a.query_into(from, from + width, &mut x);
            b.query_into(from, from + width, &mut y);
            prop_assert_eq!(&x, &y, "window [{}, +{})", from, width);
        }
        from += 10 * S;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Packed levels answer every window bit for bit as cells would, serialise to the same
    /// bytes, stay equal as time goes on, and merge the same.
    #[test]
    fn packed_levels_answer_as_cells_do(
        events in prop::collection::vec((0i64..1_200, 0u32..4, 1.0f64..900.0), 50..400),
        other in prop::collection::vec((0i64..1_200, 0u32..4, 1.0f64..900.0), 0..200),
    ) {
        let res = resolutions();
        let mut packed = Rollup::new(res.len());
        let now = feed(&events, &res, &mut packed);
        prop_assert!(packed.levels.iter().any(|l| l.packed_count() > 0), "something was packed");
        let mut cells = as_cells(&packed);
        prop_assert_eq!(&packed, &cells);
        prop_assert_eq!(
            postcard::to_allocvec(&packed).unwrap(),
            postcard::to_allocvec(&cells).unwrap()
        );
        every_window(&packed, &cells, now)?;
        // Time goes on (the cells' copy packs its settled buckets on this pass) and a late
        // event reopens a packed bucket in each.
        for r in [&mut packed, &mut cells] {
            r.advance(&res, now + 30 * S);
            if let Some(s) = r.bucket_for(&res, now - 3 * M, now + 30 * S) {
                s.record(&Event::new(now - 3 * M, "svc", "op", 3.0), 200.0, &[]);
            }
            r.advance(&res, now + 2 * M);
        }
        prop_assert_eq!(&packed, &cells);
        every_window(&packed, &cells, now)?;
        let mut theirs = Rollup::new(res.len());
        feed(&other, &res, &mut theirs);
        packed.merge(&theirs);
        cells.merge(&as_cells(&theirs));
        prop_assert_eq!(&packed, &cells);
        every_window(&packed, &cells, now)?;
    }
}

#[test]
fn settled_buckets_share_one_buffer_and_it_stays_near_their_size() {
    let res = [
        Resolution {
            width: 10 * S,
            keep: 2 * M,
        },
        Resolution {
            width: M,
            keep: 60 * M,
        },
        Resolution {
            width: 10 * M,
            keep: 6 * 60 * M,
        },
    ];
    let mut rollup = Rollup::new(res.len());
    // Eight hours at two requests a second: every level full and most of it sealed, the
    // buffers cut at the front and grown at the end many times over.
    for i in 0..8 * 3_600 * 2 {
        let now = i * 500;
        let e = Event::new(now, "svc", "op", 1.0 + (i % 89) as f64);
        rollup
            .bucket_for(&res, now, now)
            .unwrap()
            .record(&e, 200.0, &[]);
        if i % 20 == 0 {
            rollup.advance(&res, now);
        }
    }
    for (l, level) in rollup.levels.iter().enumerate().skip(1) {
        assert!(
            level.packed_count() * 10 >= level.len() * 8,
            "level {l}: most buckets packed"
        );
        let (held, live) = level.packed_bytes();
        assert!(
            held * 10 <= live * 13,
            "level {l}: {held} bytes held for {live}"
        );
        // The same buckets each in a cell of their own take a 32-byte slot and their bytes
        // (and, not counted here, the allocator's rounding of each to a size class).
        let (packed, as_cells) = level.packed_heap_against_cells();
        assert!(
            packed * 100 < as_cells * 95,
            "level {l}: {packed} bytes against {as_cells}"
        );
    }
}
