//! Exact good/total counts of one SLO instance, in two tiers: one-minute buckets for the
//! last 7 hours (burn-rate windows up to 6h are exact to the minute) and one-hour buckets
//! behind them (compliance windows, calendar periods, 1d/3d/7d burn windows, exact to the
//! hour). Buckets exist only where events are. Beside them, one-second buckets for the last
//! 30 s: the degradation ladder reads the last 10 s's burn (issue 21), which a minute bucket
//! cannot give without ramping through a minute of partial windows. Minute buckets move to the hour tier a whole
//! time slice at a time, so that Timeslices and RatioTimeslices budgets can be tallied
//! per slice before the minutes are merged.
//!
//! A range query counts every event with a timestamp in `[from, to)`, provided `from` is a
//! whole hour or lies inside the minute tier; [`aligned_from`] gives that start.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// How long minute buckets are kept.
pub const MINUTE_TIER_MS: i64 = 7 * HOUR;
const SECOND: i64 = 1_000;
/// How long one-second buckets are kept.
pub const SECOND_TIER_MS: i64 = 30_000;

/// Good and total events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Good events.
    pub good: u64,
    /// All events.
    pub total: u64,
}

impl Counts {
    /// Bad events.
    pub fn bad(&self) -> u64 {
        self.total - self.good
    }

    fn add(&mut self, o: Counts) {
        self.good += o.good;
        self.total += o.total;
    }
}

/// Slice tallies of a stretch of time (only slices with events count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Slices {
    /// Slices with at least one event.
    pub total: u64,
    /// Of those, slices whose good ratio reached the threshold.
    pub good: u64,
    /// Sum of the slices' good ratios.
    pub ratio_sum: f64,
}

impl Slices {
    fn add(&mut self, o: Slices) {
        self.total += o.total;
        self.good += o.good;
        self.ratio_sum += o.ratio_sum;
    }

