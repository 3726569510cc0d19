//! Where did the extra errors or slow requests come from? Counting anomalous *series* cannot
//! tell: a burst that fails every request of a service shows first in the busiest series (the
//! small ones lack the counts to be significant), so "2 of 2 anomalous operation series share
//! POST /transfer" would blame the busiest operation for a service-wide failure; and a node
//! that slows down every hour at the same time stops being news to its own series' detector
//! while the service's other series still notice. This module reads the counts instead, for
//! every value of every dimension of the service (not only the anomalous ones): a value's
//! *excess* events (errors, or requests slower than the service's p95 of the hour before)
//! are its events during the incident minus what its own rate of the hour before predicts; a
//! value is the cause when it carries at least half of the dimension's excess and at least 1.5
//! times its share of the requests ("node qwallet-2 carries 90 % of the excess errors with
//! 33 % of the requests"). When no value of any dimension does, the excess is spread across
//! the service.
//!
//! A traffic surge is attributed the same way, in requests: a value's excess requests are its
//! requests during the incident minus its rate of the hour before times the incident's length,
//! and its weight is its share of the requests of the hour before ("tenant dao-gamma carries
//! 100 % of the surge with 25 % of the usual requests").

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value's share of a throughput surge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contribution {
    /// Dimension.
    pub dimension: String,
    /// Value.
    pub value: String,
    /// Share of the excess requests, 0–1.
    pub share: f64,
}

/// A value's least share of its dimension's excess to be a cause.
const MIN_EXCESS_SHARE: f64 = 0.5;
/// How much more of the excess than of the requests a cause carries.
const MIN_LIFT: f64 = 1.5;
/// Least excess requests of a dimension, as a share of its usual requests over the span.
const MIN_REQUEST_EXCESS: f64 = 0.1;
/// Weight (in requests) of the service's baseline rate in each value's baseline.
const PRIOR_REQUESTS: f64 = 100.0;

/// The events an incident's excess is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excess {
    /// Requests (a surge).
    Requests,
    /// Failed requests.
    Errors,
    /// Requests slower than the service's p95 of the hour before the incident.
    SlowRequests,
}

impl Excess {
    /// The name in an incident's `excess.of`.
    pub fn key(self) -> &'static str {
        match self {
            Excess::Requests => "requests",
            Excess::Errors => "errors",
            Excess::SlowRequests => "slow_requests",
        }
    }

    /// How the events are called in a probable cause.
    pub fn noun(self) -> &'static str {
        match self {
            Excess::Requests => "requests",
            Excess::Errors => "errors",
            Excess::SlowRequests => "slow requests",
        }
    }
}

/// Requests and events (errors or slow requests) of one value of one dimension of a
/// service, during an incident and during the hour before it.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueCounts {
    /// Dimension.
    pub dimension: String,
    /// Value.
    pub value: String,
    /// Requests during the incident.
    pub requests: u64,
    /// Events during the incident (for [`Excess::Requests`]: its requests).
    pub events: u64,
    /// Requests during the hour before.
    pub baseline_requests: u64,
    /// Events during the hour before.
    pub baseline_events: u64,
}

/// What the counts say about a service's excess events.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// Each value's share of its dimension's excess, largest first (at most 10).
    pub contributions: Vec<Contribution>,
    /// The value that carries them, with its share of the excess and of the requests (of
    /// the hour before, for a surge).
    pub cause: Option<(Contribution, f64)>,
}

