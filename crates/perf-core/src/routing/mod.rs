//! Routing weights per node of a service (the QNET hook): scores from the (service, node)
//! view and the nodes' resource samples, turned into load-balancing weights in [0.1, 2.0]
//! that a proxy can apply.
//!
//! [`score`] is pure: one evaluation of every node from its numbers. [`balancer`] keeps the
//! state that makes weights safe to act on: smoothing and hysteresis (no flapping), slow start
//! for new and recovered nodes, and a cap on how much capacity may be taken away at once.
//! [`export`] writes the weights for Envoy (EDS `ClusterLoadAssignment`) and nginx
//! (`upstream`).

pub mod balancer;
pub mod config;
pub mod export;
pub mod inputs;
pub mod score;

pub use balancer::{Balancer, NodeWeight, WeightsReport};
pub use config::RoutingConfig;
pub use inputs::node_inputs;
pub use score::{score_nodes, Exceedance, NodeInput, NodeScore};

#[cfg(test)]
mod tests;
