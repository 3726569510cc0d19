//! Reports built from the views: the overview of every service and the per-operation profile
//! of one service (docs/ARCHITECTURE.md §6 shapes, camelCase, latencies in ms, rates as fractions).

mod callers;
mod overview;
mod profile;
mod query;
mod range;
mod window;

pub use callers::{top_callers, CallerRow, Callers};
pub use overview::{overview, Overview, ServiceOverview, ViewSeries};
pub use profile::{profile, Bottleneck, OperationProfile, Profile};
pub use query::{run_query, QueryBudget, QueryGroup, QueryResult, QuerySpec};
pub use range::{run_range_query, RangePoint, RangeResult, MAX_RANGE_POINTS};
pub use window::Window;
