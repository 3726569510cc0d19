//! The inputs of node scoring read from an [`Engine`]: per node of a service, requests,
//! errors, p95 and p99 from the (service, node) view over the window (with how many of its
//! requests, and of the others', exceed the others' pooled p95 and p99), and utilisation and
//! declared capacity from the nodes' resource samples (CPU of the last minute, or the rate
//! over declared capacity, whichever is higher). Shared by the server and the simulator, so
//! the simulator's closed loop runs the same code as production.

use super::score::{Exceedance, NodeInput};
use crate::engine::Engine;
use crate::error::CoreError;
use crate::sketch::LatencySketch;
use crate::stats::Stats;
use crate::view::Dim;

/// Per-node inputs of `service` over `[now − window, now]` (errors, p95 and the requests
/// slower than the other nodes' pooled p95 also over `[now − fast_window, now]`) from `view`
/// (dims service, node), in node order; anomaly flags are left false.
pub fn node_inputs(
    engine: &Engine,
    view: &str,
    service: &str,
    now: i64,
    window: i64,
    fast_window: i64,
) -> Result<Vec<NodeInput>, CoreError> {
    let mut out: Vec<NodeInput> = Vec::new();
    let whole = engine.group(view, &[(Dim::Service, service)], now - window, now + 1)?;
    for (i, (key, stats)) in whole.iter().enumerate() {
        let Some(node) = key.get(1) else { continue };
        // How many of this node's requests, and of the others', exceed the others' pooled
        // p95 and p99 (the significance of the latency score).
        let peers = pooled_except(&whole, i);
        out.push(NodeInput {
            node: node.clone(),
            requests: stats.requests,
            errors: stats.errors,
            p95_ms: stats.latency.quantile(0.95),
            p99_ms: stats.latency.quantile(0.99),
            over_p95: exceedance(&stats.latency, &peers, 0.95),
            over_p99: exceedance(&stats.latency, &peers, 0.99),
            rps: stats.requests as f64 * 1000.0 / window.max(1) as f64,
            ..NodeInput::default()
        });
    }
    let recent = engine.group(view, &[(Dim::Service, service)], now - fast_window, now + 1)?;
    for (i, (key, stats)) in recent.iter().enumerate() {
        let Some(node) = key.get(1) else { continue };
        let Some(n) = out.iter_mut().find(|n| &n.node == node) else {
            continue;
        };
        n.recent_requests = stats.requests;
        n.recent_errors = stats.errors;
        n.recent_p95_ms = stats.latency.quantile(0.95);
        // The other nodes' recent requests pooled: their p95, how many of this node's are
        // slower, and how many of theirs (the fast latency test of `score`).
        let peers = pooled_except(&recent, i);
        if let Some(p95) = peers.quantile(0.95) {
            n.peer_recent_p95_ms = Some(p95);
            n.recent_over_p95 = Some(exceedance_over(&stats.latency, &peers, p95));
            n.recent_slow = over(&stats.latency, p95);
        }
    }
    for (node, r) in engine.resources().of_service(service) {
        let i = match out.iter().position(|n| n.node == node) {
            Some(i) => i,
            None => {
                out.push(NodeInput {
                    node: node.to_string(),
                    ..NodeInput::default()
                });
                out.len() - 1
            }
        };
        let n = &mut out[i];
        n.capacity_rps = r.last.capacity_rps.filter(|c| *c > 0.0);
        let cpu = r.minutes.back().and_then(|m| m.cpu_mean());
        let by_rate = n.capacity_rps.map(|c| n.rps / c);
        n.utilization = match (cpu, by_rate) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(out)
}

/// Requests of `sketch` over `threshold` ms.
fn over(sketch: &LatencySketch, threshold: f64) -> u64 {
    sketch
        .count()
        .saturating_sub(sketch.count_at_most(threshold))
}

/// Every group's latencies pooled but the `i`-th's.
fn pooled_except(groups: &[(Vec<String>, Stats)], i: usize) -> LatencySketch {
    let mut peers = LatencySketch::new();
    for (j, (_, other)) in groups.iter().enumerate() {
        if j != i {
            peers.merge(&other.latency);
        }
    }
    peers
}

/// How many of `own`'s requests, and of `peers`', exceed the peers' `q` quantile: the
/// threshold is the peers' alone, so a node's own slowness never moves it (a node slower
/// than all of them has every request over it), and the peers' share over it carries the
/// noise of their estimate into the two-proportion test.
fn exceedance(own: &LatencySketch, peers: &LatencySketch, q: f64) -> Option<Exceedance> {
    peers.quantile(q).map(|t| exceedance_over(own, peers, t))
}

/// How many of `own`'s requests, and of `peers`', exceed `threshold` ms.
fn exceedance_over(own: &LatencySketch, peers: &LatencySketch, threshold: f64) -> Exceedance {
    Exceedance {
        own: over(own, threshold),
        peers: over(peers, threshold),
        peer_requests: peers.count(),
    }
}
