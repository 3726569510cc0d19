//! Drills of an ecosystem's own recovery, measured: a drill marks when a service is made to
//! fail on purpose (a restore, a failover) and [`Drill::observe`] follows it one completed
//! bucket range at a time until the service is back within its budget — error rate and p99,
//! neither significantly above it ([`Drill::within`]) — and has stayed there for `stable_ms` (5 minutes): the time from the drill's start to the
//! start of that stable stretch is the measured RTO. Its resolution is the range each call
//! covers (the evaluation interval, on whole buckets), so the RTO is within one interval of
//! the truth. The requests from the start until recovery are the drill's impact.
//!
//! [`FailoverWatch`] is the other half: a configured rule per service (error rate ≥ x or
//! p99 ≥ y for z minutes) that says when to fail over.

use crate::compare::proportion;
use crate::stats::Stats;
use serde::{Deserialize, Serialize};

/// What is drilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DrillKind {
    /// Restoring the service's state from a backup.
    Restore,
    /// Moving the service to its standby.
    Failover,
}

/// What "recovered" means for a service.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveryBudget {
    /// Largest error rate of a recovered service.
    pub error_rate: f64,
    /// Largest p99 of a recovered service, ms.
    pub p99_ms: f64,
    /// How long it must stay within both, ms.
    pub stable_ms: i64,
}

/// Where a drill stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DrillStatus {
    /// Started; the service is not (yet stably) back within budget.
    Recovering,
    /// Back within budget for the stable stretch: the RTO is measured.
    Recovered,
    /// A day passed without a stable recovery.
    Unrecovered,
}

/// Critical value of the within-budget test of one range: about one range in 700 of a
/// service exactly at its budget reads as out, so a 5-minute stretch of 30 ranges is not
/// broken by chance.
pub const WITHIN_Z: f64 = 3.0;

/// Longest a drill is followed.
pub const FOLLOW_MS: i64 = 24 * 3_600_000;

/// One drill and what has been measured of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drill {
    /// Identifier.
    pub id: String,
    /// Service drilled.
    pub service: String,
    /// Restore or failover.
    pub kind: DrillKind,
    /// Start (engine time).
    #[serde(with = "crate::time::serde_rfc3339")]
    pub started_at: i64,
    /// End of the drill window, when stopped.
    #[serde(default, with = "crate::time::serde_rfc3339_opt")]
    pub stopped_at: Option<i64>,
    /// The budget it is judged against (fixed at the start).
    pub budget: RecoveryBudget,
    /// Where it stands.
    pub status: DrillStatus,
    /// Observed up to here (exclusive).
    pub observed_to: i64,
    /// Start of the current stretch within budget.
    pub within_since: Option<i64>,
    /// When the stable stretch began: the service's recovery.
    #[serde(default, with = "crate::time::serde_rfc3339_opt")]
    pub recovered_at: Option<i64>,
    /// `recovered_at − started_at`.
    pub rto_ms: Option<i64>,
    /// Requests from the start until recovery.
    pub impact: Stats,
    /// Requests of the current stretch within budget: impact if it breaks, not if it lasts.
    pub pending: Stats,
    /// The worst observed range's error rate and p99 until recovery.
    pub worst_error_rate: f64,
    /// See `worst_error_rate`.
    pub worst_p99_ms: f64,
}

impl Drill {
    /// A drill starting at `now`.
    pub fn start(
        id: String,
        service: String,
        kind: DrillKind,
        now: i64,
        budget: RecoveryBudget,
    ) -> Drill {
        Drill {
            id,
            service,
            kind,
            started_at: now,
            stopped_at: None,
            budget,
            status: DrillStatus::Recovering,
            observed_to: now,
            within_since: None,
            recovered_at: None,
            rto_ms: None,
            impact: Stats::default(),
            pending: Stats::default(),
            worst_error_rate: 0.0,
            worst_p99_ms: 0.0,
        }
    }

    /// Whether `stats` (a range of the service's requests) is within the budget: neither
    /// its error rate nor its share of requests slower than the p99 budget is
    /// *significantly* above the budget (the lower end of its Wilson interval at
    /// [`WITHIN_Z`] clears it). A range is short (one evaluation interval), so on a quiet
    /// service one ordinary error in twenty requests is a 5 % error rate that says nothing;
    /// judged on the point estimate it restarted the stable stretch at random and the RTO
    /// with it. A failing service is still out at once: 2 errors in 3 requests clear a 1 %
    /// budget. No requests is not within: a service that answers nothing has not recovered.
    pub fn within(&self, stats: &Stats) -> bool {
        let n = stats.requests;
        if n == 0 {
            return false;
        }
        let slow = n.saturating_sub(stats.latency.count_at_most(self.budget.p99_ms));
        let significantly_above =
            |k: u64, budget: f64| proportion::wilson(k, n, WITHIN_Z).0 > budget;
        !significantly_above(stats.errors, self.budget.error_rate)
            && !significantly_above(slow, 0.01)
    }

