//! `status` and `profile`: read the server's reports and print a table or JSON.

use crate::cli::{Format, ServerArgs};
use crate::client::ApiClient;
use crate::exit::{BadInput, OK};
use perf_core::report::{Overview, Profile};

fn check_window(window: &str) -> anyhow::Result<()> {
    perf_core::duration::parse_duration(window).map_err(|e| BadInput(e.to_string()))?;
    Ok(())
}

/// `status`.
pub fn status(server: &ServerArgs, window: &str, format: Format) -> anyhow::Result<i32> {
    check_window(window)?;
    let overview: Overview =
        ApiClient::new(server)?.get(&format!("/v1/overview?window={window}"))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&overview)?),
        Format::Table => println!("{}", crate::tables::overview(&overview)),
    }
    Ok(OK)
}

/// `profile SERVICE`.
pub fn profile(
    service: &str,
    server: &ServerArgs,
    window: &str,
    format: Format,
) -> anyhow::Result<i32> {
    check_window(window)?;
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
    let profile: Profile =
        ApiClient::new(server)?.get(&format!("/v1/services/{encoded}/profile?window={window}"))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&profile)?),
        Format::Table => println!("{}", crate::tables::profile(&profile)),
    }
    Ok(OK)
}
