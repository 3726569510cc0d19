//! `rollout start / evaluate / show`: canary control against a server. `evaluate` exits 1
//! on a rollback so a pipeline step can stop on it.

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::{BadInput, FAILURE, OK};
use clap::Subcommand;
use perf_core::compare::rollout::{Decision, Rollout, RolloutEvaluation};

/// `rollout` subcommands.
#[derive(Debug, Subcommand)]
pub enum RolloutAction {
    /// Start a canary rollout.
    #[command(
        after_help = "Example: ecosystem-perf rollout start --service qnet --baseline-version v1 --canary-version v2 --steps 5,25,50,100 --min-step 5m"
    )]
    Start {
        /// Service.
        #[arg(long)]
        service: String,
        /// Version serving the rest of the traffic.
        #[arg(long)]
        baseline_version: String,
        /// The new version.
        #[arg(long)]
        canary_version: String,
        /// Traffic weights in percent, ascending, ending at 100.
        #[arg(long, default_value = "5,25,50,100")]
        steps: String,
        /// Minimum time at each step before a promotion.
        #[arg(long, default_value = "5m")]
        min_step: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Evaluate a rollout now: promote (with the next weight), hold, rollback or complete.
    /// Exit 0 promote/complete/hold, 1 rollback.
    #[command(after_help = "Example: ecosystem-perf rollout evaluate r-20261129-qnet-v2")]
    Evaluate {
        /// Rollout id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A rollout with its history.
    #[command(after_help = "Example: ecosystem-perf rollout show r-20261129-qnet-v2")]
    Show {
        /// Rollout id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn steps(text: &str) -> anyhow::Result<Vec<u32>> {
    text.split(',')
        .map(|s| {
            s.trim()
                .trim_end_matches('%')
                .parse::<u32>()
                .map_err(|_| BadInput(format!("--steps: {s:?} is not a whole percentage")).into())
        })
        .collect()
}

fn show(r: &Rollout) -> String {
    let mut t = crate::tables::new_table(&[
        "at",
        "decision",
        "weight",
        "requests (baseline/canary)",
        "reasons",
    ]);
    // The decision and its reasons are words.
    crate::tables::align_left(&mut t, &[1, 4]);
    for h in &r.history {
        t.add_row(vec![
            comfy_table::Cell::new(perf_core::time::format_rfc3339(h.at)),
            crate::tables::state_cell(&h.decision.to_string()),
            comfy_table::Cell::new(format!("{} → {} %", h.weight_before, h.weight)),
            comfy_table::Cell::new(format!("{} / {}", h.samples[0], h.samples[1])),
            comfy_table::Cell::new(h.reasons.join("; ")),
        ]);
    }
    format!(
        "rollout {}: {} {} → {}, {} at {} % (steps {})\n{t}",
        r.id,
        r.spec.service,
        r.spec.baseline_version,
        r.spec.canary_version,
        r.state,
        r.weight,
        r.spec
            .steps
            .iter()
            .map(|s| format!("{s} %"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Runs a `rollout` subcommand.
pub fn run(action: RolloutAction) -> anyhow::Result<i32> {
    match action {
        RolloutAction::Start {
            service,
            baseline_version,
            canary_version,
            steps: step_text,
            min_step,
            server,
            format,
        } => {
            let body = serde_json::json!({
                "service": service, "baselineVersion": baseline_version,
                "canaryVersion": canary_version, "steps": steps(&step_text)?,
                "minStepDuration": min_step,
            });
            let r: serde_json::Value = ApiClient::new(&server)?.post_json("/v1/rollouts", &body)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                Format::Table => println!(
                    "started rollout {} at {} % canary traffic",
                    r["id"].as_str().unwrap_or("?"),
                    r["weight"]
                ),
            }
            Ok(OK)
        }
        RolloutAction::Evaluate { id, server, format } => {
            let path = format!("/v1/rollouts/{}/evaluate", encode_component(&id));
            let raw: serde_json::Value =
                ApiClient::new(&server)?.post_json(&path, &serde_json::json!({}))?;
            let e: RolloutEvaluation = serde_json::from_value(raw.clone())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&raw)?),
                Format::Table => {
                    println!(
                        "{}: {} → canary weight {} % ({})",
                        e.id, e.decision, e.weight, e.state
                    );
                    for r in &e.reasons {
                        println!("  - {r}");
                    }
                }
            }
            Ok(if e.decision == Decision::Rollback {
                FAILURE
            } else {
                OK
            })
        }
        RolloutAction::Show { id, server, format } => {
            let raw: serde_json::Value =
                ApiClient::new(&server)?.get(&format!("/v1/rollouts/{}", encode_component(&id)))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&raw)?),
                Format::Table => println!("{}", show(&serde_json::from_value(raw)?)),
            }
            Ok(OK)
        }
    }
}
