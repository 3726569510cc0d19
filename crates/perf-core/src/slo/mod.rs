//! Service level objectives computed from exact counts: definitions, two-tier counters,
//! rolling and calendar windows, error budgets and burn rates, multi-window multi-burn-rate
//! alerts, the set of SLOs the engine feeds, the back-fill of a new SLO from the views, and
//! budget corrections (maintenance windows, business hours), and composite SLOs (journeys).

mod alert;
pub mod backfill;
pub mod composite;
pub mod correction;
mod counter;
mod definition;
mod set;
mod status;
mod window;

pub use alert::{Alert, AlertState, TierReading, TierState, Transition};
pub use backfill::Backfilled;
pub use composite::{CompositeDef, Member};
pub use correction::{Correction, Exclusion};
pub use counter::{aligned_from, Counts, Slices, SloCounter};
pub use definition::{
    default_tiers, AlertTier, Budgeting, CalendarUnit, Selector, Severity, Sli, SloDef, SloWindow,
};
pub use set::{CompositeEntry, Evaluation, SloEntry, SloInstance, SloSet};
pub use status::{evaluate, ErrorBudget, SloStatus, BURN_WINDOWS};
pub use window::{calendar_start, last, slo_window, window_end};

#[cfg(test)]
mod tests;
