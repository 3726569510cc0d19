//! `risk signals` (callers at or above a level) and `risk show ID` (one caller's signals,
//! evidence and correlations), from the server.

use crate::args::{Format, ServerArgs};
use crate::exit::OK;
use clap::Subcommand;

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

fn signal_summary(e: &serde_json::Value) -> String {
    e["signals"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{} {} ×{} ({})",
                s["type"].as_str().unwrap_or(""),
                s["severity"].as_str().unwrap_or(""),
                s["count"],
                s["service"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a `risk` subcommand.
pub fn run(action: RiskAction) -> anyhow::Result<i32> {
    match action {
        RiskAction::Signals {
            min_level,
            server,
            format,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let v: serde_json::Value =
                client.get(&format!("/v1/risk/signals?minLevel={min_level}"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => {
                    let mut t = crate::tables::new_table(&["caller", "level", "score", "signals"]);
                    for e in v["entities"].as_array().into_iter().flatten() {
                        t.add_row(vec![
                            comfy_table::Cell::new(e["entityId"].as_str().unwrap_or("")),
                            crate::tables::state_cell(e["riskLevel"].as_str().unwrap_or("")),
                            comfy_table::Cell::new(format!(
                                "{:.0}",
                                e["riskScore"].as_f64().unwrap_or(0.0)
                            )),
                            comfy_table::Cell::new(signal_summary(e)),
                        ]);
                    }
                    println!(
                        "{} tracked callers (heavy hitters of the last hour); at or above {min_level}:",
                        v["trackedCallers"]
                    );
                    println!("{t}");
                }
            }
            Ok(OK)
        }
        RiskAction::Show { id, server, format } => {
            let client = crate::client::ApiClient::new(&server)?;
            let path = format!("/v1/risk/entities/{}", crate::client::encode_component(&id));
            let e: serde_json::Value = client.get(&path)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&e)?),
                Format::Table => {
                    println!(
                        "{}: {} ({:.0} / 100)",
                        e["entityId"].as_str().unwrap_or(""),
                        e["riskLevel"].as_str().unwrap_or(""),
                        e["riskScore"].as_f64().unwrap_or(0.0)
                    );
                    let mut t = crate::tables::new_table(&[
                        "signal", "severity", "count", "service", "evidence",
                    ]);
                    // Words read left to right: the service and its evidence left-aligned.
                    crate::tables::align_left(&mut t, &[3, 4]);
                    for s in e["signals"].as_array().into_iter().flatten() {
                        t.add_row(vec![
                            comfy_table::Cell::new(s["type"].as_str().unwrap_or("")),
                            crate::tables::state_cell(s["severity"].as_str().unwrap_or("")),
                            comfy_table::Cell::new(s["count"].to_string()),
                            comfy_table::Cell::new(s["service"].as_str().unwrap_or("")),
                            comfy_table::Cell::new(crate::json_words::words(&s["evidence"])),
                        ]);
                    }
                    println!("{t}");
                    for c in e["correlations"].as_array().into_iter().flatten() {
                        println!(
                            "- {} on {}: rank correlation {:.2}, cost {}",
                            c["type"].as_str().unwrap_or(""),
                            c["service"].as_str().unwrap_or(""),
                            c["rankCorrelation"].as_f64().unwrap_or(0.0),
                            crate::units::signed_percent(
                                c["costIncrease"].as_f64().unwrap_or(0.0),
                                0
                            )
                        );
                    }
                    for ev in e["evidence"].as_array().into_iter().flatten() {
                        println!("- evidence: {}", crate::json_words::words(ev));
                    }
                }
            }
            Ok(OK)
        }
    }
}
