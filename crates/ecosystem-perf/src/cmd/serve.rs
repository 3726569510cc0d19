//! `serve`: the configuration from defaults, file, environment and flags; then the server
//! until SIGINT or SIGTERM, with a final flush.

use crate::args::ServeArgs;
use crate::exit::{BadInput, OK};
use anyhow::Context;
use clap::Args;
use perf_server::config::{ClockMode, Config};
use perf_server::AppState;

/// Arguments of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeCommand {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Engine time: wall (live) or event (newest event time, for replays).
    #[arg(long, value_parser = ["wall", "event"])]
    pub clock: Option<String>,
}

/// Builds the configuration in precedence order: defaults < file < environment < flags
/// (clap already folds the environment into the flags).
pub fn load_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = match &args.config {
        Some(path) => Config::load(path).map_err(|e| BadInput(e.to_string()))?,
        None => Config::default(),
    };
    if let Some(l) = &args.listen {
        config.server.listen = l.clone();
    }
    if let Some(d) = &args.data_dir {
        config.server.data_dir = d.display().to_string();
    }
    config.validate().map_err(|e| BadInput(e.to_string()))?;
    Ok(config)
}

/// Logs to standard error; `RUST_LOG` overrides the level. Colour only on a terminal and
/// without `NO_COLOR`: a log file or a collector gets plain text.
pub fn init_tracing() {
    use std::io::IsTerminal;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the server.
pub fn run(args: &ServeArgs, clock: Option<&str>) -> anyhow::Result<i32> {
    init_tracing();
    let mut config = load_config(args)?;
    if clock == Some("event") {
        config.server.clock = ClockMode::Event;
    }
    let addr = perf_server::check_exposure(&config).map_err(|e| BadInput(e.to_string()))?;
    for t in config.auth.tokens.iter().filter(|t| t.token.is_some()) {
        tracing::warn!(token = %t.name, "this token is kept in plain text; store only its digest (sha256: from `ecosystem-perf token hash`)");
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let state = tokio::task::spawn_blocking(move || AppState::open(config)).await??;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        tracing::info!(address = %listener.local_addr()?, "listening");
        perf_server::run(state, listener, perf_server::shutdown_signal()).await
    })?;
    Ok(OK)
}
