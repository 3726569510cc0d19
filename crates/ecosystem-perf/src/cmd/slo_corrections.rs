//! `slo correct NAME`, `slo corrections NAME` and `slo withdraw NAME ID`: budget corrections
//! (a maintenance window, business hours) declared, listed and withdrawn over the server's
//! API (`/v1/slos/{name}/corrections`). The server rebuilds the SLO's counts from its views'
//! history with the exclusions in force, so a correction applies to the past too.

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::OK;
use clap::Args;

/// What `slo correct` declares.
#[derive(Debug, Args)]
pub struct CorrectArgs {
    /// SLO name.
    pub name: String,
    /// Id of the correction (unique within the SLO).
    #[arg(long)]
    pub id: String,
    /// Maintenance start, RFC 3339 on a whole minute.
    #[arg(long, requires = "to", conflicts_with_all = ["days", "start", "end", "time_zone"])]
    pub from: Option<String>,
    /// Maintenance end, RFC 3339 on a whole minute.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Business days, comma-separated (`mon,tue,wed,thu,fri`).
    #[arg(long, value_delimiter = ',', requires_all = ["start", "end"])]
    pub days: Option<Vec<String>>,
    /// Business hours' start, `HH:MM`.
    #[arg(long)]
    pub start: Option<String>,
    /// Business hours' end, `HH:MM`.
    #[arg(long)]
    pub end: Option<String>,
    /// IANA time zone of the business hours (default UTC).
    #[arg(long)]
    pub time_zone: Option<String>,
    /// Why (recorded).
    #[arg(long)]
    pub reason: String,
    /// Who declares it (recorded; default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

fn path(name: &str) -> String {
    format!("/v1/slos/{}/corrections", encode_component(name))
}

/// Declares a correction; prints it with the events it left out of the history.
pub fn correct(a: CorrectArgs) -> anyhow::Result<i32> {
    let kind = if a.from.is_some() {
        "maintenance"
    } else {
        "business_hours"
    };
    let author = a
        .author
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let mut body =
        serde_json::json!({"id": a.id, "kind": kind, "reason": a.reason, "author": author});
    for (key, value) in [
        ("from", &a.from),
        ("to", &a.to),
        ("start", &a.start),
        ("end", &a.end),
        ("timeZone", &a.time_zone),
    ] {
        if let Some(v) = value {
            body[key] = serde_json::json!(v);
        }
    }
    if let Some(days) = &a.days {
        body["days"] = serde_json::json!(days);
    }
    let answer: serde_json::Value = ApiClient::new(&a.server)?.post_json(&path(&a.name), &body)?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Format::Table => println!(
            "{}",
            table(&a.name, std::slice::from_ref(&answer["correction"]))
        ),
    }
    Ok(OK)
}

/// Lists an SLO's corrections.
pub fn list(name: &str, server: &ServerArgs, format: Format) -> anyhow::Result<i32> {
    let answer: serde_json::Value = ApiClient::new(server)?.get(&path(name))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Format::Table => println!(
            "{}",
            table(
                name,
                answer["corrections"].as_array().map_or(&[], Vec::as_slice)
            )
        ),
    }
    Ok(OK)
}

/// Withdraws a correction declared over the API.
pub fn withdraw(name: &str, id: &str, server: &ServerArgs) -> anyhow::Result<i32> {
    ApiClient::new(server)?.delete(&format!("{}/{}", path(name), encode_component(id)))?;
    println!("correction {id} of {name} withdrawn; its events count again");
    Ok(OK)
}

fn table(name: &str, rows: &[serde_json::Value]) -> String {
    let mut t = crate::tables::new_table(&[
        "slo",
        "id",
        "kind",
        "excludes",
        "reason",
        "author",
        "declared",
        "excluded events",
    ]);
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    for c in rows {
        let excludes = match c["kind"].as_str() {
            Some("maintenance") => format!("{} – {}", text(&c["from"]), text(&c["to"])),
            _ => format!(
                "outside {} {}–{} {}",
                c["days"]
                    .as_array()
                    .map(|d| d.iter().map(text).collect::<Vec<_>>().join(","))
                    .unwrap_or_default(),
                text(&c["start"]),
                text(&c["end"]),
                text(&c["timeZone"])
            ),
        };
        let mut author = text(&c["author"]);
        if let Some(token) = c["token"].as_str() {
            author = format!("{author} (token {token})");
        }
        t.add_row(vec![
            name.to_string(),
            text(&c["id"]),
            text(&c["kind"]),
            excludes,
            text(&c["reason"]),
            author,
            text(&c["createdAt"]),
            c["excludedEvents"].as_u64().unwrap_or(0).to_string(),
        ]);
    }
    t.to_string()
}
