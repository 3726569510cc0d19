//! Budget corrections: declared stretches of time whose events an SLO does not count
//! (Sloth #529, OpenSLO #302; Nobl9 calls them SLI corrections). Two kinds:
//!
//! - **maintenance**: the events in `[from, to)` are excluded (a planned upgrade, a
//!   provider's announced outage);
//! - **business hours**: the events *outside* the given weekdays and local hours are
//!   excluded (an internal tool whose SLO only holds while people work).
//!
//! A correction applies to the past as well as the future: the SLO's counters are rebuilt
//! from the views' history with the excluded stretches left out (`super::backfill`), and
//! live events in them are not counted (`super::SloSet::record`). Exclusion is judged per
//! event by its timestamp; in the history, per view bucket by the bucket's start, which is
//! exact where the views hold minutes (the last 4 h by default) and for edges that fall on
//! the coarser buckets' boundaries (10 minutes for a day, hours behind). So edges are whole
//! minutes, and business hours are `HH:MM` on whole minutes.

use chrono::{Datelike, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60_000;
/// The longest maintenance window accepted.
pub const MAX_MAINTENANCE_MS: i64 = 31 * 86_400_000;

/// What a correction leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Events in `[from_ms, to_ms)`.
    Maintenance {
        /// Start, unix ms (a whole minute).
        from_ms: i64,
        /// End, unix ms (a whole minute, after the start).
        to_ms: i64,
    },
    /// Events outside `days` × `[start_minute, end_minute)` of the local day in `tz`.
    BusinessHours {
        /// Weekdays kept, bit 0 = Monday … bit 6 = Sunday.
        days: u8,
        /// First minute of the day kept (0–1439).
        start_minute: u16,
        /// First minute of the day no longer kept (1–1440, after the start).
        end_minute: u16,
        /// Time zone of the days and hours.
        tz: chrono_tz::Tz,
    },
}

impl Exclusion {
    /// Whether an event at `ts` is excluded.
    pub fn excludes(&self, ts: i64) -> bool {
        match *self {
            Exclusion::Maintenance { from_ms, to_ms } => (from_ms..to_ms).contains(&ts),
            Exclusion::BusinessHours {
                days,
                start_minute,
                end_minute,
                tz,
            } => {
                let Some(local) = tz.timestamp_millis_opt(ts).single() else {
                    return false;
                };
                let day = local.weekday().num_days_from_monday();
                let minute = (local.hour() * 60 + local.minute()) as u16;
                let kept = days & (1 << day) != 0 && (start_minute..end_minute).contains(&minute);
                !kept
            }
        }
    }

    /// Whether the exclusion may cover any time in `[from, to)` (cheap: a maintenance
    /// window's overlap; business hours may always).
    pub fn may_cover(&self, from: i64, to: i64) -> bool {
        match *self {
            Exclusion::Maintenance { from_ms, to_ms } => from_ms < to && from < to_ms,
            Exclusion::BusinessHours { .. } => true,
        }
    }

    /// Checks the shape; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Exclusion::Maintenance { from_ms, to_ms } => {
                if from_ms % MINUTE != 0 || to_ms % MINUTE != 0 {
                    return Err("from, to: whole minutes (the views count per minute)".into());
                }
                if to_ms <= from_ms {
                    return Err("to: must be after from".into());
                }
                if to_ms - from_ms > MAX_MAINTENANCE_MS {
                    return Err("to: a maintenance window lasts at most 31 days".into());
                }
            }
            Exclusion::BusinessHours {
                days,
                start_minute,
                end_minute,
                ..
            } => {
                if days & 0x7f == 0 || days & 0x80 != 0 {
                    return Err("days: at least one of mon … sun".into());
                }
                if start_minute >= end_minute || end_minute > 1440 {
                    return Err(
                        "start, end: HH:MM with the start before the end (24:00 ends the day)"
                            .into(),
                    );
                }
            }
        }
        Ok(())
    }
}

/// One declared correction: what it excludes, and who declared it, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// Unique within the SLO.
    pub id: String,
    /// What is left out.
    pub exclusion: Exclusion,
    /// Why.
    pub reason: String,
    /// Who declared it.
    pub author: String,
    /// The API token it was declared with (`None`: the configuration file, or no auth).
    pub token: Option<String>,
    /// When it was declared, unix ms.
    pub created_ms: i64,
    /// Declared in the configuration file (read-only over the API).
    pub from_config: bool,
}

impl Correction {
    /// Checks the id, the texts and the exclusion; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty()
            || self.id.len() > 64
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err("id: 1-64 characters of letters, digits, '-', '_', '.'".into());
        }
        if self.reason.trim().is_empty() || self.reason.len() > 1024 {
            return Err("reason: required, at most 1024 characters".into());
        }
        if self.author.trim().is_empty() || self.author.len() > 128 {
            return Err("author: required, at most 128 characters".into());
        }
        self.exclusion.validate()
    }
}

