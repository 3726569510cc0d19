//! `query VIEW`: the generic view query, as a table or JSON.

use crate::cli::{Command, Format};
use crate::client::{encode_component, ApiClient};
use crate::exit::{BadInput, OK};
use perf_core::report::QueryResult;

/// Runs `query`.
pub fn run(command: Command) -> anyhow::Result<i32> {
    let Command::Query {
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
        format,
    } = command
    else {
        unreachable!("dispatched on Command::Query")
    };
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
    let result: QueryResult =
        ApiClient::new(&server)?.get(&format!("/v1/query?{}", query.join("&")))?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&result)?),
        Format::Table => println!("{}", crate::tables::query(&result)),
    }
    Ok(OK)
}
