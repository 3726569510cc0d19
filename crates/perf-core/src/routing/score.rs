//! Node scores, pure: each node of a service against the others and its budgets.
//!
//! - `latencyScore` = √(s95 · s99) × budget term, where `sq = min(1, peer q / node q)`, the
//!   peer value being the median of the *other* eligible nodes (so a node's own slowness
//!   never raises its reference), and the budget term `min(1, p99 budget / node p99)`.
//!   **Only significant slowness counts**: `sq` is 1 unless the node's share of requests
//!   over the other nodes' pooled q is above their share over it by a one-sided
//!   two-proportion test (z = 4; [`Exceedance`]); the nodes slower nowhere are held to
//!   the budget on one p99, the median of theirs (the same for each, so the weights'
//!   normalisation cancels it), a node slower somewhere on the larger of its own and that
//!   median (so becoming significantly slower never raises a score). A p99 resting on ~23
//!   requests of a minute moved healthy nodes' weights to 0.88 in the demo.
//! - `errorRateScore` = 1 / (1 + excess / 0.02), `excess` = the Wilson 95 % lower bound of the
//!   node's error rate minus the lowest upper bound among the other nodes (≥ 0): what the
//!   best peer achieves is achievable, so when most nodes fail the one that does not stands
//!   out (and when all fail alike, all score alike); bound against bound, so the luckiest
//!   peer's low count does not make the others' ordinary noise an excess (a healthy
//!   cluster's weights stay put: test `a_healthy_cluster_does_not_flap`). The excess is taken over the window and
//!   over the last `fastWindow` (10 s), whichever is larger, so a burst of failures counts
//!   within seconds instead of being diluted by a minute of successes. Failures count
//!   however fast they are returned — this is what Peak-EWMA misses (a node failing in 1 ms
//!   looks fast) — and the lower bound keeps a handful of errors on a quiet node from
//!   counting as a burst. An excess of 2 points halves the score; 80 points leave 0.024.
//!   **Recovery by evidence**: once the fast window holds `minFastRequests` (10) requests
//!   whose error rate is significantly below the window's (Wilson 95 % upper bound under the
//!   window's lower bound) and no higher than the best peer's, only the fast window counts
//!   (`recovered`): a healed node gets its score back within seconds instead of when its
//!   minute of failures slides out; a relapse shows in the fast window at once.
//! - **Latency within seconds** (`slowNow`): a node as fast as its peers has as large a share
//!   of the fast window's requests over the other nodes' pooled p95 there as they do; when its
//!   share is at least twice theirs and above it by a two-proportion test (z = 4), the
//!   latency score is also the fast window's `min(1, peers' p95 / own p95)` when that is
//!   worse. (Inputs without those counts test the share over the peers' p95 against 10 % at
//!   z = 3; that ignored the noise of a p95 taken from a few hundred requests, and a
//!   two-node service's healthy node read as slow now and then: 0.46 in the demo.)
//! - `capacityScore` = 1 up to the target utilisation (1 − headroom budget, 0.7), then
//!   linearly down to 0.1 at 100 %. Utilisation is the largest of CPU, rps over declared
//!   capacity and in-flight work over its limit that the node reports.
//! - `regressionScore` = 0.5 while an anomaly is open on the node, else 1.
//! - `overallScore` = the weighted geometric mean of the four (weights 0.35, 0.35, 0.2, 0.1 by
//!   default): one very bad score drags it down, unlike an arithmetic mean.
//! - `recommendation`: `healthy` ≥ 0.8 > `degraded` ≥ 0.4 > `critical`.
//! - Target weight = overall² × g, within [0.1, 2.0], where g = min(2, 1 / typical²) and
//!   typical = the median overall score of the eligible nodes. Squared, so a node at half the
//!   score gets a quarter of the traffic share (one failing 80 % of its requests falls to the
//!   floor, one twice as slow as its peers and over its budget to ~0.3); g lifts everyone when
//!   the typical node is degraded, so a healthy minority gets up to twice the neutral weight
//!   while the degraded majority keeps its relative share.
//! - A node with fewer than `minRequests` requests in the window cannot be judged: neutral
//!   scores and weight 1 (`lowTraffic`).
//!
//! Every score is non-increasing in the node's own latency and error counts, so its weight
//! never rises when only they rise (property-tested).

