//! Command-line arguments (clap). Flags override environment variables (`ECOSYSTEM_PERF_*`),
//! which override the configuration file, which overrides the defaults.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 failure (server unreachable, server error); \
2 bad input or usage (unreadable file, invalid config, bad flag); 3 some events were rejected (ingest).";

/// ecosystem-perf: a performance control plane for a service ecosystem.
#[derive(Debug, Parser)]
#[command(name = "ecosystem-perf", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table (coloured on a terminal).
    Table,
    /// JSON, for scripts.
    Json,
}

/// Where the server is.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Server URL.
    #[arg(
        long,
        env = "ECOSYSTEM_PERF_SERVER",
        default_value = "http://127.0.0.1:9470"
    )]
    pub server: String,
    /// Bearer token.
    #[arg(long, env = "ECOSYSTEM_PERF_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// What the report commands share: server, window and output format.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Window, e.g. 5m.
    #[arg(long, default_value = "5m")]
    pub window: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Settings shared by `serve` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Configuration file (YAML, version 1).
    #[arg(long, env = "ECOSYSTEM_PERF_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address (overrides server.listen).
    #[arg(long, env = "ECOSYSTEM_PERF_LISTEN")]
    pub listen: Option<String>,
    /// Data directory (overrides server.dataDir).
    #[arg(long, env = "ECOSYSTEM_PERF_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server with the embedded store.
    #[command(
        after_help = "Example: ecosystem-perf serve --config ecosystem-perf.yaml --listen 127.0.0.1:9470"
    )]
    Serve {
        #[command(flatten)]
        serve: ServeArgs,
        /// Engine time: wall (live) or event (newest event time, for replays).
        #[arg(long, value_parser = ["wall", "event"])]
        clock: Option<String>,
    },
    /// Run the server with a simulated ecosystem and print the dashboard URL.
    #[command(after_help = "Example: ecosystem-perf demo --speed 10")]
    Demo {
        #[command(flatten)]
        serve: ServeArgs,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Mean requests per simulated second.
        #[arg(long, default_value_t = 400.0)]
        rps: f64,
        /// Random seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Stop after this many real seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<f64>,
    },
    /// Send NDJSON event files to a server.
    #[command(
        after_help = "Example: ecosystem-perf ingest events.ndjson --batch 5000\n\nExit codes: 0 all accepted; 1 server unreachable or error; 2 unreadable file; 3 some events rejected."
    )]
    Ingest {
        /// NDJSON files (one event per line).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
        /// Events per request.
        #[arg(long, default_value_t = 5000)]
        batch: usize,
        /// Output format of the summary.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every service: rate, errors, latency.
    #[command(after_help = "Example: ecosystem-perf status --window 15m --format json")]
    Status {
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Per-operation profile of one service.
    #[command(after_help = "Example: ecosystem-perf profile qnet --window 1h")]
    Profile {
        /// Service name.
        service: String,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// The heaviest callers of a service by requests, errors, cost or slow requests.
    #[command(after_help = "Example: ecosystem-perf callers qnet --by cost --window 1h")]
    Callers {
        /// Service name.
        service: String,
        #[command(flatten)]
        report: ReportArgs,
        /// Ranking measure.
        #[arg(long, value_parser = ["requests", "errors", "cost", "slow"], default_value = "requests")]
        by: String,
        /// How many callers.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Any view: filter on its dimensions, any window, per key or rolled up, any quantiles.
    #[command(
        after_help = "Example: ecosystem-perf query service_node --service qnet --window 15m --quantiles 0.5,0.99,0.999"
    )]
    Query {
        /// View name (see `status`: service_operation, service_node, …).
        view: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Only this service.
        #[arg(long)]
        service: Option<String>,
        /// Only this operation.
        #[arg(long)]
        operation: Option<String>,
        /// Only this node.
        #[arg(long)]
        node: Option<String>,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Only this version.
        #[arg(long)]
        version: Option<String>,
        /// Window ending now, e.g. 15m (default 5m; or give --from and --to).
        #[arg(long, conflicts_with_all = ["from", "to"])]
        window: Option<String>,
        /// Window start: RFC 3339 or unix ms.
        #[arg(long, requires = "to")]
        from: Option<String>,
        /// Window end (exclusive).
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Merge all matching keys into one row.
        #[arg(long)]
        rollup: bool,
        /// Quantiles, comma-separated.
        #[arg(long, default_value = "0.5,0.95,0.99")]
        quantiles: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Service level objectives: list, show, or check a file of events offline.
    Slo {
        #[command(subcommand)]
        action: SloAction,
    },
    /// Tenants (DAO subnets): evaluation, isolation recommendation and the evidence.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Offline deployment gate for CI: a candidate against a baseline (NDJSON event files or
    /// a baseline file from `baseline freeze --out`).
    #[command(
        after_help = "Example: ecosystem-perf gate --baseline main.ndjson --candidate pr.ndjson --format markdown\n\nExit codes: 0 proceed; 1 block (a significant regression past a threshold); 2 bad input (file and line); 3 inconclusive: insufficient data or manual review (see --inconclusive)."
    )]
    Gate(GateArgs),
    /// Baselines: freeze one from a server or from an event file, list them.
    Baseline {
        #[command(subcommand)]
        action: BaselineAction,
    },
    /// Canary rollouts: start, evaluate (promote / hold / rollback), show.
    Rollout {
        #[command(subcommand)]
        action: RolloutAction,
    },
    /// Operation policy decisions (the Qflow hook).
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// The degradation ladder: every service's level, reason, signals and runbook line.
    #[command(after_help = "Example: ecosystem-perf degradation --format json")]
    Degradation {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Discrete-event simulations comparing routers (scenario A) and overload control
    /// (scenario B), with ecosystem-perf's decisions computed in a closed loop.
    #[command(
        after_help = "Example: ecosystem-perf simulate routing --seeds 5\n         ecosystem-perf simulate overload --seeds 5 --format markdown"
    )]
    Simulate {
        /// `routing` (scenario A) or `overload` (scenario B).
        #[arg(value_parser = ["routing", "overload"])]
        scenario: String,
        /// Seeds (1..=N); intervals are 95 % over the seeds.
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Output format.
        #[arg(long, value_parser = ["table", "markdown"], default_value = "table")]
        format: String,
    },
    /// Risk signals per caller (the Qerberos hook).
    Risk {
        #[command(subcommand)]
        action: RiskAction,
    },
    /// Routing weights per node (the QNET hook).
    Routing {
        #[command(subcommand)]
        action: RoutingAction,
    },
    /// Capacity planning: demand forecasts (offline), headroom, scaling plans, cost.
    Capacity {
        #[command(subcommand)]
        action: CapacityAction,
    },
    /// Anomaly detection over a series, offline.
    Anomaly {
        #[command(subcommand)]
        action: AnomalyAction,
    },
    /// Validate a configuration or print the documented default.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Bearer tokens for `auth.tokens`.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Read a token from standard input and print its `auth.tokens` entry with only the
    /// SHA-256 of the token, so the configuration never holds the secret.
    #[command(
        after_help = "Example: printf %s \"$PERF_TOKEN\" | ecosystem-perf token hash --name ci --scopes ingest,read\n\nScopes: ingest (send events), read (every GET and the gate/policy evaluations), admin (SLOs, baselines, rollouts; implies the others). --tenant confines the token to one tenant (DAO)."
    )]
    Hash {
        /// Who holds the token (shown in errors and logs).
        #[arg(long, default_value = "token")]
        name: String,
        /// Scopes, comma-separated.
        #[arg(long, value_delimiter = ',', value_parser = ["ingest", "read", "admin"], default_value = "read")]
        scopes: Vec<String>,
        /// Confine the token to this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// `slo` subcommands.
#[derive(Debug, Subcommand)]
pub enum SloAction {
    /// Every SLO with compliance, budget and alerts.
    #[command(after_help = "Example: ecosystem-perf slo list --format json")]
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One SLO: budget, burn rates per window, alerts, tenants.
    #[command(after_help = "Example: ecosystem-perf slo show feed-availability")]
    Show {
        /// SLO name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Offline: evaluate the SLOs of a configuration over an NDJSON event file (event time;
    /// the same numbers the server gives for the same events). Exit 0 when no SLO is in
    /// violation and no page fires, 1 otherwise, 2 on bad input.
    #[command(
        after_help = "Example: ecosystem-perf slo check --config ecosystem-perf.yaml --events events.ndjson"
    )]
    Check {
        /// Configuration with `slos:`.
        #[arg(long)]
        config: PathBuf,
        /// NDJSON events.
        #[arg(long)]
        events: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `tenant` subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Every tenant seen in the last hour.
    #[command(after_help = "Example: ecosystem-perf tenant list")]
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One tenant's evaluation.
    #[command(after_help = "Example: ecosystem-perf tenant show dao-alpha --format json")]
    Show {
        /// Tenant id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check a configuration file; prints the first problem with its key path.
    #[command(after_help = "Example: ecosystem-perf config check ecosystem-perf.yaml")]
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Print every key with its default and a comment.
    #[command(after_help = "Example: ecosystem-perf config default > ecosystem-perf.yaml")]
    Default,
}

/// Output of `gate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GateFormat {
    /// A table.
    Table,
    /// The report as JSON.
    Json,
    /// A compact pull-request comment.
    Markdown,
}

/// How CI treats an inconclusive gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Inconclusive {
    /// Exit 3.
    #[value(name = "exit3")]
    Exit3,
    /// Exit 0.
    Pass,
    /// Exit 1.
    Fail,
}