    /// Takes the service's requests of `[from, to)` (the next range after `observed_to`;
    /// a range that does not start there is ignored). Returns true when the status changed.
    pub fn observe(&mut self, from: i64, to: i64, stats: &Stats) -> bool {
        if self.status != DrillStatus::Recovering || from != self.observed_to || to <= from {
            return false;
        }
        self.observed_to = to;
        if self.within(stats) {
            let since = *self.within_since.get_or_insert(from);
            self.pending.merge(stats);
            if to - since >= self.budget.stable_ms {
                self.recovered_at = Some(since);
                self.rto_ms = Some(since - self.started_at);
                self.status = DrillStatus::Recovered;
                self.pending = Stats::default();
                return true;
            }
        } else {
            // Until recovery everything is impact, a stretch within budget that did not
            // last included.
            self.within_since = None;
            let pending = std::mem::take(&mut self.pending);
            self.impact.merge(&pending);
            self.impact.merge(stats);
            if let Some(e) = stats.error_rate() {
                self.worst_error_rate = self.worst_error_rate.max(e);
            }
            if let Some(p) = stats.latency.quantile(0.99) {
                self.worst_p99_ms = self.worst_p99_ms.max(p);
            }
        }
        if to - self.started_at >= FOLLOW_MS {
            self.status = DrillStatus::Unrecovered;
            return true;
        }
        false
    }
}

/// What a drill shows: [`Drill`] without its sketches, the impact in figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrillView {
    /// Identifier.
    pub id: String,
    /// Service drilled.
    pub service: String,
    /// Restore or failover.
    pub kind: DrillKind,
    /// Start.
    #[serde(with = "crate::time::serde_rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: i64,
    /// End of the drill window.
    #[serde(with = "crate::time::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub stopped_at: Option<i64>,
    /// What recovered means.
    pub budget: RecoveryBudget,
    /// Where it stands.
    pub status: DrillStatus,
    /// Start of the stable stretch within budget.
    #[serde(with = "crate::time::serde_rfc3339_opt")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub recovered_at: Option<i64>,
    /// Measured RTO, ms.
    pub rto_ms: Option<i64>,
    /// Requests, errors, error rate and p99 from the start until recovery, and the worst
    /// observed stretch.
    pub impact: ImpactView,
}

/// A drill's impact in figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpactView {
    /// Requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// `errors / requests`.
    pub error_rate: Option<f64>,
    /// p99 of the requests, ms.
    pub p99_ms: Option<f64>,
    /// The worst observed stretch's error rate.
    pub worst_error_rate: f64,
    /// The worst observed stretch's p99, ms.
    pub worst_p99_ms: f64,
}

impl Drill {
    /// What it shows.
    pub fn view(&self) -> DrillView {
        DrillView {
            id: self.id.clone(),
            service: self.service.clone(),
            kind: self.kind,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
            budget: self.budget,
            status: self.status,
            recovered_at: self.recovered_at,
            rto_ms: self.rto_ms,
            impact: ImpactView {
                requests: self.impact.requests,
                errors: self.impact.errors,
                error_rate: self.impact.error_rate(),
                p99_ms: self.impact.latency.quantile(0.99),
                worst_error_rate: self.worst_error_rate,
                worst_p99_ms: self.worst_p99_ms,
            },
        }
    }
}

/// A failover trigger: the service's error rate at or above `error_rate`, or its p99 at or
/// above `p99_ms`, for `for_ms` without a break.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FailoverRule {
    /// Service watched.
    pub service: String,
    /// Error-rate threshold.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// p99 threshold, ms.
    #[serde(default)]
    pub p99_ms: Option<f64>,
    /// How long the breach must last.
    #[serde(rename = "for", with = "crate::duration::serde_label")]
    pub for_ms: i64,
}

impl FailoverRule {
    /// Why `stats` breaches the rule, or `None`. No requests breaches nothing (an idle
    /// service is not failing).
    pub fn breach(&self, stats: &Stats) -> Option<String> {
        let mut why = Vec::new();
        if let (Some(limit), Some(e)) = (self.error_rate, stats.error_rate()) {
            if e >= limit {
                why.push(format!(
                    "error rate {:.2} % ≥ {:.2} %",
                    e * 100.0,
                    limit * 100.0
                ));
            }
        }
        if let (Some(limit), Some(p)) = (self.p99_ms, stats.latency.quantile(0.99)) {
            if p >= limit {
                why.push(format!("p99 {p:.0} ms ≥ {limit:.0} ms"));
            }
        }
        (!why.is_empty()).then(|| why.join(" and "))
    }
}

/// The state of one failover rule over time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailoverWatch {
    /// Start of the current breach.
    pub breach_since: Option<i64>,
    /// The last breach's reason.
    pub reason: String,
}

