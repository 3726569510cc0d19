//! Multi-window, multi-burn-rate alerts (SRE Workbook ch. 5) with a state machine per tier:
//! `pending` while the rule holds but may not fire yet (its `for` has not elapsed, or the
//! short window holds fewer events than the low-traffic guard asks for, with the reason),
//! `firing` while it holds, `resolved` once it stops holding after firing. A firing alert
//! stays firing while traffic is too low to judge, so a quiet night does not resolve it.

use super::definition::{AlertTier, Severity};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A window label without allocating for the standard windows.
fn label(ms: i64) -> Cow<'static, str> {
    const M: i64 = 60_000;
    match ms {
        x if x == 5 * M => Cow::Borrowed("5m"),
        x if x == 30 * M => Cow::Borrowed("30m"),
        x if x == 60 * M => Cow::Borrowed("1h"),
        x if x == 120 * M => Cow::Borrowed("2h"),
        x if x == 360 * M => Cow::Borrowed("6h"),
        x if x == 1440 * M => Cow::Borrowed("1d"),
        x if x == 4320 * M => Cow::Borrowed("3d"),
        other => Cow::Owned(crate::duration::format_duration(other)),
    }
}

/// Alert state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AlertState {
    /// The rule holds but does not fire yet.
    Pending,
    /// The rule holds.
    Firing,
    /// The rule stopped holding after firing.
    Resolved,
}

/// One tier's alert, with the numbers that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// Page or ticket.
    pub severity: Severity,
    /// Current state.
    pub state: AlertState,
    /// Long window label.
    pub long_window: Cow<'static, str>,
    /// Short window label.
    pub short_window: Cow<'static, str>,
    /// Burn-rate factor both windows must reach.
    pub factor: f64,
    /// Burn rate over the long window.
    pub burn_rate_long: f64,
    /// Burn rate over the short window.
    pub burn_rate_short: f64,
    /// Events in the short window.
    pub short_window_events: u64,
    /// When the current state began (unix ms).
    pub since_ms: i64,
    /// The same, RFC 3339 (docs/ARCHITECTURE.md §6's `since`).
    #[serde(default)]
    pub since: String,
    /// Why a holding rule is not firing, if so.
    pub reason: Option<String>,
}

/// What an evaluation observed for one tier.
#[derive(Debug, Clone, Copy)]
pub struct TierReading {
    /// Burn rate over the long window.
    pub burn_long: f64,
    /// Burn rate over the short window.
    pub burn_short: f64,
    /// Events in the short window.
    pub short_events: u64,
}

/// A state change worth telling people about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// The alert after the change.
    pub alert: Alert,
    /// The state before.
    pub from: Option<AlertState>,
}

/// Remembered state of one tier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TierState {
    current: Option<Alert>,
    holding_since: Option<i64>,
}

impl TierState {
    /// The alert to show, if any.
    pub fn alert(&self) -> Option<&Alert> {
        self.current.as_ref()
    }

