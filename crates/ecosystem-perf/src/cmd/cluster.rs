//! `cluster status`: how a replica stores and ingests (`GET /v1/cluster`) — whether it leads
//! (writes alerts, webhooks and rollout steps), embedded or on
//! the NATS JetStream stream, connected or not, the last sequence applied here against the
//! stream's end (the lag), the partitions it applies, and with `ownership: leases` every
//! replica owning partitions with its URL and partitions. Exit 1 when the replica's stream is
//! unreachable or its follower stopped.

use crate::args::{Format, ServerArgs};
use crate::client::ApiClient;
use crate::exit::{FAILURE, OK};
use clap::Subcommand;

/// `cluster` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClusterAction {
    /// This replica's mode, store and ingest stream with its lag.
    #[command(
        after_help = "Example: ecosystem-perf cluster status --server http://replica-1:9470\n\nExit codes: 0 embedded, or following the stream; 1 not connected to NATS or the follower stopped."
    )]
    Status {
        #[command(flatten)]
        server: ServerArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn or_dash(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "–".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Runs a `cluster` subcommand.
pub fn run(action: ClusterAction) -> anyhow::Result<i32> {
    let ClusterAction::Status { server, format } = action;
    let v: serde_json::Value = ApiClient::new(&server)?.get("/v1/cluster")?;
    let s = &v["stream"];
    let healthy = s.is_null() || (s["connected"] == true && s.get("error").is_none());
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Table => {
            let mut t = crate::tables::new_table(&["property", "value"]);
            t.add_row(vec!["replica".to_string(), or_dash(&v["replicaId"])]);
            t.add_row(vec!["leader".to_string(), or_dash(&v["leader"])]);
            t.add_row(vec!["mode".to_string(), or_dash(&v["mode"])]);
            t.add_row(vec!["store".to_string(), or_dash(&v["store"])]);
            if !s.is_null() {
                let owned = s["ownedPartitions"].as_array().map_or(0, Vec::len);
                for (k, val) in [
                    ("stream", or_dash(&s["stream"])),
                    ("ownership", or_dash(&s["ownership"])),
                    ("connected", or_dash(&s["connected"])),
                    ("applied sequence", or_dash(&s["appliedSequence"])),
                    ("stream's last sequence", or_dash(&s["lastSequence"])),
                    ("lag (records)", or_dash(&s["lagRecords"])),
                    (
                        "partitions applied here",
                        format!("{owned} of {}", or_dash(&s["partitions"])),
                    ),
                    ("copies per record", or_dash(&s["replicas"])),
                    ("error", or_dash(&s["error"])),
                ] {
                    t.add_row(vec![k.to_string(), val]);
                }
            }
            println!("{t}");
            if let Some(replicas) = v["replicas"].as_array().filter(|r| !r.is_empty()) {
                let mut t = crate::tables::new_table(&["replica", "url", "partitions"]);
                for r in replicas {
                    let parts: Vec<String> = r["partitions"]
                        .as_array()
                        .map(|a| a.iter().map(|p| p.to_string()).collect())
                        .unwrap_or_default();
                    t.add_row(vec![or_dash(&r["id"]), or_dash(&r["url"]), parts.join(" ")]);
                }
                println!("{t}");
            }
        }
    }
    Ok(if healthy { OK } else { FAILURE })
}
