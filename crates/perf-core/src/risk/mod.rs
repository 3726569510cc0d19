//! Risk signals per caller (the Qerberos hook): which callers cause slowdowns, errors and
//! cost, from the bounded heavy-hitter summaries — no per-caller history is kept.
//!
//! **Who is tracked.** The callers a service's Space-Saving summaries hold (top-k by
//! requests, errors, cost and slow requests per 5-minute bucket, over the last hour): every
//! caller above 1/k of a measure in a bucket is there, so memory is k × 4 counters per bucket
//! per service whatever the number of callers. A tracked caller's true count in a bucket lies
//! in [count − error, count]; where it is untracked it had at most the bucket's floor. Signals
//! against a caller use the lower bounds (count − error, or 0), comparisons with its own
//! history the upper ones — so the approximation never makes a caller look worse.
//!
//! [`evidence`] turns summaries and the service's own series into per-bucket counts;
//! [`score`] turns them into signals, correlations and a 0–100 score.

pub mod evidence;
pub mod score;

pub use evidence::{service_evidence, BucketCounts, CallerSeries, ServiceSeries};
pub use score::{evaluate_caller, risk_level, CallerEvidence, EntityRisk, RiskSignal};

#[cfg(test)]
mod tests;
