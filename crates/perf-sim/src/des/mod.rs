//! A deterministic discrete-event simulator of request routing and overload control, with
//! ecosystem-perf's decisions computed in a closed loop by the real code: simulated requests
//! are fed to a [`perf_core::Engine`], and the routing weights come from
//! [`perf_core::routing`] exactly as the server computes them.
//!
//! - [`routers`]: round robin, power-of-two-choices on least pending, P2C on Peak-EWMA cost
//!   (Finagle's and tower's balancer), and ecosystem-perf's (weighted P2C on Peak-EWMA cost
//!   over weight).
//! - [`routing_sim`]: scenario A — a slow node then a fail-fast node among ten.
//! - [`stats`]: quantiles and seed-to-seed intervals.
//!
//! Time is kept in microseconds; every random draw comes from one seeded generator, so a seed
//! gives the same run on every machine.

pub mod overload_sim;
pub mod routers;
pub mod routing_sim;
pub mod stats;