/// Attributes the excess events of one service; `None` when there were none. `span` is the
/// incident's length over the baseline's (an hour), for [`Excess::Requests`].
pub fn attribute(rows: &[ValueCounts], of: Excess, span: f64) -> Option<Attribution> {
    let mut by_dim: BTreeMap<&str, Vec<&ValueCounts>> = BTreeMap::new();
    for r in rows {
        by_dim.entry(&r.dimension).or_default().push(r);
    }
    let mut contributions = Vec::new();
    let mut cause: Option<(Contribution, f64)> = None;
    let mut any_excess = false;
    for (dim, values) in by_dim {
        let base_requests: u64 = values.iter().map(|v| v.baseline_requests).sum();
        let base_events: u64 = values.iter().map(|v| v.baseline_events).sum();
        let service_rate = (base_events as f64 + 0.5) / (base_requests as f64 + 1.0);
        // Each value's excess, and its weight (what its share of the excess is compared with).
        let (excess, weights): (Vec<f64>, Vec<f64>) = values
            .iter()
            .map(|v| match of {
                Excess::Requests => (
                    (v.requests as f64 - v.baseline_requests as f64 * span).max(0.0),
                    v.baseline_requests as f64 + 1.0,
                ),
                Excess::Errors | Excess::SlowRequests => {
                    let rate = (v.baseline_events as f64 + PRIOR_REQUESTS * service_rate)
                        / (v.baseline_requests as f64 + PRIOR_REQUESTS);
                    (
                        (v.events as f64 - v.requests as f64 * rate).max(0.0),
                        v.requests as f64,
                    )
                }
            })
            .unzip();
        let total: f64 = excess.iter().sum();
        let total_weight: f64 = weights.iter().sum();
        if total <= 0.0 || total_weight <= 0.0 {
            continue;
        }
        // Requests: a dimension whose values gained less than a tenth of the usual requests
        // in all is noise, not a surge or a shift.
        if of == Excess::Requests && total < MIN_REQUEST_EXCESS * base_requests as f64 * span {
            continue;
        }
        any_excess = true;
        for ((v, e), w) in values.iter().zip(&excess).zip(&weights) {
            let c = Contribution {
                dimension: dim.to_string(),
                value: v.value.clone(),
                share: e / total,
            };
            let request_share = w / total_weight;
            let lift = c.share / request_share.max(1e-9);
            let better = cause
                .as_ref()
                .is_none_or(|(b, bs)| lift > b.share / bs.max(1e-9));
            if c.share >= MIN_EXCESS_SHARE && lift >= MIN_LIFT && better {
                cause = Some((c.clone(), request_share));
            }
            contributions.push(c);
        }
    }
    if !any_excess {
        return None;
    }
    contributions.sort_by(|a, b| b.share.total_cmp(&a.share));
    contributions.truncate(10);
    Some(Attribution {
        contributions,
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(dim: &str, value: &str, requests: u64, events: u64, base: (u64, u64)) -> ValueCounts {
        ValueCounts {
            dimension: dim.into(),
            value: value.into(),
            requests,
            events,
            baseline_requests: base.0,
            baseline_events: base.1,
        }
    }

    #[test]
    fn a_burst_across_the_service_has_no_single_cause() {
        // 25 % of every operation's and node's requests fail; 0.2 % did before.
        let mut rows = Vec::new();
        for (op, n) in [
            ("POST /transfer", 900),
            ("GET /balance", 400),
            ("GET /tx", 100),
        ] {
            rows.push(row("operation", op, n, n / 4, (n * 10, n * 10 / 500)));
        }
        for node in ["w-1", "w-2", "w-3"] {
            rows.push(row("node", node, 466, 116, (4_660, 9)));
        }
        let a = attribute(&rows, Excess::Errors, 0.1).unwrap();
        assert_eq!(a.cause, None, "{a:?}");
        // The busiest operation still carries the most excess errors, by its traffic.
        assert_eq!(a.contributions[0].value, "POST /transfer");
    }

    #[test]
    fn a_failing_node_carries_the_excess_errors() {
        let rows = vec![
            row("node", "w-1", 500, 1, (5_000, 10)),
            row("node", "w-2", 500, 150, (5_000, 11)),
            row("node", "w-3", 500, 2, (5_000, 9)),
            row("tenant", "a", 750, 76, (7_500, 15)),
            row("tenant", "b", 750, 77, (7_500, 15)),
        ];
        let a = attribute(&rows, Excess::Errors, 0.1).unwrap();
        let (c, request_share) = a.cause.clone().unwrap();
        assert_eq!((c.dimension.as_str(), c.value.as_str()), ("node", "w-2"));
        assert!(c.share > 0.95, "{c:?}");
        assert!((request_share - 1.0 / 3.0).abs() < 1e-9);
        // The exact excess: w-2's baseline rate is (11 + 100 · 30.5/15001) / 5100.
        let rate = (11.0 + 100.0 * 30.5 / 15_001.0) / 5_100.0;
        let excess_w2 = 150.0 - 500.0 * rate;
        let rate1: f64 = (10.0 + 100.0 * 30.5 / 15_001.0) / 5_100.0;
        let rate3: f64 = (9.0 + 100.0 * 30.5 / 15_001.0) / 5_100.0;
        let total = excess_w2 + (1.0 - 500.0 * rate1).max(0.0) + (2.0 - 500.0 * rate3).max(0.0);
        assert!((c.share - excess_w2 / total).abs() < 1e-12);
    }

    #[test]
    fn a_value_that_always_fails_more_is_judged_against_its_own_rate() {
        // Node w-1 always fails 5 %; during the incident w-2 goes from 0.2 % to 5 %.
        let rows = vec![
            row("node", "w-1", 1_000, 50, (10_000, 500)),
            row("node", "w-2", 1_000, 50, (10_000, 20)),
        ];
        let (c, _) = attribute(&rows, Excess::Errors, 0.1)
            .unwrap()
            .cause
            .unwrap();
        assert_eq!(c.value, "w-2");
    }

    #[test]
    fn no_excess_no_attribution() {
        let rows = vec![row("node", "w-1", 1_000, 2, (10_000, 20))];
        assert_eq!(attribute(&rows, Excess::Errors, 0.1), None);
        assert_eq!(attribute(&[], Excess::Errors, 0.1), None);
    }

    #[test]
    fn a_surge_is_carried_by_the_value_whose_requests_grew() {
        // A six-minute incident against an hour's baseline: span 0.1. Four tenants of 600
        // requests an hour each (60 in six minutes); gamma sends 400 in the six minutes.
        let mut rows: Vec<ValueCounts> = ["a", "b", "d"]
            .iter()
            .map(|t| row("tenant", t, 62, 62, (600, 600)))
            .collect();
        rows.push(row("tenant", "gamma", 400, 400, (600, 600)));
        // The surge spread over three nodes evenly.
        for n in ["n1", "n2", "n3"] {
            rows.push(row("node", n, 195, 195, (800, 800)));
        }
        let a = attribute(&rows, Excess::Requests, 0.1).unwrap();
        let (c, usual) = a.cause.unwrap();
        assert_eq!(
            (c.dimension.as_str(), c.value.as_str()),
            ("tenant", "gamma")
        );
        // Excess: gamma 400 − 60 = 340, the others 2 each: 340 / 346.
        assert!((c.share - 340.0 / 346.0).abs() < 1e-12, "{c:?}");
        assert!((usual - 601.0 / 2_404.0).abs() < 1e-12);
        // Without the tenant, the nodes alone say "spread".
        let nodes: Vec<ValueCounts> = rows.into_iter().filter(|r| r.dimension == "node").collect();
        assert_eq!(
            attribute(&nodes, Excess::Requests, 0.1).unwrap().cause,
            None
        );
        // Noise is not a surge: 0 + 4 + 1 + 0 extra requests where 240 are usual.
        let calm: Vec<ValueCounts> = ["a", "b", "c", "d"]
            .iter()
            .zip([56, 64, 61, 57])
            .map(|(t, n)| row("tenant", t, n, n, (600, 600)))
            .collect();
        assert_eq!(attribute(&calm, Excess::Requests, 0.1), None);
    }
}
