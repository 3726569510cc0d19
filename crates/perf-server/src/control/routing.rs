//! The routing stage: per-node scores and weights of every service (the QNET hook). Inputs: the (service, node) view over `routing.window`, the
//! nodes' resource samples (CPU of the last minute, declared capacity) and the anomalies open
//! on a node (found in the last 5 minutes). The evaluation cycle recomputes every service,
//! keeps each report in the decisions (what `GET /v1/routing/weights` answers), and
//! publishes changes of at least `routing.publishDelta` on the stream (`routing_weight`).

use super::decisions::Memory;
use super::error::ControlError;
use crate::durable::Durable;
use crate::effects::{Effect, StreamEvent};
use perf_core::routing::{node_inputs, score_nodes, NodeInput};
use perf_core::view::Dim;

/// An anomaly on a node counts as open this long.
const ANOMALY_OPEN_MS: i64 = 5 * 60_000;

/// The name of the first view whose dimensions are exactly (service, node).
pub fn node_view(d: &Durable) -> Option<String> {
    d.config
        .views
        .iter()
        .find(|v| v.dims == [Dim::Service, Dim::Node])
        .map(|v| v.name.clone())
}

/// The inputs of every node of `service` at `now`.
fn inputs(
    d: &Durable,
    m: &Memory,
    service: &str,
    now: i64,
) -> Result<Vec<NodeInput>, ControlError> {
    let view = node_view(d).ok_or_else(|| {
        ControlError::Invalid("routing needs a view with dims [service, node]".into())
    })?;
    let window = d.config.routing.window;
    let mut out = {
        let engine = d.engine();
        if !engine.has_service(service) {
            return Err(ControlError::NotFound(format!(
                "no data for service {service:?}"
            )));
        }
        node_inputs(
            &engine,
            &view,
            service,
            now,
            window,
            d.config.routing.fast_window,
        )
        .map_err(|e| ControlError::Invalid(e.to_string()))?
    };
    let decisions = m.decisions();
    for a in decisions
        .anomalies
        .anomalies()
        .filter(|a| a.at >= now - ANOMALY_OPEN_MS)
    {
        let on = |dim: &str| {
            a.key
                .iter()
                .find(|(d, _)| d == dim)
                .map(|(_, v)| v.as_str())
        };
        if on("service") == Some(service) {
            if let Some(node) = on("node") {
                if let Some(n) = out.iter_mut().find(|n| n.node == node) {
                    n.anomalous = true;
                }
            }
        }
    }
    Ok(out)
}

/// Evaluates `service` now: steps its balancer and keeps the report; weight changes are
/// returned as stream effects.
pub fn evaluate(
    d: &Durable,
    m: &Memory,
    service: &str,
    now: i64,
) -> Result<Vec<Effect>, ControlError> {
    let inputs = inputs(d, m, service, now)?;
    let config = &d.config.routing;
    let budget = super::capacity::p99_budget_ms(d, service);
    let scores = score_nodes(
        &inputs,
        config,
        Some(budget),
        1.0 - d.config.budgets.headroom,
    );
    let mut decisions = m.decisions();
    let names: Vec<&str> = inputs.iter().map(|n| n.node.as_str()).collect();
    decisions.balancer.forget_missing(service, &names);
    let (report, changes) = decisions
        .balancer
        .update(service, &inputs, scores, now, config);
    decisions.routing.insert(service.to_string(), report);
    Ok(changes
        .into_iter()
        .map(|c| Effect::Stream(StreamEvent::RoutingWeight(c)))
        .collect())
}

/// Evaluates every service (the evaluation cycle). A service without node data is
/// skipped, not a failure of the stage.
pub fn evaluate_all(d: &Durable, m: &Memory, now: i64) -> Result<Vec<Effect>, ControlError> {
    let services = d.engine().services();
    let mut effects = Vec::new();
    let mut seen = Vec::new();
    for svc in services {
        match evaluate(d, m, &svc, now) {
            Ok(e) => {
                effects.extend(e);
                seen.push(svc);
            }
            Err(e) => tracing::debug!(service = %svc, error = %e, "routing evaluation skipped"),
        }
    }
    m.decisions().routing.retain(|s, _| seen.contains(s));
    Ok(effects)
}
