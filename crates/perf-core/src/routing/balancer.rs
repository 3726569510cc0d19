//! The state that turns node scores into weights a proxy can act on safely.
//!
//! - **Falls at once, rises slowly.** A weight that the scores lower is lowered at the next
//!   evaluation; a weight that they raise moves towards its target with the time constant
//!   `recovery` (20 s): `w += (target − w) · (1 − e^(−Δt/recovery))`, in engine time.
//! - **Hysteresis.** The published weight changes only when the smoothed one has moved at
//!   least `hysteresis` (0.05) from it, or reached a bound. Recommendations have their own
//!   band: a node becomes `degraded` under 0.8 but is `healthy` again only at 0.85; `critical`
//!   under 0.4, back to `degraded` at 0.45.
//! - **Slow start.** A node that appears after the service was first seen, or that leaves
//!   `critical`, ramps linearly from the lowest weight to its target over `slowStart` (60 s),
//!   like Envoy's slow start, so a cold or just-recovered node is not flooded.
//! - **Capacity cap.** Taking weight from some nodes sends their traffic to the others. Every
//!   weight is moved back towards neutral (`w` becomes `1 + λ(w − 1)`, the largest λ in
//!   [0, 1] found by bisection) until no node would be sent more than `maxUtilization` (0.9)
//!   of its capacity (declared, or its rate over its utilisation) — or more than an even
//!   split would send it, for a node already past that.
//!   And, like Envoy's `max_ejection_percent`, at most `maxEjectedShare` (half) of the nodes
//!   may sit below 0.5 at once — the worst first; the others are held at 0.5 (`capped`).
//! - **Publishing.** Changes of at least `publishDelta` (0.1) from the last published-to-stream
//!   weight are returned so the server can push them.

use super::config::RoutingConfig;
use super::score::{NodeInput, NodeScore, CRITICAL, HEALTHY};
use serde::Serialize;
use std::collections::HashMap;

/// Recommendation bands: leave a worse state only this far above its threshold.
const RECOVERY_BAND: f64 = 0.05;
/// Weight below which a node counts as ejected for `maxEjectedShare`.
const EJECTED_BELOW: f64 = 0.5;

/// One node's published routing answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeWeight {
    /// The scores and the numbers behind them.
    #[serde(flatten)]
    pub score: NodeScore,
    /// The weight to apply, in [minWeight, maxWeight].
    pub weight: f64,
    /// Ramping up after appearing or recovering.
    pub slow_start: bool,
    /// Held back by the capacity cap or the ejection limit.
    pub capped: bool,
}

/// `GET /v1/routing/weights` for one service.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeightsReport {
    /// Service.
    pub service: String,
    /// Engine time of the evaluation, RFC 3339.
    #[serde(serialize_with = "crate::time::serde_rfc3339::serialize")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub computed_at: i64,
    /// Per node, in name order.
    pub nodes: Vec<NodeWeight>,
    /// One sentence.
    pub explanation: String,
}

/// A published change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightChange {
    /// Service.
    pub service: String,
    /// Node.
    pub node: String,
    /// Weight last published.
    pub from: f64,
    /// New weight.
    pub to: f64,
    /// Recommendation now.
    pub recommendation: &'static str,
}

#[derive(Debug, Clone)]
struct NodeState {
    smoothed: f64,
    published: f64,
    /// The weight answered last (after the ejection limit and the capacity cap).
    applied: f64,
    streamed: f64,
    recommendation: &'static str,
    ramp_from: Option<i64>,
}

#[derive(Debug, Clone, Default)]
struct ServiceState {
    last_ms: Option<i64>,
    nodes: HashMap<String, NodeState>,
}

/// Weights with memory, per service.
#[derive(Debug, Clone, Default)]
pub struct Balancer {
    services: HashMap<String, ServiceState>,
}

