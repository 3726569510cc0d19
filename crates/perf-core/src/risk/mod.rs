//! Risk signals per caller (the Qerberos hook): which callers cause slowdowns, errors and
//! cost, from the bounded heavy-hitter summaries — no per-caller history is kept.
//!
//! **Who is tracked.** The callers a service's Space-Saving summaries hold (top-k by
//! requests, errors, cost and slow requests per 5-minute bucket, over the last hour): every
//! caller above 1/k of a measure in a bucket is there, so memory is k × 4 counters per bucket
//! per service whatever the number of callers. A tracked caller's count in a bucket is exact
//! up to the counter's error (reported); where it is untracked it had at most the bucket's
//! floor, taken as 0 here (an under-count bounded by that floor).
//!
//! [`evidence`] turns summaries and the service's own series into per-bucket counts;
//! [`score`] turns them into signals, correlations and a 0–100 score.

pub mod evidence;
pub mod score;

pub use evidence::{service_evidence, BucketCounts, CallerSeries, ServiceSeries};
pub use score::{evaluate_caller, risk_level, EntityRisk, RiskSignal};

#[cfg(test)]
mod tests;