/// Arguments of `gate`.
#[derive(Debug, Clone, Args)]
pub struct GateArgs {
    /// Baseline: NDJSON events (.gz allowed) or a baseline file.
    #[arg(long)]
    pub baseline: PathBuf,
    /// Candidate: NDJSON events (.gz allowed) or a baseline file.
    #[arg(long)]
    pub candidate: PathBuf,
    /// The service (required when the files hold several).
    #[arg(long)]
    pub service: Option<String>,
    /// Only this operation.
    #[arg(long)]
    pub operation: Option<String>,
    /// Only baseline events of this version.
    #[arg(long)]
    pub baseline_version: Option<String>,
    /// Only candidate events of this version.
    #[arg(long)]
    pub candidate_version: Option<String>,
    /// Name of the deployment in the report (default: the candidate's version).
    #[arg(long)]
    pub deployment: Option<String>,
    /// Configuration whose `gates:` section sets thresholds and confidence.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Confidence (overrides the configuration), e.g. 0.99.
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GateFormat::Table)]
    pub format: GateFormat,
    /// Exit code of an inconclusive gate (insufficient data, manual review).
    #[arg(long, value_enum, default_value_t = Inconclusive::Exit3)]
    pub inconclusive: Inconclusive,
}

/// `baseline` subcommands.
#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Freeze a baseline: on the server from its live aggregates (default), or offline from
    /// an event file with --events. --out writes the baseline file for `gate --baseline`.
    #[command(
        after_help = "Examples:\n  ecosystem-perf baseline freeze --service qnet --version v1.4.0 --window 1h\n  ecosystem-perf baseline freeze --service qnet --events main.ndjson --out qnet-main.json"
    )]
    Freeze {
        /// Service.
        #[arg(long)]
        service: String,
        /// Only this operation.
        #[arg(long)]
        operation: Option<String>,
        /// Only this version.
        #[arg(long)]
        version: Option<String>,
        /// Window ending now (online).
        #[arg(long, default_value = "1h")]
        window: String,
        /// Offline: build from this NDJSON file instead of asking a server.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Write the baseline file here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Baseline id (default: service-version-time).
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Baselines stored on the server.
    #[command(after_help = "Example: ecosystem-perf baseline list --format json")]
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Delete a stored baseline.
    #[command(after_help = "Example: ecosystem-perf baseline delete qnet-v1.4.0")]
    Delete {
        /// Baseline id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// `rollout` subcommands.
#[derive(Debug, Subcommand)]
pub enum RolloutAction {
    /// Start a canary rollout.
    #[command(
        after_help = "Example: ecosystem-perf rollout start --service qnet --baseline-version v1 --canary-version v2 --steps 5,25,50,100 --min-step 5m"
    )]
    Start {
        /// Service.
        #[arg(long)]
        service: String,
        /// Version serving the rest of the traffic.
        #[arg(long)]
        baseline_version: String,
        /// The new version.
        #[arg(long)]
        canary_version: String,
        /// Traffic weights in percent, ascending, ending at 100.
        #[arg(long, default_value = "5,25,50,100")]
        steps: String,
        /// Minimum time at each step before a promotion.
        #[arg(long, default_value = "5m")]
        min_step: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Evaluate a rollout now: promote (with the next weight), hold, rollback or complete.
    /// Exit 0 promote/complete/hold, 1 rollback.
    #[command(after_help = "Example: ecosystem-perf rollout evaluate r-20261129-qnet-v2")]
    Evaluate {
        /// Rollout id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A rollout with its history.
    #[command(after_help = "Example: ecosystem-perf rollout show r-20261129-qnet-v2")]
    Show {
        /// Rollout id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `anomaly` subcommands.
#[derive(Debug, Subcommand)]
pub enum AnomalyAction {
    /// Score every row of a `timestamp,value` CSV with the streaming detector; writes
    /// `timestamp,value,anomaly_score,is_anomaly`, one row per input row, in input order.
    #[command(
        after_help = "Example: ecosystem-perf anomaly detect --input cpu.csv --output cpu-scored.csv\n\nanomaly_score in [0, 1]: 0.5 is as unlikely as 1 in 100,000 under the series' recent behaviour, 1 is 1 in 10^10; repeats of an earlier event's shape score lower, a climb beyond the series' whole range scores at least 0.6. is_anomaly: score at or above the threshold, and a point at least 6 typical residuals off or a climb that goes on setting records.\n\nTimestamps should increase; a row at or before the previous one is scored in file order with the detector's clock held (counted on standard error). Gaps are fine. Exit 2 on a bad file (with its line)."
    )]
    Detect {
        /// Series CSV with the header timestamp,value.
        #[arg(long)]
        input: PathBuf,
        /// Output CSV (default, or `-`: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
        /// Score at and above which a row is flagged (default 0.5; see below for is_anomaly).
        #[arg(long)]
        threshold: Option<f64>,
    },
    /// The server's recent anomaly incidents: concurrent anomalies of one service, with the
    /// dimension values they share and a probable cause.
    #[command(after_help = "Example: ecosystem-perf anomaly incidents --window 3h
         ecosystem-perf anomaly incidents --service qwallet --format json")]
    Incidents {
        /// How far back (incidents whose latest anomaly is within it): 30m, 3h, 1d…
        #[arg(long, default_value = "1h")]
        window: String,
        /// Only this service's incidents.
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format (json: the whole `GET /v1/anomalies` answer).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Output of `capacity plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// A summary and the schedule.
    Table,
    /// The plan as JSON.
    Json,
    /// The Kubernetes HorizontalPodAutoscaler manifest (YAML).
    Hpa,
}

/// `policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyAction {
    /// Ask for a decision: proceed, queue_deferral, cache_fallback or reject.
    #[command(
        after_help = "Example: ecosystem-perf policy evaluate --service qflow --operation 'POST /flows' --priority batch\n\nExit codes: 0 proceed; 4 any other decision (so scripts can branch); 1 server error; 2 bad input."
    )]
    Evaluate {
        /// Service.
        #[arg(long)]
        service: String,
        /// Operation.
        #[arg(long)]
        operation: String,
        /// Tenant (DAO).
        #[arg(long)]
        tenant: Option<String>,
        /// Priority.
        #[arg(long, value_parser = ["critical", "default", "batch"], default_value = "default")]
        priority: String,
        /// A cached or simplified answer is acceptable.
        #[arg(long)]
        cacheable: bool,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `risk` subcommands.
#[derive(Debug, Subcommand)]
pub enum RiskAction {
    /// Callers at or above a risk level, highest score first.
    #[command(after_help = "Example: ecosystem-perf risk signals --min-level high")]
    Signals {
        /// Lowest level listed.
        #[arg(long, value_parser = ["low", "moderate", "high", "critical"], default_value = "moderate")]
        min_level: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One caller: score, signals with their evidence, correlations.
    #[command(after_help = "Example: ecosystem-perf risk show caller-42")]
    Show {
        /// Caller (entity) id, as the API shows it (hashed when privacy.hashCallers is on).
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// `routing` subcommands.
#[derive(Debug, Subcommand)]
pub enum RoutingAction {
    /// A service's node scores and weights (a table with bars), or the weights as an Envoy
    /// EDS ClusterLoadAssignment or an nginx upstream block.
    #[command(
        after_help = "Example: ecosystem-perf routing weights qnet\n         ecosystem-perf routing weights qnet --format nginx --port 8080 > /etc/nginx/conf.d/qnet.conf"
    )]
    Weights {
        /// Service.
        service: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = WeightsFormat::Table)]
        format: WeightsFormat,
        /// Port of the nodes in the Envoy and nginx outputs.
        #[arg(long, default_value_t = 80)]
        port: u16,
    },
}

/// Output of `routing weights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightsFormat {
    /// Scores and weights with bars.
    Table,
    /// The API answer.
    Json,
    /// Envoy EDS ClusterLoadAssignment (JSON).
    Envoy,
    /// nginx upstream block.
    Nginx,
}

/// `capacity` subcommands.
#[derive(Debug, Subcommand)]
pub enum CapacityAction {
    /// A service's capacity report from the server: demand forecast, capacity, headroom now
    /// and at the forecast peak, time to exhaustion, p99 against load.
    #[command(after_help = "Example: ecosystem-perf capacity show qnet")]
    Show {
        /// Service.
        service: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Cost from the server: per service and operation, month to date, 30-day forecast
    /// against the monthly budget, replicas that could be dropped.
    #[command(after_help = "Example: ecosystem-perf capacity cost --format json")]
    Cost {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A service's scaling plan from the server: replicas for the 48 h forecast, HPA bounds,
    /// pre-scaling schedule; `--format hpa` prints the autoscaling/v2 manifest.
    #[command(
        after_help = "Example: ecosystem-perf capacity plan qnet --format hpa | kubectl apply -f -"
    )]
    Plan {
        /// Service.
        service: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
    },
    /// Forecast a `timestamp,value` series: writes `timestamp,forecast,lower,upper` for the
    /// N steps after the last row (step = the series' sampling interval).
    #[command(
        after_help = "Example: ecosystem-perf capacity forecast --input rps.csv --horizon 96 --interval 0.95 --output forecast.csv\n\nAt least 16 rows, increasing timestamps; gaps are fine. Exit 2 on a bad file."
    )]
    Forecast {
        /// Series CSV with the header timestamp,value.
        #[arg(long)]
        input: PathBuf,
        /// Steps to forecast.
        #[arg(long)]
        horizon: usize,
        /// Central probability of the interval.
        #[arg(long, default_value_t = 0.95)]
        interval: f64,
        /// Output CSV (default, or `-`: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}
