//! The comparison engine: baseline versus candidate, per operation, for p50, p95 and p99
//! latency, error rate, cache hit rate and cost per request — the change, its interval,
//! its significance and a verdict — and the sequential and trend variants built on it.
//!
//! Statistics used (each module says more, with references):
//! - rank test: Mann–Whitney U with tie correction, exact for small samples
//!   ([`mann_whitney`]); shift estimate: Hodges–Lehmann with the Moses interval
//!   ([`histogram`]);
//! - quantile ratios: order-statistic standard errors combined on the log scale
//!   (Price–Bonett construction) ([`quantile`]);
//! - rates: Wilson intervals, Newcombe's hybrid score interval for differences, pooled z
//!   test ([`proportion`]);
//! - cost per request: ratio of means with a delta-method standard error;
//! - many tests at once: Holm (default) or Benjamini–Hochberg ([`multiple`]);
//! - repeated looks: mixture SPRT always-valid p-values ([`sequential`]);
//! - drift: Theil–Sen slope with the Mann–Kendall test ([`trend`]).
//!
//! Everything works from latency sketches and counters, so a frozen baseline is a few KB per
//! operation and a comparison costs O(bins²) whatever the number of requests.

pub mod baseline;
pub mod config;
pub mod gate;
pub mod histogram;
pub mod mann_whitney;
pub mod metric;
pub mod multiple;
pub mod normal;
pub mod proportion;
pub mod quantile;
pub mod report;
pub mod rollout;
pub mod sample;
pub mod sequential;
pub mod trend;

pub use baseline::Baseline;
pub use config::{GateConfig, Thresholds};
pub use gate::{evaluate, GateOutcome, Recommendation, Verdict};
pub use report::{GateReport, SideInfo};
pub use sample::OperationSample;

#[cfg(test)]
mod tests;