/// Whether any of `corrections` excludes an event at `ts`.
#[inline]
pub fn excluded(corrections: &[Correction], ts: i64) -> bool {
    corrections.iter().any(|c| c.exclusion.excludes(ts))
}

/// The first of `corrections` that excludes `ts`, by position.
pub fn excluded_by(corrections: &[Correction], ts: i64) -> Option<usize> {
    corrections.iter().position(|c| c.exclusion.excludes(ts))
}

/// Whether the corrections leave out none of `[from, to)`, all of it, or part of it, judged
/// at every minute's start (the finest the views count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// No minute excluded.
    None,
    /// Every minute excluded.
    All,
    /// Some minutes excluded.
    Part,
}

/// How `corrections` cover `[from, to)` (whole minutes).
pub fn cover(corrections: &[Correction], from: i64, to: i64) -> Cover {
    let relevant: Vec<&Correction> = corrections
        .iter()
        .filter(|c| c.exclusion.may_cover(from, to))
        .collect();
    if relevant.is_empty() {
        return Cover::None;
    }
    let (mut some, mut all) = (false, true);
    let mut t = from;
    while t < to {
        let out = relevant.iter().any(|c| c.exclusion.excludes(t));
        some |= out;
        all &= out;
        if some && !all {
            return Cover::Part;
        }
        t += MINUTE;
    }
    match (some, all) {
        (true, true) => Cover::All,
        (false, _) => Cover::None,
        _ => Cover::Part,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z, a Thursday

    fn maintenance(from: i64, to: i64) -> Correction {
        Correction {
            id: "m".into(),
            exclusion: Exclusion::Maintenance {
                from_ms: from,
                to_ms: to,
            },
            reason: "upgrade".into(),
            author: "ops".into(),
            token: None,
            created_ms: T0,
            from_config: false,
        }
    }

    #[test]
    fn a_maintenance_window_excludes_its_half_open_span() {
        let c = [maintenance(T0 + 10 * MINUTE, T0 + 20 * MINUTE)];
        assert!(!excluded(&c, T0 + 10 * MINUTE - 1));
        assert!(excluded(&c, T0 + 10 * MINUTE));
        assert!(excluded(&c, T0 + 20 * MINUTE - 1));
        assert!(!excluded(&c, T0 + 20 * MINUTE));
        assert_eq!(cover(&c, T0, T0 + 10 * MINUTE), Cover::None);
        assert_eq!(cover(&c, T0 + 10 * MINUTE, T0 + 20 * MINUTE), Cover::All);
        assert_eq!(cover(&c, T0, T0 + 60 * MINUTE), Cover::Part);
    }

    /// Berlin business hours, Monday to Friday 09:00–17:00: Thursday 2026-01-01 08:59 local
    /// is outside (07:59 UTC), 09:00 local (08:00 UTC) inside, 17:00 local outside, and the
    /// Saturday is outside all day.
    #[test]
    fn business_hours_keep_weekday_office_hours_in_their_time_zone() {
        let c = [Correction {
            exclusion: Exclusion::BusinessHours {
                days: 0b0011111,
                start_minute: 9 * 60,
                end_minute: 17 * 60,
                tz: chrono_tz::Europe::Berlin,
            },
            ..maintenance(0, 0)
        }];
        let hour = 60 * MINUTE;
        assert!(excluded(&c, T0 + 8 * hour - MINUTE));
        assert!(!excluded(&c, T0 + 8 * hour));
        assert!(!excluded(&c, T0 + 16 * hour - 1));
        assert!(excluded(&c, T0 + 16 * hour));
        assert!(excluded(&c, T0 + 2 * 24 * hour + 10 * hour), "Saturday");
        assert_eq!(cover(&c, T0 + 8 * hour, T0 + 16 * hour), Cover::None);
        assert_eq!(cover(&c, T0 + 7 * hour, T0 + 8 * hour), Cover::All);
        assert_eq!(cover(&c, T0 + 7 * hour, T0 + 9 * hour), Cover::Part);
    }

    #[test]
    fn bad_shapes_are_refused_with_the_field() {
        let e = maintenance(T0 + 1, T0 + MINUTE).validate().unwrap_err();
        assert!(e.starts_with("from, to"), "{e}");
        let e = maintenance(T0 + MINUTE, T0).validate().unwrap_err();
        assert!(e.starts_with("to:"), "{e}");
        let e = Correction {
            id: "a b".into(),
            ..maintenance(T0, T0 + MINUTE)
        }
        .validate()
        .unwrap_err();
        assert!(e.starts_with("id:"), "{e}");
        let e = Correction {
            reason: " ".into(),
            ..maintenance(T0, T0 + MINUTE)
        }
        .validate()
        .unwrap_err();
        assert!(e.starts_with("reason:"), "{e}");
        let hours = |days, s, e| Exclusion::BusinessHours {
            days,
            start_minute: s,
            end_minute: e,
            tz: chrono_tz::UTC,
        };
        assert!(hours(0, 540, 1020).validate().is_err());
        assert!(hours(1, 1020, 540).validate().is_err());
        assert!(hours(1, 0, 1440).validate().is_ok());
    }
}