    fn of(c: Counts, threshold: f64) -> Slices {
        if c.total == 0 {
            return Slices::default();
        }
        let ratio = c.good as f64 / c.total as f64;
        Slices {
            total: 1,
            good: u64::from(ratio >= threshold),
            ratio_sum: ratio,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct HourBucket {
    start: i64,
    counts: Counts,
    slices: Slices,
}

/// The two-tier counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloCounter {
    /// One-second buckets of the last `SECOND_TIER_MS` (not kept in snapshots: they age
    /// out before a restart would matter).
    #[serde(skip)]
    seconds: VecDeque<(i64, Counts)>,
    minutes: VecDeque<(i64, Counts)>,
    hours: VecDeque<HourBucket>,
    /// Events dropped because they were older than the hour tier keeps.
    pub too_old: u64,
}

/// The start a range must use: `from` itself inside the minute tier, else the hour holding it.
pub fn aligned_from(from: i64, now: i64) -> i64 {
    if from >= minute_horizon(now) {
        from.div_euclid(MINUTE) * MINUTE
    } else {
        from.div_euclid(HOUR) * HOUR
    }
}

/// The start of the minute tier at `now` (an hour boundary).
pub fn minute_horizon(now: i64) -> i64 {
    (now - MINUTE_TIER_MS).div_euclid(HOUR) * HOUR
}

fn slot<T>(
    v: &mut VecDeque<T>,
    start: i64,
    key: impl Fn(&T) -> i64,
    fresh: impl FnOnce() -> T,
) -> &mut T {
    let pos = match v.back() {
        Some(b) if key(b) == start => v.len() - 1,
        Some(b) if key(b) < start => {
            v.push_back(fresh());
            v.len() - 1
        }
        None => {
            v.push_back(fresh());
            0
        }
        Some(_) => match v.binary_search_by_key(&start, &key) {
            Ok(p) => p,
            Err(p) => {
                v.insert(p, fresh());
                p
            }
        },
    };
    &mut v[pos]
}

impl SloCounter {
    /// Heap bytes of the minute and hour tiers.
    pub fn heap_bytes(&self) -> usize {
        crate::memory::deque(&self.seconds)
            + crate::memory::deque(&self.minutes)
            + crate::memory::deque(&self.hours)
    }

    /// Counts one event at `ts`; `now` is the engine time, `keep_ms` how long hours are kept.
    #[inline]
    pub fn record(&mut self, ts: i64, good: bool, now: i64, keep_ms: i64) {
        let c = Counts {
            good: u64::from(good),
            total: 1,
        };
        if ts >= now - SECOND_TIER_MS {
            let start = ts.div_euclid(SECOND) * SECOND;
            slot(
                &mut self.seconds,
                start,
                |b| b.0,
                || (start, Counts::default()),
            )
            .1
            .add(c);
        }
        if ts >= minute_horizon(now) {
            let start = ts.div_euclid(MINUTE) * MINUTE;
            slot(
                &mut self.minutes,
                start,
                |b| b.0,
                || (start, Counts::default()),
            )
            .1
            .add(c);
        } else if ts >= now - keep_ms {
            let start = ts.div_euclid(HOUR) * HOUR;
            slot(
                &mut self.hours,
                start,
                |b| b.start,
                || HourBucket {
                    start,
                    ..Default::default()
                },
            )
            .counts
            .add(c);
        } else {
            self.too_old += 1;
        }
    }

    /// Adds a bucket of counts from history (a back-fill): into the minute of `start` inside
    /// the minute tier, else the hour holding it; nothing older than `keep_ms`.
    pub fn add_bucket(&mut self, start: i64, counts: Counts, now: i64, keep_ms: i64) {
        if start >= minute_horizon(now) {
            let m = start.div_euclid(MINUTE) * MINUTE;
            slot(&mut self.minutes, m, |b| b.0, || (m, Counts::default()))
                .1
                .add(counts);
        } else if start >= now - keep_ms {
            let h = start.div_euclid(HOUR) * HOUR;
            slot(
                &mut self.hours,
                h,
                |b| b.start,
                || HourBucket {
                    start: h,
                    ..Default::default()
                },
            )
            .counts
            .add(counts);
        }
    }

    /// Moves minutes past the horizon into hours (a slice at a time) and drops hours older
    /// than `keep_ms`.
    pub fn advance(&mut self, now: i64, keep_ms: i64, slice_ms: i64, threshold: f64) {
        while self
            .seconds
            .front()
            .is_some_and(|s| s.0 + SECOND <= now - SECOND_TIER_MS)
        {
            self.seconds.pop_front();
        }
        let horizon = minute_horizon(now);
        while let Some(&(first, _)) = self.minutes.front() {
            let slice_start = first.div_euclid(slice_ms) * slice_ms;
            if slice_start + slice_ms > horizon {
                break;
            }
            let mut slice = Counts::default();
            while self
                .minutes
                .front()
                .is_some_and(|m| m.0 < slice_start + slice_ms)
            {
                if let Some((_, c)) = self.minutes.pop_front() {
                    slice.add(c);
                }
            }
            let hour = slice_start.div_euclid(HOUR) * HOUR;
            let bucket = slot(
                &mut self.hours,
                hour,
                |b| b.start,
                || HourBucket {
                    start: hour,
                    ..Default::default()
                },
            );
            bucket.counts.add(slice);
            bucket.slices.add(Slices::of(slice, threshold));
        }
        while self
            .hours
            .front()
            .is_some_and(|h| h.start + HOUR <= now - keep_ms)
        {
            self.hours.pop_front();
        }
    }

    /// Good and total events of the last `length_ms` (at most `SECOND_TIER_MS`, to the
    /// second): the buckets starting at or after `now − length_ms`.
    pub fn recent(&self, now: i64, length_ms: i64) -> Counts {
        let from = (now - length_ms.min(SECOND_TIER_MS)).div_euclid(SECOND) * SECOND;
        let mut c = Counts::default();
        let first = self.seconds.partition_point(|s| s.0 < from);
        for (_, counts) in self.seconds.range(first..) {
            c.add(*counts);
        }
        c
    }

    /// Good and total events with timestamps in `[from, to)` (`from` per [`aligned_from`]).
    pub fn counts(&self, from: i64, to: i64) -> Counts {
        let mut c = Counts::default();
        let first = self.minutes.partition_point(|m| m.0 < from);
        for (start, counts) in self.minutes.range(first..) {
            if *start >= to {
                break;
            }
            c.add(*counts);
        }
        let first = self.hours.partition_point(|h| h.start < from);
        for h in self.hours.range(first..) {
            if h.start >= to {
                break;
            }
            c.add(h.counts);
        }
        c
    }

    /// Counts for several ranges that share their end `to`: `out[i]` gets `[froms[i], to)`,
    /// touching every bucket once (evaluation asks for a dozen windows per SLO). At most 32
    /// ranges.
    pub fn counts_since(&self, froms: &[i64], to: i64, out: &mut [Counts]) {
        debug_assert!(froms.len() <= 32 && out.len() >= froms.len());
        let mut order = [(0i64, 0usize); 32];
        let n = froms.len().min(32);
        for (i, f) in froms.iter().take(n).enumerate() {
            order[i] = (*f, i);
        }
        order[..n].sort_unstable_by_key(|o| std::cmp::Reverse(o.0));
        let (mut m_end, mut h_end) = (
            self.minutes.partition_point(|m| m.0 < to),
            self.hours.partition_point(|h| h.start < to),
        );
        let mut acc = Counts::default();
        for &(from, i) in &order[..n] {
            let m_start = self.minutes.partition_point(|m| m.0 < from).min(m_end);
            for (_, c) in self.minutes.range(m_start..m_end) {
                acc.add(*c);
            }
            m_end = m_start;
            let h_start = self.hours.partition_point(|h| h.start < from).min(h_end);
            for h in self.hours.range(h_start..h_end) {
                acc.add(h.counts);
            }
            h_end = h_start;
            out[i] = acc;
        }
    }

    /// Slice tallies in `[from, to)`: closed slices from the hour tier, open ones computed
    /// from the minutes.
    pub fn slices(&self, from: i64, to: i64, slice_ms: i64, threshold: f64) -> Slices {
        let mut s = Slices::default();
        let first = self.hours.partition_point(|h| h.start < from);
        for h in self.hours.range(first..) {
            if h.start >= to {
                break;
            }
            s.add(h.slices);
        }
        let mut current: Option<(i64, Counts)> = None;
        let first = self.minutes.partition_point(|m| m.0 < from);
        for (start, counts) in self.minutes.range(first..) {
            if *start >= to {
                break;
            }
            let slice_start = start.div_euclid(slice_ms) * slice_ms;
            match &mut current {
                Some((s0, c)) if *s0 == slice_start => c.add(*counts),
                _ => {
                    if let Some((_, c)) = current.take() {
                        s.add(Slices::of(c, threshold));
                    }
                    current = Some((slice_start, *counts));
                }
            }
        }
        if let Some((_, c)) = current {
            s.add(Slices::of(c, threshold));
        }
        s
    }

    /// Buckets held (for memory accounting).
    pub fn buckets(&self) -> usize {
        self.minutes.len() + self.hours.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR;

    /// The last 10 s to the second: one event a second (every third bad) for a minute, read at
    /// its end, counts the 11 one-second buckets from now − 10 s; the seconds age out.
    #[test]
    fn recent_counts_the_last_seconds_exactly_and_forgets_them() {
        let mut c = SloCounter::default();
        let keep = 86_400_000;
        for s in 0..60 {
            let t = T0 + s * SECOND;
            c.record(t, s % 3 != 0, t, keep);
            c.advance(t, keep, 5 * MINUTE, 0.99);
        }
        let now = T0 + 59 * SECOND + 500;
        // Seconds 49..=59: 11 events.
        let want = (49..60).fold(Counts::default(), |mut acc, s| {
            acc.add(Counts {
                good: u64::from(s % 3 != 0),
                total: 1,
            });
            acc
        });
        assert_eq!(c.recent(now, 10_000), want);
        assert_eq!(want.total, 11);
        // Longer than the tier: capped at its 30 s.
        assert_eq!(c.recent(now, 60_000).total, 31);
        c.advance(T0 + 2 * MINUTE, keep, 5 * MINUTE, 0.99);
        assert_eq!(c.recent(T0 + 2 * MINUTE, 10_000).total, 0);
        assert_eq!(c.counts(T0, T0 + MINUTE).total, 60, "the minutes keep them");
    }

    proptest! {
        /// Counts equal a brute-force count for every aligned range, whatever the tier.
        #[test]
        fn counts_equal_brute_force(
            events in prop::collection::vec((0i64..72 * HOUR, any::<bool>()), 0..400),
            a in 0i64..80, len in 1i64..80,
        ) {
            let mut events = events;
            events.sort_by_key(|e| e.0);
            let mut c = SloCounter::default();
            let keep = 100 * 86_400_000;
            for (t, good) in &events {
                c.record(T0 + t, *good, T0 + t, keep);
                c.advance(T0 + t, keep, 5 * MINUTE, 0.99);
            }
            let now = T0 + 72 * HOUR;
            c.advance(now, keep, 5 * MINUTE, 0.99);
            let from = aligned_from(T0 + a * HOUR - 7 * MINUTE, now);
            let to = from + len * HOUR;
            let want = events.iter().filter(|(t, _)| T0 + t >= from && T0 + t < to);
            let total = want.clone().count() as u64;
            let good = want.filter(|(_, g)| *g).count() as u64;
            prop_assert_eq!(c.counts(from, to), Counts { good, total });
            let end = aligned_from(now, now) + MINUTE;
            let froms = [from, aligned_from(now - 2 * HOUR, now), aligned_from(now - 30 * HOUR, now)];
            let mut many = [Counts::default(); 3];
            c.counts_since(&froms, end, &mut many);
            for (f, got) in froms.iter().zip(many) {
                prop_assert_eq!(got, c.counts(*f, end));
            }
        }
    }

    #[test]
    fn slices_are_tallied_before_minutes_merge() {
        let mut c = SloCounter::default();
        let keep = 10 * 86_400_000;
        // Slice 1 (5 minutes): 10 good. Slice 2: 9 good, 1 bad (ratio 0.9 < 0.95).
        for i in 0..10 {
            c.record(T0 + i * 1000, true, T0, keep);
            c.record(T0 + 5 * MINUTE + i * 1000, i != 0, T0, keep);
        }
        let open = c.slices(T0, T0 + HOUR, 5 * MINUTE, 0.95);
        c.advance(T0 + 9 * HOUR, keep, 5 * MINUTE, 0.95);
        let closed = c.slices(T0, T0 + HOUR, 5 * MINUTE, 0.95);
        assert_eq!(open, closed);
        assert_eq!((closed.total, closed.good), (2, 1));
        assert!((closed.ratio_sum - 1.9).abs() < 1e-12);
        assert_eq!(
            c.counts(T0, T0 + HOUR),
            Counts {
                good: 19,
                total: 20
            }
        );
    }
}