use super::config::RoutingConfig;
use crate::compare::proportion::wilson;
use serde::Serialize;

/// An excess error rate of this much halves the error score.
const ERROR_SCALE: f64 = 0.02;
/// Score while an anomaly is open on the node.
const ANOMALY_SCORE: f64 = 0.5;
/// z of the fast window's latency test (one-sided, ~0.1 % per node and evaluation).
const SIGNIFICANT_Z: f64 = 3.0;
/// z of the two-sample latency tests (one-sided, ~3·10⁻⁵ per node, quantile and evaluation:
/// at z = 3 a healthy three-node cluster crossed the window's about once in ten minutes, and
/// the demo's ten healthy nodes the fast one about once in seven, each crossing a weight that
/// falls at once and rises back slowly).
const WINDOW_Z: f64 = 4.0;
/// Share of recent requests over the peers' p95 that marks a node slow now (twice the 5 %
/// expected of a node as fast as its peers).
const SLOW_SHARE: f64 = 0.10;
/// Capacity score at 100 % utilisation.
const SATURATED_SCORE: f64 = 0.1;
/// Overall score at and above which a node is healthy.
pub const HEALTHY: f64 = 0.8;
/// Overall score below which a node is critical.
pub const CRITICAL: f64 = 0.4;

/// What is known of one node over the window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeInput {
    /// Node.
    pub node: String,
    /// Requests in the window.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Requests in the short window (`routing.fastWindow`).
    pub recent_requests: u64,
    /// Failed requests in the short window.
    pub recent_errors: u64,
    /// Requests in the short window slower than the other nodes' pooled p95 there.
    pub recent_slow: u64,
    /// The short window's requests, this node's and the others', over the others' pooled p95
    /// there (`None`: not measured, and `recent_slow` is tested against a fixed 10 %).
    pub recent_over_p95: Option<Exceedance>,
    /// The other nodes' pooled p95 in the short window, ms.
    pub peer_recent_p95_ms: Option<f64>,
    /// p95 latency in the short window, ms.
    pub recent_p95_ms: Option<f64>,
    /// p95 latency, ms.
    pub p95_ms: Option<f64>,
    /// p99 latency, ms.
    pub p99_ms: Option<f64>,
    /// Requests in the window over the other nodes' pooled p95, this node's and theirs
    /// (`None`: not measured, and the p95 ratio counts as it is).
    pub over_p95: Option<Exceedance>,
    /// The same over the pooled p99.
    pub over_p99: Option<Exceedance>,
    /// Requests per second over the window.
    pub rps: f64,
    /// Utilisation in [0, 1], when the node reports any.
    pub utilization: Option<f64>,
    /// Declared capacity, rps.
    pub capacity_rps: Option<f64>,
    /// An anomaly is open on the node.
    pub anomalous: bool,
}

/// How many of a node's requests, and of the other nodes', exceed a threshold: the two
/// samples of the latency score's significance test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exceedance {
    /// This node's requests over the threshold.
    pub own: u64,
    /// The other nodes' requests over it.
    pub peers: u64,
    /// The other nodes' requests.
    pub peer_requests: u64,
}

impl Exceedance {
    /// Whether `requests` with `own` over the threshold exceed it significantly more often
    /// than the peers do: a two-proportion z test, one-sided at `z`.
    fn significant(&self, requests: u64, z: f64) -> bool {
        let (n1, n2) = (requests as f64, self.peer_requests as f64);
        if n1 == 0.0 || n2 == 0.0 {
            return false;
        }
        let (p1, p2) = (self.own as f64 / n1, self.peers as f64 / n2);
        let p = (self.own + self.peers) as f64 / (n1 + n2);
        let se = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
        se > 0.0 && (p1 - p2) / se > z
    }
}

/// The scores of one node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeScore {
    /// Node.
    pub node: String,
    /// See the module doc.
    pub latency_score: f64,
    /// See the module doc.
    pub error_rate_score: f64,
    /// See the module doc.
    pub capacity_score: f64,
    /// See the module doc.
    pub regression_score: f64,
    /// Weighted geometric mean of the four.
    pub overall_score: f64,
    /// `healthy`, `degraded` or `critical`.
    pub recommendation: &'static str,
    /// Weight the scores alone ask for.
    pub target_weight: f64,
    /// Too few requests to judge.
    pub low_traffic: bool,
    /// The fast window showed the node healthy again, significantly better than the window:
    /// the window's older errors no longer count against it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
    /// The fast window showed the node significantly slower than its peers.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub slow_now: bool,
    /// Requests in the window.
    pub requests: u64,
    /// Error rate in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// p95, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    /// p99, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    /// Utilisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization: Option<f64>,
}

