//! `routing weights SERVICE`: the server's node scores and weights as a table with a bar per
//! weight (the neutral weight 1.0 is half the bar's width), or the weights for Envoy / nginx.

use crate::args::ServerArgs;
use crate::exit::OK;
use clap::{Subcommand, ValueEnum};

/// `routing` subcommands.
#[derive(Debug, Subcommand)]
pub enum RoutingAction {
    /// A service's node scores and weights (a table with bars), or the weights as an Envoy
    /// EDS ClusterLoadAssignment or an nginx upstream block.
    #[command(
        after_help = "Example: ecosystem-perf routing weights qnet\n         ecosystem-perf routing weights qnet --format nginx --port 8080 > /etc/nginx/conf.d/qnet.conf"
    )]
    Weights {
        /// Service.
        service: String,
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = WeightsFormat::Table)]
        format: WeightsFormat,
        /// Port of the nodes in the Envoy and nginx outputs.
        #[arg(long, default_value_t = 80)]
        port: u16,
    },
}

/// Output of `routing weights`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WeightsFormat {
    /// Scores and weights with bars.
    Table,
    /// The API answer.
    Json,
    /// Envoy EDS ClusterLoadAssignment (JSON).
    Envoy,
    /// nginx upstream block.
    Nginx,
}

/// Width of a bar at the maximum weight (2.0).
const BAR: usize = 20;

/// A bar for a weight in [0, 2].
fn bar(weight: f64) -> String {
    let n = ((weight / 2.0).clamp(0.0, 1.0) * BAR as f64).round() as usize;
    format!("{}{}", "█".repeat(n), "·".repeat(BAR - n))
}

/// Runs a `routing` subcommand.
pub fn run(action: RoutingAction) -> anyhow::Result<i32> {
    match action {
        RoutingAction::Weights {
            service,
            server,
            format,
            port,
        } => {
            let client = crate::client::ApiClient::new(&server)?;
            let svc = crate::client::encode_component(&service);
            let path = format!("/v1/routing/weights?service={svc}&port={port}");
            match format {
                WeightsFormat::Nginx => {
                    print!("{}", client.get_text(&format!("{path}&format=nginx"))?)
                }
                WeightsFormat::Envoy => {
                    let v: serde_json::Value = client.get(&format!("{path}&format=envoy"))?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                WeightsFormat::Json => {
                    let v: serde_json::Value = client.get(&path)?;
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                WeightsFormat::Table => {
                    let v: serde_json::Value = client.get(&path)?;
                    let mut t = crate::tables::new_table(&[
                        "node",
                        "weight",
                        "",
                        "state",
                        "latency",
                        "errors",
                        "capacity",
                        "anomaly",
                        "p99 ms",
                        "error rate",
                        "requests",
                    ]);
                    let f = |x: &serde_json::Value| {
                        x.as_f64().map_or("–".into(), |x| format!("{x:.2}"))
                    };
                    for n in v["nodes"].as_array().into_iter().flatten() {
                        let w = n["weight"].as_f64().unwrap_or(1.0);
                        let mut state = n["recommendation"].as_str().unwrap_or("").to_string();
                        for (flag, label) in [
                            ("slowStart", "slow start"),
                            ("capped", "capped"),
                            ("lowTraffic", "low traffic"),
                        ] {
                            if n[flag] == true {
                                state.push_str(&format!(", {label}"));
                            }
                        }
                        t.add_row(vec![
                            n["node"].as_str().unwrap_or("").to_string(),
                            format!("{w:.2}"),
                            bar(w),
                            state,
                            f(&n["latencyScore"]),
                            f(&n["errorRateScore"]),
                            f(&n["capacityScore"]),
                            f(&n["regressionScore"]),
                            n["p99"].as_f64().map_or("–".into(), |x| format!("{x:.1}")),
                            crate::units::percent_json(&n["errorRate"], 2),
                            n["requests"].to_string(),
                        ]);
                    }
                    println!("{}", v["explanation"].as_str().unwrap_or(""));
                    println!("{t}");
                }
            }
            Ok(OK)
        }
    }
}
