//! The command line (clap): the top-level parser and the list of commands. Each command's
//! own arguments live beside it in `cmd/` (as cargo does); what several share is in
//! `args`. Flags override environment variables (`ECOSYSTEM_PERF_*`), which override the
//! configuration file, which overrides the defaults.

use clap::{Parser, Subcommand};

const EXIT_CODES: &str = crate::exit::TABLE;

/// ecosystem-perf: a performance control plane for a service ecosystem.
#[derive(Debug, Parser)]
#[command(name = "ecosystem-perf", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server with the embedded store.
    #[command(
        after_help = "Example: ecosystem-perf serve --config ecosystem-perf.yaml --listen 127.0.0.1:9470"
    )]
    Serve(crate::cmd::serve::ServeCommand),
    /// Run the server with a simulated ecosystem and print the dashboard URL.
    #[command(after_help = "Example: ecosystem-perf demo --speed 10")]
    Demo(crate::cmd::demo::DemoArgs),
    /// Send NDJSON event files to a server.
    #[command(
        after_help = "Example: ecosystem-perf ingest events.ndjson --batch 5000\n\nA bad line is skipped and counted, not fatal: the server validates every event, the good ones count, and the rejected ones are reported with their line (a live feed should not stop for one bad record). `slo check` and `gate` instead stop at the first bad line: a verdict over a file with holes in it would not be the verdict over the file.\n\nExit codes: 0 all accepted; 1 server unreachable or error; 2 unreadable file; 3 some events rejected."
    )]
    Ingest(crate::cmd::ingest::IngestArgs),
    /// Every service: rate, errors, latency.
    #[command(after_help = "Example: ecosystem-perf status --window 15m --format json")]
    Status(crate::cmd::report::StatusArgs),
    /// Per-operation profile of one service.
    #[command(after_help = "Example: ecosystem-perf profile qnet --window 1h")]
    Profile(crate::cmd::report::ProfileArgs),
    /// The heaviest callers of a service by requests, errors, cost or slow requests.
    #[command(after_help = "Example: ecosystem-perf callers qnet --by cost --window 1h")]
    Callers(crate::cmd::report::CallersArgs),
    /// Any view: filter on its dimensions, any window, per key or rolled up, any quantiles.
    #[command(
        after_help = "Example: ecosystem-perf query service_node --service qnet --window 15m --quantiles 0.5,0.99,0.999"
    )]
    Query(crate::cmd::query::QueryArgs),
    /// Service level objectives: list, show, or check a file of events offline.
    Slo {
        #[command(subcommand)]
        action: crate::cmd::slo::SloAction,
    },
    /// Alerts open now, of every kind, and the history of alert state changes, a page at a
    /// time.
    #[command(
        after_help = "Examples:\n  ecosystem-perf alerts\n  ecosystem-perf alerts --kind degradation --service qwallet --limit 50\n  ecosystem-perf alerts --before 1234   (the next page, from the previous page's `more:` line)"
    )]
    Alerts(crate::cmd::alerts::AlertsArgs),
    /// Tenants (DAO subnets): evaluation, isolation recommendation and the evidence.
    Tenant {
        #[command(subcommand)]
        action: crate::cmd::tenant::TenantAction,
    },
    /// Cache spaces: hit rates, hot set, miss-ratio curves, size and TTL advice (events
    /// carry `cacheKey`, kept only as a hash).
    Cache {
        #[command(subcommand)]
        action: crate::cmd::cache::CacheAction,
    },
    /// Offline deployment gate for CI: a candidate against a baseline (NDJSON event files or
    /// a baseline file from `baseline freeze --out`).
    #[command(
        after_help = "Example: ecosystem-perf gate --baseline main.ndjson --candidate pr.ndjson --format markdown\n\nExit codes: 0 proceed; 1 block (a significant regression past a threshold); 2 bad input (file and line); 3 inconclusive: insufficient data or manual review (see --inconclusive)."
    )]
    Gate(crate::cmd::gate::GateArgs),
    /// Go-live readiness: the five go/no-go gates (latency over a steady state, weekly
    /// error-budget burn, hot-cache hit rate, 30-day cost, headroom at peak) with their
    /// evidence, from a server or offline over an event file.
    #[command(
        after_help = "Examples:\n  ecosystem-perf golive --format markdown\n  ecosystem-perf golive --events day.ndjson --config ecosystem-perf.yaml\n\nOffline, the events are replayed through the server's own layers on the event clock (one batch per minute of event time, the evaluation cycle after each), so the answer is the server's for the same events. No rollouts and no resource samples offline: headroom then lacks data.\n\nExit codes: 0 go; 1 no-go (a gate failed); 2 bad input; 3 insufficient data (no gate failed, one had nothing to judge: the reason names the setting)."
    )]
    Golive(crate::cmd::golive::GoLiveArgs),
    /// Back up the running server's state (aggregates, log position, SLOs, baselines,
    /// rollouts, alert history) into one checked file, while it ingests. Admin scope.
    #[command(
        after_help = "Example: ecosystem-perf backup --to /backups/perf-$(date +%F).backup\n\nScheduled backups: the `backup:` section of the configuration (dir, interval, keep).\n\nExit codes: 0 written and checked; 1 the server failed or is unreachable."
    )]
    Backup(crate::cmd::backup::BackupArgs),
    /// Restore a backup into a new or empty data directory (checks the file first: magic,
    /// format, length, SHA-256; then SQLite's integrity check).
    #[command(
        after_help = "Example: ecosystem-perf restore --from perf.backup --data-dir ./restored && ecosystem-perf serve --data-dir ./restored\n\nExit codes: 0 restored; 2 a damaged, truncated or newer backup, or a directory that is not empty (nothing is changed)."
    )]
    Restore(crate::cmd::backup::RestoreArgs),
    /// Prove a backup restores: restore it into a temporary directory, start on it, compare
    /// a fixed set of answers with the live server, report the restore time and data age.
    #[command(
        after_help = "Example: ecosystem-perf selfcheck --from /backups/latest.backup --config ecosystem-perf.yaml\n\nCompared: per view the query of the hour before the backup's snapshot, the baselines, the rollouts, the SLO names.\n\nExit codes: 0 every answer identical; 1 some differ (each named with where); 2 a damaged backup."
    )]
    Selfcheck(crate::cmd::backup::SelfcheckArgs),
    /// The replica's mode, store and ingest stream (lag, partitions applied here).
    Cluster {
        #[command(subcommand)]
        action: crate::cmd::cluster::ClusterAction,
    },
    /// Recovery drills: mark one (restore or failover), stop it, read its measured RTO,
    /// impact and recovery gate.
    Drill {
        #[command(subcommand)]
        action: crate::cmd::drill::DrillAction,
    },
    /// Baselines: freeze one from a server or from an event file, list them.
    Baseline {
        #[command(subcommand)]
        action: crate::cmd::baseline::BaselineAction,
    },
    /// Canary rollouts: start, evaluate (promote / hold / rollback), show.
    Rollout {
        #[command(subcommand)]
        action: crate::cmd::rollout::RolloutAction,
    },
    /// Operation policy decisions (the Qflow hook).
    Policy {
        #[command(subcommand)]
        action: crate::cmd::policy::PolicyAction,
    },
    /// The degradation ladder: every service's level, reason, signals and runbook line.
    #[command(after_help = "Example: ecosystem-perf degradation --format json")]
    Degradation(crate::cmd::policy::DegradationArgs),
    /// Discrete-event simulations comparing routers (scenario A) and overload control
    /// (scenario B), with ecosystem-perf's decisions computed in a closed loop.
    #[command(
        after_help = "Example: ecosystem-perf simulate routing --seeds 5\n         ecosystem-perf simulate overload --seeds 5 --format markdown"
    )]
    Simulate(crate::cmd::simulate::SimulateArgs),
    /// Risk signals per caller (the Qerberos hook).
    Risk {
        #[command(subcommand)]
        action: crate::cmd::risk::RiskAction,
    },
    /// Routing weights per node (the QNET hook).
    Routing {
        #[command(subcommand)]
        action: crate::cmd::routing::RoutingAction,
    },
    /// Capacity planning: demand forecasts (offline), headroom, scaling plans, cost.
    Capacity {
        #[command(subcommand)]
        action: crate::cmd::capacity::CapacityAction,
    },
    /// Anomaly detection: score a series file offline (`detect`), or read the server's live
    /// incidents (`incidents`).
    Anomaly {
        #[command(subcommand)]
        action: crate::cmd::anomaly::AnomalyAction,
    },
    /// Validate a configuration or print the documented default.
    Config {
        #[command(subcommand)]
        action: crate::cmd::config::ConfigAction,
    },
    /// Bearer tokens for `auth.tokens`.
    Token {
        #[command(subcommand)]
        action: crate::cmd::token::TokenAction,
    },
    /// Print the server's OpenAPI 3.1 document (offline; the same as `GET /v1/openapi.json`),
    /// e.g. to generate a client in CI.
    Openapi(crate::cmd::openapi::OpenapiArgs),
}
