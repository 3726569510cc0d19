//! New records: a value beyond everything the series has done, after it stayed within its
//! range for days.
//!
//! A slow climb to a level never seen before (an overheating machine, a queue that has never
//! been this long) is made of small steps, none surprising against the last one, so the
//! residual detector lets it through; what makes it news is that the series is somewhere it
//! has never been. This is the signal value-encoding detectors such as Numenta's HTM get from
//! their fixed input range; here the range is learned causally from the series itself.
//!
//! Growth must not read as novelty: a trending or seasonally growing series sets records all
//! the time. So a record counts only when it **starts a new run of records** after the
//! previous one stood for [`QUIET_MS`] (and [`QUIET_POINTS`]) — or comes within
//! [`RUN_POINTS`] of such a start (the climb of an incident sets several records in a row) —
//! and beats the previous extreme by [`MARGIN`] of the range seen so far. A series growing day
//! after day never lets a record stand for two days, so it never qualifies. The record
//! that starts a run is [`News::First`] — one point, which a noisy series' tail can also
//! produce — and the detector lets it raise the score but not, alone, an alert; the records
//! that follow within the run are [`News::Continued`].
//!
//! State: two records of four numbers each (~80 bytes).

use serde::{Deserialize, Serialize};

/// How long a record must have stood (time) before beating it is news.
pub const QUIET_MS: i64 = 2 * 86_400_000;
/// How long a record must have stood (points) before beating it is news.
pub const QUIET_POINTS: u64 = 30;
/// Points after the start of a run of records during which further records still count.
pub const RUN_POINTS: u64 = 50;
/// A record counts when it beats the previous extreme by this share of the range.
pub const MARGIN: f64 = 0.02;

/// What a value is to the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// Not a record that counts.
    None,
    /// The first record after the previous one stood (a single point: weak on its own).
    First,
    /// A further record of a run that started within [`RUN_POINTS`] (the climb goes on).
    Continued,
}

/// One side's record (the highest or the lowest value so far).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Record {
    value: f64,
    /// Point index and time the record was set.
    at: u64,
    ts_ms: i64,
    /// Point index where the current run of records started (none yet: the first values
    /// set records without any standing).
    run_start: Option<u64>,
}

impl Record {
    fn new(value: f64, ts_ms: i64) -> Self {
        Record {
            value,
            at: 0,
            ts_ms,
            run_start: None,
        }
    }

    /// Whether a new record at point `n`, time `ts_ms` would start a run.
    fn starts_run(&self, n: u64, ts_ms: i64) -> bool {
        n.saturating_sub(self.at) >= QUIET_POINTS && ts_ms.saturating_sub(self.ts_ms) >= QUIET_MS
    }

    /// What a record set now at point `n` would be.
    fn kind(&self, n: u64, ts_ms: i64) -> News {
        if self.starts_run(n, ts_ms) {
            News::First
        } else if self
            .run_start
            .is_some_and(|start| n.saturating_sub(start) <= RUN_POINTS)
        {
            News::Continued
        } else {
            News::None
        }
    }

    fn set(&mut self, value: f64, n: u64, ts_ms: i64) {
        if self.starts_run(n, ts_ms) {
            self.run_start = Some(n);
        }
        self.value = value;
        self.at = n;
        self.ts_ms = ts_ms;
    }
}

/// The highest and lowest values so far, with when they were set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Records {
    high: Record,
    low: Record,
}

impl Records {
    /// Records starting at the series' first value, seen at `ts_ms`.
    pub fn new(first: f64, ts_ms: i64) -> Self {
        Records {
            high: Record::new(first, ts_ms),
            low: Record::new(first, ts_ms),
        }
    }

    /// Whether `x` at point `n`, time `ts_ms` is a record that counts (see the module doc).
    pub fn news(&self, x: f64, n: u64, ts_ms: i64) -> News {
        let range = self.high.value - self.low.value;
        if range <= 0.0 {
            return News::None;
        }
        let margin = MARGIN * range;
        if x > self.high.value + margin {
            self.high.kind(n, ts_ms)
        } else if x < self.low.value - margin {
            self.low.kind(n, ts_ms)
        } else {
            News::None
        }
    }

    /// Learns `x` at point `n`, time `ts_ms`.
    pub fn update(&mut self, x: f64, n: u64, ts_ms: i64) {
        if x > self.high.value {
            self.high.set(x, n, ts_ms);
        }
        if x < self.low.value {
            self.low.set(x, n, ts_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn a_record_after_days_in_range_is_news_and_its_climb_for_a_while() {
        let mut r = Records::new(10.0, 0);
        assert_eq!(r.news(20.0, 1, HOUR), News::None, "no range yet");
        r.update(0.0, 1, HOUR);
        assert_eq!(
            r.news(20.0, 2, 2 * HOUR),
            News::None,
            "the first records have not stood"
        );
        // Three days within [0, 10], hourly.
        for i in 2..72u64 {
            let x = if i % 2 == 0 { 0.0 } else { 10.0 };
            r.update(x, i, i as i64 * HOUR);
        }
        assert_eq!(r.news(10.1, 72, 72 * HOUR), News::None, "within the margin");
        assert!(
            r.news(10.5, 72, 72 * HOUR) == News::First,
            "2 % of the range beyond"
        );
        assert!(r.news(-0.5, 72, 72 * HOUR) == News::First, "new low");
        r.update(10.5, 72, 72 * HOUR);
        // The climb goes on: still news within the run.
        assert_eq!(r.news(11.0, 80, 80 * HOUR), News::Continued);
        r.update(11.0, 80, 80 * HOUR);
        // Long after the run started, records set a day apart are growth, not news.
        for day in 0..4u64 {
            let n = 124 + 24 * day;
            assert_eq!(
                r.news(11.5 + day as f64, n, n as i64 * HOUR),
                News::None,
                "day {day}"
            );
            r.update(11.5 + day as f64, n, n as i64 * HOUR);
        }
    }

    #[test]
    fn a_steady_trend_never_counts() {
        let mut r = Records::new(0.0, 0);
        let mut news = 0;
        for i in 1..20_000u64 {
            let x = i as f64 * 0.01;
            let ts = i as i64 * 300_000;
            news += usize::from(r.news(x + 5.0, i, ts) != News::None);
            r.update(x, i, ts);
        }
        assert_eq!(news, 0);
    }
}
