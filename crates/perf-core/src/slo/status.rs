//! An SLO instance's status at an evaluation time (docs/ARCHITECTURE.md §6 shape): compliance and error
//! budget over its window from exact counts, burn rates over the standard windows, the
//! weekly budget burn, time to exhaustion at the current burn, and its alerts.
//!
//! Burn rate over a window = (bad / total) / (1 − objective), 0 when the window is empty.
//! Budget (Occurrences): total = (1 − objective) × events, spent = bad events. Timeslices:
//! the same over slices with events (bad = slice ratio under the slice target).
//! RatioTimeslices: spent = Σ (1 − slice ratio). consumed = spent / total, remaining =
//! 1 − consumed. Time to exhaustion = remaining × period / (1h burn rate).

use super::alert::{Alert, TierReading, TierState, Transition};
use super::counter::{Counts, SloCounter};
use super::definition::{Budgeting, SloDef, SloWindow};
use super::window::{last, slo_window};
use crate::duration::format_duration;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// The burn-rate windows every status reports.
pub const BURN_WINDOWS: [i64; 7] = [
    5 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    6 * HOUR,
    24 * HOUR,
    72 * HOUR,
];
/// The window of [`SloStatus::fast`].
pub const FAST_WINDOW_MS: i64 = 10_000;

/// The labels of [`BURN_WINDOWS`].
pub(super) const BURN_LABELS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];
const WEEK: i64 = 7 * 24 * HOUR;

/// The error budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBudget {
    /// Bad events (or slices) the objective allows in the window.
    pub total: f64,
    /// Bad events (or slices) so far.
    pub spent: f64,
    /// spent / total.
    pub consumed: f64,
    /// 1 − consumed (negative when overspent).
    pub remaining: f64,
}

impl SloStatus {
    /// Heap bytes: names, burn rates per window and alerts.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{btree_map, string, vec};
        string(&self.name)
            + string(&self.service)
            + self.tenant.as_deref().map_or(0, string)
            + string(&self.window)
            + btree_map(&self.burn_rates)
            + btree_map(&self.burn_rate_events)
            + self.time_to_exhaustion.as_deref().map_or(0, string)
            + vec(&self.alerts)
    }
}

/// Status of one SLO instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SloStatus {
    /// SLO name.
    pub name: String,
    /// Service.
    pub service: String,
    /// Tenant of a per-tenant instance.
    pub tenant: Option<String>,
    /// `availability` or `latency`.
    pub sli: Cow<'static, str>,
    /// Latency threshold of a latency SLI.
    pub threshold_ms: Option<f64>,
    /// Objective as a fraction.
    pub objective: f64,
    /// Window label (`28d`, `month Europe/Berlin`).
    pub window: String,
    /// Window start (unix ms).
    pub window_start_ms: i64,
    /// `occurrences`, `timeslices`, `ratio_timeslices`.
    pub budgeting_method: Cow<'static, str>,
    /// Good share (events or slices), `null` without data.
    pub compliance: Option<f64>,
    /// Events in the window.
    pub total: u64,
    /// Good events in the window.
    pub good: u64,
    /// The error budget.
    pub error_budget: ErrorBudget,
    /// Burn rate per window label.
    pub burn_rates: BTreeMap<Cow<'static, str>, f64>,
    /// Events per burn-rate window (to judge the rates).
    pub burn_rate_events: BTreeMap<Cow<'static, str>, u64>,
    /// Good and total events of the last `FAST_WINDOW_MS` (10 s), to the second: what the
    /// degradation ladder reads for its burn rate (not part of the answer).
    #[serde(skip)]
    pub fast: super::counter::Counts,
    /// The SLO's nominal period, ms ([`SloDef::period_ms`]; for Sloth's
    /// `slo:time_period:days`, not part of the answer).
    #[serde(skip)]
    pub period_ms: i64,
    /// Share of the period's budget burnt per week at the last 7 days' rate.
    pub weekly_budget_burn: f64,
    /// Time left at the current (1h) burn, `null` when not burning.
    pub time_to_exhaustion: Option<String>,
    /// `no_data`, `ok`, `warning` (an alert fires or ≥ 75 % consumed), `violation` (overspent).
    pub status: Cow<'static, str>,
    /// Alerts that are pending, firing or recently resolved.
    pub alerts: Vec<Alert>,
}

fn burn(c: Counts, objective: f64) -> f64 {
    if c.total == 0 {
        return 0.0;
    }
    (c.bad() as f64 / c.total as f64) / (1.0 - objective)
}

pub(super) fn window_label(w: &SloWindow) -> String {
    match w {
        SloWindow::Rolling { length_ms } => format_duration(*length_ms),
        SloWindow::Calendar { unit, tz } => {
            let unit = match unit {
                super::definition::CalendarUnit::Week => "week",
                super::definition::CalendarUnit::Month => "month",
                super::definition::CalendarUnit::Quarter => "quarter",
            };
            format!("{unit} {}", tz.name())
        }
    }
}

/// Time left at the 1h burn rate, `None` when not burning ("0s" once spent).
pub(super) fn exhaustion(remaining: f64, period_ms: i64, burn_1h: f64) -> Option<String> {
    if remaining <= 0.0 {
        Some("0s".to_string())
    } else if burn_1h > 0.0 {
        Some(format_duration(
            (remaining * period_ms as f64 / burn_1h) as i64,
        ))
    } else {
        None
    }
}

