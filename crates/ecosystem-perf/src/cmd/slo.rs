//! `slo list`, `slo show NAME`, `slo what-if NAME`, `slo correct|corrections|withdraw`
//! (online) and `slo check` (offline, for CI: the SLOs of a configuration over an NDJSON
//! file, with the engine the server runs).

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::{BadInput, FAILURE, OK, PARTIAL};
use clap::Subcommand;
use perf_core::slo::{AlertState, Severity, SloStatus};
use perf_core::Engine;
use perf_server::config::Config;
use std::path::PathBuf;

/// `slo` subcommands.
#[derive(Debug, Subcommand)]
pub enum SloAction {
    /// Every SLO with compliance, budget and alerts.
    #[command(after_help = "Example: ecosystem-perf slo list --format json")]
    List {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// One SLO: budget, burn rates per window, alerts, tenants.
    #[command(after_help = "Example: ecosystem-perf slo show feed-availability")]
    Show {
        /// SLO name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Would an SLO have been met with another objective or window? The server evaluates the
    /// SLO, so changed, over the history its views hold (35 days by default), saving nothing.
    /// Exit 0 met, 1 missed, 3 no matching history.
    #[command(
        after_help = "Example: ecosystem-perf slo what-if --objective 99.95 --window 28d feed-availability"
    )]
    WhatIf {
        /// SLO name.
        name: String,
        /// Objective, percent (e.g. 99.95).
        #[arg(long)]
        objective: Option<f64>,
        /// Compliance window: a duration (`28d`) for a rolling one.
        #[arg(long)]
        window: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Declare a budget correction: a maintenance window (`--from`, `--to`) or business
    /// hours (`--days`, `--start`, `--end`, `--time-zone`) whose excluded events the SLO
    /// stops counting, in its history too.
    #[command(
        after_help = "Examples:\n  ecosystem-perf slo correct wallet --id db-upgrade --from 2026-12-06T02:00:00Z --to 2026-12-06T03:00:00Z --reason 'database upgrade' --author ana\n  ecosystem-perf slo correct backoffice --id office --days mon,tue,wed,thu,fri --start 09:00 --end 17:00 --time-zone Europe/Berlin --reason 'internal tool'"
    )]
    Correct(super::slo_corrections::CorrectArgs),
    /// An SLO's budget corrections, with who declared them, when, why and the events each
    /// left out.
    #[command(after_help = "Example: ecosystem-perf slo corrections wallet")]
    Corrections {
        /// SLO name.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Withdraw a budget correction declared over the API: its events count again.
    #[command(after_help = "Example: ecosystem-perf slo withdraw wallet db-upgrade")]
    Withdraw {
        /// SLO name.
        name: String,
        /// Correction id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Offline: evaluate the SLOs of a configuration over an NDJSON event file (event time;
    /// the same numbers the server gives for the same events). Exit 0 when no SLO is in
    /// violation and no page fires, 1 otherwise, 2 on bad input.
    #[command(
        after_help = "Example: ecosystem-perf slo check --config ecosystem-perf.yaml --events events.ndjson\n\nThe first bad line stops the check (exit 2, with its line): a verdict over a file with holes in it would not be the verdict over the file. `ingest` instead skips and reports bad lines, because a live feed should not stop for one record.\n\nExit codes: 0 no SLO in violation and no page firing; 1 otherwise; 2 bad input (file and line)."
    )]
    Check {
        /// Configuration with `slos:`.
        #[arg(long)]
        config: PathBuf,
        /// NDJSON events.
        #[arg(long)]
        events: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Runs an `slo` subcommand.
pub fn run(action: SloAction) -> anyhow::Result<i32> {
    match action {
        SloAction::List { server, format } => {
            let v: serde_json::Value = ApiClient::new(&server)?.get("/v1/slos")?;
            let list: Vec<SloStatus> = serde_json::from_value(v["slos"].clone())?;
            print(&list, format, &v)
        }
        SloAction::Show {
            name,
            server,
            format,
        } => {
            let v: serde_json::Value =
                ApiClient::new(&server)?.get(&format!("/v1/slos/{}", encode_component(&name)))?;
            let one: SloStatus = serde_json::from_value(v.clone())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => println!("{}", crate::tables::slo_detail(&one)),
            }
            Ok(OK)
        }
        SloAction::WhatIf {
            name,
            objective,
            window,
            server,
            format,
        } => what_if(&name, objective, window, &server, format),
        SloAction::Correct(args) => super::slo_corrections::correct(args),
        SloAction::Corrections {
            name,
            server,
            format,
        } => super::slo_corrections::list(&name, &server, format),
        SloAction::Withdraw { name, id, server } => {
            super::slo_corrections::withdraw(&name, &id, &server)
        }
        SloAction::Check {
            config,
            events,
            format,
        } => check(&config, &events, format),
    }
}

