//! `config check FILE` and `config default`.

use crate::cli::ConfigAction;
use crate::exit::{BadInput, OK};
use perf_server::config::{Config, DEFAULT_YAML};

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
