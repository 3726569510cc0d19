//! The encoding of a sealed bucket ([`Cell`](super::Cell)): a flag byte names the fields
//! that are not zero, the request count is a varint, counters are varints, sums are exact
//! float bits, and the sketch follows in its own compact form (sketch/compact.rs). Most
//! buckets of a many-series server hold a handful of requests, where postcard's fixed eight
//! bytes per float (cost, cost², slow latency, and the sketch's sum, min and max, written
//! even when zero or implied) made a one-request bucket 61 bytes; here it is 15, small
//! enough to live inside the bucket slot with no allocation at all.
//!
//! Decoding is exact: the stats read back equal the stats written, field by field and bit
//! by bit (property test below, against postcard's round trip as the reference).

use crate::sketch::LatencySketch;
use crate::stats::{StageTime, Stats};
use crate::varint::{put_f64, put_u64, Reader};

const ERRORS: u8 = 1;
const CACHE_HITS: u8 = 2;
const CACHE_MISSES: u8 = 4;
const COST: u8 = 8;
const COST_SQ: u8 = 16;
const SLOW: u8 = 32;
const SLOW_LATENCY: u8 = 64;
const STAGES: u8 = 128;

/// Appends the encoding of `s` to `out`.
pub(super) fn encode(s: &Stats, out: &mut Vec<u8>) {
    let nonzero = |v: f64| v.to_bits() != 0;
    let mut flags = 0;
    for (present, flag) in [
        (s.errors != 0, ERRORS),
        (s.cache_hits != 0, CACHE_HITS),
        (s.cache_misses != 0, CACHE_MISSES),
        (nonzero(s.cost), COST),
        (nonzero(s.cost_sq), COST_SQ),
        (s.slow != 0, SLOW),
        (nonzero(s.slow_latency_ms), SLOW_LATENCY),
        (!s.stages.is_empty(), STAGES),
    ] {
        if present {
            flags |= flag;
        }
    }
    out.push(flags);
    put_u64(out, s.requests);
    let counters = [
        (ERRORS, s.errors),
        (CACHE_HITS, s.cache_hits),
        (CACHE_MISSES, s.cache_misses),
    ];
    for (flag, v) in counters {
        if flags & flag != 0 {
            put_u64(out, v);
        }
    }
    for (flag, v) in [(COST, s.cost), (COST_SQ, s.cost_sq)] {
        if flags & flag != 0 {
            put_f64(out, v);
        }
    }
    if flags & SLOW != 0 {
        put_u64(out, s.slow);
    }
    if flags & SLOW_LATENCY != 0 {
        put_f64(out, s.slow_latency_ms);
    }
    s.latency.write_compact(out, s.requests);
    if flags & STAGES != 0 {
        put_u64(out, s.stages.len() as u64);
        for st in &s.stages {
            put_u64(out, u64::from(st.stage));
            put_f64(out, st.total_ms);
            put_f64(out, st.slow_ms);
        }
    }
}

