//! Arguments several commands share: where the server is, the output format, the report
//! window, and the settings of `serve` and `demo`.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

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
