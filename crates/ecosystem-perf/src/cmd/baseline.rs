//! `baseline freeze / list / delete`. Freezing asks the server (its live aggregates) or,
//! with `--events`, builds the baseline offline from an NDJSON file; `--out` writes the
//! baseline file that `gate --baseline` reads in CI.

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::{BadInput, OK};
use clap::Subcommand;
use perf_core::compare::baseline::{collect_event_ref, ByService, Selector};
use perf_core::compare::Baseline;
use std::path::PathBuf;

/// `baseline` subcommands.
#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Freeze a baseline: on the server from its live aggregates (default), or offline from
    /// an event file with --events. --out writes the baseline file for `gate --baseline`.
    #[command(
        after_help = "Examples:\n  ecosystem-perf baseline freeze --service qnet --version v1.4.0 --window 1h\n  ecosystem-perf baseline freeze --service qnet --events main.ndjson --out qnet-main.json\n  ecosystem-perf baseline freeze --golive   # the go-live guardrails: budgets, per-service baselines, p99 per class\n\nWith --golive, replacing a frozen set whose budgets differ from the configuration's needs --force; the change is recorded (GET /v1/golive/frozen). Exit 2 when refused."
    )]
    Freeze {
        /// Service (not with --golive).
        #[arg(long, required_unless_present = "golive", conflicts_with = "golive")]
        service: Option<String>,
        /// Freeze the go-live guardrails instead: the budgets, every service's baseline over
        /// the last hour and the p99 per class; `golive` then judges against them.
        #[arg(long)]
        golive: bool,
        /// With --golive: replace a frozen set whose budgets differ (recorded).
        #[arg(long, requires = "golive")]
        force: bool,
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

/// Runs a `baseline` subcommand.
pub fn run(action: BaselineAction) -> anyhow::Result<i32> {
    match action {
        BaselineAction::Freeze {
            golive: true,
            force,
            server,
            ..
        } => {
            let set: serde_json::Value = ApiClient::new(&server)?
                .post_json("/v1/golive/freeze", &serde_json::json!({ "force": force }))?;
            println!("{}", set["id"].as_str().unwrap_or_default());
            eprintln!(
                "frozen at {}: budgets {}, {} service baseline(s), p99 per class {}",
                set["frozenAt"].as_str().unwrap_or_default(),
                set["guardrails"],
                set["baselines"].as_array().map_or(0, |a| a.len()),
                set["classP99Ms"]
            );
            Ok(OK)
        }
        BaselineAction::Freeze {
            service,
            operation,
            version,
            window,
            events,
            out,
            id,
            server,
            format,
            ..
        } => {
            let service = service.unwrap_or_default();
            let baseline: Baseline = match events {
                Some(path) => {
                    let selector = Selector {
                        service: Some(service.clone()),
                        operation,
                        version,
                    };
                    let mut by = ByService::new();
                    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
                    crate::event_file::for_each_ref(&path, |e| {
                        if e.service == service.as_str() {
                            lo = lo.min(e.ts_ms);
                            hi = hi.max(e.ts_ms);
                        }
                        collect_event_ref(e, &selector, &mut by);
                    })?;
                    let ops = by.remove(&service).unwrap_or_default();
                    if ops.is_empty() {
                        return Err(BadInput(format!(
                            "{}: no events of service {service:?} match",
                            path.display()
                        ))
                        .into());
                    }
                    let now = perf_server::durable::system_now();
                    let id = id.unwrap_or_else(|| {
                        format!("{service}-{}", selector.version.as_deref().unwrap_or("all"))
                    });
                    Baseline::new(id, &selector, service, (lo, hi + 1), now, ops)
                }
                None => {
                    let client = ApiClient::new(&server)?;
                    let body = serde_json::json!({
                        "service": service, "operation": operation, "version": version,
                        "window": window, "id": id,
                    });
                    client.post_json("/v1/baselines", &body)?
                }
            };
            if let Some(path) = &out {
                std::fs::write(path, serde_json::to_string_pretty(&baseline)?)
                    .map_err(|e| BadInput(format!("{}: {e}", path.display())))?;
            }
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&perf_server::http::baselines::summary(
                        &baseline
                    ))?
                ),
                Format::Table => println!(
                    "baseline {} of {}{}: {} requests over {} operations, {} … {}{}",
                    baseline.id,
                    baseline.service,
                    baseline
                        .version
                        .as_deref()
                        .map(|v| format!(" {v}"))
                        .unwrap_or_default(),
                    baseline.requests,
                    baseline.operations.len(),
                    perf_core::time::format_rfc3339(baseline.from),
                    perf_core::time::format_rfc3339(baseline.to),
                    out.as_ref()
                        .map(|p| format!("; written to {}", p.display()))
                        .unwrap_or_default()
                ),
            }
            Ok(OK)
        }
        BaselineAction::List { server, format } => {
            let v: serde_json::Value = ApiClient::new(&server)?.get("/v1/baselines")?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => {
                    let mut t = crate::tables::new_table(&[
                        "id", "service", "version", "requests", "from", "to",
                    ]);
                    for b in v["baselines"].as_array().into_iter().flatten() {
                        let s = |k: &str| b[k].as_str().unwrap_or("–").to_string();
                        t.add_row(vec![
                            s("id"),
                            s("service"),
                            s("version"),
                            b["requests"].to_string(),
                            s("from"),
                            s("to"),
                        ]);
                    }
                    println!("{t}");
                }
            }
            Ok(OK)
        }
        BaselineAction::Delete { id, server } => {
            ApiClient::new(&server)?.delete(&format!("/v1/baselines/{}", encode_component(&id)))?;
            println!("deleted baseline {id}");
            Ok(OK)
        }
    }
}
