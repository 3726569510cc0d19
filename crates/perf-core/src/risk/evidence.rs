//! Per-bucket counts of a service and of each tracked caller, read from an [`Engine`]: the
//! caller summaries' buckets (5 minutes by default) over the last hour, the service's totals
//! and p99 per bucket, and which buckets fall inside the given incident windows.

use crate::engine::Engine;
use crate::error::CoreError;
use crate::heavy_hitters::Counter;
use crate::view::Dim;
use ahash::AHashMap;
use std::collections::BTreeSet;

/// What happened in one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BucketCounts {
    /// Requests.
    pub requests: f64,
    /// Failed requests.
    pub errors: f64,
    /// Cost.
    pub cost: f64,
    /// Requests over their class's p99 budget.
    pub slow: f64,
}

/// The service's side.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceSeries {
    /// Service.
    pub service: String,
    /// Bucket starts, ms, oldest first.
    pub starts: Vec<i64>,
    /// Bucket width, ms.
    pub width: i64,
    /// Totals per bucket.
    pub totals: Vec<BucketCounts>,
    /// p99 per bucket, ms.
    pub p99: Vec<Option<f64>>,
    /// Per anomaly incident, the buckets it overlaps.
    pub incidents: Vec<Vec<usize>>,
    /// Buckets during which the service's regression alert fired.
    pub regression: Vec<usize>,
}

/// One caller's side, aligned with [`ServiceSeries::starts`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallerSeries {
    /// The caller (entity) id.
    pub caller: String,
    /// Lower bounds per bucket: the Space-Saving count minus its error where tracked, else 0.
    /// Signals against the caller use these, so an over-count never makes a caller look worse.
    pub buckets: Vec<BucketCounts>,
    /// Upper bounds per bucket: the count where tracked, else the bucket's Space-Saving floor
    /// (an untracked caller had at most that much). Comparisons with the caller's own history
    /// use these, so being untracked earlier never looks like a jump.
    pub upper: Vec<BucketCounts>,
    /// Largest Space-Saving error of any of its counts (over-count bound).
    pub max_error: f64,
}

/// The buckets overlapping `[from, to)`.
fn overlapping(starts: &[i64], width: i64, from: i64, to: i64) -> Vec<usize> {
    starts
        .iter()
        .enumerate()
        .filter(|(_, s)| **s < to && **s + width > from)
        .map(|(i, _)| i)
        .collect()
}

/// The evidence of `service` over the buckets of the last `span` before `now`. `incidents` and
/// `regressions` are time windows `[from, to)`.
pub fn service_evidence(
    engine: &Engine,
    service: &str,
    now: i64,
    span: i64,
    incidents: &[(i64, i64)],
    regressions: &[(i64, i64)],
) -> Result<(ServiceSeries, Vec<CallerSeries>), CoreError> {
    let width = engine.config().heavy_hitters.bucket;
    let view = engine.first_view_name()?;
    let Some(summaries) = engine.caller_summaries(service) else {
        return Ok((ServiceSeries::default(), Vec::new()));
    };
    let buckets: Vec<_> = summaries
        .buckets()
        .filter(|(start, _)| *start + width > now - span && *start <= now)
        .collect();
    let starts: Vec<i64> = buckets.iter().map(|b| b.0).collect();
    let filter = [(Dim::Service, service)];
    let mut totals = Vec::with_capacity(starts.len());
    let mut p99 = Vec::with_capacity(starts.len());
    for s in &starts {
        let st = engine.query(&view, &filter, *s, s + width)?;
        totals.push(BucketCounts {
            requests: st.requests as f64,
            errors: st.errors as f64,
            cost: st.cost,
            slow: st.slow as f64,
        });
        p99.push(st.latency.quantile(0.99));
    }
    let keys: BTreeSet<&str> = buckets
        .iter()
        .flat_map(|(_, s)| {
            s.iter()
                .flat_map(|m| m.counters().iter().map(|c| c.key.as_str()))
        })
        .collect();
    // Each bucket's four summaries indexed by caller once (a linear search per caller,
    // bucket and measure cost ~18 ms per cycle for the demo's eight services).
    let indexed: Vec<[AHashMap<&str, &Counter>; 4]> = buckets
        .iter()
        .map(|(_, s)| {
            std::array::from_fn(|m| {
                s[m].counters()
                    .iter()
                    .map(|c| (c.key.as_str(), c))
                    .collect()
            })
        })
        .collect();
    let callers = keys
        .into_iter()
        .map(|key| {
            let mut max_error: f64 = 0.0;
            let (mut series, mut upper) = (Vec::new(), Vec::new());
            for ((_, s), index) in buckets.iter().zip(&indexed) {
                let mut get = |m: usize| match index[m].get(key) {
                    Some(c) => {
                        // Space-Saving over-counts by at most `error`: the true count lies in
                        // [count − error, count].
                        max_error = max_error.max(c.error);
                        ((c.count - c.error).max(0.0), c.count)
                    }
                    None => (0.0, s[m].floor()),
                };
                let (r, e, c, sl) = (get(0), get(1), get(2), get(3));
                series.push(BucketCounts {
                    requests: r.0,
                    errors: e.0,
                    cost: c.0,
                    slow: sl.0,
                });
                upper.push(BucketCounts {
                    requests: r.1,
                    errors: e.1,
                    cost: c.1,
                    slow: sl.1,
                });
            }
            CallerSeries {
                caller: key.to_string(),
                buckets: series,
                upper,
                max_error,
            }
        })
        .collect();
    let series = ServiceSeries {
        service: service.to_string(),
        incidents: incidents
            .iter()
            .map(|(f, t)| overlapping(&starts, width, *f, *t))
            .filter(|b| !b.is_empty())
            .collect(),
        regression: regressions
            .iter()
            .flat_map(|(f, t)| overlapping(&starts, width, *f, *t))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        starts,
        width,
        totals,
        p99,
    };
    Ok((series, callers))
}
