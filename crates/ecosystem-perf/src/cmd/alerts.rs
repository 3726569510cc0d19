//! `alerts`: what is open now, of every kind, and the history of alert state changes, a page
//! at a time, filtered as `GET /v1/alerts` filters (state, kind, service).

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::OK;
use clap::Args;

/// `alerts` arguments.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Only this state: pending, firing or resolved.
    #[arg(long)]
    pub state: Option<String>,
    /// Only this kind: slo, degradation, anomaly, risk, failover, …
    #[arg(long)]
    pub kind: Option<String>,
    /// Only alerts about this service.
    #[arg(long)]
    pub service: Option<String>,
    /// History rows per page (1–1000).
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// The page after this history id (a previous page's `next`).
    #[arg(long)]
    pub before: Option<i64>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The query string of `a`.
fn query(a: &AlertsArgs) -> String {
    let mut q = vec![format!("limit={}", a.limit)];
    for (k, v) in [
        ("state", &a.state),
        ("kind", &a.kind),
        ("service", &a.service),
    ] {
        if let Some(v) = v {
            q.push(format!("{k}={}", encode_component(v)));
        }
    }
    if let Some(b) = a.before {
        q.push(format!("before={b}"));
    }
    q.join("&")
}

/// Open alerts and a page of history as tables.
fn table(v: &serde_json::Value) -> String {
    let text = |x: &serde_json::Value| x.as_str().unwrap_or("").to_string();
    let summary = |r: &serde_json::Value| {
        let d = &r["detail"];
        d["summary"]
            .as_str()
            .map(str::to_string)
            .or_else(|| d["alert"]["reason"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let mut open = crate::tables::new_table(&["since", "kind", "subject", "state", "summary"]);
    crate::tables::align_left(&mut open, &[1, 2, 4]);
    for r in v["open"].as_array().into_iter().flatten() {
        open.add_row(vec![
            comfy_table::Cell::new(text(&r["at"])),
            comfy_table::Cell::new(text(&r["kind"])),
            comfy_table::Cell::new(text(&r["subject"])),
            crate::tables::state_cell(r["state"].as_str().unwrap_or("")),
            comfy_table::Cell::new(summary(r)),
        ]);
    }
    let mut history = crate::tables::new_table(&["id", "at", "kind", "subject", "state"]);
    crate::tables::align_left(&mut history, &[2, 3]);
    for r in v["history"].as_array().into_iter().flatten() {
        history.add_row(vec![
            comfy_table::Cell::new(r["id"].to_string()),
            comfy_table::Cell::new(text(&r["at"])),
            comfy_table::Cell::new(text(&r["kind"])),
            comfy_table::Cell::new(text(&r["subject"])),
            crate::tables::state_cell(r["state"].as_str().unwrap_or("")),
        ]);
    }
    let open_count = v["open"].as_array().map_or(0, Vec::len);
    let mut out = format!("open now: {open_count}\n{open}\nhistory, newest first\n{history}");
    if let Some(next) = v["next"].as_i64() {
        out.push_str(&format!("\nmore: --before {next}"));
    }
    out
}

/// Runs `alerts`.
pub fn run(a: &AlertsArgs) -> anyhow::Result<i32> {
    let v: serde_json::Value =
        ApiClient::new(&a.server)?.get(&format!("/v1/alerts?{}", query(a)))?;
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
        Format::Table => println!("{}", table(&v)),
    }
    Ok(OK)
}
