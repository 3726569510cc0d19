//! `query VIEW`: the generic view query, as a table or JSON; with `--step`, one rolled-up
//! row per step over the window (`GET /v1/query/range`).

use crate::args::{Format, ServerArgs};
use crate::client::{encode_component, ApiClient};
use crate::exit::{BadInput, OK};
use clap::Args;
use perf_core::report::{QueryResult, RangeResult};

/// Arguments of `query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// View name (see `status`: service_operation, service_node, …).
    pub view: String,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Only this operation.
    #[arg(long)]
    pub operation: Option<String>,
    /// Only this node.
    #[arg(long)]
    pub node: Option<String>,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only this version.
    #[arg(long)]
    pub version: Option<String>,
    /// Window ending now, e.g. 15m (default 5m; or give --from and --to).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub window: Option<String>,
    /// Window start: RFC 3339 or unix ms.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// Window end (exclusive).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Merge all matching keys into one row.
    #[arg(long)]
    pub rollup: bool,
    /// Quantiles, comma-separated.
    #[arg(long, default_value = "0.5,0.95,0.99")]
    pub quantiles: String,
    /// One row per step over the window, all matching keys merged (e.g. 1m).
    #[arg(long, conflicts_with = "rollup")]
    pub step: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs `query`.
pub fn run(args: QueryArgs) -> anyhow::Result<i32> {
    let QueryArgs {
        view,
        server,
        service,
        operation,
        node,
        tenant,
        version,
        window,
        from,
        to,
        rollup,
        quantiles,
        step,
        format,
    } = args;
    if let Some(w) = &window {
        perf_core::duration::parse_duration(w).map_err(|e| BadInput(e.to_string()))?;
    }
    let mut params = vec![("view", view), ("quantiles", quantiles)];
    for (name, value) in [
        ("service", service),
        ("operation", operation),
        ("node", node),
        ("tenant", tenant),
        ("version", version),
        ("window", window),
        ("from", from),
        ("to", to),
        ("step", step.clone()),
    ] {
        if let Some(v) = value {
            params.push((name, v));
        }
    }
    if rollup {
        params.push(("rollup", "true".into()));
    }
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect();
    if let Some(s) = &step {
        perf_core::duration::parse_duration(s).map_err(|e| BadInput(format!("--step: {e}")))?;
        let result: RangeResult =
            ApiClient::new(&server)?.get(&format!("/v1/query/range?{}", query.join("&")))?;
        match format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&result)?),
            Format::Table => println!("{}", crate::tables::range(&result)),
        }
        return Ok(OK);
    }
    let result: QueryResult =
        ApiClient::new(&server)?.get(&format!("/v1/query?{}", query.join("&")))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        Format::Table => println!("{}", crate::tables::query(&result)),
    }
    Ok(OK)
}
