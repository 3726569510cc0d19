//! `tenant list` and `tenant show ID`.

use crate::cli::{Format, TenantAction};
use crate::client::{encode_component, ApiClient};
use crate::exit::OK;
use perf_core::tenant::TenantEvaluation;

/// Runs a `tenant` subcommand.
pub fn run(action: TenantAction) -> anyhow::Result<i32> {
    match action {
        TenantAction::List { server, format } => {
            let v: serde_json::Value = ApiClient::new(&server)?.get("/v1/tenants")?;
            let list: Vec<TenantEvaluation> = serde_json::from_value(v["tenants"].clone())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Table => println!("{}", crate::tables::tenants(&list)),
            }
        }
        TenantAction::Show { id, server, format } => {
            let e: TenantEvaluation = ApiClient::new(&server)?
                .get(&format!("/v1/tenants/{}/evaluation", encode_component(&id)))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&e)?),
                Format::Table => println!("{}", crate::tables::tenant_detail(&e)),
            }
        }
    }
    Ok(OK)
}
