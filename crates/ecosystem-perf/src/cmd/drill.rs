//! `drill start / stop / show / list`: recovery drills against a server. `show` prints the
//! measured RTO against its target, the impact and the recovery gate, and exits 1 when the
//! RTO misses its target or the recovery gate blocks, 3 while the drill is still recovering.

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::{FAILURE, OK, PARTIAL};
use clap::{Subcommand, ValueEnum};

/// Drill kinds on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Restoring the service's state from a backup.
    Restore,
    /// Moving the service to its standby.
    Failover,
}

/// `drill` subcommands.
#[derive(Debug, Subcommand)]
pub enum DrillAction {
    /// Mark the start of a drill now (then fail the service over, or restore it).
    #[command(
        after_help = "Example: ecosystem-perf drill start --service qwallet --kind failover"
    )]
    Start {
        /// Service drilled.
        #[arg(long)]
        service: String,
        /// What is drilled.
        #[arg(long, value_enum)]
        kind: Kind,
        /// Identifier (default: service-kind-start).
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Mark the end of a drill's window (it is followed until the service recovers).
    #[command(after_help = "Example: ecosystem-perf drill stop qwallet-failover-1767225600000")]
    Stop {
        /// Drill id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// A drill's report: RTO against target, impact, recovery gate. Exit 0 recovered within
    /// target and the gate passes; 1 target missed or gate blocks; 3 still recovering.
    #[command(
        after_help = "Example: ecosystem-perf drill show qwallet-failover-1767225600000 --format json"
    )]
    Show {
        /// Drill id.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Every drill.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Runs a `drill` subcommand.
pub fn run(action: DrillAction) -> anyhow::Result<i32> {
    match action {
        DrillAction::Start {
            service,
            kind,
            id,
            server,
        } => {
            let kind = match kind {
                Kind::Restore => "restore",
                Kind::Failover => "failover",
            };
            let mut body = serde_json::json!({"service": service, "kind": kind});
            if let Some(id) = id {
                body["id"] = id.into();
            }
            let d: serde_json::Value = ApiClient::new(&server)?.post_json("/v1/drills", &body)?;
            println!("{}", d["id"].as_str().unwrap_or_default());
            eprintln!(
                "drill started at {}: recovered means error rate ≤ {} and p99 ≤ {} ms for {}",
                d["startedAt"].as_str().unwrap_or_default(),
                d["budget"]["errorRate"],
                d["budget"]["p99Ms"],
                crate::units::duration_json(&d["budget"]["stableMs"])
            );
            Ok(OK)
        }
        DrillAction::Stop { id, server } => {
            let _: serde_json::Value = ApiClient::new(&server)?.post_json(
                &format!("/v1/drills/{}/stop", encode_component(&id)),
                &serde_json::json!({}),
            )?;
            eprintln!("drill {id} stopped; it is followed until the service recovers");
            Ok(OK)
        }
        DrillAction::List { server } => {
            let v: serde_json::Value = ApiClient::new(&server)?.get("/v1/drills")?;
            let mut t =
                crate::tables::new_table(&["drill", "service", "kind", "started", "status", "RTO"]);
            for d in v["drills"].as_array().into_iter().flatten() {
                t.add_row(vec![
                    d["id"].as_str().unwrap_or_default().to_string(),
                    d["service"].as_str().unwrap_or_default().to_string(),
                    d["kind"].as_str().unwrap_or_default().to_string(),
                    d["startedAt"].as_str().unwrap_or_default().to_string(),
                    d["status"].as_str().unwrap_or_default().to_string(),
                    crate::units::duration_json(&d["rtoMs"]),
                ]);
            }
            println!("{t}");
            Ok(OK)
        }
        DrillAction::Show { id, server, format } => {
            let r: serde_json::Value =
                ApiClient::new(&server)?.get(&format!("/v1/drills/{}", encode_component(&id)))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                Format::Table => print!("{}", table(&r)),
            }
            let gate_blocks = r["recoveryGate"]["recommendation"] == "block";
            Ok(match r["status"].as_str() {
                Some("recovering") => PARTIAL,
                Some("recovered") if r["rtoMet"] == true && !gate_blocks => OK,
                _ => FAILURE,
            })
        }
    }
}

fn table(r: &serde_json::Value) -> String {
    let mut out = format!(
        "drill {} ({} of {}), started {}{}\nstatus: {}\nRTO: {} (target {}{})\n",
        r["id"].as_str().unwrap_or_default(),
        r["kind"].as_str().unwrap_or_default(),
        r["service"].as_str().unwrap_or_default(),
        r["startedAt"].as_str().unwrap_or_default(),
        r["stoppedAt"]
            .as_str()
            .map_or(String::new(), |s| format!(", stopped {s}")),
        r["status"].as_str().unwrap_or_default(),
        crate::units::duration_json(&r["rtoMs"]),
        crate::units::duration_json(&r["rtoTargetMs"]),
        match r["rtoMet"].as_bool() {
            Some(true) => ", met",
            Some(false) => ", MISSED",
            None => "",
        }
    );
    out.push_str(&format!(
        "impact until recovery: {} requests, error rate {}, p99 {} (worst stretch: error rate {}, p99 {})\n",
        r["impact"]["requests"],
        crate::units::percent_json(&r["impact"]["errorRate"], 2),
        crate::units::ms_opt(r["impact"]["p99Ms"].as_f64()),
        crate::units::percent(r["impact"]["worstErrorRate"].as_f64().unwrap_or(0.0), 2),
        crate::units::ms(r["impact"]["worstP99Ms"].as_f64().unwrap_or(0.0)),
    ));
    match r["recoveryGate"]["recommendation"].as_str() {
        Some(rec) => out.push_str(&format!(
            "recovery gate against {}: {rec} — {}\n",
            r["recoveryGate"]["baseline"]["source"]
                .as_str()
                .unwrap_or_default(),
            r["recoveryGate"]["summary"].as_str().unwrap_or_default()
        )),
        None => out.push_str(&format!(
            "recovery gate: {}\n",
            r["recoveryGateNote"].as_str().unwrap_or("–")
        )),
    }
    out
}
