//! `status` and `profile`: read the server's reports and print a table or JSON.

use crate::args::{Format, ReportArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::{BadInput, OK};
use clap::Args;
use perf_core::report::{Callers, Overview, Profile};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Arguments of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    /// Show the server's memory by component (`GET /v1/memory`) instead of the services.
    #[arg(long)]
    pub memory: bool,
}

/// Arguments of `profile`.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// Service name.
    pub service: String,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Arguments of `callers`.
#[derive(Debug, Clone, Args)]
pub struct CallersArgs {
    /// Service name.
    pub service: String,
    #[command(flatten)]
    pub report: ReportArgs,
    /// Ranking measure.
    #[arg(long, value_parser = ["requests", "errors", "cost", "slow"], default_value = "requests")]
    pub by: String,
    /// How many callers.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// Fetches a report for `args.window` and prints it as JSON or with `table`.
fn show<T: DeserializeOwned + Serialize>(
    args: &ReportArgs,
    path: &str,
    table: fn(&T) -> String,
) -> anyhow::Result<i32> {
    perf_core::duration::parse_duration(&args.window).map_err(|e| BadInput(e.to_string()))?;
    let report: T = ApiClient::new(&args.server)?.get(&format!(
        "{path}{}window={}",
        if path.contains('?') { '&' } else { '?' },
        encode_component(&args.window)
    ))?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => println!("{}", table(&report)),
    }
    Ok(OK)
}

/// `status` (`--memory`: the memory by component).
pub fn status(args: &StatusArgs) -> anyhow::Result<i32> {
    if !args.memory {
        return show::<Overview>(&args.report, "/v1/overview", crate::tables::overview);
    }
    let report: perf_server::accounting::MemoryReport =
        ApiClient::new(&args.report.server)?.get("/v1/memory")?;
    match args.report.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => println!("{}", crate::tables::memory(&report)),
    }
    Ok(OK)
}

/// `profile SERVICE`.
pub fn profile(service: &str, args: &ReportArgs) -> anyhow::Result<i32> {
    let path = format!("/v1/services/{}/profile", encode_component(service));
    show::<Profile>(args, &path, crate::tables::profile)
}

/// `callers SERVICE`.
pub fn callers(service: &str, args: &ReportArgs, by: &str, limit: usize) -> anyhow::Result<i32> {
    let path = format!(
        "/v1/services/{}/callers?by={by}&limit={limit}",
        encode_component(service)
    );
    show::<Callers>(args, &path, crate::tables::callers)
}