fn print(list: &[SloStatus], format: Format, raw: &serde_json::Value) -> anyhow::Result<i32> {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(raw)?),
        Format::Table => println!("{}", crate::tables::slos(list)),
    }
    Ok(OK)
}

fn check(
    config_path: &std::path::Path,
    events_path: &std::path::Path,
    format: Format,
) -> anyhow::Result<i32> {
    let config = Config::load(config_path)
        .map_err(|e| BadInput(format!("{}: {e}", config_path.display())))?;
    if config.slos.is_empty() {
        return Err(BadInput(format!("{}: no SLO under slos:", config_path.display())).into());
    }
    let mut engine = Engine::new(config.engine_config())?;
    // SLOs over events first, then the journeys over them.
    let (journeys, slos): (Vec<_>, Vec<_>) = config.slos.iter().partition(|c| c.is_composite());
    for c in slos {
        let def = c
            .to_def(true)
            .map_err(|e| BadInput(format!("{}: slo {}: {e}", config_path.display(), c.name)))?;
        engine.slos_mut().upsert(def).map_err(BadInput)?;
        // Budget corrections of the file apply offline too (before any event is counted).
        let corrections = c
            .config_corrections(0)
            .map_err(|e| BadInput(format!("{}: slo {}: {e}", config_path.display(), c.name)))?;
        engine
            .slos_mut()
            .set_corrections(&c.name, corrections)
            .map_err(BadInput)?;
    }
    for c in journeys {
        let journey = c
            .to_composite(true)
            .map_err(|e| BadInput(format!("{}: slo {}: {e}", config_path.display(), c.name)))?;
        engine
            .slos_mut()
            .upsert_composite(journey)
            .map_err(|e| BadInput(format!("{}: slo {}: {e}", config_path.display(), c.name)))?;
    }
    crate::event_file::for_each_batch(events_path, |events| {
        let now = events
            .iter()
            .map(|e| e.ts_ms)
            .max()
            .unwrap_or(0)
            .max(engine.watermark());
        engine.ingest(events, now);
    })?;
    let now = engine.watermark();
    if now == i64::MIN {
        return Err(BadInput(format!("{}: no events", events_path.display())).into());
    }
    engine.advance(now);
    let statuses: Vec<SloStatus> = engine
        .slos_mut()
        .evaluate(now)
        .into_iter()
        .map(|e| e.status)
        .collect();
    let raw = serde_json::json!({"slos": statuses});
    print(&statuses, format, &raw)?;
    let failing = statuses.iter().any(|s| {
        s.status == "violation"
            || s.alerts
                .iter()
                .any(|a| a.state == AlertState::Firing && a.severity == Severity::Page)
    });
    Ok(if failing { FAILURE } else { OK })
}

/// `slo what-if`: the SLO's stored definition with another objective or window, previewed.
fn what_if(
    name: &str,
    objective: Option<f64>,
    window: Option<String>,
    server: &ServerArgs,
    format: Format,
) -> anyhow::Result<i32> {
    let client = ApiClient::new(server)?;
    let current: serde_json::Value = client.get(&format!("/v1/slos/{}", encode_component(name)))?;
    let mut def = current["definition"].clone();
    if let Some(o) = objective {
        def["objective"] = serde_json::json!(o);
    }
    if let Some(w) = window {
        def["window"] = serde_json::json!(w);
    }
    let preview: serde_json::Value = client.post_json("/v1/slos/preview", &def)?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&preview)?),
        Format::Table => {
            let slo: SloStatus = serde_json::from_value(preview["slo"].clone())?;
            let now: SloStatus = serde_json::from_value(current.clone())?;
            println!(
                "{}",
                crate::tables::what_if(&now, &slo, &preview["verdict"], &preview["history"])
            );
        }
    }
    Ok(match preview["verdict"].as_str() {
        Some("met") => OK,
        Some("missed") => FAILURE,
        _ => PARTIAL,
    })
}
