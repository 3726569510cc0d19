//! What an SLO is, once parsed from any of the accepted formats (native YAML, OpenSLO v1,
//! Sloth): which events it counts, what makes an event good, the objective, the window,
//! how the budget is counted, and its alerting tiers.

use crate::model::{Event, RequestClass};
use serde::{Deserialize, Serialize};

/// What makes an event good. (Externally tagged in serde, so that non-self-describing
/// snapshot formats can hold it.)
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sli {
    /// Good = the request succeeded.
    Availability,
    /// Good = the request succeeded within `threshold_ms` (a failed request is never good).
    Latency {
        /// Latency threshold, ms.
        threshold_ms: f64,
    },
}

impl Sli {
    /// Whether an event is good.
    #[inline]
    pub fn is_good(&self, e: &Event) -> bool {
        match self {
            Sli::Availability => e.ok,
            Sli::Latency { threshold_ms } => e.ok && e.latency_ms <= *threshold_ms,
        }
    }

    /// `availability` or `latency`.
    pub fn name(&self) -> &'static str {
        match self {
            Sli::Availability => "availability",
            Sli::Latency { .. } => "latency",
        }
    }
}

/// Which events an SLO counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selector {
    /// Service (required).
    pub service: String,
    /// Only this operation.
    pub operation: Option<String>,
    /// Only this class.
    pub class: Option<RequestClass>,
    /// Only this node.
    pub node: Option<String>,
    /// Only this tenant.
    pub tenant: Option<String>,
    /// Only this version.
    pub version: Option<String>,
}

impl Selector {
    /// Whether an event is counted (the service is matched by the caller's index).
    #[inline]
    pub fn matches(&self, e: &Event) -> bool {
        self.operation.as_deref().is_none_or(|o| o == e.operation)
            && self.class.is_none_or(|c| c == e.class)
            && self.node.as_deref().is_none_or(|n| n == e.node)
            && self
                .tenant
                .as_deref()
                .is_none_or(|t| Some(t) == e.tenant.as_deref())
            && self
                .version
                .as_deref()
                .is_none_or(|v| Some(v) == e.version.as_deref())
    }
}

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CalendarUnit {
    /// Monday 00:00 to Monday 00:00 (ISO weeks).
    Week,
    /// First of the month to first of the next.
    Month,
    /// January, April, July, October.
    Quarter,
}

/// The compliance window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SloWindow {
    /// The last `length_ms`.
    Rolling {
        /// Window length.
        length_ms: i64,
    },
    /// The current calendar period in a time zone.
    Calendar {
        /// Period.
        unit: CalendarUnit,
        /// Time zone of the period boundaries.
        tz: chrono_tz::Tz,
    },
}

/// How the error budget is counted (OpenSLO `budgetingMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Budgeting {
    /// Good events over all events.
    Occurrences,
    /// Good time slices over all slices; a slice is good when its ratio ≥ `threshold`.
    Timeslices {
        /// Slice length (a whole number of minutes dividing an hour).
        slice_ms: i64,
        /// Good-ratio a slice needs.
        threshold: f64,
    },
    /// The mean of per-slice good ratios.
    RatioTimeslices {
        /// Slice length (a whole number of minutes dividing an hour).
        slice_ms: i64,
    },
}

/// Severity of an alert tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = AlertSeverity))]
pub enum Severity {
    /// Wake someone up.
    Page,
    /// Look at it during working hours.
    Ticket,
}

/// One multi-window burn-rate rule: fire when `budget_fraction` of the period's budget would be
/// spent within `long_ms` at the current rate, confirmed over `short_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertTier {
    /// Page or ticket.
    pub severity: Severity,
    /// Share of the period's budget (0.02 = 2 %).
    pub budget_fraction: f64,
    /// Long window.
    pub long_ms: i64,
    /// Short window.
    pub short_ms: i64,
    /// How long the rule must hold before firing (pending until then).
    pub for_ms: i64,
}

impl AlertTier {
    /// The burn-rate factor for an SLO period: budget fraction × period / long window.
    pub fn factor(&self, period_ms: i64) -> f64 {
        self.budget_fraction * period_ms as f64 / self.long_ms as f64
    }
}

/// The SRE Workbook's tiers: page 2 % in 1h/5m and 5 % in 6h/30m; ticket 10 % in 1d/2h and
/// 10 % in 3d/6h.
pub fn default_tiers() -> Vec<AlertTier> {
    const M: i64 = 60_000;
    const H: i64 = 60 * M;
    let tier = |severity, budget_fraction, long_ms, short_ms| AlertTier {
        severity,
        budget_fraction,
        long_ms,
        short_ms,
        for_ms: 0,
    };
    vec![
        tier(Severity::Page, 0.02, H, 5 * M),
        tier(Severity::Page, 0.05, 6 * H, 30 * M),
        tier(Severity::Ticket, 0.10, 24 * H, 2 * H),
        tier(Severity::Ticket, 0.10, 72 * H, 6 * H),
    ]
}

