//! The steady state the latency gate is judged over: the latest stretch of
//! `Guardrails::steady_ms` (30 minutes), on whole minutes, that contains no disturbance — a
//! degradation-ladder step, a rollout step (a point in time each) or an open anomaly incident
//! (a stretch) — and lies within the finest retention that still has minute buckets, so its
//! percentiles are exact over exactly that stretch.

use serde::{Deserialize, Serialize};

const MINUTE: i64 = 60_000;

/// Something that breaks a steady state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Disturbance {
    /// `degradation_step`, `rollout_step` or `anomaly_incident`.
    pub kind: String,
    /// What it was about (service, rollout id, incident).
    pub subject: String,
    /// Start (unix ms).
    #[serde(with = "crate::time::serde_rfc3339")]
    pub from: i64,
    /// End (unix ms, inclusive; `from` for a point in time, "now" for an incident still open).
    #[serde(with = "crate::time::serde_rfc3339")]
    pub to: i64,
}

impl Disturbance {
    /// Whether it touches `[from, to)`.
    fn overlaps(&self, from: i64, to: i64) -> bool {
        self.from < to && self.to >= from
    }
}

/// The latest `[from, to)` of `length` ms, on whole minutes, ending at or before `now` and
/// starting at or after `horizon_from`, that no disturbance touches. `None` when there is
/// none; the second value is the disturbance that ended the search closest to `now`, for the
/// answer's reason.
pub fn find(
    disturbances: &[Disturbance],
    now: i64,
    horizon_from: i64,
    length: i64,
) -> Option<(i64, i64)> {
    let mut to = now.div_euclid(MINUTE) * MINUTE;
    loop {
        let from = to - length;
        if from < horizon_from {
            return None;
        }
        // The latest start among the disturbances touching the window: the next window
        // must end at or before it.
        let latest = disturbances
            .iter()
            .filter(|d| d.overlaps(from, to))
            .map(|d| d.from)
            .max();
        match latest {
            None => return Some((from, to)),
            Some(start) => {
                // Strictly earlier than the current end, on a whole minute.
                let next = start.div_euclid(MINUTE) * MINUTE;
                to = next.min(to - MINUTE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at: i64) -> Disturbance {
        Disturbance {
            kind: "degradation_step".into(),
            subject: "s".into(),
            from: at,
            to: at,
        }
    }

    const T: i64 = 1_700_000_000_000 / MINUTE * MINUTE;

    #[test]
    fn the_latest_quiet_stretch_is_found() {
        let len = 30 * MINUTE;
        // No disturbance: the last 30 whole minutes.
        assert_eq!(
            find(&[], T + 59_000, T - 6 * 60 * MINUTE, len),
            Some((T - len, T))
        );
        // A step 10 minutes ago: the window ends at the step's minute.
        let d = [point(T - 10 * MINUTE + 5_000)];
        assert_eq!(
            find(&d, T, T - 6 * 60 * MINUTE, len),
            Some((T - 40 * MINUTE, T - 10 * MINUTE))
        );
        // An incident open from 100 to 50 minutes ago and a step 20 minutes ago: the quiet
        // 30 minutes between them are too few (30 exactly fit: 50 → 20).
        let inc = Disturbance {
            kind: "anomaly_incident".into(),
            subject: "incident-1".into(),
            from: T - 100 * MINUTE,
            to: T - 50 * MINUTE - 1,
        };
        let d = [inc.clone(), point(T - 20 * MINUTE)];
        assert_eq!(
            find(&d, T, T - 6 * 60 * MINUTE, len),
            Some((T - 50 * MINUTE, T - 20 * MINUTE))
        );
        // With the step 25 minutes ago there is no room after the incident: before it.
        let d = [inc, point(T - 25 * MINUTE)];
        assert_eq!(
            find(&d, T, T - 6 * 60 * MINUTE, len),
            Some((T - 130 * MINUTE, T - 100 * MINUTE))
        );
        // Steps every 20 minutes over the whole horizon: none.
        let d: Vec<_> = (0..20).map(|k| point(T - k * 20 * MINUTE)).collect();
        assert_eq!(find(&d, T, T - 6 * 60 * MINUTE, len), None);
        // A horizon shorter than the window: none.
        assert_eq!(find(&[], T, T - 20 * MINUTE, len), None);
    }
}
