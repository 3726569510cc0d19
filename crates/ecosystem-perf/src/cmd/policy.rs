//! `policy evaluate` (one decision from the server, exit 0 only for `proceed`) and
//! `degradation` (every service's ladder level, reason, signals and runbook line).

use crate::args::{Format, ServerArgs};
use crate::exit::OK;
use clap::{Args, Subcommand};

/// Arguments of `degradation`.
#[derive(Debug, Clone, Args)]
pub struct DegradationArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
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

use crate::exit::NOT_PROCEED;

/// Runs a `policy` subcommand.
pub fn run(action: PolicyAction) -> anyhow::Result<i32> {
    match action {
        PolicyAction::Evaluate {
            service,
            operation,
            tenant,
            priority,
            cacheable,
            server,
            format,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let mut body = serde_json::json!({
                "service": service, "operation": operation, "priority": priority, "cacheable": cacheable,
            });
            if let Some(t) = tenant {
                body["tenant"] = t.into();
            }
            let d: serde_json::Value = client.post_json("/v1/policy/evaluate", &body)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&d)?),
                Format::Table => {
                    let c = &d["context"];
                    println!(
                        "{} ({}; risk {})",
                        d["decision"].as_str().unwrap_or(""),
                        d["reason"].as_str().unwrap_or(""),
                        d["riskLevel"].as_str().unwrap_or("")
                    );
                    println!(
                        "level L{} · load {:.2} of a concurrency limit of {:.0} · burn rate {:.1} · {} of requests over their p99 budget",
                        c["level"],
                        c["load"].as_f64().unwrap_or(0.0),
                        c["concurrencyLimit"].as_f64().unwrap_or(0.0),
                        c["burnRate"].as_f64().unwrap_or(0.0),
                        // In units of the 1 % a p99 allows.
                        crate::units::percent(c["slowRatio"].as_f64().unwrap_or(0.0) * 0.01, 1)
                    );
                    let alts: Vec<&str> = d["alternatives"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| a.as_str())
                        .collect();
                    if !alts.is_empty() {
                        println!("alternatives: {}", alts.join(", "));
                    }
                }
            }
            Ok(if d["decision"] == "proceed" {
                OK
            } else {
                NOT_PROCEED
            })
        }
    }
}

/// `degradation`.
pub fn degradation(server: &ServerArgs, format: Format) -> anyhow::Result<i32> {
    let client = crate::client::ApiClient::new(server)?;
    let v: serde_json::Value = client.get("/v1/degradation")?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Table => {
            let mut t = crate::tables::new_table(&[
                "service",
                "level",
                "since",
                "burn 5m",
                "slow / 1 %",
                "load",
                "reason",
            ]);
            let f = |x: &serde_json::Value| x.as_f64().map_or("–".into(), |x| format!("{x:.2}"));
            let mut runbooks = Vec::new();
            for s in v["services"].as_array().into_iter().flatten() {
                t.add_row(vec![
                    s["service"].as_str().unwrap_or("").to_string(),
                    format!("L{} {}", s["level"], s["name"].as_str().unwrap_or("")),
                    s["since"].as_str().unwrap_or("").to_string(),
                    f(&s["signals"]["burnRate"]),
                    f(&s["signals"]["slowRatio"]),
                    f(&s["signals"]["utilization"]),
                    s["reason"].as_str().unwrap_or("").to_string(),
                ]);
                if let Some(r) = s["runbook"].as_str() {
                    runbooks.push(format!("{}: {r}", s["service"].as_str().unwrap_or("")));
                }
            }
            println!("{t}");
            for r in runbooks {
                println!("- {r}");
            }
        }
    }
    Ok(OK)
}
