//! Heap bytes of the control layer's memory ([`Decisions`]), by component, for the memory
//! accounting on `/metrics` and in `status` (the engine's parts come from
//! [`perf_core::Engine::memory`]).

use super::decisions::Decisions;
use perf_core::memory::{btree_map, btree_set, string, vec, Part};

/// The decisions' parts: anomaly detectors, anomalies and incidents, routing, policy,
/// risk, tenants, and the rest (SLO statuses, firing alerts, regressions, failover watches).
pub fn parts(d: &Decisions) -> Vec<Part> {
    let (detectors, incidents) = d.anomalies.heap_bytes();
    let routing = d.balancer.heap_bytes()
        + btree_map(&d.routing)
        + d.routing
            .iter()
            .map(|(s, r)| string(s) + r.heap_bytes())
            .sum::<usize>();
    let risk = d.risks.as_ref().map_or(0, |r| {
        vec(r) + r.iter().map(|e| e.heap_bytes()).sum::<usize>()
    });
    let tenants = vec(&d.tenants)
        + d.tenants.iter().map(|t| t.heap_bytes()).sum::<usize>()
        + btree_map(&d.tenant_states)
        + d.tenant_states.keys().map(|k| string(k)).sum::<usize>();
    let other = d.slos.as_ref().map_or(0, |s| {
        vec(s) + s.iter().map(|s| s.heap_bytes()).sum::<usize>()
    }) + d.firing.heap_bytes()
        + btree_set(&d.regressed)
        + d.regressed.iter().map(|s| string(s)).sum::<usize>()
        + btree_map(&d.failover);
    vec![
        Part::new("anomaly_detectors", detectors),
        Part::new("anomaly_incidents", incidents),
        Part::new("routing", routing),
        Part::new("policy", d.policy.heap_bytes()),
        Part::new("risk", risk),
        Part::new("tenants", tenants),
        Part::new("decisions_other", other),
    ]
}