impl FailoverWatch {
    /// Takes `[from, to)`; true while the rule has held for its whole duration.
    pub fn observe(&mut self, rule: &FailoverRule, from: i64, to: i64, stats: &Stats) -> bool {
        match rule.breach(stats) {
            Some(why) => {
                let since = *self.breach_since.get_or_insert(from);
                self.reason = why;
                to - since >= rule.for_ms
            }
            None => {
                self.breach_since = None;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;

    const S: i64 = 1_000;
    const T0: i64 = 1_767_225_600_000;

    /// Ten seconds of 20 requests, failing or slow as asked.
    fn ten_seconds(failing: bool, latency: f64) -> Stats {
        let mut s = Stats::default();
        for k in 0..20 {
            let mut e = Event::new(T0, "s", "op", latency);
            e.ok = !(failing && k % 2 == 0);
            s.record(&e, 200.0, &[]);
        }
        s
    }

    fn budget() -> RecoveryBudget {
        RecoveryBudget {
            error_rate: 0.01,
            p99_ms: 200.0,
            stable_ms: 300 * S,
        }
    }

    #[test]
    fn a_three_minute_failure_has_a_three_minute_rto() {
        let mut d = Drill::start("d1".into(), "s".into(), DrillKind::Failover, T0, budget());
        let mut t = T0;
        // Failing for 180 s, then healthy; a brief healthy blip at 60 s does not count.
        while d.status == DrillStatus::Recovering {
            let failing = t < T0 + 180 * S && !(T0 + 60 * S..T0 + 70 * S).contains(&t);
            d.observe(t, t + 10 * S, &ten_seconds(failing, 30.0));
            t += 10 * S;
        }
        assert_eq!(d.status, DrillStatus::Recovered);
        assert_eq!(d.rto_ms, Some(180 * S));
        assert_eq!(d.recovered_at, Some(T0 + 180 * S));
        // Recovered after 180 s + the 300 s stable stretch.
        assert_eq!(t, T0 + 480 * S);
        assert_eq!(d.worst_error_rate, 0.5);
        assert!(d.impact.requests >= 18 * 20);
        // A range out of order is ignored.
        assert!(!d.observe(T0, T0 + 10 * S, &ten_seconds(true, 30.0)));
    }

    #[test]
    fn an_ordinary_error_on_a_quiet_service_does_not_restart_the_stable_stretch() {
        let d = Drill::start("d3".into(), "s".into(), DrillKind::Failover, T0, budget());
        let with_errors = |n: u64, errors: u64, latency: f64| {
            let mut s = Stats::default();
            for k in 0..n {
                let mut e = Event::new(T0, "s", "op", latency);
                e.ok = k >= errors;
                s.record(&e, 200.0, &[]);
            }
            s
        };
        // 1 error in 20 requests: 5 % observed against a 1 % budget, not significant.
        assert!(d.within(&with_errors(20, 1, 30.0)));
        // The same 5 % over 400 requests is.
        assert!(!d.within(&with_errors(400, 20, 30.0)));
        // A failing service is out on a handful of requests.
        assert!(!d.within(&with_errors(3, 2, 30.0)));
        // Slowness the same way: 1 slow request in 20 is not, all 20 are.
        let mut one_slow = with_errors(19, 0, 30.0);
        one_slow.merge(&with_errors(1, 0, 900.0));
        assert!(d.within(&one_slow));
        assert!(!d.within(&with_errors(20, 0, 900.0)));
    }

    #[test]
    fn slowness_counts_and_silence_is_not_recovery() {
        let mut d = Drill::start("d2".into(), "s".into(), DrillKind::Restore, T0, budget());
        // 60 s slow, 60 s silent (restore in progress), then healthy.
        let mut t = T0;
        while d.status == DrillStatus::Recovering && t < T0 + 3_600 * S {
            let stats = if t < T0 + 60 * S {
                ten_seconds(false, 900.0)
            } else if t < T0 + 120 * S {
                Stats::default()
            } else {
                ten_seconds(false, 30.0)
            };
            d.observe(t, t + 10 * S, &stats);
            t += 10 * S;
        }
        assert_eq!(d.rto_ms, Some(120 * S));
        assert!(d.worst_p99_ms >= 880.0);
    }

    #[test]
    fn a_failover_rule_fires_after_its_duration_and_clears() {
        let rule = FailoverRule {
            service: "s".into(),
            error_rate: Some(0.2),
            p99_ms: None,
            for_ms: 60 * S,
        };
        let mut w = FailoverWatch::default();
        let mut fired_at = None;
        for k in 0..12 {
            let t = T0 + k * 10 * S;
            let failing = k < 9;
            if w.observe(&rule, t, t + 10 * S, &ten_seconds(failing, 30.0)) && fired_at.is_none() {
                fired_at = Some(t + 10 * S);
            }
        }
        assert_eq!(fired_at, Some(T0 + 60 * S));
        assert!(w.reason.contains("error rate 50.00 %"), "{}", w.reason);
        assert_eq!(w.breach_since, None, "cleared once healthy");
        // Idle is not a breach.
        assert!(rule.breach(&Stats::default()).is_none());
    }
}
