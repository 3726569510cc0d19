//! Weights in formats proxies read directly: an Envoy EDS `ClusterLoadAssignment` (JSON, as
//! served by a file-based or REST EDS source; `load_balancing_weight` is an integer ≥ 1, here
//! weight × 100) and an nginx `upstream` block (`weight=` is an integer ≥ 1, here
//! weight × 10, rounded).

use super::balancer::WeightsReport;
use serde_json::{json, Value};

/// Envoy `ClusterLoadAssignment` for the service's cluster; every node is addressed by its
/// name on `port`.
pub fn envoy_eds(report: &WeightsReport, port: u16) -> Value {
    let endpoints: Vec<Value> = report
        .nodes
        .iter()
        .map(|n| {
            json!({
                "endpoint": {"address": {"socket_address": {"address": n.score.node, "port_value": port}}},
                "load_balancing_weight": ((n.weight * 100.0).round() as u32).max(1),
            })
        })
        .collect();
    json!({
        "@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
        "cluster_name": report.service,
        "endpoints": [{"lb_endpoints": endpoints}],
    })
}

/// nginx `upstream` block named after the service.
pub fn nginx_upstream(report: &WeightsReport, port: u16) -> String {
    let name: String = report
        .service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut out = format!("upstream {name} {{\n");
    for n in &report.nodes {
        out.push_str(&format!(
            "    server {}:{port} weight={};\n",
            n.score.node,
            ((n.weight * 10.0).round() as u32).max(1)
        ));
    }
    out.push_str("}\n");
    out
}
