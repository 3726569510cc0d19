//! One module per command; `run` dispatches and returns the exit code.

mod anomaly;
mod baseline;
mod capacity;
mod config;
mod demo;
mod demo_deploy;
mod gate;
mod ingest;
mod policy;
mod query;
mod report;
mod risk;
mod rollout;
mod routing;
mod serve;
mod simulate;
mod slo;
mod tenant;
mod token;

use crate::cli::Command;

/// Runs a command.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Serve { serve, clock } => serve::run(&serve, clock.as_deref()),
        Command::Demo {
            serve,
            speed,
            rps,
            seed,
            duration,
        } => demo::run(&serve, speed, rps, seed, duration),
        Command::Ingest {
            files,
            server,
            batch,
            format,
        } => ingest::run(&files, &server, batch, format),
        Command::Status { report } => report::status(&report),
        Command::Profile { service, report } => report::profile(&service, &report),
        Command::Callers {
            service,
            report,
            by,
            limit,
        } => report::callers(&service, &report, &by, limit),
        Command::Config { action } => config::run(action),
        Command::Token { action } => token::run(action),
        Command::Gate(args) => gate::run(&args),
        Command::Anomaly { action } => anomaly::run(action),
        Command::Capacity { action } => capacity::run(action),
        Command::Routing { action } => routing::run(action),
        Command::Risk { action } => risk::run(action),
        Command::Simulate {
            scenario,
            seeds,
            format,
        } => simulate::run(&scenario, seeds, &format),
        Command::Policy { action } => policy::run(action),
        Command::Degradation { server, format } => policy::degradation(&server, format),
        Command::Baseline { action } => baseline::run(action),
        Command::Rollout { action } => rollout::run(action),
        Command::Slo { action } => slo::run(action),
        Command::Tenant { action } => tenant::run(action),
        query @ Command::Query { .. } => query::run(query),
    }
}
