//! An incident that comes back every period, forever: the demo's hourly script as one
//! incident per kind instead of one per hour, so a demo that runs for weeks neither stops
//! its story after a day nor keeps a growing list of incidents that every event is checked
//! against.

use crate::incident::Incident;
use perf_core::Event;

/// Plays `inner` (whose times lie within the first period) again every `period_ms`.
pub struct Repeating {
    /// The incident of the first period.
    pub inner: Box<dyn Incident>,
    /// Its period.
    pub period_ms: i64,
}

impl Repeating {
    /// `inner` every `period_ms`.
    pub fn every(period_ms: i64, inner: impl Incident + 'static) -> Repeating {
        Repeating {
            inner: Box::new(inner),
            period_ms: period_ms.max(1),
        }
    }

    fn phase(&self, t_ms: i64) -> i64 {
        t_ms.rem_euclid(self.period_ms)
    }
}

impl Incident for Repeating {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn active(&self, t_ms: i64) -> bool {
        t_ms >= 0 && self.inner.active(self.phase(t_ms))
    }
    fn apply(&self, event: &mut Event, u: f64) {
        self.inner.apply(event, u)
    }
    fn surge(&self, t_ms: i64) -> Option<(&str, Option<&str>, f64)> {
        self.inner.surge(self.phase(t_ms))
    }
    fn surge_caller(&self) -> Option<&str> {
        self.inner.surge_caller()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorBurst;

    #[test]
    fn an_hourly_burst_is_active_in_the_same_minutes_of_every_hour_and_only_after_the_start() {
        const MINUTE: i64 = 60_000;
        let r = Repeating::every(
            60 * MINUTE,
            ErrorBurst {
                service: "a".into(),
                from_ms: 33 * MINUTE,
                to_ms: 39 * MINUTE,
                error_rate: 0.25,
            },
        );
        for hour in [0, 1, 23, 24, 24 * 40] {
            let base = hour * 60 * MINUTE;
            assert!(!r.active(base + 32 * MINUTE));
            assert!(r.active(base + 33 * MINUTE));
            assert!(r.active(base + 39 * MINUTE - 1));
            assert!(!r.active(base + 39 * MINUTE));
        }
        assert!(!r.active(-27 * MINUTE), "nothing before the start");
    }
}