/// The recommendation with hysteresis, given the previous one.
fn banded(previous: &'static str, overall: f64) -> &'static str {
    let fresh = super::score::recommendation(overall);
    match (previous, fresh) {
        ("critical", "degraded" | "healthy") if overall < CRITICAL + RECOVERY_BAND => "critical",
        ("degraded", "healthy") if overall < HEALTHY + RECOVERY_BAND => "degraded",
        ("critical", "healthy") if overall < HEALTHY + RECOVERY_BAND => "degraded",
        _ => fresh,
    }
}

/// Moves every weight back towards neutral (`1 + λ(w − 1)`, the largest λ in [0, 1]) until
/// no node is sent more than `max_utilization` of its capacity (or, for a node already past it
/// at an even split, more than it would get at an even split); returns the weights and
/// whether it had to.
fn capacity_cap(weights: &[f64], inputs: &[NodeInput], max_utilization: f64) -> (Vec<f64>, bool) {
    let total_rps: f64 = inputs.iter().map(|n| n.rps).sum();
    let capacity = |n: &NodeInput| -> Option<f64> {
        n.capacity_rps.filter(|c| *c > 0.0).or_else(|| {
            n.utilization
                .filter(|u| *u > 0.05)
                .map(|u| n.rps / u)
                .filter(|c| *c > 0.0)
        })
    };
    let apply =
        |lambda: f64| -> Vec<f64> { weights.iter().map(|&w| 1.0 + lambda * (w - 1.0)).collect() };
    let even = total_rps / inputs.len().max(1) as f64;
    let fits = |w: &[f64]| -> bool {
        let sum: f64 = w.iter().sum();
        if sum <= 0.0 || total_rps <= 0.0 {
            return true;
        }
        inputs.iter().zip(w).all(|(n, &wi)| {
            capacity(n)
                .is_none_or(|c| total_rps * wi / sum <= (max_utilization * c).max(even) + 1e-9)
        })
    };
    let full = apply(1.0);
    if fits(&full) {
        return (full, false);
    }
    let (mut lo, mut hi) = (0.0, 1.0);
    for _ in 0..30 {
        let mid = (lo + hi) / 2.0;
        if fits(&apply(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (apply(lo), true)
}

impl WeightsReport {
    /// Heap bytes: names, the node list and the explanation.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{string, vec};
        string(&self.service)
            + vec(&self.nodes)
            + self
                .nodes
                .iter()
                .map(|n| string(&n.score.node))
                .sum::<usize>()
            + string(&self.explanation)
    }
}

impl Balancer {
    /// Heap bytes: the per-service and per-node smoothing state with their names.
    pub fn heap_bytes(&self) -> usize {
        use crate::memory::{hash_map, string};
        hash_map(&self.services)
            + self
                .services
                .iter()
                .map(|(s, st)| {
                    string(s)
                        + hash_map(&st.nodes)
                        + st.nodes.keys().map(|n| string(n)).sum::<usize>()
                })
                .sum::<usize>()
    }

    /// A balancer with no memory.
    pub fn new() -> Self {
        Balancer::default()
    }

    /// Applies one evaluation of `service` at engine time `now_ms`; returns the report and
    /// the changes to publish.
    pub fn update(
        &mut self,
        service: &str,
        inputs: &[NodeInput],
        scores: Vec<NodeScore>,
        now_ms: i64,
        config: &RoutingConfig,
    ) -> (WeightsReport, Vec<WeightChange>) {
        let state = self.services.entry(service.to_string()).or_default();
        let first_look = state.last_ms.is_none();
        let dt = state.last_ms.map_or(0, |t| (now_ms - t).max(0));
        state.last_ms = Some(now_ms);
        let rise = if config.recovery <= 0 {
            1.0
        } else {
            1.0 - (-(dt as f64) / config.recovery as f64).exp()
        };
        // Smoothed weights, recommendations with hysteresis, slow start.
        let mut targets = Vec::with_capacity(scores.len());
        let mut slow = Vec::with_capacity(scores.len());
        let mut recs = Vec::with_capacity(scores.len());
        for s in &scores {
            let known = state.nodes.get(&s.node).cloned();
            let previous_rec = known.as_ref().map_or("healthy", |k| k.recommendation);
            let rec = if s.low_traffic {
                previous_rec
            } else {
                banded(previous_rec, s.overall_score)
            };
            let mut ramp_from = known.as_ref().and_then(|k| k.ramp_from);
            if known.is_none() && !first_look {
                ramp_from = Some(now_ms);
            }
            if previous_rec == "critical" && rec != "critical" {
                ramp_from = Some(now_ms);
            }
            let mut target = s.target_weight;
            let mut ramping = false;
            if let Some(from) = ramp_from {
                let progress = if config.slow_start <= 0 {
                    1.0
                } else {
                    (now_ms - from) as f64 / config.slow_start as f64
                };
                if progress < 1.0 {
                    let cap = config.min_weight + (1.0 - config.min_weight) * progress.max(0.0);
                    target = target.min(cap);
                    ramping = true;
                } else {
                    ramp_from = None;
                }
            }
            let smoothed = match &known {
                None => target,
                Some(_) if ramping => target,
                Some(k) if target <= k.smoothed => target,
                Some(k) => k.smoothed + (target - k.smoothed) * rise,
            };
            let published = match &known {
                Some(k)
                    if (smoothed - k.published).abs() < config.hysteresis
                        && smoothed > config.min_weight
                        && smoothed < config.max_weight =>
                {
                    k.published
                }
                _ => smoothed,
            };
            let streamed = known.as_ref().map_or(published, |k| k.streamed);
            state.nodes.insert(
                s.node.clone(),
                NodeState {
                    smoothed,
                    published,
                    applied: published,
                    streamed,
                    recommendation: rec,
                    ramp_from,
                },
            );
            targets.push(published);
            slow.push(ramping);
            recs.push(rec);
        }
        // Ejection limit: at most `maxEjectedShare` of the nodes below 0.5, the worst first.
        let mut capped = vec![false; scores.len()];
        let allowed = (config.max_ejected_share * scores.len() as f64).floor() as usize;
        let mut ejected: Vec<usize> = (0..scores.len())
            .filter(|&i| targets[i] < EJECTED_BELOW)
            .collect();
        ejected.sort_by(|&a, &b| scores[a].overall_score.total_cmp(&scores[b].overall_score));
        for &i in ejected.iter().skip(allowed) {
            targets[i] = EJECTED_BELOW;
            capped[i] = true;
        }
        // Capacity cap.
        let ordered: Vec<NodeInput> = scores
            .iter()
            .map(|s| {
                inputs
                    .iter()
                    .find(|n| n.node == s.node)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        let (weights, held) = capacity_cap(&targets, &ordered, config.max_utilization);
        if held {
            for (i, (a, b)) in weights.iter().zip(&targets).enumerate() {
                capped[i] |= (a - b).abs() > 1e-9;
            }
        }
        let mut changes = Vec::new();
        let mut nodes = Vec::with_capacity(scores.len());
        for (i, s) in scores.into_iter().enumerate() {
            let w = weights[i].clamp(config.min_weight, config.max_weight);
            if let Some(st) = state.nodes.get_mut(&s.node) {
                st.applied = w;
                if (w - st.streamed).abs() >= config.publish_delta {
                    changes.push(WeightChange {
                        service: service.to_string(),
                        node: s.node.clone(),
                        from: st.streamed,
                        to: w,
                        recommendation: recs[i],
                    });
                    st.streamed = w;
                }
            }
            let mut score = s;
            score.recommendation = recs[i];
            nodes.push(NodeWeight {
                score,
                weight: w,
                slow_start: slow[i],
                capped: capped[i],
            });
        }
        nodes.sort_by(|a, b| a.score.node.cmp(&b.score.node));
        let worst = nodes
            .iter()
            .min_by(|a, b| a.weight.total_cmp(&b.weight))
            .filter(|n| n.weight < 1.0 - config.hysteresis);
        let explanation = match worst {
            Some(n) => format!(
                "{} of {} nodes below neutral; lowest {} at weight {:.2} ({}; latency {:.2}, errors {:.2}, capacity {:.2}, anomaly {:.2}){}",
                nodes.iter().filter(|m| m.weight < 1.0 - config.hysteresis).count(),
                nodes.len(),
                n.score.node,
                n.weight,
                n.score.recommendation,
                n.score.latency_score,
                n.score.error_rate_score,
                n.score.capacity_score,
                n.score.regression_score,
                if nodes.iter().any(|m| m.capped) {
                    "; cuts held back so the other nodes keep their capacity"
                } else {
                    ""
                }
            ),
            None => format!("all {} nodes at neutral weight or above", nodes.len()),
        };
        (
            WeightsReport {
                service: service.to_string(),
                computed_at: now_ms,
                nodes,
                explanation,
            },
            changes,
        )
    }

    /// Every node's last answered weight as `(service, node, weight)`, in name order.
    pub fn published(&self) -> Vec<(String, String, f64)> {
        let mut v: Vec<(String, String, f64)> = self
            .services
            .iter()
            .flat_map(|(svc, st)| {
                st.nodes
                    .iter()
                    .map(move |(node, n)| (svc.clone(), node.clone(), n.applied))
            })
            .collect();
        v.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        v
    }

    /// Forgets the nodes of `service` not in `present` (nodes that left; one that comes back
    /// slow-starts).
    pub fn forget_missing(&mut self, service: &str, present: &[&str]) {
        if let Some(s) = self.services.get_mut(service) {
            s.nodes.retain(|k, _| present.contains(&k.as_str()));
        }
    }
}