/// A complete SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SloDef {
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Which events count.
    pub selector: Selector,
    /// What is good.
    pub sli: Sli,
    /// Target good ratio, as a fraction (0.999).
    pub objective: f64,
    /// Compliance window.
    pub window: SloWindow,
    /// How the budget is counted.
    pub budgeting: Budgeting,
    /// One instance per tenant seen.
    pub per_tenant: bool,
    /// Alert tiers.
    pub tiers: Vec<AlertTier>,
    /// Minimum events in a tier's short window before it may page or ticket.
    pub min_events: u64,
    /// Defined in the configuration file (read-only over the API).
    pub from_config: bool,
}

impl SloDef {
    /// The nominal period length (for burn-rate factors): the rolling length, or 7 / 30 / 91
    /// days for calendar weeks, months and quarters.
    pub fn period_ms(&self) -> i64 {
        const DAY: i64 = 86_400_000;
        match self.window {
            SloWindow::Rolling { length_ms } => length_ms,
            SloWindow::Calendar {
                unit: CalendarUnit::Week,
                ..
            } => 7 * DAY,
            SloWindow::Calendar {
                unit: CalendarUnit::Month,
                ..
            } => 30 * DAY,
            SloWindow::Calendar {
                unit: CalendarUnit::Quarter,
                ..
            } => 91 * DAY,
        }
    }

    /// The highest burn rate possible: every request failing.
    pub fn max_burn_rate(&self) -> f64 {
        1.0 / (1.0 - self.objective)
    }

    /// Whether `tier` can fire at all: its burn-rate threshold is below the highest burn
    /// rate possible (a 14.4× page on a 95 % objective, where all-failing burns 20×, can; on
    /// a 90 % one, 10×, it cannot).
    pub fn can_fire(&self, tier: &AlertTier) -> bool {
        tier.factor(self.period_ms()) < self.max_burn_rate()
    }

    /// Checks the rules; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty()
            || self.name.len() > 128
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err("name: 1-128 characters of letters, digits, '-', '_', '.'".into());
        }
        if self.selector.service.is_empty() {
            return Err("service: required".into());
        }
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(format!(
                "objective: {} is not a fraction strictly between 0 and 1 (write 99.9 for 99.9 %)",
                self.objective
            ));
        }
        if let Sli::Latency { threshold_ms } = self.sli {
            if !(threshold_ms.is_finite() && threshold_ms > 0.0) {
                return Err("thresholdMs: must be a number > 0".into());
            }
        }
        if let SloWindow::Rolling { length_ms } = self.window {
            if !(3_600_000..=100 * 86_400_000).contains(&length_ms) || length_ms % 3_600_000 != 0 {
                return Err(
                    "window: a rolling window is a whole number of hours from 1h to 100d".into(),
                );
            }
        }
        match self.budgeting {
            Budgeting::Timeslices { slice_ms, .. } | Budgeting::RatioTimeslices { slice_ms } => {
                if slice_ms < 60_000 || slice_ms % 60_000 != 0 || 3_600_000 % slice_ms != 0 {
                    return Err("timeSlice: a whole number of minutes that divides an hour (1m, 5m, 10m, 15m, 30m, 1h)".into());
                }
            }
            Budgeting::Occurrences => {}
        }
        if let Budgeting::Timeslices { threshold, .. } = self.budgeting {
            if !(threshold > 0.0 && threshold <= 1.0) {
                return Err("timeSliceTarget: a fraction in (0, 1]".into());
            }
        }
        if self.tiers.len() > 8 {
            return Err("alerting.tiers: at most 8 tiers".into());
        }
        for (i, t) in self.tiers.iter().enumerate() {
            if !(t.budget_fraction > 0.0 && t.budget_fraction <= 1.0)
                || t.short_ms <= 0
                || t.short_ms >= t.long_ms
                || t.long_ms > 7 * 86_400_000
            {
                return Err(format!(
                    "alerting.tiers[{i}]: budget in (0, 1], 0 < short < long <= 7d"
                ));
            }
            if !self.can_fire(t) {
                return Err(format!(
                    "alerting.tiers[{i}] can never fire: it needs a burn rate of {:.1}×, but at an \
                     objective of {} % even every request failing burns only {:.1}× (spend less \
                     of the budget in the tier, or lengthen its long window)",
                    t.factor(self.period_ms()),
                    crate::numeric::percent_of(self.objective),
                    self.max_burn_rate()
                ));
            }
        }
        Ok(())
    }
}
