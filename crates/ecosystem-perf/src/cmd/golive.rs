//! `golive`: the go/no-go report — from a running server (`GET /v1/golive`), or offline for
//! a release pipeline (`--events F.ndjson --config C`): the events are replayed through the
//! server's own layers on the event clock in a temporary data directory, one batch per
//! minute of event time with the evaluation cycle after each (as a server fed the same
//! batches runs it), and the same report is computed. Exit 0 go, 1 no-go, 3 insufficient
//! data, 2 bad input.

use crate::args::ServerArgs;
use crate::client::ApiClient;
use crate::exit::{BadInput, FAILURE, OK, PARTIAL};
use clap::{Args, ValueEnum};
use perf_core::golive::{GateStatus, GoLiveReport, Verdict};
use perf_core::Event;
use perf_server::config::{ClockMode, Config};
use perf_server::durable::LogBatch;
use perf_server::AppState;
use std::path::PathBuf;
use std::sync::Arc;

const MINUTE: i64 = 60_000;

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GoLiveFormat {
    /// A table of the gates and their evidence.
    Table,
    /// The API's JSON.
    Json,
    /// Markdown, for a pull request or a sign-off document.
    Markdown,
}

/// `golive` arguments.
#[derive(Debug, Args)]
pub struct GoLiveArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// Offline: NDJSON events to replay (needs --config).
    #[arg(long, requires = "config")]
    pub events: Option<PathBuf>,
    /// Offline: the configuration the server would run (budgets, SLOs, views).
    #[arg(long, requires = "events")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GoLiveFormat::Table)]
    pub format: GoLiveFormat,
}

/// Runs `golive`.
pub fn run(args: &GoLiveArgs) -> anyhow::Result<i32> {
    let report: GoLiveReport = match (&args.events, &args.config) {
        (Some(events), Some(config)) => offline(events, config)?,
        _ => ApiClient::new(&args.server)?.get("/v1/golive")?,
    };
    match args.format {
        GoLiveFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        GoLiveFormat::Table => print!("{}", table(&report)),
        GoLiveFormat::Markdown => print!("{}", markdown(&report)),
    }
    Ok(exit_code(report.verdict))
}

/// 0 go, 1 no-go, 3 insufficient data.
pub fn exit_code(v: Verdict) -> i32 {
    match v {
        Verdict::Go => OK,
        Verdict::NoGo => FAILURE,
        Verdict::InsufficientData => PARTIAL,
    }
}

/// Replays `events` under `config` (event clock, temporary data directory) and reports.
pub fn offline(
    events: &std::path::Path,
    config_path: &std::path::Path,
) -> anyhow::Result<GoLiveReport> {
    let mut config = Config::load(config_path)
        .map_err(|e| BadInput(format!("{}: {e}", config_path.display())))?;
    let dir = tempfile::tempdir()?;
    config.detach();
    config.server.data_dir = dir.path().display().to_string();
    config.server.clock = ClockMode::Event;
    let state = AppState::open(config)?;
    let mut pending: Vec<Event> = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let n = crate::event_file::for_each_batch(events, |batch| {
        for e in batch {
            if failure.is_some() {
                return;
            }
            let minute = e.ts_ms.div_euclid(MINUTE);
            if pending
                .last()
                .is_some_and(|p| p.ts_ms.div_euclid(MINUTE) != minute)
            {
                if let Err(err) = replay(&state, std::mem::take(&mut pending)) {
                    failure = Some(err);
                    return;
                }
            }
            pending.push(e.clone());
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    if n == 0 {
        return Err(BadInput(format!("{}: no events", events.display())).into());
    }
    replay(&state, pending)?;
    let report = perf_server::control::golive::report(&state.durable, &state.control.memory)?;
    Ok(report)
}

/// One batch, committed as the server commits it, then the cycle when due.
fn replay(state: &Arc<AppState>, batch: Vec<Event>) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    state.durable.commit(LogBatch::Events(batch))?;
    state.refresh();
    Ok(())
}

fn status_word(s: GateStatus) -> &'static str {
    match s {
        GateStatus::Pass => "pass",
        GateStatus::Fail => "FAIL",
        GateStatus::InsufficientData => "no data",
    }
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Go => "GO",
        Verdict::NoGo => "NO-GO",
        Verdict::InsufficientData => "INSUFFICIENT DATA",
    }
}

fn figure(x: Option<f64>, unit: &str) -> String {
    match (x, unit) {
        (None, _) => crate::units::MISSING.into(),
        (Some(v), "ms") => crate::units::ms(v),
        (Some(v), _) => crate::units::percent(v, 1),
    }
}

fn threshold(x: f64, unit: &str, name: &str) -> String {
    let op = match name {
        "cache" | "headroom" => "≥",
        "latency" => "≤",
        _ => "<",
    };
    format!("{op} {}", figure(Some(x), unit))
}

fn window_text(g: &perf_core::golive::Gate) -> String {
    g.window.as_ref().map_or("–".into(), |w| {
        format!(
            "{} → {}",
            perf_core::time::format_rfc3339(w.from),
            perf_core::time::format_rfc3339(w.to)
        )
    })
}

/// The gates and their evidence as tables.
pub fn table(r: &GoLiveReport) -> String {
    let mut t = crate::tables::new_table(&["gate", "status", "actual", "threshold", "window"]);
    for g in &r.gates {
        t.add_row(vec![
            comfy_table::Cell::new(&g.name),
            crate::tables::state_cell(status_word(g.status)),
            comfy_table::Cell::new(figure(g.actual, &g.unit)),
            comfy_table::Cell::new(threshold(g.threshold, &g.unit, &g.name)),
            comfy_table::Cell::new(window_text(g)),
        ]);
    }
    let mut out = format!(
        "verdict: {} (evaluated at {})\n{t}\n",
        verdict_word(r.verdict),
        perf_core::time::format_rfc3339(r.evaluated_at)
    );
    for g in &r.gates {
        out.push_str(&format!(
            "\n{} — {}: {}\n",
            g.name,
            status_word(g.status),
            g.reason
        ));
        for e in &g.evidence {
            out.push_str(&format!(
                "  {} {}: {}\n",
                if e.pass { "·" } else { "✗" },
                e.subject,
                e.detail
            ));
        }
    }
    out
}

/// The report as Markdown.
pub fn markdown(r: &GoLiveReport) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "## Go-live readiness: **{}**\n\nEvaluated at {}.\n\n| gate | status | actual | threshold | window | reason |\n|---|---|---|---|---|---|\n",
        verdict_word(r.verdict),
        perf_core::time::format_rfc3339(r.evaluated_at)
    );
    for g in &r.gates {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            g.name,
            status_word(g.status),
            figure(g.actual, &g.unit),
            threshold(g.threshold, &g.unit, &g.name),
            window_text(g),
            cell(&g.reason)
        ));
    }
    for g in r.gates.iter().filter(|g| !g.evidence.is_empty()) {
        out.push_str(&format!("\n### {}\n\n", g.name));
        for e in &g.evidence {
            out.push_str(&format!(
                "- {}**{}**: {}\n",
                if e.pass { "" } else { "✗ " },
                cell(&e.subject),
                cell(&e.detail)
            ));
        }
    }
    out
}
