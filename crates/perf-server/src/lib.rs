//! The server of ecosystem-perf, in four layers, each importing only those below it:
//!
//! - [`http`]: handlers, one file per resource, and the middleware in front of them;
//! - [`control`]: every decision over time, as stages over the engine and one
//!   [`control::Decisions`] memory, run by a single-flight cycle;
//! - [`effects`]: what decisions do — alert history, the stream, webhook notifications;
//! - [`durable`]: configuration, engine, ingest journal, store, metrics, clock, snapshots.
//!
//! [`AppState`] composes them for handlers; [`runtime::run`] serves the router and runs the
//! background loops. `docs/ARCHITECTURE.md` walks through the data's way from ingest to
//! decision to answer.

pub mod accounting;
pub mod answers;
mod app_state;
pub mod config;
pub mod control;
pub mod durable;
pub mod effects;
pub mod http;
pub mod privacy;
pub mod runtime;

pub use app_state::AppState;
pub use config::Config;
pub use http::ingest::gunzip;
pub use http::listen::shutdown_signal;
pub use http::{app, check_exposure};
pub use runtime::run;

/// Runs one evaluation cycle now (after any in flight): SLOs, anomaly detectors, the
/// degradation ladders and policy contexts, routing weights, caller risk, tenants. The
/// server runs it every `server.evaluationInterval`; tests and embedders call it to see the
/// decisions of data they just sent. Fails when a stage failed (the others still ran).
pub fn evaluate_cycle(state: &AppState) -> anyhow::Result<()> {
    all_ran(state.run_cycle())
}

/// Evaluates the SLOs now, inside the cycle's single flight.
pub fn evaluate_slos(state: &AppState) -> anyhow::Result<()> {
    all_ran(state.run_stage(control::Stage::Slos))
}

/// Runs the deployment cycle now: running rollouts, regression and headroom alerts (the
/// server runs it every `server.deploymentInterval`).
pub fn run_deployment_cycle(state: &AppState) -> anyhow::Result<()> {
    all_ran(
        state
            .control
            .run_deployment_cycle(&state.durable, &state.effects),
    )
}

fn all_ran(report: control::CycleReport) -> anyhow::Result<()> {
    if report.failures.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = report
        .failures
        .iter()
        .map(|(stage, why)| format!("{stage}: {why}"))
        .collect();
    anyhow::bail!("evaluation stages failed: {}", names.join("; "))
}