/// The stats `bytes` encode, `None` when they are not an encoding [`encode`] wrote.
pub(super) fn decode(bytes: &[u8]) -> Option<Stats> {
    let mut r = Reader::new(bytes);
    let flags = r.u8()?;
    let requests = r.u64()?;
    let count = |flag: u8, r: &mut Reader<'_>| -> Option<u64> {
        if flags & flag != 0 {
            r.u64()
        } else {
            Some(0)
        }
    };
    let errors = count(ERRORS, &mut r)?;
    let cache_hits = count(CACHE_HITS, &mut r)?;
    let cache_misses = count(CACHE_MISSES, &mut r)?;
    let float = |flag: u8, r: &mut Reader<'_>| -> Option<f64> {
        if flags & flag != 0 {
            r.f64()
        } else {
            Some(0.0)
        }
    };
    let cost = float(COST, &mut r)?;
    let cost_sq = float(COST_SQ, &mut r)?;
    let slow = count(SLOW, &mut r)?;
    let slow_latency_ms = float(SLOW_LATENCY, &mut r)?;
    let latency = LatencySketch::read_compact(&mut r, requests)?;
    let mut stages = Vec::new();
    if flags & STAGES != 0 {
        let n = r.u64()? as usize;
        stages.reserve_exact(n.min(256));
        for _ in 0..n {
            stages.push(StageTime {
                stage: u32::try_from(r.u64()?).ok()?,
                total_ms: r.f64()?,
                slow_ms: r.f64()?,
            });
        }
    }
    if !r.is_empty() {
        return None;
    }
    Some(Stats {
        requests,
        errors,
        cache_hits,
        cache_misses,
        cost,
        cost_sq,
        slow,
        slow_latency_ms,
        latency,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CacheOutcome, Event};
    use proptest::prelude::*;

    /// Stats of arbitrary events: latencies from zero to huge, costs, cache outcomes, stages.
    fn stats_of(events: &[(f64, bool, u8, Option<f64>, u8)]) -> Stats {
        let mut s = Stats::default();
        for &(latency, ok, cache, cost, stages) in events {
            let mut e = Event::new(0, "svc", "op", latency);
            e.ok = ok;
            e.cache = match cache % 3 {
                0 => None,
                1 => Some(CacheOutcome::Hit),
                _ => Some(CacheOutcome::Miss),
            };
            e.cost = cost;
            let ids: Vec<u32> = (0..u32::from(stages % 3)).collect();
            e.stages = ids
                .iter()
                .map(|i| (format!("s{i}"), latency / 3.0))
                .collect();
            s.record(&e, 100.0, &ids);
        }
        s
    }

    fn event() -> impl Strategy<Value = (f64, bool, u8, Option<f64>, u8)> {
        (
            prop_oneof![Just(0.0), Just(42.5), 0.0..1e-3, 0.0..500.0, 1e3..1e7],
            any::<bool>(),
            any::<u8>(),
            proptest::option::of(0.0..10.0),
            any::<u8>(),
        )
    }

    proptest! {
        /// Exact round trip, agreeing with postcard's (the reference encoding), for single
        /// buckets and for merged ones (merging makes dense sketches and zero sums).
        #[test]
        fn stats_read_back_exactly(
            a in proptest::collection::vec(event(), 0..120),
            b in proptest::collection::vec(event(), 0..5),
        ) {
            let mut s = stats_of(&a);
            for stats in [s.clone(), stats_of(&b), { s.merge(&stats_of(&b)); s }] {
                let mut out = Vec::new();
                encode(&stats, &mut out);
                let back = decode(&out).expect("decodes");
                let reference: Stats =
                    postcard::from_bytes(&postcard::to_allocvec(&stats).unwrap()).unwrap();
                prop_assert_eq!(&back, &stats);
                prop_assert_eq!(&back, &reference);
                prop_assert_eq!(format!("{back:?}"), format!("{stats:?}"));
            }
        }

        /// Cut short or extended, an encoding is refused, never misread.
        #[test]
        fn damaged_encodings_are_refused(a in proptest::collection::vec(event(), 1..40), cut in 1usize..8) {
            let mut out = Vec::new();
            encode(&stats_of(&a), &mut out);
            let keep = out.len().saturating_sub(cut);
            prop_assert!(decode(&out[..keep]).is_none());
            out.push(0);
            prop_assert!(decode(&out).is_none());
        }
    }

    #[test]
    fn a_busy_bucket_takes_well_under_its_varint_size() {
        // A demo minute of one operation: 2,400 lognormal latencies (bins of a few to a
        // hundred requests). Postcard writes the bin counts as varints, as this codec did
        // before bit packing; its size is the reference.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let events: Vec<_> = (0..2_400)
            .map(|_| {
                let normal: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
                ((3.0 + 0.8 * normal).exp(), true, 0, None, 0)
            })
            .collect();
        let s = stats_of(&events);
        let mut out = Vec::new();
        encode(&s, &mut out);
        let postcard = postcard::to_allocvec(&s).unwrap().len();
        assert!(
            out.len() * 10 < postcard * 7,
            "{} bytes against postcard's {postcard}",
            out.len()
        );
        assert_eq!(decode(&out).unwrap(), s);
    }

    #[test]
    fn a_one_request_bucket_is_fifteen_bytes() {
        let s = stats_of(&[(42.5, true, 0, None, 0)]);
        let mut out = Vec::new();
        encode(&s, &mut out);
        // flags, requests, sketch flags, sum, sparse length, index, count.
        assert_eq!(out.len(), 15, "{out:?}");
        assert_eq!(postcard::to_allocvec(&s).unwrap().len(), 61);
    }
}
