//! `config check FILE` and `config default`.

use crate::exit::{BadInput, OK};
use clap::Subcommand;
use perf_server::config::{Config, DEFAULT_YAML};
use std::path::PathBuf;

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

/// Runs a `config` subcommand.
pub fn run(action: ConfigAction) -> anyhow::Result<i32> {
    match action {
        ConfigAction::Default => {
            print!("{DEFAULT_YAML}");
            Ok(OK)
        }
        ConfigAction::Check { file } => {
            Config::load(&file).map_err(|e| BadInput(format!("{}: {e}", file.display())))?;
            println!("{}: ok", file.display());
            Ok(OK)
        }
    }
}
