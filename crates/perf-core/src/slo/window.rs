//! Window bounds at an evaluation time: rolling windows end with the current minute; calendar
//! windows start at the beginning of the current week (Monday), month or quarter in the SLO's
//! time zone. Starts are aligned as the counter requires ([`super::counter::aligned_from`]):
//! to the minute inside the last 7 hours, to the hour before (a zone whose offset is not a
//! whole hour therefore starts its calendar period at the UTC hour holding the boundary).

use super::counter::aligned_from;
use super::definition::{CalendarUnit, SloWindow};
use chrono::{Datelike, LocalResult, NaiveDate, TimeZone};

const MINUTE: i64 = 60_000;

/// The end of every window evaluated at `now`: the end of the current minute.
pub fn window_end(now: i64) -> i64 {
    now.div_euclid(MINUTE) * MINUTE + MINUTE
}

/// `[from, to)` of the last `length_ms` at `now`.
pub fn last(now: i64, length_ms: i64) -> (i64, i64) {
    let to = window_end(now);
    (aligned_from(to - length_ms, now), to)
}

/// `[from, to)` of an SLO window at `now`.
pub fn slo_window(window: &SloWindow, now: i64) -> (i64, i64) {
    match window {
        SloWindow::Rolling { length_ms } => last(now, *length_ms),
        SloWindow::Calendar { unit, tz } => {
            let start = calendar_start(*unit, *tz, now);
            (aligned_from(start, now), window_end(now))
        }
    }
}

/// Start (unix ms) of the calendar period holding `now` in `tz`.
pub fn calendar_start(unit: CalendarUnit, tz: chrono_tz::Tz, now: i64) -> i64 {
    let local = tz
        .timestamp_millis_opt(now)
        .single()
        .map(|d| d.date_naive())
        .unwrap_or_default();
    let first: NaiveDate = match unit {
        CalendarUnit::Week => {
            local - chrono::Days::new(u64::from(local.weekday().num_days_from_monday()))
        }
        CalendarUnit::Month => local.with_day(1).unwrap_or(local),
        CalendarUnit::Quarter => {
            let month = (local.month() - 1) / 3 * 3 + 1;
            NaiveDate::from_ymd_opt(local.year(), month, 1).unwrap_or(local)
        }
    };
    let midnight = first.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => d.timestamp_millis(),
        // Midnight skipped by a DST change: the period starts at the first valid instant.
        LocalResult::None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map(|d| d.timestamp_millis())
            .unwrap_or(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn calendar_periods_in_time_zones() {
        let now = ms("2026-03-15T10:30:00Z");
        assert_eq!(
            calendar_start(CalendarUnit::Month, chrono_tz::UTC, now),
            ms("2026-03-01T00:00:00Z")
        );
        assert_eq!(
            calendar_start(CalendarUnit::Quarter, chrono_tz::UTC, now),
            ms("2026-01-01T00:00:00Z")
        );
        assert_eq!(
            calendar_start(CalendarUnit::Week, chrono_tz::UTC, now),
            ms("2026-03-09T00:00:00Z")
        );
        // New York is UTC-5 on 1 March (daylight saving starts on 8 March).
        assert_eq!(
            calendar_start(CalendarUnit::Month, chrono_tz::America::New_York, now),
            ms("2026-03-01T05:00:00Z")
        );
        // Just after midnight in Tokyo on 1 April is still March in UTC.
        let tokyo = ms("2026-03-31T15:30:00Z");
        assert_eq!(
            calendar_start(CalendarUnit::Month, chrono_tz::Asia::Tokyo, tokyo),
            ms("2026-03-31T15:00:00Z")
        );
        assert_eq!(
            calendar_start(CalendarUnit::Month, chrono_tz::UTC, tokyo),
            ms("2026-03-01T00:00:00Z")
        );
    }

    #[test]
    fn rolling_windows_end_with_the_current_minute() {
        let now = ms("2026-03-15T10:30:20Z");
        let (from, to) = last(now, 5 * MINUTE);
        assert_eq!(to, ms("2026-03-15T10:31:00Z"));
        assert_eq!(from, ms("2026-03-15T10:26:00Z"));
        let (from, _) = last(now, 28 * 86_400_000);
        assert_eq!(from, ms("2026-02-15T10:00:00Z"));
    }
}