/// `no_data`, `violation` (overspent), `warning` (an alert fires or ≥ 75 % consumed) or `ok`.
pub(super) fn verdict(compliance: Option<f64>, consumed: f64, alerts: &[Alert]) -> &'static str {
    let firing = alerts
        .iter()
        .any(|a| a.state == super::alert::AlertState::Firing);
    if compliance.is_none() {
        "no_data"
    } else if consumed >= 1.0 {
        "violation"
    } else if firing || consumed >= 0.75 {
        "warning"
    } else {
        "ok"
    }
}

/// Computes the status and applies the alert state machines.
pub fn evaluate(
    def: &SloDef,
    tenant: Option<&str>,
    counter: &SloCounter,
    tiers: &mut Vec<TierState>,
    now: i64,
) -> (SloStatus, Vec<Transition>) {
    let (from, to) = slo_window(&def.window, now);
    // Every window ends at `to`: collect their starts and count them in one pass.
    let mut lengths = [0i64; 31];
    let mut n = 0;
    for w in BURN_WINDOWS
        .into_iter()
        .chain([WEEK])
        .chain(def.tiers.iter().flat_map(|t| [t.long_ms, t.short_ms]))
    {
        if n < lengths.len() && !lengths[..n].contains(&w) {
            lengths[n] = w;
            n += 1;
        }
    }
    let mut froms = [0i64; 32];
    for (f, w) in froms.iter_mut().zip(&lengths[..n]) {
        *f = last(now, *w).0;
    }
    froms[n] = from;
    let mut all = [Counts::default(); 32];
    counter.counts_since(&froms[..=n], to, &mut all);
    let counts = all[n];
    let window_counts = |w: i64| {
        lengths[..n]
            .iter()
            .position(|x| *x == w)
            .map(|i| all[i])
            .unwrap_or_default()
    };
    let budget_share = 1.0 - def.objective;
    let (compliance, budget_total, spent, method) = match def.budgeting {
        Budgeting::Occurrences => (
            (counts.total > 0).then(|| counts.good as f64 / counts.total as f64),
            budget_share * counts.total as f64,
            counts.bad() as f64,
            "occurrences",
        ),
        Budgeting::Timeslices {
            slice_ms,
            threshold,
        } => {
            let s = counter.slices(from, to, slice_ms, threshold);
            (
                (s.total > 0).then(|| s.good as f64 / s.total as f64),
                budget_share * s.total as f64,
                (s.total - s.good) as f64,
                "timeslices",
            )
        }
        Budgeting::RatioTimeslices { slice_ms } => {
            let s = counter.slices(from, to, slice_ms, 1.0);
            (
                (s.total > 0).then(|| s.ratio_sum / s.total as f64),
                budget_share * s.total as f64,
                s.total as f64 - s.ratio_sum,
                "ratio_timeslices",
            )
        }
    };
    let consumed = if budget_total > 0.0 {
        spent / budget_total
    } else {
        0.0
    };
    let mut burn_rates = BTreeMap::new();
    let mut burn_rate_events = BTreeMap::new();
    for (w, label) in BURN_WINDOWS.into_iter().zip(BURN_LABELS) {
        let c = window_counts(w);
        burn_rates.insert(Cow::Borrowed(label), burn(c, def.objective));
        burn_rate_events.insert(Cow::Borrowed(label), c.total);
    }
    let period = def.period_ms();
    let weekly_budget_burn = burn(window_counts(WEEK), def.objective) * WEEK as f64 / period as f64;
    let burn_1h = burn(window_counts(HOUR), def.objective);
    let remaining = 1.0 - consumed;
    let time_to_exhaustion = exhaustion(remaining, period, burn_1h);
    tiers.resize(def.tiers.len(), TierState::default());
    let mut transitions = Vec::new();
    for (tier, state) in def.tiers.iter().zip(tiers.iter_mut()) {
        let short = window_counts(tier.short_ms);
        let reading = TierReading {
            burn_long: burn(window_counts(tier.long_ms), def.objective),
            burn_short: burn(short, def.objective),
            short_events: short.total,
        };
        if let Some(t) = state.evaluate(tier, tier.factor(period), reading, def.min_events, now) {
            transitions.push(t);
        }
    }
    let alerts: Vec<Alert> = tiers.iter().filter_map(|t| t.alert().cloned()).collect();
    let status = verdict(compliance, consumed, &alerts);
    let threshold_ms = match def.sli {
        super::definition::Sli::Latency { threshold_ms } => Some(threshold_ms),
        super::definition::Sli::Availability => None,
    };
    let status = SloStatus {
        name: def.name.clone(),
        service: def.selector.service.clone(),
        tenant: tenant.map(String::from),
        sli: Cow::Borrowed(def.sli.name()),
        threshold_ms,
        objective: def.objective,
        window: window_label(&def.window),
        window_start_ms: from,
        budgeting_method: Cow::Borrowed(method),
        compliance,
        total: counts.total,
        good: counts.good,
        error_budget: ErrorBudget {
            total: budget_total,
            spent,
            consumed,
            remaining,
        },
        burn_rates,
        burn_rate_events,
        fast: counter.recent(now, FAST_WINDOW_MS),
        period_ms: period,
        weekly_budget_burn,
        time_to_exhaustion,
        status: Cow::Borrowed(status),
        alerts,
    };
    (status, transitions)
}
