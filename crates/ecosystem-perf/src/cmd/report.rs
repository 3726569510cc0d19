//! `status` and `profile`: read the server's reports and print a table or JSON.

use crate::cli::{Format, ReportArgs};
use crate::client::ApiClient;
use crate::exit::{BadInput, OK};
use perf_core::report::{Overview, Profile};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Fetches a report for `args.window` and prints it as JSON or with `table`.
fn show<T: DeserializeOwned + Serialize>(
    args: &ReportArgs,
    path: &str,
    table: fn(&T) -> String,
) -> anyhow::Result<i32> {
    perf_core::duration::parse_duration(&args.window).map_err(|e| BadInput(e.to_string()))?;
    let report: T = ApiClient::new(&args.server)?.get(&format!("{path}?window={}", args.window))?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => println!("{}", table(&report)),
    }
    Ok(OK)
}

/// `status`.
pub fn status(args: &ReportArgs) -> anyhow::Result<i32> {
    show::<Overview>(args, "/v1/overview", crate::tables::overview)
}

/// `profile SERVICE`.
pub fn profile(service: &str, args: &ReportArgs) -> anyhow::Result<i32> {
    let encoded: String = service
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    show::<Profile>(
        args,
        &format!("/v1/services/{encoded}/profile"),
        crate::tables::profile,
    )
}