    /// Applies one evaluation; returns a transition when the state changed.
    pub fn evaluate(
        &mut self,
        tier: &AlertTier,
        factor: f64,
        r: TierReading,
        min_events: u64,
        now: i64,
    ) -> Option<Transition> {
        let holds = r.burn_long >= factor && r.burn_short >= factor;
        let before = self.current.as_ref().map(|a| a.state);
        let make = |state, since_ms, reason| Alert {
            severity: tier.severity,
            state,
            long_window: label(tier.long_ms),
            short_window: label(tier.short_ms),
            factor,
            burn_rate_long: r.burn_long,
            burn_rate_short: r.burn_short,
            short_window_events: r.short_events,
            since_ms,
            since: crate::time::format_rfc3339(since_ms),
            reason,
        };
        let since = |state| match &self.current {
            Some(a) if a.state == state => a.since_ms,
            _ => now,
        };
        let next = if holds {
            let holding_since = *self.holding_since.get_or_insert(now);
            if before == Some(AlertState::Firing) {
                Some(make(AlertState::Firing, since(AlertState::Firing), None))
            } else if r.short_events < min_events {
                let why = format!("low traffic: {} events in the {} window, fewer than the {min_events} needed to alert", r.short_events, crate::duration::format_duration(tier.short_ms));
                Some(make(
                    AlertState::Pending,
                    since(AlertState::Pending),
                    Some(why),
                ))
            } else if now - holding_since < tier.for_ms {
                let why = format!(
                    "holding for {} of the {} required",
                    crate::duration::format_duration((now - holding_since).max(1)),
                    crate::duration::format_duration(tier.for_ms)
                );
                Some(make(
                    AlertState::Pending,
                    since(AlertState::Pending),
                    Some(why),
                ))
            } else {
                Some(make(AlertState::Firing, now, None))
            }
        } else {
            self.holding_since = None;
            match before {
                Some(AlertState::Firing) => Some(make(AlertState::Resolved, now, None)),
                Some(AlertState::Resolved) => self.current.clone().map(|mut a| {
                    a.burn_rate_long = r.burn_long;
                    a.burn_rate_short = r.burn_short;
                    a.short_window_events = r.short_events;
                    a
                }),
                _ => None,
            }
        };
        let after = next.as_ref().map(|a| a.state);
        self.current = next;
        (after != before && after.is_some()).then(|| Transition {
            alert: self
                .current
                .clone()
                .unwrap_or_else(|| make(AlertState::Resolved, now, None)),
            from: before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slo::definition::default_tiers;

    fn reading(long: f64, short: f64, events: u64) -> TierReading {
        TierReading {
            burn_long: long,
            burn_short: short,
            short_events: events,
        }
    }

    #[test]
    fn fires_at_the_first_holding_evaluation_and_resolves_when_it_stops() {
        let tier = default_tiers()[0];
        let mut s = TierState::default();
        assert!(s
            .evaluate(&tier, 14.4, reading(20.0, 10.0, 500), 10, 0)
            .is_none());
        let t = s
            .evaluate(&tier, 14.4, reading(20.0, 20.0, 500), 10, 60_000)
            .unwrap();
        assert_eq!(
            (t.from, t.alert.state, t.alert.since_ms),
            (None, AlertState::Firing, 60_000)
        );
        assert!(
            s.evaluate(&tier, 14.4, reading(30.0, 30.0, 500), 10, 120_000)
                .is_none(),
            "no duplicate"
        );
        let t = s
            .evaluate(&tier, 14.4, reading(30.0, 1.0, 500), 10, 180_000)
            .unwrap();
        assert_eq!(
            (t.from, t.alert.state),
            (Some(AlertState::Firing), AlertState::Resolved)
        );
    }

    #[test]
    fn low_traffic_holds_a_page_back_and_says_why() {
        let tier = default_tiers()[0];
        let mut s = TierState::default();
        let t = s
            .evaluate(&tier, 14.4, reading(100.0, 100.0, 3), 10, 0)
            .unwrap();
        assert_eq!(t.alert.state, AlertState::Pending);
        assert!(t
            .alert
            .reason
            .as_deref()
            .unwrap()
            .contains("low traffic: 3 events"));
        let t = s
            .evaluate(&tier, 14.4, reading(100.0, 100.0, 30), 10, 60_000)
            .unwrap();
        assert_eq!(t.alert.state, AlertState::Firing);
        assert!(
            s.evaluate(&tier, 14.4, reading(100.0, 100.0, 2), 10, 120_000)
                .is_none(),
            "stays firing at low traffic"
        );
    }

    #[test]
    fn for_duration_keeps_it_pending() {
        let mut tier = default_tiers()[0];
        tier.for_ms = 120_000;
        let mut s = TierState::default();
        assert_eq!(
            s.evaluate(&tier, 14.4, reading(20.0, 20.0, 50), 1, 0)
                .unwrap()
                .alert
                .state,
            AlertState::Pending
        );
        assert!(s
            .evaluate(&tier, 14.4, reading(20.0, 20.0, 50), 1, 60_000)
            .is_none());
        assert_eq!(
            s.evaluate(&tier, 14.4, reading(20.0, 20.0, 50), 1, 120_000)
                .unwrap()
                .alert
                .state,
            AlertState::Firing
        );
    }
}