/// The recommendation for an overall score (without hysteresis).
pub fn recommendation(overall: f64) -> &'static str {
    if overall >= HEALTHY {
        "healthy"
    } else if overall >= CRITICAL {
        "degraded"
    } else {
        "critical"
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    crate::numeric::median(&mut v)
}

/// `min(1, reference / own)`; 1 when either is unknown or zero.
fn ratio_score(reference: Option<f64>, own: Option<f64>) -> f64 {
    match (reference, own) {
        (Some(r), Some(o)) if o > 0.0 && r.is_finite() => (r / o).clamp(0.0, 1.0),
        _ => 1.0,
    }
}

/// Scores every node. `p99_budget_ms`: the service's p99 budget; `capacity_target`: the
/// utilisation up to which capacity is not a concern (1 − headroom budget).
pub fn score_nodes(
    inputs: &[NodeInput],
    config: &RoutingConfig,
    p99_budget_ms: Option<f64>,
    capacity_target: f64,
) -> Vec<NodeScore> {
    let eligible: Vec<bool> = inputs
        .iter()
        .map(|n| n.requests >= config.min_requests)
        .collect();
    let others = |i: usize, f: &dyn Fn(&NodeInput) -> Option<f64>| -> Option<f64> {
        median(
            inputs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i && eligible[*j])
                .filter_map(|(_, n)| f(n))
                .collect(),
        )
    };
    let w = &config.weights;
    let w_total = w.latency + w.errors + w.capacity + w.regression;
    // Nodes that cannot be told from their peers at p95 or p99 share one p99 for the budget
    // term: the median of theirs.
    let indistinct: Vec<bool> = inputs
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let alike = |over: Option<Exceedance>| {
                over.is_some_and(|e| !e.significant(n.requests, WINDOW_Z))
            };
            eligible[i] && alike(n.over_p95) && alike(n.over_p99)
        })
        .collect();
    let alike_p99 = median(
        inputs
            .iter()
            .zip(&indistinct)
            .filter(|(_, alike)| **alike)
            .filter_map(|(n, _)| n.p99_ms)
            .collect(),
    );
    let mut scores: Vec<NodeScore> = inputs
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let error_rate = (n.requests > 0).then(|| n.errors as f64 / n.requests as f64);
            if !eligible[i] {
                return NodeScore {
                    node: n.node.clone(),
                    latency_score: 1.0,
                    error_rate_score: 1.0,
                    capacity_score: 1.0,
                    regression_score: 1.0,
                    overall_score: 1.0,
                    recommendation: "healthy",
                    target_weight: 1.0,
                    low_traffic: true,
                    recovered: false,
                    slow_now: false,
                    requests: n.requests,
                    error_rate,
                    p95: n.p95_ms,
                    p99: n.p99_ms,
                    utilization: n.utilization,
                };
            }
            // Slower than its peers only where it is significantly so: its share of requests
            // over the peers' pooled p95 (p99) is above theirs by a two-proportion test
            // (z = 4). Nodes that cannot be told from their peers are held to the budget on
            // one p99, the median of theirs, which the weights' normalisation then cancels:
            // the noise of a p99 resting on a few dozen requests moves no weight.
            let distinct =
                |over: Option<Exceedance>| over.is_none_or(|e| e.significant(n.requests, WINDOW_Z));
            let (d95, d99) = (distinct(n.over_p95), distinct(n.over_p99));
            let s95 = if d95 {
                ratio_score(others(i, &|m| m.p95_ms), n.p95_ms)
            } else {
                1.0
            };
            let s99 = if d99 {
                ratio_score(others(i, &|m| m.p99_ms), n.p99_ms)
            } else {
                1.0
            };
            let judged_p99 = if indistinct[i] {
                alike_p99
            } else {
                n.p99_ms
                    .map(|own| alike_p99.map_or(own, |alike| own.max(alike)))
            };
            let budget = ratio_score(p99_budget_ms, judged_p99);
            let mut latency = (s95 * s99).sqrt() * budget;
            // Latency within seconds: under "as fast as its peers" about 5 % of the node's
            // recent requests are slower than the peers' pooled p95; a share whose lower
            // bound (z = 3) clears twice that is significant, and the fast window's ratio
            // then counts when it is worse.
            let fast_enough = n.recent_requests >= config.min_fast_requests;
            let slow_now = fast_enough
                && match n.recent_over_p95 {
                    // Twice the peers' share over their p95, and significantly above it (the
                    // peers' p95 is itself an estimate from a few hundred requests; z = 4, as
                    // every node is tested every evaluation and a weight falls at once).
                    Some(e) => {
                        e.significant(n.recent_requests, WINDOW_Z)
                            && e.own as f64 * e.peer_requests as f64
                                >= 2.0 * e.peers as f64 * n.recent_requests as f64
                    }
                    None => wilson(n.recent_slow, n.recent_requests, SIGNIFICANT_Z).0 > SLOW_SHARE,
                };
            if slow_now {
                latency = latency.min(ratio_score(n.peer_recent_p95_ms, n.recent_p95_ms));
            }
            let best_peer = |f: &dyn Fn(&NodeInput) -> (u64, u64)| {
                inputs
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i && eligible[*j])
                    .map(|(_, m)| f(m))
                    .filter(|(_, total)| *total > 0)
                    .map(|(bad, total)| wilson(bad, total, 1.96).1)
                    .fold(None, |acc: Option<f64>, e| {
                        Some(acc.map_or(e, |a| a.min(e)))
                    })
                    .unwrap_or(0.0)
            };
            let excess_over = |bad: u64, total: u64, reference: f64| {
                (wilson(bad, total, 1.96).0 - reference).max(0.0)
            };
            let recent_excess = excess_over(
                n.recent_errors,
                n.recent_requests,
                best_peer(&|m| (m.recent_errors, m.recent_requests)),
            );
            // Recovery by evidence: the fast window's error rate is significantly below the
            // window's (its upper bound under the window's lower bound, z = 1.96) and no
            // higher than the best peer's there — the node changed, so the minute of
            // failures before stops counting instead of sliding out over a minute.
            let recovered = fast_enough
                && recent_excess == 0.0
                && wilson(n.recent_errors, n.recent_requests, 1.96).1
                    < wilson(n.errors, n.requests, 1.96).0;
            let excess = if recovered {
                recent_excess
            } else {
                excess_over(n.errors, n.requests, best_peer(&|m| (m.errors, m.requests)))
                    .max(recent_excess)
            };
            let errors = 1.0 / (1.0 + excess / ERROR_SCALE);
            let capacity = match n.utilization {
                Some(u) if u > capacity_target => {
                    let over = ((u - capacity_target) / (1.0 - capacity_target).max(1e-6)).min(1.0);
                    1.0 - over * (1.0 - SATURATED_SCORE)
                }
                _ => 1.0,
            };
            let regression = if n.anomalous { ANOMALY_SCORE } else { 1.0 };
            let overall = if w_total > 0.0 {
                ((w.latency * latency.max(1e-6).ln()
                    + w.errors * errors.max(1e-6).ln()
                    + w.capacity * capacity.max(1e-6).ln()
                    + w.regression * regression.ln())
                    / w_total)
                    .exp()
            } else {
                1.0
            };
            NodeScore {
                node: n.node.clone(),
                latency_score: latency,
                error_rate_score: errors,
                capacity_score: capacity,
                regression_score: regression,
                overall_score: overall,
                recommendation: recommendation(overall),
                target_weight: 1.0,
                low_traffic: false,
                recovered,
                slow_now,
                requests: n.requests,
                error_rate,
                p95: n.p95_ms,
                p99: n.p99_ms,
                utilization: n.utilization,
            }
        })
        .collect();
    let typical = median(
        scores
            .iter()
            .filter(|s| !s.low_traffic)
            .map(|s| s.overall_score)
            .collect(),
    );
    if let Some(typical) = typical {
        let lift = (1.0 / typical.max(1e-6).powi(2)).min(config.max_weight);
        for s in scores.iter_mut().filter(|s| !s.low_traffic) {
            s.target_weight =
                (s.overall_score.powi(2) * lift).clamp(config.min_weight, config.max_weight);
        }
    }
    scores
}
