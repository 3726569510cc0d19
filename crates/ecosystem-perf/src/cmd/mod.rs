//! One module per command, each with its own clap arguments beside what it does (as cargo
//! does); `run` dispatches and returns the exit code.

pub mod alerts;
pub mod anomaly;
pub mod backup;
pub mod baseline;
pub mod cache;
pub mod capacity;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod demo_deploy;
pub mod demo_drills;
pub mod demo_fast_forward;
pub mod demo_golive;
pub mod demo_temp;
pub mod drill;
pub mod gate;
pub mod golive;
pub mod ingest;
pub mod openapi;
pub mod policy;
pub mod query;
pub mod report;
pub mod risk;
pub mod rollout;
pub mod routing;
pub mod serve;
pub mod simulate;
pub mod slo;
pub mod slo_corrections;
pub mod tenant;
pub mod token;

use crate::cli::Command;

/// Runs a command.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Serve(a) => serve::run(&a.serve, a.clock.as_deref()),
        Command::Demo(a) => demo::run(&a),
        Command::Ingest(a) => ingest::run(&a.files, &a.server, a.batch, a.format),
        Command::Status(a) => report::status(&a),
        Command::Profile(a) => report::profile(&a.service, &a.report),
        Command::Callers(a) => report::callers(&a.service, &a.report, &a.by, a.limit),
        Command::Query(a) => query::run(a),
        Command::Config { action } => config::run(action),
        Command::Token { action } => token::run(action),
        Command::Openapi(args) => openapi::run(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Golive(args) => golive::run(&args),
        Command::Backup(args) => backup::backup(&args),
        Command::Restore(args) => backup::restore(&args),
        Command::Selfcheck(args) => backup::selfcheck(&args),
        Command::Drill { action } => drill::run(action),
        Command::Cluster { action } => cluster::run(action),
        Command::Anomaly { action } => anomaly::run(action),
        Command::Capacity { action } => capacity::run(action),
        Command::Routing { action } => routing::run(action),
        Command::Risk { action } => risk::run(action),
        Command::Simulate(a) => simulate::run(&a.scenario, a.seeds, &a.format),
        Command::Policy { action } => policy::run(action),
        Command::Degradation(a) => policy::degradation(&a.server, a.format),
        Command::Baseline { action } => baseline::run(action),
        Command::Rollout { action } => rollout::run(action),
        Command::Slo { action } => slo::run(action),
        Command::Tenant { action } => tenant::run(action),
        Command::Cache { action } => cache::run(action),
        Command::Alerts(a) => alerts::run(&a),
    }
}
